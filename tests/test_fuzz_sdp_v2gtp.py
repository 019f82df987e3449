"""A short run of tools/fuzz_sdp_v2gtp.py: mutated SDP datagrams and V2GTP
streams are accepted or rejected cleanly, never anything else."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import fuzz_sdp_v2gtp  # noqa: E402

SEED = int(os.environ.get("FUZZ_SEED", "5"))


def test_sdp_parsers_server_and_client_survive_mutations():
    accepted, rejected, failures = fuzz_sdp_v2gtp.run("sdp", 20000, SEED)
    assert not failures, failures[:3]
    assert accepted > 500 and rejected > 5000      # both paths exercised


def test_v2gtp_reader_matches_one_shot_parse_on_mutated_streams():
    accepted, rejected, failures = fuzz_sdp_v2gtp.run("v2gtp", 20000, SEED)
    assert not failures, failures[:3]
    assert accepted > 1000 and rejected > 5000


def test_the_harness_catches_a_broken_reader(monkeypatch):
    # A reader that drops the last payload byte must be reported.
    from micro15118 import v2gtp

    real = v2gtp.V2gtpReader.feed

    def broken(self, data):
        return [(t, p[:-1]) for t, p in real(self, data)]

    monkeypatch.setattr(v2gtp.V2gtpReader, "feed", broken)
    _, _, failures = fuzz_sdp_v2gtp.run("v2gtp", 200, SEED)
    assert failures
