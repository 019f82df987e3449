"""A short run of the SE050 driver fuzzer (host/harness/fuzz/se050.py): bytes
from the chip side never make anything but Se050Error escape the driver, and
the driver works again once they stop."""
import os
import random

from host.harness.fuzz import runner, se050

SEED = int(os.environ.get("FUZZ_SEED", "3"))


def test_driver_against_damaged_chip_blocks():
    tally = runner.run(se050.TARGETS, "driver", 2000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 500 and tally.rejected > 20       # the mix exercises both paths


def test_t1_against_a_noisy_chip():
    tally = runner.run(se050.TARGETS, "chip", 2000, SEED)
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 200 and tally.rejected > 200


def test_harness_reports_an_escaping_exception():
    s = se050.Session(random.Random(1))

    def boom(*a, **k):
        raise KeyError("x")

    s.se.t1.transceive = boom
    try:
        for _ in range(50):
            s.one_call()
    except runner.Unexpected as e:
        assert "KeyError" in str(e)
    else:
        raise AssertionError("exception not reported")


def test_harness_catches_a_wrong_result():
    s = se050.Session(random.Random(2))
    s.damage.on = False
    s.se.random = lambda n: b"short"
    s.se.sha512 = lambda data: bytes(64)
    s.se.read_public_key = lambda obj: b"\x04"
    s.se.exists = lambda obj: None
    try:
        for _ in range(200):
            s.one_call()
    except runner.Unexpected as e:
        assert "wrong result" in str(e)
    else:
        raise AssertionError("wrong result not reported")


def test_harness_catches_a_hang():
    s = se050.Session(random.Random(3))

    def forever(addr, buf, stop=True):
        raise OSError(19)
    s.chip.readfrom_into = forever          # NACK for ever
    s.se.t1.bwt_ms = 10 ** 9
    try:
        s.one_call()
    except runner.Unexpected as e:
        assert "bus operations" in str(e)
    else:
        raise AssertionError("hang not reported")
