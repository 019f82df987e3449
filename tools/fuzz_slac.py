"""Fuzz the SLAC state machines with mutated SLAC frames in every state (host/harness/fuzz/slac.py).

    python tools/fuzz_slac.py [--runs N] [--seconds S] [--seed S] [--target slac_evse|slac_ev|slac_mme|all]
"""
import sys

from host.harness.fuzz import slac

if __name__ == "__main__":
    sys.exit(slac.main())
