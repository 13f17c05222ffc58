"""The shim against a local HTTP stand-in: what it sends and how it reads.

These cover answers the real powerbridge never gives (no state word, 404,
500/503, hangs, redirects, TLS); test_driver_powerbridge.py drives the real
binary. All traffic goes to 127.0.0.1.
"""

import base64
import os
import shutil
import tempfile
import unittest

import support


def header_map(record):
    return {name.lower(): value for name, value in record["headers"]}


class StandInCase(unittest.TestCase):
    """One stand-in server per test; `self.answers[path]` scripts it."""

    def setUp(self):
        self.pb = support.load_driver("2.7")
        self.errors = support.power_errors()
        self.driver = self.pb.PowerbridgePowerDriver()
        self.driver.clock = support.RecordingClock()
        self.answers = {}
        self.server = support.StandIn(self._answer)
        self.addCleanup(self.server.close)

    def _answer(self, record):
        answer = self.answers.get(record["path"], (200, '{"status":"running"}'))
        return answer(record) if callable(answer) else answer

    def ctx(self, **settings):
        values = {
            "power_on_uri": self.server.url("/v1/machines/node1/on"),
            "power_off_uri": self.server.url("/v1/machines/node1/off"),
            "power_query_uri": self.server.url("/v1/machines/node1/status"),
        }
        values.update(settings)
        return support.context(**values)


class TestRequests(StandInCase):
    """The requests are the ones MAAS's webhook driver sends."""

    def test_power_on_is_an_empty_post(self):
        self.driver.power_on("abc123", self.ctx(power_token="tok"))
        [request] = self.server.requests
        headers = header_map(request)
        self.assertEqual("POST", request["method"])
        self.assertEqual("/v1/machines/node1/on", request["path"])
        self.assertEqual(b"", request["body"])
        self.assertEqual("0", headers["content-length"])
        self.assertNotIn("content-type", headers)
        self.assertNotIn("transfer-encoding", headers)

    def test_power_off_posts_the_off_uri(self):
        self.driver.power_off("abc123", self.ctx())
        [request] = self.server.requests
        self.assertEqual(("POST", "/v1/machines/node1/off"),
                         (request["method"], request["path"]))
        self.assertEqual("0", header_map(request)["content-length"])

    def test_query_is_a_get_with_no_body(self):
        self.driver.power_query("abc123", self.ctx())
        [request] = self.server.requests
        self.assertEqual(("GET", "/v1/machines/node1/status"),
                         (request["method"], request["path"]))
        self.assertEqual(b"", request["body"])
        self.assertNotIn("content-type", header_map(request))

    def test_webhook_headers(self):
        self.driver.power_query("abc123", self.ctx())
        headers = header_map(self.server.requests[0])
        self.assertRegex(headers["user-agent"], r"^MAAS 2\.7\.0-stub ")
        self.assertEqual("application/json", headers["accept"])
        self.assertEqual("close", headers["connection"])
        self.assertEqual("abc123", headers["system_id"])
        self.assertNotIn("authorization", headers)
        self.assertNotIn("accept-encoding", headers)

    def test_no_system_id_header_without_a_system_id(self):
        self.driver.power_query(None, self.ctx())
        self.assertNotIn("system_id", header_map(self.server.requests[0]))

    def test_uri_is_used_verbatim_with_its_query_string(self):
        uri = self.server.url("/v1/machines/node1/status?x=1&y=%20z")
        self.driver.power_query("abc123", self.ctx(power_query_uri=uri))
        self.assertEqual("/v1/machines/node1/status?x=1&y=%20z",
                         self.server.requests[0]["path"])

    def test_bearer_token(self):
        self.driver.power_on("abc123", self.ctx(power_token="s3cret-token"))
        self.assertEqual("Bearer s3cret-token",
                         header_map(self.server.requests[0])["authorization"])

    def test_token_wins_over_user_and_pass(self):
        self.driver.power_on("abc123", self.ctx(
            power_token="tok", power_user="admin", power_pass="pw"))
        self.assertEqual("Bearer tok",
                         header_map(self.server.requests[0])["authorization"])

    def test_basic_auth_with_user_and_pass(self):
        self.driver.power_on("abc123", self.ctx(
            power_user="admin", power_pass="pä:ss"))
        expected = "Basic " + base64.b64encode(
            "admin:pä:ss".encode("utf-8")).decode("ascii")
        self.assertEqual(expected,
                         header_map(self.server.requests[0])["authorization"])

    def test_no_auth_with_user_but_no_pass(self):
        self.driver.power_on("abc123", self.ctx(power_user="admin"))
        self.assertNotIn("authorization",
                         header_map(self.server.requests[0]))


