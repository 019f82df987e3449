"""A short run of the host link fuzzer (host/harness/fuzz/hostlink.py): the
frame decoder matches the reference on mutated streams and random bytes,
and the Link takes any frame without an exception; and the harness does
report a decoder or Link that goes wrong."""
import os

from micro15118.hostlink import frame
from micro15118.hostlink.link import Link

from host.harness.fuzz import hostlink, runner

SEED = int(os.environ.get("FUZZ_SEED", "3"))


def test_decoder_on_mutated_streams_and_random_bytes():
    tally = runner.run(hostlink.TARGETS, "decoder", 20000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 2000 and tally.rejected > 10000     # both paths exercised


def test_link_on_frames_with_good_crcs_and_bad_payloads():
    tally = runner.run(hostlink.TARGETS, "link", 20000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 5000 and tally.rejected > 3000


def test_harness_catches_a_wrong_decoder(monkeypatch):
    real = frame.crc32
    # a CRC that is wrong for some lengths: good frames get dropped
    monkeypatch.setattr(frame, "crc32", lambda d: real(d) ^ (len(d) % 7 == 0))
    tally = runner.run(hostlink.TARGETS, "decoder", 300, SEED)
    assert tally.unexpected and "reference" in tally.failures[0], tally.failures[:1]


def test_harness_catches_an_exception_out_of_the_link(monkeypatch):
    real = Link._dispatch

    def dispatch(self, mtype, seq, p, now):
        if mtype == 0x12:
            raise KeyError("boom")
        return real(self, mtype, seq, p, now)
    monkeypatch.setattr(Link, "_dispatch", dispatch)
    tally = runner.run(hostlink.TARGETS, "link", 300, SEED)
    assert tally.unexpected and "KeyError" in tally.failures[0]
