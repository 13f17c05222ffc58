"""Stand-in for MAAS's provisioningserver package (tests only)."""
