"""The shim keeps to Python 3.6, MAAS 2.7's Python (bionic's python3).

Two checks. The first runs everywhere, with whatever python3 runs the
tests: every file of the shim that runs on a MAAS host is parsed with
Python 3.6's grammar (ast.parse's feature_version), a few constructs that
parser lets through are looked for in the tree, and so are the standard
library's modules, functions, methods and keywords added after 3.6. The
second runs the shim's Go-free tests under a real Python 3.6 when one is
installed (pyenv's ~/.pyenv/versions/3.6.*, or python3.6 on PATH), which
also catches what no list names.
"""

import ast
import os
import shutil
import subprocess
import tempfile
import unittest

import support

# The files that run on the MAAS host: the driver MAAS imports, and the
# installer run with the host's python3.
SHIM_FILES = [support.DRIVER_SOURCE, support.INSTALLER]

# Standard library names added after Python 3.6, with the release that
# added them.
NEWER_MODULES = {
    "contextvars": "3.7", "dataclasses": "3.7", "importlib.resources": "3.7",
    "importlib.metadata": "3.8", "zoneinfo": "3.9", "graphlib": "3.9",
    "tomllib": "3.11",
}
NEWER_ATTRIBUTES = {
    # str, bytes, int
    "removeprefix": "3.9", "removesuffix": "3.9", "isascii": "3.7",
    "bit_count": "3.10",
    # asyncio
    "create_task": "3.7", "get_running_loop": "3.7", "to_thread": "3.9",
    # datetime, time
    "fromisoformat": "3.7", "time_ns": "3.7", "monotonic_ns": "3.7",
    "perf_counter_ns": "3.7", "process_time_ns": "3.7",
    # ssl
    "SSLCertVerificationError": "3.7", "TLSVersion": "3.7",
    "minimum_version": "3.7", "maximum_version": "3.7",
    # functools, itertools, math, shlex, os, socket, http.server, argparse
    "cached_property": "3.8", "cache": "3.9", "pairwise": "3.10",
    "prod": "3.8", "isqrt": "3.8", "dist": "3.8", "comb": "3.8",
    "perm": "3.8", "lcm": "3.9", "join_args": "3.8",
    "waitstatus_to_exitcode": "3.9", "create_server": "3.8",
    "has_dualstack_ipv6": "3.8", "ThreadingHTTPServer": "3.7",
    "BooleanOptionalAction": "3.9",
    # re, pathlib, typing
    "Pattern": "3.7 (as re.Pattern)", "Match": "3.7 (as re.Match)",
    "is_relative_to": "3.9", "readlink": "3.9", "hardlink_to": "3.10",
    "Literal": "3.8", "Final": "3.8", "Protocol": "3.8",
    "TypedDict": "3.8",
}
NEWER_BUILTINS = {"breakpoint": "3.7", "aiter": "3.10", "anext": "3.10"}
# Keyword arguments added after 3.6, and the calls they were added to.
NEWER_KEYWORDS = {
    "capture_output": ("3.7", {"run"}),
    "text": ("3.7", {"run", "Popen", "check_output", "check_call", "call"}),
    "dirs_exist_ok": ("3.8", {"copytree"}),
    "missing_ok": ("3.8", {"unlink"}),
    "required": ("3.7", {"add_subparsers"}),
}


