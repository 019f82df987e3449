"""A short run of the SLAC fuzzer (host/harness/fuzz/slac.py): mutated SLAC frames in every state never raise."""
import os

from host.harness.fuzz import runner, slac


def test_mutated_slac_frames_never_escape():
    seed = int(os.environ.get("FUZZ_SEED", "5"))
    assert set(slac.TARGETS) == {"slac_evse", "slac_ev", "slac_mme"}
    for name in slac.TARGETS:
        tally = runner.run(slac.TARGETS, name, 20000, seed)
        assert tally.unexpected == 0, (name, tally.failures[:2])
        assert tally.accepted + tally.rejected == 20000
        # Both paths are exercised: some mutants get through, most are refused.
        assert tally.accepted > 100 and tally.rejected > 5000, (name, tally.accepted, tally.rejected)


def test_fuzzer_reports_an_escaping_exception():
    # The harness must notice a state machine that raises.
    from micro15118.slac.evse import EvseSlac

    orig = EvseSlac._handle

    def broken(self, frame, now):
        if len(frame) == 61:
            raise KeyError("planted")
        return orig(self, frame, now)
    EvseSlac._handle = broken
    try:
        tally = runner.run(slac.TARGETS, "slac_evse", 3000, seed=2)
    finally:
        EvseSlac._handle = orig
    assert tally.unexpected > 0
