"""Fuzz the SE050 driver's T=1 and APDU layers with bytes from the chip side (host/harness/fuzz/se050.py).

    python tools/fuzz_se050.py [--runs N] [--seconds S] [--seed S] [--target driver|chip|all]
"""
import sys

from host.harness.fuzz import se050

if __name__ == "__main__":
    sys.exit(se050.main())
