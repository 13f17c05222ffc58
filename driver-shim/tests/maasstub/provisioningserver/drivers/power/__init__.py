"""Stand-in for provisioningserver.drivers.power as in MAAS 2.4 - 2.9.

Same class names, abstract members, exception hierarchy, schema and retry
policy as MAAS; Twisted's deferToThread/pause are replaced by direct calls
and `self.clock.sleep`, so the loop runs synchronously in tests.
"""

from abc import ABCMeta, abstractmethod
import os
import sys
import time

from jsonschema import validate
from provisioningserver.drivers import (
    IP_EXTRACTOR_SCHEMA,
    SETTING_PARAMETER_FIELD_SCHEMA,
)

# "2.4", "2.7" or "2.9": which base class to mirror.
STUB_VERSION = tuple(
    int(p) for p in os.environ.get("MAAS_STUB_VERSION", "2.7").split(".")
)
HAS_CAN_PROBE = STUB_VERSION >= (2, 9)

DEFAULT_WAITING_POLICY = (1, 2, 2, 4, 6, 8, 12)

JSON_POWER_DRIVER_SCHEMA = {
    "title": "Power driver setting set",
    "type": "object",
    "properties": {
        "driver_type": {"type": "string"},
        "name": {"type": "string"},
        "chassis": {"type": "boolean"},
        "description": {"type": "string"},
        "fields": {"type": "array", "items": SETTING_PARAMETER_FIELD_SCHEMA},
        "ip_extractor": IP_EXTRACTOR_SCHEMA,
        "queryable": {"type": "boolean"},
        "missing_packages": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["driver_type", "name", "description", "fields"],
}
if HAS_CAN_PROBE:
    JSON_POWER_DRIVER_SCHEMA["properties"]["can_probe"] = {"type": "boolean"}

JSON_POWER_DRIVERS_SCHEMA = {
    "title": "Power drivers parameters set",
    "type": "array",
    "items": JSON_POWER_DRIVER_SCHEMA,
}


class PowerError(Exception):
    """Base error for all power driver failure commands."""


class PowerFatalError(PowerError):
    """No retry."""


class PowerSettingError(PowerFatalError):
    """Missing or invalid setting. No retry."""


class PowerToolError(PowerFatalError):
    """Missing tool. No retry."""


class PowerAuthError(PowerFatalError):
    """Authentication failed. No retry."""


class PowerConnError(PowerError):
    """Could not talk to the BMC. Retried."""


class PowerActionError(PowerError):
    """The BMC refused or failed the action. Retried."""


class PowerDriverBase(metaclass=ABCMeta):
    def __init__(self):
        super().__init__()
        validate(
            self.get_schema(detect_missing_packages=False),
            JSON_POWER_DRIVER_SCHEMA,
        )

    @property
    @abstractmethod
    def name(self):
        """Name of the power driver."""

    @property
    @abstractmethod
    def description(self):
        """Description of the power driver."""

    @property
    @abstractmethod
    def settings(self):
        """List of settings for the driver."""

    @property
    @abstractmethod
    def ip_extractor(self):
        """IP extractor, or None."""

    @property
    @abstractmethod
    def queryable(self):
        """Whether the power driver can be queried."""

    @property
    @abstractmethod
    def chassis(self):
        """True if the driver is for a chassis."""

    if HAS_CAN_PROBE:

        @property
        @abstractmethod
        def can_probe(self):
            """True if the driver can be used with add_chassis."""

    @abstractmethod
    def detect_missing_packages(self):
        """List of missing packages."""

    @abstractmethod
    def on(self, system_id, context):
        pass

    @abstractmethod
    def off(self, system_id, context):
        pass

    @abstractmethod
    def cycle(self, system_id, context):
        pass

    @abstractmethod
    def query(self, system_id, context):
        pass

    def get_schema(self, detect_missing_packages=True):
        schema = dict(
            driver_type="power",
            name=self.name,
            description=self.description,
            chassis=self.chassis,
            fields=self.settings,
            queryable=self.queryable,
            missing_packages=(
                self.detect_missing_packages()
                if detect_missing_packages
                else []
            ),
        )
        if HAS_CAN_PROBE:
            schema["can_probe"] = self.can_probe
        if self.ip_extractor is not None:
            schema["ip_extractor"] = self.ip_extractor
        return schema

    def get_setting(self, name):
        for setting in self.settings:
            if setting["name"] == name:
                return setting
        return None


class _RealClock:
    def sleep(self, seconds):
        time.sleep(seconds)


class PowerDriver(PowerDriverBase):
    """MAAS's retry loop around power_on/power_off/power_query."""

    wait_time = DEFAULT_WAITING_POLICY
    queryable = True

    def __init__(self, clock=None):
        super().__init__()
        self.clock = _RealClock() if clock is None else clock

    @abstractmethod
    def power_on(self, system_id, context):
        pass

    @abstractmethod
    def power_off(self, system_id, context):
        pass

    @abstractmethod
    def power_query(self, system_id, context):
        pass

    def on(self, system_id, context):
        return self.perform_power(self.power_on, "on", system_id, context)

    def off(self, system_id, context):
        return self.perform_power(self.power_off, "off", system_id, context)

    def cycle(self, system_id, context):
        if self.query(system_id, context) == "on":
            self.perform_power(self.power_off, "off", system_id, context)
        self.perform_power(self.power_on, "on", system_id, context)

    def query(self, system_id, context):
        exc_info = None, None, None
        for waiting_time in self.wait_time:
            try:
                return self.power_query(system_id, context)
            except PowerFatalError:
                raise
            except PowerError:
                exc_info = sys.exc_info()
                self.clock.sleep(waiting_time)
        raise exc_info[1].with_traceback(exc_info[2])

    def perform_power(self, power_func, state_desired, system_id, context):
        state = "unknown"
        exc_info = None, None, None
        for waiting_time in self.wait_time:
            try:
                power_func(system_id, context)
            except PowerFatalError:
                raise
            except PowerError:
                exc_info = sys.exc_info()
                self.clock.sleep(waiting_time)
            else:
                if not self.queryable:
                    return
                self.clock.sleep(waiting_time)
                try:
                    state = self.power_query(system_id, context)
                except PowerFatalError:
                    raise
                except PowerError:
                    exc_info = sys.exc_info()
                else:
                    if state == state_desired:
                        return
        if exc_info == (None, None, None):
            raise PowerError(
                "Failed to power %s. BMC never transitioned from %s to %s."
                % (system_id, state, state_desired)
            )
        raise exc_info[1].with_traceback(exc_info[2])