class TestQueryReading(StandInCase):
    """On-regex first, then off-regex, else unknown; body read as UTF-8."""

    def query(self, body, **settings):
        self.answers["/v1/machines/node1/status"] = (200, body)
        return self.driver.power_query("abc123", self.ctx(**settings))

    def test_running_is_on(self):
        self.assertEqual("on", self.query('{"status":"running"}'))

    def test_stopped_is_off(self):
        self.assertEqual("off", self.query('{"status": "stopped"}'))

    def test_no_state_word_is_unknown(self):
        self.assertEqual("unknown", self.query('{"machine":"node1"}'))

    def test_empty_body_is_unknown(self):
        self.assertEqual("unknown", self.query(""))

    def test_on_regex_is_tried_first(self):
        # The webhook quirk, kept: a body with both words reads as on.
        self.assertEqual(
            "on", self.query('{"status":"stopped","was":"running"}'))

    def test_custom_regexes(self):
        self.assertEqual("off", self.query(
            "POWER=0", power_on_regex="POWER=1", power_off_regex="POWER=0"))
        self.assertEqual("on", self.query(
            "POWER=1", power_on_regex="POWER=1", power_off_regex="POWER=0"))

    def test_empty_regex_falls_back_to_the_webhook_default(self):
        self.assertEqual("off", self.query(
            '{"status":"stopped"}', power_on_regex="", power_off_regex=""))

    def test_utf8_body(self):
        self.assertEqual("on", self.query(
            '{"note":"Zähler läuft","status":"running"}'))

    def test_invalid_utf8_does_not_crash(self):
        self.assertEqual("off", self.query(b'\xff\xfe{"status":"stopped"}'))

    def test_invalid_regex_is_a_setting_error(self):
        with self.assertRaises(self.errors.PowerSettingError):
            self.query('{"status":"running"}', power_on_regex="status(")


