"""Fuzz the -20 SECC session machine with mutated requests in every state (host/harness/fuzz/secc.py).

    python tools/fuzz_secc.py [--runs N] [--seconds S] [--seed S]
"""
import sys

from host.harness.fuzz import secc

if __name__ == "__main__":
    sys.exit(secc.main())
