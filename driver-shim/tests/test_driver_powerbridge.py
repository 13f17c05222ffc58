"""The shim driving a REAL powerbridge on its simulated AP7900 PDU.

The binary is $POWERBRIDGE_BIN, or built here with `go build
./cmd/powerbridge` into a temporary directory. It listens on a 127.0.0.1
port only. A binary that cannot be had fails these tests (it is not
skipped): the shim exists to talk to it.
"""

import unittest

import support

_server = {}


def setUpModule():
    try:
        _server["pb"] = support.Powerbridge()
    except support.BinaryUnavailable as error:
        _server["error"] = str(error)


def tearDownModule():
    if "pb" in _server:
        _server["pb"].close()


class PowerbridgeCase(unittest.TestCase):
    def setUp(self):
        if "pb" not in _server:
            self.fail("no powerbridge to test against: %s"
                      % _server.get("error"))
        self.server = _server["pb"]
        self.pb = support.load_driver("2.7")
        self.errors = support.power_errors()
        self.driver = self.pb.PowerbridgePowerDriver()
        self.driver.clock = support.RecordingClock()

    def ctx(self, name="node1", **settings):
        return self.server.machine_context(name, **settings)


class TestPowerActions(PowerbridgeCase):
    """on, off and query give what MAAS expects."""

    def test_on_then_query_is_on(self):
        ctx = self.ctx()
        self.driver.power_on("abc123", ctx)
        self.assertEqual("on", self.driver.power_query("abc123", ctx))

    def test_off_then_query_is_off(self):
        ctx = self.ctx()
        self.driver.power_off("abc123", ctx)
        self.assertEqual("off", self.driver.power_query("abc123", ctx))

    def test_on_and_off_are_idempotent(self):
        ctx = self.ctx()
        for action, state in (("power_on", "on"), ("power_on", "on"),
                              ("power_off", "off"), ("power_off", "off")):
            getattr(self.driver, action)("abc123", ctx)
            self.assertEqual(state, self.driver.power_query("abc123", ctx))

    def test_two_outlet_machine(self):
        ctx = self.ctx("node2")
        self.driver.power_on("def456", ctx)
        self.assertEqual("on", self.driver.power_query("def456", ctx))
        self.driver.power_off("def456", ctx)
        self.assertEqual("off", self.driver.power_query("def456", ctx))

    def test_through_the_maas_retry_loop(self):
        # PowerDriver.on/off/cycle as MAAS runs them: POST, wait, query.
        ctx = self.ctx()
        self.driver.off("abc123", ctx)
        self.driver.on("abc123", ctx)
        self.assertEqual("on", self.driver.query("abc123", ctx))
        self.driver.cycle("abc123", ctx)
        self.assertEqual("on", self.driver.query("abc123", ctx))
        self.driver.off("abc123", ctx)
        self.assertEqual("off", self.driver.query("abc123", ctx))
        # Every action took one POST and one query: a wait of 1 s each.
        self.assertEqual([1] * 5, self.driver.clock.waits)

    def test_without_system_id(self):
        # MAAS 3.5+ sends no System_Id; powerbridge must not need it.
        ctx = self.ctx()
        self.driver.power_off(None, ctx)
        self.assertEqual("off", self.driver.power_query(None, ctx))

    def test_basic_auth(self):
        ctx = self.ctx(power_token="", power_user=support.USER,
                       power_pass=support.PASSWORD)
        self.driver.power_on("abc123", ctx)
        self.assertEqual("on", self.driver.power_query("abc123", ctx))

    def test_trailing_slash(self):
        ctx = self.ctx()
        ctx["power_query_uri"] += "/"
        self.assertIn(self.driver.power_query("abc123", ctx), ("on", "off"))


class TestPowerbridgeErrors(PowerbridgeCase):
    """powerbridge's failures map to the right MAAS exceptions."""

    def test_wrong_token_is_an_auth_error(self):
        with self.assertRaises(self.errors.PowerAuthError) as caught:
            self.driver.power_on("abc123", self.ctx(power_token="wrong"))
        self.assertIn("HTTP 401", str(caught.exception))

    def test_wrong_password_is_an_auth_error(self):
        with self.assertRaises(self.errors.PowerAuthError):
            self.driver.power_query("abc123", self.ctx(
                power_token="", power_user=support.USER, power_pass="wrong"))

    def test_no_credentials_is_an_auth_error(self):
        with self.assertRaises(self.errors.PowerAuthError):
            self.driver.power_query("abc123", self.ctx(power_token=""))

    def test_auth_error_is_not_retried_by_maas(self):
        with self.assertRaises(self.errors.PowerAuthError):
            self.driver.on("abc123", self.ctx(power_token="wrong"))
        self.assertEqual([], self.driver.clock.waits)

    def test_unknown_machine_is_an_action_error_not_success(self):
        for action in ("power_on", "power_off", "power_query"):
            with self.assertRaises(self.errors.PowerActionError) as caught:
                getattr(self.driver, action)("abc123", self.ctx("nosuch"))
            message = str(caught.exception)
            self.assertRegex(message, r"HTTP 4\d\d")
            self.assertNotIn("HTTP 404", message)

    def test_stopped_powerbridge_is_a_conn_error(self):
        # A second instance, stopped, leaves a port nothing listens on.
        other = support.Powerbridge()
        ctx = other.machine_context("node1")
        self.driver.power_off("abc123", ctx)
        other.close()
        with self.assertRaises(self.errors.PowerConnError):
            self.driver.power_query("abc123", ctx)
        with self.assertRaises(self.errors.PowerConnError):
            self.driver.power_on("abc123", ctx)


if __name__ == "__main__":
    unittest.main()
