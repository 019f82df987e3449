"""Fuzz the SDP codec/server/client and the V2GTP stream reader (host/harness/fuzz/sdp_v2gtp.py).

    python tools/fuzz_sdp_v2gtp.py [--runs N] [--seconds S] [--seed S] [--target sdp|v2gtp|all]
"""
import sys

from host.harness.fuzz import sdp_v2gtp

if __name__ == "__main__":
    sys.exit(sdp_v2gtp.main())
