# powerbridge MAAS power driver (shim for MAAS 2.4 - 2.9.1).
# powerbridge-shim: installed by driver-shim/install.py of powerbridge.
#
# MAAS releases before 2.9.2 have no `webhook` power type and no plugin
# mechanism for power drivers. This file is copied into
# provisioningserver/drivers/power/ of a deb-installed MAAS and listed in that
# folder's registry.py by install.py. It speaks to powerbridge exactly the way
# MAAS's own webhook driver does (same setting names, same requests, same
# reading of the answer), so a machine can later move to power_type=webhook
# with the same parameters.
#
# Constraints: it runs inside regiond/rackd on the host's Python (3.5 on
# xenial, 3.6 on bionic), so standard library only and no syntax newer than
# Python 3.5 (no f-strings either). The methods are blocking; MAAS's
# PowerDriver base class runs them in a thread.

"""powerbridge power driver: MAAS webhook-compatible HTTP power control."""

__all__ = ["PowerbridgePowerDriver"]

import base64
import http.client
import json
import re
import socket
import ssl
from urllib.parse import urlsplit

from provisioningserver.drivers import (
    IP_EXTRACTOR_PATTERNS,
    make_ip_extractor,
    make_setting_field,
)
from provisioningserver.drivers.power import (
    PowerActionError,
    PowerAuthError,
    PowerConnError,
    PowerDriver,
    PowerSettingError,
)

# The webhook driver's defaults, byte for byte.
DEFAULT_ON_REGEX = r"status.*\:.*running"
DEFAULT_OFF_REGEX = r"status.*\:.*stopped"

SSL_VERIFY_YES = "y"
SSL_VERIFY_NO = "n"
SSL_VERIFY_CHOICES = [[SSL_VERIFY_NO, "No"], [SSL_VERIFY_YES, "Yes"]]

# Socket timeouts, in seconds. CONNECT_TIMEOUT bounds the TCP connect and
# TLS handshake; the others bound each read of the answer.
# MAAS 2.7 retries a failing query 7 times with 35 s of waits in between, and
# the region gives up on a status check after 60 s: 7 x 3 s + 35 s stays
# under that. On/off take longer on the powerbridge side (an outlet stays off
# for the PDU's power_on_delay, 5 s by default, and every switch is read
# back); a POST that still times out is retried by MAAS's loop, and
# powerbridge joins a repeated POST to the action in flight (a graceful
# shutdown can outlast all of MAAS 2.x's retries: see README.md).
CONNECT_TIMEOUT = 3.0
QUERY_TIMEOUT = 3.0
ACTION_TIMEOUT = 10.0

# A status body is a few bytes; never read more than this.
MAX_BODY = 64 * 1024

DRIVER_VERSION = "1"


_user_agent_cache = []


def _maas_version():
    """Return the running MAAS version for the User-Agent, or ''."""
    # The helper's name and module moved between releases; none of this may
    # ever break a power action.
    try:
        from provisioningserver.utils import version
    except Exception:
        return ""
    for getter in ("get_running_version", "get_maas_version"):
        func = getattr(version, getter, None)
        if func is None:
            continue
        try:
            value = func()
        except Exception:
            continue
        if value:
            return str(value)
    return ""


def _user_agent():
    """'MAAS <version> (powerbridge-shim/N)', computed once."""
    if not _user_agent_cache:
        version = _maas_version()
        agent = "MAAS %s" % version if version else "MAAS"
        _user_agent_cache.append(
            "%s (powerbridge-shim/%s)" % (agent, DRIVER_VERSION)
        )
    return _user_agent_cache[0]


def _shown(uri):
    """uri without any user:password@ part, for messages and logs."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<invalid URI>"
    if "@" not in parts.netloc:
        return uri
    netloc = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc="***@" + netloc).geturl()


def _error_detail(body):
    """A short, printable excerpt of an error answer for MAAS's event log."""
    text = body.decode("utf-8", "replace")
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
        text = decoded["error"]
    text = " ".join(text.split())
    return text[:200]


