"""Fuzz the MCU-host link's frame decoder and Link (host/harness/fuzz/hostlink.py).

    python tools/fuzz_hostlink.py [--runs N] [--seconds S] [--seed S] [--target decoder|link|all]

--runs defaults to 1,000,000 inputs per target.
"""
import sys

from host.harness.fuzz import hostlink

if __name__ == "__main__":
    sys.exit(hostlink.main())
