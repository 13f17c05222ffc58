"""Shared helpers for the driver-shim tests.

Kept Python 3.6-compatible (like the shim): test_python36.py runs the
modules that need no Go toolchain under a real Python 3.6 when one exists.
Every socket here is bound to, or connects to, 127.0.0.1.
"""

import atexit
import importlib
import importlib.util
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TESTS = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.dirname(TESTS)
REPO = os.path.dirname(SHIM)
STUB = os.path.join(TESTS, "maasstub")
FIXTURES = os.path.join(TESTS, "fixtures")
DRIVER_SOURCE = os.path.join(SHIM, "powerbridge.py")
INSTALLER = os.path.join(SHIM, "install.py")

LOOPBACK = "127.0.0.1"


# -- the MAAS stand-in and the driver ---------------------------------------

def load_driver(version="2.7"):
    """Import the stub MAAS (as `version`) and the shim; return the module.

    The stub is put on sys.path here and only here. Modules of a previously
    loaded stub version are dropped first, so versions do not mix.
    """
    os.environ["MAAS_STUB_VERSION"] = version
    if STUB not in sys.path:
        sys.path.insert(0, STUB)
    for name in list(sys.modules):
        if name == "jsonschema" or name.split(".")[0] == "provisioningserver":
            del sys.modules[name]
    importlib.import_module("provisioningserver.drivers.power")
    name = "provisioningserver.drivers.power.powerbridge"
    spec = importlib.util.spec_from_file_location(name, DRIVER_SOURCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def power_errors():
    """The stub's exception module (provisioningserver.drivers.power)."""
    return sys.modules["provisioningserver.drivers.power"]


class RecordingClock:
    """Stands in for the reactor in the stub's retry loop: no real sleeps."""

    def __init__(self):
        self.waits = []

    def sleep(self, seconds):
        self.waits.append(seconds)


def context(**settings):
    """A MAAS-like context: every setting present, '' when unset."""
    base = {
        "power_on_uri": "",
        "power_off_uri": "",
        "power_query_uri": "",
        "power_on_regex": r"status.*\:.*running",
        "power_off_regex": r"status.*\:.*stopped",
        "power_user": "",
        "power_pass": "",
        "power_token": "",
        "power_verify_ssl": "n",
        "system_id": "abc123",
        "power_id": "",
        "mac_address": "",
        "boot_mode": "",
    }
    base.update(settings)
    return base


def free_port():
    """A loopback TCP port that nothing listens on (right now)."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# -- a tiny HTTP stand-in for answers powerbridge never gives ------------------

class _Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stand_in = self.server.stand_in
        record = {
            "method": self.command,
            "path": self.path,
            "headers": list(self.headers.items()),
            "body": body,
        }
        with stand_in.lock:
            stand_in.requests.append(record)
        answer = stand_in.answer(record)
        status, payload, extra = answer[0], answer[1], answer[2:]
        if status is None:
            # Hang (for timeouts) until the test is over.
            stand_in.closing.wait(payload)
            return
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        self.send_response(status)
        for name, value in (extra[0] if extra else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _serve


class StandIn:
    """A local HTTP(S) server on 127.0.0.1 with scripted answers.

    `answer(record)` returns (status, body[, headers]); status None hangs
    for `body` seconds. Every request is recorded in `requests`.
    """

    def __init__(self, answer, tls=None):
        self.answer = answer
        self.requests = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.server = _Server((LOOPBACK, 0), _Handler)
        self.server.stand_in = self
        scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(
                self.server.socket, server_side=True)
            scheme = "https"
        self.base = "%s://%s:%d" % (scheme, LOOPBACK,
                                    self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def url(self, path):
        return self.base + path

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def self_signed_cert(directory, common_name="powerbridge.invalid"):
    """(cert, key) paths from openssl, or None when openssl is missing."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.check_call(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj",
         "/CN=%s" % common_name],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def server_tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# -- the real powerbridge binary ----------------------------------------------

TOKEN = "s3cret-token-0123456789"
USER = "admin"
PASSWORD = "s3cret-pass"

CONFIG = """\
listen: "127.0.0.1:{port}"
state_dir: "{state_dir}"
auth:
  tokens: [{{name: maas, token: "{token}"}}]
  users: [{{name: {user}, password: "{password}"}}]
pdus:
  - name: sim
    simulate: ap7900
    power_on_delay: 0s
machines:
  - {{name: node1, outlets: ["sim/1"]}}
  - {{name: node2, outlets: ["sim/2", "sim/3"]}}
"""