def _called(node):
    """The name of the function a Call calls, as written last: f or x.f."""
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _dotted(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def python36_problems(path):
    """What in the file at path Python 3.6 would not run: a list of
    "file:line: what (Python X)" strings, empty when there is nothing."""
    with open(path, encoding="utf-8") as stream:
        source = stream.read()
    name = os.path.basename(path)
    try:
        tree = ast.parse(source, path, feature_version=(3, 6))
    except SyntaxError as err:
        return ["%s:%s: %s" % (name, err.lineno, err.msg)]
    problems = []

    def problem(node, what, version):
        problems.append("%s:%d: %s (Python %s)" % (name, node.lineno, what, version))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in NEWER_MODULES:
                    problem(node, "import " + alias.name, NEWER_MODULES[alias.name])
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module == "__future__" and any(a.name == "annotations" for a in node.names):
                problem(node, "from __future__ import annotations", "3.7")
            for full in [module] + [module + "." + a.name for a in node.names]:
                if full in NEWER_MODULES:
                    problem(node, "import " + full, NEWER_MODULES[full])
            for alias in node.names:
                if alias.name in NEWER_ATTRIBUTES:
                    problem(node, "from %s import %s" % (module, alias.name),
                            NEWER_ATTRIBUTES[alias.name])
        elif isinstance(node, ast.Attribute) and node.attr in NEWER_ATTRIBUTES:
            problem(node, "." + node.attr, NEWER_ATTRIBUTES[node.attr])
        elif isinstance(node, ast.Name) and node.id in NEWER_BUILTINS:
            problem(node, node.id + "()", NEWER_BUILTINS[node.id])
        elif isinstance(node, ast.Call):
            called = _called(node)
            for kw in node.keywords:
                if kw.arg in NEWER_KEYWORDS:
                    version, calls = NEWER_KEYWORDS[kw.arg]
                    if called in calls:
                        problem(node, "%s(%s=...)" % (called, kw.arg), version)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if not _dotted(target):
                    problem(dec, "a decorator that is not a dotted name", "3.9")
        elif isinstance(node, (ast.Return, ast.Yield)) and isinstance(node.value, ast.Tuple):
            segment = ast.get_source_segment(source, node.value) or ""
            if any(isinstance(e, ast.Starred) for e in node.value.elts) and not segment.startswith("("):
                problem(node, "an unparenthesized *unpacking in return or yield", "3.8")
    return problems


class TestPython36Compatibility(unittest.TestCase):
    def test_shim_keeps_to_python_3_6(self):
        for path in SHIM_FILES:
            self.assertEqual([], python36_problems(path))

    def test_the_check_catches_what_3_6_cannot_run(self):
        # Each line, added to a copy of the driver, must be reported.
        newer = {
            "if (n := len(sys.argv)) > 1: pass": "Assignment expressions",
            'x = 1; print(f"{x=}")': "self documenting",
            "def f(a, /, b): pass": "Positional-only",
            "match x:\n    case 1: pass": "Pattern matching",
            'with (open("a") as a, open("b") as b): pass': "Parenthesized context managers",
            "from __future__ import annotations": "annotations (Python 3.7)",
            "import dataclasses": "import dataclasses (Python 3.7)",
            "from importlib import metadata": "import importlib.metadata (Python 3.8)",
            "v = 'x'.removeprefix('y')": ".removeprefix (Python 3.9)",
            "r = subprocess.run(['true'], capture_output=True)": "run(capture_output=...) (Python 3.7)",
            "r = subprocess.run(['true'], text=True)": "run(text=...) (Python 3.7)",
            "err = ssl.SSLCertVerificationError": ".SSLCertVerificationError (Python 3.7)",
            "breakpoint()": "breakpoint() (Python 3.7)",
            "def f(): return *a, *b": "unparenthesized *unpacking",
            "@buttons[0].clicked\ndef f(): pass": "not a dotted name (Python 3.9)",
        }
        scratch = tempfile.mkdtemp(prefix="powerbridge-shim-")
        self.addCleanup(shutil.rmtree, scratch)
        copy = os.path.join(scratch, os.path.basename(support.DRIVER_SOURCE))
        for line, want in sorted(newer.items()):
            with self.subTest(line=line):
                shutil.copyfile(support.DRIVER_SOURCE, copy)
                with open(copy, "a", encoding="utf-8") as stream:
                    stream.write("\n\n" + line + "\n")
                problems = python36_problems(copy)
                self.assertTrue(any(want in p for p in problems),
                                "%r in a copy of the driver: got %r, want one saying %r"
                                % (line, problems, want))

    def test_the_check_passes_what_3_6_runs(self):
        # Lookalikes of the constructs above that 3.6 runs.
        fine = [
            'x = 1; print(f"{x!r:>10} {x == 1}")',
            "def f(): return (1, *a)",
            "@functools.lru_cache(maxsize=None)\ndef f(): pass",
            "r = subprocess.run(['true'], stdout=subprocess.PIPE, universal_newlines=True)",
            "text = 'cache'; d = dict(text=text)",
        ]
        scratch = tempfile.mkdtemp(prefix="powerbridge-shim-")
        self.addCleanup(shutil.rmtree, scratch)
        path = os.path.join(scratch, "fine.py")
        for line in fine:
            with self.subTest(line=line):
                with open(path, "w", encoding="utf-8") as stream:
                    stream.write(line + "\n")
                self.assertEqual([], python36_problems(path))


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
            self.skipTest("no Python 3.6 interpreter found (the static check above ran)")
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
