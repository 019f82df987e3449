"""Fuzz the host code that takes certificates from a peer: the PnC verifier, the -20 profile checker, TLS path validation and the endpoints' Certificate handling (host/harness/fuzz/cert.py).

    python tools/fuzz_cert.py [--runs N] [--seconds S] [--seed S] [--target der|chain|pnc|tls|peer|all]

One line per target (inputs, accepted, rejected, unexpected, time), its
outcomes by kind (the unexpected grouped by exception and where it was
raised), then the first unexpected inputs; exit status 1 if anything was
unexpected.
"""
import sys

from host.harness.fuzz import cert

if __name__ == "__main__":
    sys.exit(cert.main())
