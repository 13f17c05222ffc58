"""Stand-in for the pod driver registry: no pod drivers."""

from provisioningserver.utils.registry import Registry


class PodDriverRegistry(Registry):
    pass
