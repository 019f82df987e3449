"""Test-side names for host/bench/linkrun.py (our firmware on the wire)."""
from host.bench.linkrun import (  # noqa: F401
    CHARGER_MAC, REPO, VEHICLE_MAC, Firmware, FirmwareError, LinkBench, micropython,
)
