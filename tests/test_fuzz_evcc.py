"""The EVCC fuzzer (host/harness/fuzz/evcc.py) in short: mutated SECC responses (EXI bytes and decoded
values) fed to the -20 EVCC in every state of every kind of session never
raise and never break an invariant; both outcomes are exercised."""
import os

from host.harness.fuzz import evcc as fuzz_evcc
from host.harness.fuzz import runner

SEED = int(os.environ.get("FUZZ_SEED", "5"))
SNAPS = fuzz_evcc.snapshots()


def test_snapshots_cover_every_state():
    from micro15118.iso20.evcc.session import STATES
    assert set(s[0] for s in SNAPS) == set(STATES)


def test_mutated_bytes_never_escape():
    tally = runner.run(fuzz_evcc.TARGETS, "bytes", 20000, SEED, snaps=SNAPS)
    assert tally.unexpected == 0, tally.failures[:3]
    assert tally.accepted > 200 and tally.rejected > 10000


def test_mutated_values_never_escape():
    tally = runner.run(fuzz_evcc.TARGETS, "values", 20000, SEED, snaps=SNAPS)
    assert tally.unexpected == 0, tally.failures[:3]
    assert tally.accepted > 2000 and tally.rejected > 2000


def test_battery_invariant_catches_wrong_direction_and_over_limit():
    # the watcher itself: it would have caught the EV that booked its own
    # channel's sign on a charger that never discharged
    snap = [s for s in SNAPS if s[1].ctx.discharge and s[0] == "ChargeLoop"][0][1]
    v = fuzz_evcc.clone(snap).vehicle
    c = v.ctx
    assert v.check(c, -5000.0, 375.0, -13.3) is None
    assert v.check(c, 0.0, 375.0, 0.3) is None
    assert "while discharging" in v.check(c, 375.0, 375.0, 1.0)
    assert "limit" in v.check(c, -20000.0, 375.0, -20.0)
    assert "A, limit" in v.check(c, -3000.0, 100.0, -30.0 * 1.1)
    assert "V, limit" in v.check(c, -3000.0, 450.0, -6.0)
