"""Stand-in for provisioningserver.drivers.pod (only what registry.py uses)."""


class PodDriverBase:
    pass
