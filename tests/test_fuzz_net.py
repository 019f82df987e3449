"""A short run of the IPv6 stack fuzzer (host/harness/fuzz/net.py): mutated frames never raise out of the stack."""
import os

from host.harness.fuzz import net, runner

SEED = int(os.environ.get("FUZZ_SEED", "3"))


def test_ipv6_frames_never_escape():
    tally = runner.run(net.TARGETS, "ipv6", 20000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 1000 and tally.rejected > 5000      # both paths exercised


def test_tcp_segments_never_escape():
    tally = runner.run(net.TARGETS, "tcp", 20000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 2000 and tally.rejected > 2000