class PowerbridgePowerDriver(PowerDriver):

    name = "powerbridge"
    description = "powerbridge (webhook-compatible HTTP power)"
    chassis = False
    # can_probe is an abstract property from MAAS 2.9 on; a plain attribute
    # satisfies it there and is ignored by 2.4 - 2.8.
    can_probe = False
    can_set_boot_order = False
    queryable = True

    # Same names, labels, defaults and meaning as MAAS's webhook driver.
    # make_setting_field() has no `secret` argument before MAAS 3.3.
    settings = [
        make_setting_field(
            "power_on_uri", "URI to power on the node", required=True
        ),
        make_setting_field(
            "power_off_uri", "URI to power off the node", required=True
        ),
        make_setting_field(
            "power_query_uri",
            "URI to query the nodes power status",
            required=True,
        ),
        make_setting_field(
            "power_on_regex",
            "Regex to confirm the node is on",
            default=DEFAULT_ON_REGEX,
            required=True,
        ),
        make_setting_field(
            "power_off_regex",
            "Regex to confirm the node is off",
            default=DEFAULT_OFF_REGEX,
            required=True,
        ),
        make_setting_field("power_user", "Power user"),
        make_setting_field(
            "power_pass", "Power password", field_type="password"
        ),
        make_setting_field(
            "power_token",
            "Power token, will be used in place of power_user and power_pass",
            field_type="password",
        ),
        make_setting_field(
            "power_verify_ssl",
            "Verify SSL connections with system CA certificates",
            field_type="choice",
            required=True,
            choices=SSL_VERIFY_CHOICES,
            default=SSL_VERIFY_NO,
        ),
    ]

    # The query URI's host picks the rack controller that runs the driver.
    ip_extractor = make_ip_extractor(
        "power_query_uri",
        getattr(IP_EXTRACTOR_PATTERNS, "URL", IP_EXTRACTOR_PATTERNS.IDENTITY),
    )

    def detect_missing_packages(self):
        # Standard library HTTP client only.
        return []

    def power_on(self, system_id, context):
        """POST power_on_uri; any 2xx answer means done."""
        self._request(
            "POST", self._uri(context, "power_on_uri"), system_id, context,
            ACTION_TIMEOUT,
        )

    def power_off(self, system_id, context):
        """POST power_off_uri; any 2xx answer means done."""
        self._request(
            "POST", self._uri(context, "power_off_uri"), system_id, context,
            ACTION_TIMEOUT,
        )

    def power_query(self, system_id, context):
        """GET power_query_uri; 'on', 'off' or 'unknown' from the body."""
        body = self._request(
            "GET", self._uri(context, "power_query_uri"), system_id, context,
            QUERY_TIMEOUT,
        )
        # MAAS's webhook crashes on invalid UTF-8; read it as unknown instead.
        text = body.decode("utf-8", "replace")
        # As the webhook driver: on-regex first, then off-regex, else unknown.
        # An unset regex falls back to the webhook default.
        on_regex = self._regex(context, "power_on_regex", DEFAULT_ON_REGEX)
        off_regex = self._regex(context, "power_off_regex", DEFAULT_OFF_REGEX)
        if on_regex.search(text) is not None:
            return "on"
        if off_regex.search(text) is not None:
            return "off"
        return "unknown"

    # -- helpers ----------------------------------------------------------

    @staticmethod
    def _uri(context, key):
        uri = (context.get(key) or "").strip()
        if not uri:
            raise PowerSettingError("%s is not set." % key)
        return uri

    @staticmethod
    def _regex(context, key, default):
        pattern = context.get(key) or default
        try:
            return re.compile(pattern)
        except re.error as error:
            raise PowerSettingError(
                "%s is not a valid regular expression: %s" % (key, error)
            )

    @staticmethod
    def _headers(system_id, context):
        """The headers MAAS's webhook driver sends (no Content-Type)."""
        headers = [
            ("User-Agent", _user_agent()),
            ("Accept", "application/json"),
            ("Connection", "close"),
        ]
        if system_id:
            headers.append(("System_Id", str(system_id)))
        token = context.get("power_token")
        user = context.get("power_user")
        password = context.get("power_pass")
        if token:
            headers.append(("Authorization", "Bearer %s" % token))
        elif user and password:
            # RFC 7617, UTF-8 user-pass.
            pair = ("%s:%s" % (user, password)).encode("utf-8")
            headers.append(
                ("Authorization",
                 "Basic %s" % base64.b64encode(pair).decode("ascii"))
            )
        return headers

    @staticmethod
    def _connection(uri, context):
        """Open an HTTP(S) connection for uri; return (conn, request target)."""
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError as error:
            raise PowerSettingError(
                "Invalid URI %s: %s" % (_shown(uri), error)
            )
        scheme = parts.scheme.lower()
        host = parts.hostname
        if scheme not in ("http", "https") or not host:
            raise PowerSettingError(
                "Invalid URI %s: need http:// or https:// and a host."
                % _shown(uri)
            )
        target = parts.path or "/"
        if parts.query:
            target = "%s?%s" % (target, parts.query)
        if scheme == "http":
            conn = http.client.HTTPConnection(
                host, port, timeout=CONNECT_TIMEOUT
            )
        else:
            # Same meaning as the webhook's power_verify_ssl: "y" checks the
            # certificate chain against the system CAs, but (as MAAS does)
            # not the host name; anything else checks nothing.
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            if context.get("power_verify_ssl") != SSL_VERIFY_YES:
                ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(
                host, port, timeout=CONNECT_TIMEOUT, context=ctx
            )
        return conn, target

    def _request(self, method, uri, system_id, context, timeout):
        """Send one request; return the body of a 2xx answer, else raise."""
        conn, target = self._connection(uri, context)
        shown = _shown(uri)
        try:
            try:
                conn.connect()
                conn.sock.settimeout(timeout)
                # skip_accept_encoding: send only the headers MAAS sends.
                conn.putrequest(method, target, skip_accept_encoding=True)
                for name, value in self._headers(system_id, context):
                    conn.putheader(name, value)
                if method == "POST":
                    conn.putheader("Content-Length", "0")
                conn.endheaders()
                response = conn.getresponse()
                status = response.status
                body = response.read(MAX_BODY)
                location = response.getheader("Location", "")
            except socket.timeout:
                if conn.sock is None:
                    raise PowerConnError(
                        "%s %s: could not connect within %g s."
                        % (method, shown, CONNECT_TIMEOUT)
                    )
                raise PowerConnError(
                    "%s %s: no answer within %g s." % (method, shown, timeout)
                )
            except (ssl.SSLError, ssl.CertificateError) as error:
                # Before ValueError: certificate errors are ValueErrors too.
                raise PowerConnError(
                    "%s %s: TLS failed: %s" % (method, shown, error)
                )
            except http.client.InvalidURL as error:
                raise PowerSettingError("Invalid URI %s: %s" % (shown, error))
            except (OSError, http.client.HTTPException) as error:
                # Refused, unreachable, name not resolved, reset, garbled.
                raise PowerConnError("%s %s: %s" % (method, shown, error))
            except ValueError as error:
                # A non-ASCII request target, or a line break or non-Latin-1
                # character in a header value. The error's text may quote
                # the token or password: do not pass it on.
                raise PowerSettingError(
                    "%s %s: the URI, power_user, power_pass or power_token "
                    "holds characters HTTP cannot carry (%s)."
                    % (method, shown, type(error).__name__)
                )
        finally:
            conn.close()

        if 200 <= status < 300:
            return body
        detail = _error_detail(body)
        message = "%s %s: HTTP %d%s" % (
            method, shown, status, (": " + detail) if detail else "."
        )
        if status in (401, 403):
            raise PowerAuthError(message)
        if 300 <= status < 400:
            # Never follow: a redirected POST would not switch anything.
            raise PowerActionError(
                "%s (redirect to %r is not followed)" % (message, location)
            )
        # Everything else, 404 included (MAAS's webhook takes a 404 as
        # success; that would report a machine as switched when it is not).
        raise PowerActionError(message)
