"""A short run of the SDP/V2GTP fuzzer (host/harness/fuzz/sdp_v2gtp.py): mutated
SDP datagrams and V2GTP streams are accepted or rejected cleanly, never anything else."""
import os

from host.harness.fuzz import runner, sdp_v2gtp

SEED = int(os.environ.get("FUZZ_SEED", "5"))


def fuzz(target, runs):
    return runner.run(sdp_v2gtp.TARGETS, target, runs, SEED)


def test_sdp_parsers_server_and_client_survive_mutations():
    tally = fuzz("sdp", 20000)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 500 and tally.rejected > 5000      # both paths exercised


def test_v2gtp_reader_matches_one_shot_parse_on_mutated_streams():
    tally = fuzz("v2gtp", 20000)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 1000 and tally.rejected > 5000


def test_the_harness_catches_a_broken_reader(monkeypatch):
    # A reader that drops the last payload byte must be reported.
    from micro15118 import v2gtp

    real = v2gtp.V2gtpReader.feed

    def broken(self, data):
        return [(t, p[:-1]) for t, p in real(self, data)]

    monkeypatch.setattr(v2gtp.V2gtpReader, "feed", broken)
    assert fuzz("v2gtp", 200).failures
