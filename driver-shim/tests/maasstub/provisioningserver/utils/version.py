"""Stand-in for provisioningserver.utils.version (2.x name)."""

import os


def get_maas_version():
    return os.environ.get("MAAS_STUB_VERSION", "2.7") + ".0-stub"
