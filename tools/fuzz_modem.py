"""Fuzz the host-side link models: modem model, wire server board protocol, pcap reader (host/harness/fuzz/modem.py).

    python tools/fuzz_modem.py [--runs N] [--seconds S] [--seed S] [--target modem|board|pcap|all]
"""
import sys

from host.harness.fuzz import modem

if __name__ == "__main__":
    sys.exit(modem.main())