class TestErrors(StandInCase):
    """Each HTTP failure maps to the MAAS exception that gets it retried
    (or not)."""

    def assert_raises_for(self, status, exception, method="power_on"):
        path = "/v1/machines/node1/on" if method == "power_on" else (
            "/v1/machines/node1/status")
        self.answers[path] = (status, '{"error":"boom %d"}' % status)
        with self.assertRaises(exception) as caught:
            getattr(self.driver, method)("abc123", self.ctx())
        self.assertIn("HTTP %d" % status, str(caught.exception))
        return caught.exception

    def test_401_is_an_auth_error(self):
        error = self.assert_raises_for(401, self.errors.PowerAuthError)
        self.assertIn("boom 401", str(error))
        self.assertIsInstance(error, self.errors.PowerFatalError)

    def test_403_is_an_auth_error(self):
        self.assert_raises_for(403, self.errors.PowerAuthError, "power_query")

    def test_404_is_not_success(self):
        error = self.assert_raises_for(404, self.errors.PowerActionError)
        self.assertNotIsInstance(error, self.errors.PowerFatalError)
        # Unlike MAAS's webhook, no second try at uri + "/".
        self.assertEqual(["/v1/machines/node1/on"],
                         [r["path"] for r in self.server.requests])

    def test_404_on_query_is_not_a_state(self):
        self.assert_raises_for(404, self.errors.PowerActionError,
                               "power_query")

    def test_500_is_a_retryable_action_error(self):
        error = self.assert_raises_for(500, self.errors.PowerActionError)
        self.assertNotIsInstance(error, self.errors.PowerFatalError)

    def test_503_is_a_retryable_action_error(self):
        self.assert_raises_for(503, self.errors.PowerActionError,
                               "power_query")

    def test_other_4xx_is_a_retryable_action_error(self):
        for status in (400, 409, 422):
            self.assert_raises_for(status, self.errors.PowerActionError)

    def test_redirect_is_not_followed(self):
        self.answers["/v1/machines/node1/on"] = (
            307, "", {"Location": "/v1/machines/node1/on/"})
        with self.assertRaises(self.errors.PowerActionError) as caught:
            self.driver.power_on("abc123", self.ctx())
        self.assertIn("redirect", str(caught.exception))
        self.assertEqual(1, len(self.server.requests))

    def test_2xx_other_than_200_is_success(self):
        self.answers["/v1/machines/node1/on"] = (204, "")
        self.driver.power_on("abc123", self.ctx())

    def test_connection_refused_is_a_conn_error(self):
        uri = "http://127.0.0.1:%d/v1/machines/node1/on" % support.free_port()
        with self.assertRaises(self.errors.PowerConnError):
            self.driver.power_on("abc123", self.ctx(power_on_uri=uri))

    def test_timeout_is_a_conn_error(self):
        self.pb_timeouts(0.3)
        self.answers["/v1/machines/node1/status"] = (None, 10)
        with self.assertRaises(self.errors.PowerConnError) as caught:
            self.driver.power_query("abc123", self.ctx())
        self.assertIn("no answer within", str(caught.exception))

    def test_post_timeout_is_a_conn_error(self):
        self.pb_timeouts(0.3)
        self.answers["/v1/machines/node1/off"] = (None, 10)
        with self.assertRaises(self.errors.PowerConnError):
            self.driver.power_off("abc123", self.ctx())

    def pb_timeouts(self, seconds):
        old = self.pb.QUERY_TIMEOUT, self.pb.ACTION_TIMEOUT
        self.pb.QUERY_TIMEOUT = self.pb.ACTION_TIMEOUT = seconds

        def restore():
            self.pb.QUERY_TIMEOUT, self.pb.ACTION_TIMEOUT = old
        self.addCleanup(restore)

    def test_timeouts_are_short(self):
        # 7 failing queries must cost well under the 2.7 region's 60 s,
        # with 35 s of waits between them.
        worst = self.pb.CONNECT_TIMEOUT + self.pb.QUERY_TIMEOUT
        self.assertLess(7 * worst + 35, 80)
        self.assertLess(7 * self.pb.QUERY_TIMEOUT + 35, 60)
        self.assertLessEqual(self.pb.CONNECT_TIMEOUT, 3)
        self.assertLessEqual(self.pb.ACTION_TIMEOUT, 10)

    def test_connect_timeout_is_a_conn_error(self):
        # A listening socket whose backlog is full never completes a
        # connect: fill it, then connect once more.
        import socket
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        self.addCleanup(lambda: [f.close() for f in fillers])
        old = self.pb.CONNECT_TIMEOUT
        self.pb.CONNECT_TIMEOUT = 0.3
        self.addCleanup(setattr, self.pb, "CONNECT_TIMEOUT", old)
        uri = "http://127.0.0.1:%d/v1/machines/node1/status" % port
        with self.assertRaises(self.errors.PowerConnError) as caught:
            self.driver.power_query("abc123", self.ctx(power_query_uri=uri))
        self.assertIn("could not connect within 0.3 s", str(caught.exception))

    def test_missing_uri_is_a_setting_error(self):
        with self.assertRaises(self.errors.PowerSettingError):
            self.driver.power_on("abc123", self.ctx(power_on_uri=""))

    def test_bad_scheme_is_a_setting_error(self):
        with self.assertRaises(self.errors.PowerSettingError):
            self.driver.power_query("abc123", self.ctx(
                power_query_uri="ftp://127.0.0.1/x"))

    def test_token_with_a_line_break_is_a_setting_error_not_echoed(self):
        with self.assertRaises(self.errors.PowerSettingError) as caught:
            self.driver.power_on("abc123", self.ctx(
                power_token="s3cret\r\nX-Injected: 1"))
        self.assertNotIn("s3cret", str(caught.exception))
        self.assertEqual([], self.server.requests)

    def test_non_ascii_path_is_a_setting_error(self):
        with self.assertRaises(self.errors.PowerSettingError):
            self.driver.power_query("abc123", self.ctx(
                power_query_uri=self.server.url("/v1/machines/nöde/status")))

    def test_credentials_in_the_uri_are_not_echoed(self):
        self.answers["/v1/machines/node1/on"] = (500, '{"error":"x"}')
        uri = self.server.url("/v1/machines/node1/on").replace(
            "http://", "http://admin:hunter2@")
        with self.assertRaises(self.errors.PowerActionError) as caught:
            self.driver.power_on("abc123", self.ctx(power_on_uri=uri))
        self.assertNotIn("hunter2", str(caught.exception))
        self.assertIn("***@127.0.0.1", str(caught.exception))

    def test_bad_port_is_a_setting_error(self):
        with self.assertRaises(self.errors.PowerSettingError):
            self.driver.power_query("abc123", self.ctx(
                power_query_uri="http://127.0.0.1:notaport/x"))


