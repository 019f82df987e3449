"""tools/fuzz_evcc.py in short: mutated SECC responses (EXI bytes and decoded
values) fed to the -20 EVCC in every state of every kind of session never
raise and never break an invariant; both outcomes are exercised."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import fuzz_evcc  # noqa: E402

SEED = int(os.environ.get("FUZZ_SEED", "5"))
SNAPS = fuzz_evcc.snapshots()


def test_snapshots_cover_every_state():
    from micro15118.iso20.evcc.session import STATES
    assert set(s[0] for s in SNAPS) == set(STATES)


def test_mutated_bytes_never_escape():
    acc, rej, unexpected, failures = fuzz_evcc.run_target("bytes", 20000, SEED, SNAPS)
    assert unexpected == 0, failures[:3]
    assert acc > 200 and rej > 10000


def test_mutated_values_never_escape():
    acc, rej, unexpected, failures = fuzz_evcc.run_target("values", 20000, SEED, SNAPS)
    assert unexpected == 0, failures[:3]
    assert acc > 2000 and rej > 2000


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