class BinaryUnavailable(Exception):
    pass


_built = {}


def powerbridge_binary():
    """$POWERBRIDGE_BIN, or `go build ./cmd/powerbridge` into a temp dir."""
    given = os.environ.get("POWERBRIDGE_BIN")
    if given:
        if not os.access(given, os.X_OK):
            raise BinaryUnavailable("$POWERBRIDGE_BIN=%s is not executable"
                                    % given)
        return given
    if "path" in _built:
        return _built["path"]
    if "error" in _built:
        raise BinaryUnavailable(_built["error"])
    go = shutil.which("go")
    if go is None:
        _built["error"] = "no `go` on PATH and $POWERBRIDGE_BIN is not set"
        raise BinaryUnavailable(_built["error"])
    directory = tempfile.mkdtemp(prefix="powerbridge-shim-bin.")
    atexit.register(shutil.rmtree, directory, True)
    path = os.path.join(directory, "powerbridge")
    result = subprocess.run(
        [go, "build", "-o", path, "./cmd/powerbridge"], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True)
    if result.returncode != 0:
        _built["error"] = "go build ./cmd/powerbridge failed:\n" + (
            result.stdout)
        raise BinaryUnavailable(_built["error"])
    _built["path"] = path
    return path


class Powerbridge:
    """A real powerbridge on 127.0.0.1 serving the simulated AP7900."""

    def __init__(self, deadline=30.0):
        binary = powerbridge_binary()
        self.directory = tempfile.mkdtemp(prefix="powerbridge-shim-run.")
        self.config = os.path.join(self.directory, "powerbridge.yaml")
        self.log = os.path.join(self.directory, "powerbridge.log")
        last_error = None
        for _ in range(3):  # another process may grab the port first
            self.port = free_port()
            with open(self.config, "w") as stream:
                stream.write(CONFIG.format(
                    port=self.port, token=TOKEN, user=USER, password=PASSWORD,
                    state_dir=os.path.join(self.directory, "state")))
            self.log_stream = open(self.log, "wb")
            self.process = subprocess.Popen(
                [binary, "serve", "--config", self.config],
                stdout=self.log_stream, stderr=subprocess.STDOUT)
            try:
                self._wait_healthy(deadline)
                return
            except BinaryUnavailable as error:
                last_error = error
                self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
        raise last_error

    def _wait_healthy(self, deadline):
        import http.client
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise BinaryUnavailable(
                    "powerbridge serve exited with %s:\n%s"
                    % (self.process.returncode, self.output()))
            conn = http.client.HTTPConnection(LOOPBACK, self.port,
                                              timeout=1)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.05)
        raise BinaryUnavailable("powerbridge did not answer /healthz within "
                                "%g s:\n%s" % (deadline, self.output()))

    def output(self):
        self.log_stream.flush()
        with open(self.log, "rb") as stream:
            return stream.read().decode("utf-8", "replace")[-4000:]

    def url(self, path):
        return "http://%s:%d%s" % (LOOPBACK, self.port, path)

    def machine_context(self, name, **settings):
        values = {
            "power_on_uri": self.url("/v1/machines/%s/on" % name),
            "power_off_uri": self.url("/v1/machines/%s/off" % name),
            "power_query_uri": self.url("/v1/machines/%s/status" % name),
            "power_token": TOKEN,
        }
        values.update(settings)
        return context(**values)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log_stream.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


# -- scratch MAAS trees for the installer --------------------------------------

def python36():
    """A real Python 3.6 interpreter, or None."""
    candidates = []
    pyenv = os.path.expanduser("~/.pyenv/versions")
    if os.path.isdir(pyenv):
        for name in sorted(os.listdir(pyenv)):
            if name.startswith("3.6."):
                candidates.append(os.path.join(pyenv, name, "bin",
                                               "python3.6"))
    candidates.append(shutil.which("python3.6"))
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        # pyenv's shims exist even where no 3.6 is selected: ask it.
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2])"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                universal_newlines=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if out.strip() == "(3, 6)":
            return candidate
    return None


def json_dump(value):
    return json.dumps(value, indent=1, sort_keys=True)
