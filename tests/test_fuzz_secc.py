"""A short run of the SECC fuzzer (host/harness/fuzz/secc.py): mutated requests (bit level,
dict level, out of sequence) in every state of recorded SECC sessions are answered sanely,
never anything else."""
import os

from host.harness.fuzz import runner
from host.harness.fuzz import secc as fuzz_secc

SEED = int(os.environ.get("FUZZ_SEED", "5"))


def fuzz(target, runs, sessions=None):
    return runner.run(fuzz_secc.TARGETS, target, runs, SEED, sessions=sessions)


def test_secc_survives_mutated_requests_in_every_state():
    tally = fuzz("secc", 20000)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 2000 and tally.rejected > 5000      # both paths exercised


def test_the_recording_covers_every_state():
    states = set()
    for steps in fuzz_secc.record():
        for snap, _, _ in steps:
            states.add(snap[0].state)
    assert len(states) == 15, states


def test_the_harness_catches_power_left_on(monkeypatch):
    # A SECC that forgets to open the contactor on FAILED must be reported.
    from micro15118.iso20.secc import session

    sessions = fuzz_secc.record()
    monkeypatch.setattr(session.Secc, "power_off", lambda self, now: None)
    failures = fuzz("secc", 300, sessions).failures
    assert any("power on" in f for f in failures), failures[:3]


def test_the_harness_catches_an_exception(monkeypatch):
    from micro15118.iso20.secc import session

    sessions = fuzz_secc.record()

    def broken(self, now):
        raise RuntimeError("bug in poll")
    monkeypatch.setattr(session.Secc, "poll", broken)
    failures = fuzz("secc", 50, sessions).failures
    assert failures and "bug in poll" in failures[0]


def test_the_harness_catches_power_outside_the_envelope(monkeypatch):
    # A charger that passes every command through unclamped must be reported.
    from micro15118.iso20.envelope import Envelope

    sessions = fuzz_secc.record()
    monkeypatch.setattr(Envelope, "dc", lambda self, v, i, *a, **kw: (v, i))
    monkeypatch.setattr(Envelope, "ac", lambda self, p, *a, **kw: p)
    failures = fuzz("secc", 2000, sessions).failures
    assert any("envelope" in f for f in failures), failures[:3]


def test_the_recording_stays_inside_the_envelope():
    for steps in fuzz_secc.record():
        for snap, _, _ in steps:
            power = snap[2]
            assert power.bad == [] and power.secc is snap[0]