class TestMAASRetryLoop(StandInCase):
    """Through the stand-in's copy of MAAS's perform_power loop."""

    def test_on_posts_again_until_the_state_changes(self):
        state = {"posts": 0}

        def on(record):
            state["posts"] += 1
            return 200, "{}"

        def status(record):
            return 200, ('{"status":"running"}' if state["posts"] >= 2
                         else '{"status":"stopped"}')
        self.answers["/v1/machines/node1/on"] = on
        self.answers["/v1/machines/node1/status"] = status
        self.driver.on("abc123", self.ctx())
        self.assertEqual(2, state["posts"])
        self.assertEqual([1, 2], self.driver.clock.waits)

    def test_503_is_retried_then_succeeds(self):
        state = {"posts": 0}

        def off(record):
            state["posts"] += 1
            return (503, '{"error":"busy"}') if state["posts"] == 1 else (
                200, "{}")
        self.answers["/v1/machines/node1/off"] = off
        self.answers["/v1/machines/node1/status"] = (
            200, '{"status":"stopped"}')
        self.driver.off("abc123", self.ctx())
        self.assertEqual(2, state["posts"])

    def test_401_is_not_retried(self):
        self.answers["/v1/machines/node1/on"] = (401, '{"error":"no"}')
        with self.assertRaises(self.errors.PowerAuthError):
            self.driver.on("abc123", self.ctx())
        self.assertEqual(1, len(self.server.requests))

    def test_404_never_reads_as_powered(self):
        self.answers["/v1/machines/node1/on"] = (404, '{"error":"nope"}')
        with self.assertRaises(self.errors.PowerActionError):
            self.driver.on("abc123", self.ctx())
        self.assertEqual(7, len(self.server.requests))

    def test_unknown_state_never_completes_an_action(self):
        self.answers["/v1/machines/node1/status"] = (200, "{}")
        with self.assertRaises(self.errors.PowerError) as caught:
            self.driver.on("abc123", self.ctx())
        self.assertIn("never transitioned from unknown to on",
                      str(caught.exception))


class TestTLS(unittest.TestCase):
    """power_verify_ssl: 'y' checks the chain (not the host name)."""

    def setUp(self):
        self.pb = support.load_driver("2.7")
        self.errors = support.power_errors()
        self.driver = self.pb.PowerbridgePowerDriver()
        directory = tempfile.mkdtemp(prefix="powerbridge-shim-tls.")
        self.addCleanup(shutil.rmtree, directory, True)
        pair = support.self_signed_cert(directory)
        if pair is None:
            self.skipTest("openssl is not installed")
        self.cert, key = pair
        self.server = support.StandIn(
            lambda record: (200, '{"status":"running"}'),
            tls=support.server_tls_context(self.cert, key))
        self.addCleanup(self.server.close)
        self.uri = self.server.url("/v1/machines/node1/status")

    def query(self, verify):
        return self.driver.power_query("abc123", support.context(
            power_query_uri=self.uri, power_verify_ssl=verify))

    def test_no_verification_accepts_a_self_signed_certificate(self):
        self.assertEqual("on", self.query("n"))

    def test_verification_rejects_an_unknown_ca(self):
        os.environ.pop("SSL_CERT_FILE", None)
        with self.assertRaises(self.errors.PowerConnError) as caught:
            self.query("y")
        self.assertIn("TLS", str(caught.exception))

    def test_verification_accepts_a_trusted_chain_with_another_name(self):
        # The certificate is for powerbridge.invalid, the URI says
        # 127.0.0.1: like MAAS's webhook, only the chain is checked.
        old = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = self.cert

        def restore():
            if old is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = old
        self.addCleanup(restore)
        self.assertEqual("on", self.query("y"))


if __name__ == "__main__":
    unittest.main()
