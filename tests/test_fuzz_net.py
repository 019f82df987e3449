"""A short run of tools/fuzz_net.py: mutated frames never raise out of the stack."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import fuzz_net  # noqa: E402

SEED = int(os.environ.get("FUZZ_SEED", "3"))


def test_ipv6_frames_never_escape():
    accepted, rejected, failures = fuzz_net.run_ipv6(20000, SEED)
    assert not failures, failures[:3]
    assert accepted > 1000 and rejected > 5000      # both paths exercised


def test_tcp_segments_never_escape():
    accepted, rejected, failures = fuzz_net.run_tcp(20000, SEED)
    assert not failures, failures[:3]
    assert accepted > 2000 and rejected > 2000
