"""Test-side names for host/linkrun.py (our firmware on the wire)."""
from host.linkrun import (  # noqa: F401
    CHARGER_MAC, REPO, VEHICLE_MAC, Firmware, FirmwareError, LinkBench, micropython,
)
