"""The driver's shape: settings, schema, base classes of MAAS 2.4 - 2.9,
Python 3.6 grammar."""

import ast
import os
import re
import unittest

import support

WEBHOOK_SETTINGS = [
    # name, required, default, field_type
    ("power_on_uri", True, "", "string"),
    ("power_off_uri", True, "", "string"),
    ("power_query_uri", True, "", "string"),
    ("power_on_regex", True, r"status.*\:.*running", "string"),
    ("power_off_regex", True, r"status.*\:.*stopped", "string"),
    ("power_user", False, "", "string"),
    ("power_pass", False, "", "password"),
    ("power_token", False, "", "password"),
    ("power_verify_ssl", True, "n", "choice"),
]


class TestSettings(unittest.TestCase):
    def setUp(self):
        self.pb = support.load_driver("2.7")
        self.driver = self.pb.PowerbridgePowerDriver()

    def test_name(self):
        self.assertEqual("powerbridge", self.driver.name)

    def test_settings_carry_the_webhook_names_and_defaults(self):
        got = [(s["name"], s["required"], s["default"], s["field_type"])
               for s in self.driver.settings]
        self.assertEqual(WEBHOOK_SETTINGS, got)

    def test_all_settings_are_bmc_scoped(self):
        self.assertEqual({"bmc"}, {s["scope"] for s in self.driver.settings})

    def test_verify_ssl_choices(self):
        setting = self.driver.get_setting("power_verify_ssl")
        self.assertEqual([["n", "No"], ["y", "Yes"]], setting["choices"])

    def test_ip_extractor_takes_the_query_uri_host(self):
        from provisioningserver.drivers import IP_EXTRACTOR_PATTERNS
        extractor = self.driver.ip_extractor
        self.assertEqual("power_query_uri", extractor["field_name"])
        self.assertEqual(IP_EXTRACTOR_PATTERNS.URL, extractor["pattern"])
        for uri, address in [
                ("http://10.0.0.5:8080/v1/machines/a/status", "10.0.0.5"),
                ("https://pb.example:8443/x", "pb.example"),
                ("http://[fd00::5]:8080/v1/machines/a/status", "fd00::5")]:
            match = re.match(extractor["pattern"], uri)
            self.assertEqual(address, match.group("address"), uri)

    def test_no_missing_packages(self):
        self.assertEqual([], self.driver.detect_missing_packages())

    def test_queryable_not_chassis(self):
        self.assertTrue(self.driver.queryable)
        self.assertFalse(self.driver.chassis)
        self.assertFalse(self.driver.can_probe)


class TestBaseClassVersions(unittest.TestCase):
    """Instantiable, and its schema valid, under each era's base class."""

    def check(self, version):
        pb = support.load_driver(version)
        power = support.power_errors()
        from jsonschema import validate
        driver = pb.PowerbridgePowerDriver()  # validates in __init__ too
        schema = driver.get_schema()
        validate(schema, power.JSON_POWER_DRIVER_SCHEMA)
        validate([schema], power.JSON_POWER_DRIVERS_SCHEMA)
        self.assertEqual("power", schema["driver_type"])
        self.assertEqual([], schema["missing_packages"])
        self.assertEqual("power_query_uri",
                         schema["ip_extractor"]["field_name"])
        return schema

    def test_maas_2_4(self):
        self.assertNotIn("can_probe", self.check("2.4"))

    def test_maas_2_7(self):
        self.assertNotIn("can_probe", self.check("2.7"))

    def test_maas_2_9_with_abstract_can_probe(self):
        self.assertIs(False, self.check("2.9")["can_probe"])

    def test_a_driver_without_can_probe_fails_on_2_9(self):
        # Shows the 2.9 stand-in really enforces can_probe.
        support.load_driver("2.9")
        power = support.power_errors()

        class Incomplete(power.PowerDriver):
            name = description = "x"
            settings = []
            ip_extractor = None
            chassis = False

            def detect_missing_packages(self):
                return []

            power_on = power_off = power_query = detect_missing_packages

        with self.assertRaises(TypeError):
            Incomplete()

    def test_schema_check_catches_a_bad_field(self):
        support.load_driver("2.7")
        power = support.power_errors()
        from jsonschema import ValidationError, validate
        with self.assertRaises(ValidationError):
            validate({"driver_type": "power", "name": "x",
                      "description": "x", "fields": [{"label": "no type"}]},
                     power.JSON_POWER_DRIVER_SCHEMA)


class TestPythonCompatibility(unittest.TestCase):
    """MAAS 2.7 runs Python 3.6 (2.4 on xenial: 3.5); check the grammar."""

    FILES = [support.DRIVER_SOURCE, support.INSTALLER]

    def test_parses_with_the_python_3_6_grammar(self):
        for path in self.FILES:
            with open(path, encoding="utf-8") as stream:
                ast.parse(stream.read(), path, feature_version=(3, 6))

    def test_parses_with_the_python_3_5_grammar(self):
        # No f-strings and no variable annotations either.
        for path in self.FILES:
            with open(path, encoding="utf-8") as stream:
                ast.parse(stream.read(), path, feature_version=(3, 5))

    def test_standard_library_only(self):
        allowed = {
            "argparse", "ast", "base64", "difflib", "http", "json", "os",
            "re", "shutil", "socket", "ssl", "subprocess", "sys",
            "tempfile", "urllib", "provisioningserver",
        }
        for path in self.FILES:
            with open(path, encoding="utf-8") as stream:
                tree = ast.parse(stream.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module]
                else:
                    continue
                for name in names:
                    self.assertIn(name.split(".")[0], allowed,
                                  "%s imports %s" % (path, name))

    def test_no_apis_newer_than_3_6(self):
        newer = [r"\bremoveprefix\b", r"\bremovesuffix\b",
                 r"capture_output\s*=", r"\btext\s*=\s*True",
                 r"SSLCertVerificationError", r"\bdataclass",
                 r"\bfromisoformat\b", r"\bcontextvars\b"]
        for path in self.FILES:
            with open(path, encoding="utf-8") as stream:
                source = stream.read()
            for pattern in newer:
                self.assertIsNone(re.search(pattern, source),
                                  "%s uses %s" % (os.path.basename(path),
                                                  pattern))


if __name__ == "__main__":
    unittest.main()
