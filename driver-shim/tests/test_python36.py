"""Run the shim's Go-free tests under a real Python 3.6, MAAS 2.7's Python.

The grammar check in test_driver_schema.py cannot see library calls that
are newer than 3.6; this does, when a python3.6 is installed (pyenv's
~/.pyenv/versions/3.6.*, or python3.6 on PATH). Skipped otherwise.
"""

import os
import subprocess
import unittest

import support

MODULES = [
    "test_driver_http",
    "test_install",
    "test_driver_schema.TestSettings",
    "test_driver_schema.TestBaseClassVersions",
]


class TestUnderPython36(unittest.TestCase):
    def test_driver_and_installer_tests_pass_on_python_3_6(self):
        python = support.python36()
        if python is None:
            self.skipTest("no Python 3.6 interpreter found")
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        result = subprocess.run(
            [python, "-m", "unittest"] + MODULES, cwd=support.TESTS,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, env=env, timeout=600)
        self.assertEqual(0, result.returncode,
                         "under %s:\n%s" % (python, result.stdout[-6000:]))
        self.assertRegex(result.stdout, r"\nOK")


if __name__ == "__main__":
    unittest.main()
