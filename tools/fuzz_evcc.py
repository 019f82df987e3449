"""Fuzz the -20 EVCC with mutated SECC responses (host/harness/fuzz/evcc.py).

    python tools/fuzz_evcc.py [--runs N] [--seconds S] [--seed S] [--target bytes|values|all]
"""
import sys

from host.harness.fuzz import evcc

if __name__ == "__main__":
    sys.exit(evcc.main())
