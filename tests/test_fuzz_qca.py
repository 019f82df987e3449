"""A short run of tools/fuzz_qca.py: no exception escapes the QCA7000 decoder or driver."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import fuzz_qca  # noqa: E402

SEED = int(os.environ.get("FUZZ_SEED", "3"))


def test_qcafrm_decoder_on_mutated_streams():
    accepted, rejected, failures = fuzz_qca.run_qcafrm(20000, SEED)
    assert not failures, failures[:3]
    assert accepted > 500 and rejected > 5000     # the mix exercises both paths


def test_driver_against_corrupted_miso():
    accepted, rejected, failures = fuzz_qca.run_driver(20000, SEED)
    assert not failures, failures[:3]
    assert accepted > 2000 and rejected > 2000


def test_harness_catches_an_escaping_exception():
    # The driver target must report, not swallow, an exception out of service().
    import random

    s = fuzz_qca.Session(random.Random(1))

    def boom(now):
        raise KeyError("x")

    s.drv.service = boom
    s.drv.send = boom
    try:
        s.one_call()
    except fuzz_qca.Unexpected as e:
        assert "KeyError" in str(e)
    else:
        raise AssertionError("exception not reported")
