"""Smoke run of the link model fuzzer (host/harness/fuzz/modem.py): 20,000 mutated inputs per target."""
from host.harness.fuzz import modem, runner


def check(target):
    tally = runner.run(modem.TARGETS, target, 20000, seed=11)
    assert tally.unexpected == 0, tally.failures[:3]
    assert tally.accepted > 1000 and tally.rejected > 1000          # the mutants reach both outcomes


def test_fuzz_modem():
    check("modem")


def test_fuzz_board_protocol():
    check("board")


def test_fuzz_pcap_reader():
    check("pcap")
