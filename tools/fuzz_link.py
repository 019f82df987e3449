"""Fuzz the whole link loop in the in-process simulation (host/harness/fuzz/link.py).

    python tools/fuzz_link.py [--runs N] [--seconds S] [--seed S] [--target charger|vehicle|all]
"""
import sys

from host.harness.fuzz import link

if __name__ == "__main__":
    sys.exit(link.main())
