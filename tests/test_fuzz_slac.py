"""A short run of tools/fuzz_slac.py: mutated SLAC frames in every state never raise."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import fuzz_slac  # noqa: E402


def test_mutated_slac_frames_never_escape():
    seed = int(os.environ.get("FUZZ_SEED", "5"))
    results = fuzz_slac.run(20000, seed=seed, report_every=0)
    assert set(results) == {"slac_evse", "slac_ev", "slac_mme"}
    for name, st in results.items():
        assert st.unexpected == 0, (name, st.failures[:2])
        assert st.accepted + st.rejected == 20000
        # Both paths are exercised: some mutants get through, most are refused.
        assert st.accepted > 100 and st.rejected > 5000, (name, st.accepted, st.rejected)


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
        results = fuzz_slac.run(3000, seed=2, targets=("slac_evse",), report_every=0)
    finally:
        EvseSlac._handle = orig
    assert results["slac_evse"].unexpected > 0
