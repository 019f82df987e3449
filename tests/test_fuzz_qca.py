"""A short run of the QCA7000 fuzzer (host/harness/fuzz/qca.py): no exception escapes the decoder or driver."""
import os
import random

from host.harness.fuzz import qca, runner

SEED = int(os.environ.get("FUZZ_SEED", "3"))


def test_qcafrm_decoder_on_mutated_streams():
    tally = runner.run(qca.TARGETS, "qcafrm", 20000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 500 and tally.rejected > 5000     # the mix exercises both paths


def test_driver_against_corrupted_miso():
    tally = runner.run(qca.TARGETS, "driver", 20000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 2000 and tally.rejected > 2000


def test_harness_catches_an_escaping_exception():
    # The driver target must report, not swallow, an exception out of service().
    s = qca.Session(random.Random(1))

    def boom(now):
        raise KeyError("x")

    s.drv.service = boom
    s.drv.send = boom
    try:
        s.one_call()
    except runner.Unexpected as e:
        assert "KeyError" in str(e)
    else:
        raise AssertionError("exception not reported")
