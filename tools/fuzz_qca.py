"""Fuzz the QCA7000 framing decoder and the QCA7000 driver (host/harness/fuzz/qca.py).

    python tools/fuzz_qca.py [--runs N] [--seconds S] [--seed S] [--target qcafrm|driver|all]
"""
import sys

from host.harness.fuzz import qca

if __name__ == "__main__":
    sys.exit(qca.main())
