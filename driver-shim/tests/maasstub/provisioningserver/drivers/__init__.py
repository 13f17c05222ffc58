"""Stand-in for provisioningserver.drivers as in MAAS 2.4 - 2.9."""

from jsonschema import validate


class IP_EXTRACTOR_PATTERNS:
    """The two patterns MAAS ships (same regular expressions)."""

    IDENTITY = "^(?P<address>.+?)$"
    URL = (
        r"^"
        r"((?P<schema>.+?)://)?"
        r"((?P<user>.+?)(:(?P<password>.*?))?@)?"
        r"(?:\[(?=[0-9a-fA-F]*:[0-9a-fA-F.:]+\]))?"
        r"(?P<address>(?:(?:[^\[\]/:]*(?!\]))|"
        r"(?:(?<=\[)[0-9a-fA-F:.]+(?=\]))))\]?"
        r"(:(?P<port>\d+?))?"
        r"(?P<path>/.*?)?"
        r"(?P<query>[?].*?)?"
        r"$"
    )


IP_EXTRACTOR_SCHEMA = {
    "title": "IP Extractor Configuration",
    "type": "object",
    "properties": {
        "field_name": {"type": "string"},
        "pattern": {"type": "string"},
    },
    "dependencies": {"field_name": ["pattern"], "pattern": ["field_name"]},
}

CHOICE_FIELD_SCHEMA = {
    "type": "array",
    "items": {
        "title": "Setting parameter field choice",
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "uniqueItems": True,
        "items": {"type": "string"},
    },
}

SETTING_PARAMETER_FIELD_SCHEMA = {
    "title": "Setting parameter field",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "field_type": {"type": "string"},
        "label": {"type": "string"},
        "required": {"type": "boolean"},
        "scope": {"type": "string"},
        "choices": CHOICE_FIELD_SCHEMA,
        "default": {"type": "string"},
    },
    "required": ["field_type", "label", "required"],
}


def make_ip_extractor(field_name, pattern=IP_EXTRACTOR_PATTERNS.IDENTITY):
    return {"field_name": field_name, "pattern": pattern}


class SETTING_SCOPE:
    BMC = "bmc"
    NODE = "node"


def make_setting_field(
    name,
    label,
    field_type=None,
    choices=None,
    default=None,
    required=False,
    scope=SETTING_SCOPE.BMC,
):
    """2.x signature: no `secret` argument (it came with MAAS 3.3)."""
    if field_type not in (
        "string",
        "mac_address",
        "choice",
        "password",
        "ip_address",
        "virsh_address",
    ):
        field_type = "string"
    if choices is None:
        choices = []
    validate(choices, CHOICE_FIELD_SCHEMA)
    if default is None:
        default = ""
    if scope not in (SETTING_SCOPE.BMC, SETTING_SCOPE.NODE):
        scope = SETTING_SCOPE.BMC
    return {
        "name": name,
        "label": label,
        "required": required,
        "field_type": field_type,
        "choices": choices,
        "default": default,
        "scope": scope,
    }
