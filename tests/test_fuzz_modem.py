"""Smoke run of tools/fuzz_modem.py: 20,000 mutated inputs per target."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import fuzz_modem  # noqa: E402


def check(target):
    acc, rej, bad = fuzz_modem.run_target(target, 20000, seed=11, quiet=True)
    assert bad == 0
    assert acc > 1000 and rej > 1000          # the mutants reach both outcomes


def test_fuzz_modem():
    check("modem")


def test_fuzz_board_protocol():
    check("board")


def test_fuzz_pcap_reader():
    check("pcap")
