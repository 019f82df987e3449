"""The fault matrix (host/bench/faults.py): a seeded sample of cells covering every
fault and every state passes, and a charger that does not cut power fails."""
import argparse
import json
import time

import pytest

from micro15118.iso20.charger import Charger
from host.bench.power_path import PowerPath

from host.bench import faults


def test_sample_covers_every_fault_and_state():
    cells = faults.sample_cells(0, seed=3)
    assert {f for f, _ in cells} == set(faults.FAULTS)
    assert {s for _, s in cells} == set(faults.STATES)
    assert all(faults.applicable(f, s) is None for f, s in cells)
    assert faults.sample_cells(0, seed=3) == cells            # seeded
    assert len(faults.sample_cells(30, seed=3)) == 30


def test_not_applicable_cells_are_not_passed():
    c = faults.run_cell("tcp_rst", "SLAC")
    assert not c["applicable"] and not c["passed"] and "TCP" in c["reason"]
    c = faults.run_cell("cp_a", "CableCheck", service="ac")
    assert not c["applicable"] and not c["passed"]
    assert faults.cell_text(c) == "n/a"


def test_seeded_sample_passes():
    t0 = time.monotonic()
    cells = faults.sample_cells(0, seed=11)
    results = faults.run_matrix(cells, seed=11)
    bad = [(c["fault"], c["state"], c["fails"]) for c in results if not c["passed"]]
    assert not bad, bad
    powered = [c for c in results if c["powered"]]
    assert powered, "the sample should cut power at least once"
    for c in powered:
        assert c["contactor_open_ms"] <= c["bound_ms"] and c["current_zero_ms"] <= c["bound_ms"]
    assert all(c["ready"] and c["ready_wh"] > 0 for c in results)
    assert time.monotonic() - t0 < 240


class StuckContactorPower(PowerPath):
    """Power electronics whose contactor ignores the command to open."""

    def contactor(self, closed, now):
        if not closed:
            self.update(now)
            return False
        return PowerPath.contactor(self, closed, now)


def test_stuck_contactor_fails_the_unplug_cell():
    c = faults.run_cell("cp_a", "ChargeLoop", power=StuckContactorPower(0))
    assert c["powered"] and not c["passed"]
    assert c["contactor_open_ms"] is None
    assert any(f.startswith("contactor_open") for f in c["fails"]), c["fails"]
    assert faults.cell_text(c) == "on - R FAIL" or faults.cell_text(c).endswith("FAIL"), faults.cell_text(c)


class LazyEstopCharger(Charger):
    """An emergency stop that only sets the flag: the session cuts power at
    the EV's next request, not at once."""

    def emergency_stop(self, now=None):
        self.estop = True


def test_emergency_stop_that_waits_for_the_next_request_fails():
    good = faults.run_cell("estop", "ChargeLoop")
    assert good["passed"] and good["contactor_open_ms"] == 0
    c = faults.run_cell("estop", "ChargeLoop", charger_cls=LazyEstopCharger)
    assert c["powered"] and not c["passed"]
    assert c["contactor_open_ms"] > faults.AT_ONCE, c


def test_cli_subset_and_json(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    faults.add_faults(parser.add_subparsers(dest="cmd"))
    out = tmp_path / "faults.json"
    args = parser.parse_args(["faults", "--fault", "cp_a,estop", "--state", "ChargeLoop",
                              "--state", "SLAC", "--json", str(out)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "ChargeLoop" in text and "cp_a" in text and "4 cells: 4 passed, 0 failed" in text
    data = json.loads(out.read_text())
    assert {(c["fault"], c["state"]) for c in data["cells"]} == {
        ("cp_a", "ChargeLoop"), ("estop", "ChargeLoop"), ("cp_a", "SLAC"), ("estop", "SLAC")}


def test_an_ev_that_drops_cp_to_b_gets_no_more_power():
    """The EV times out on a silent TCP, opens its contactor and switches CP
    to B: the charger cuts its output on that, not 20 s later when TCP
    gives up (IEC 61851-1: power only in C/D)."""
    c = faults.run_cell("tcp_silence", "ChargeLoop")
    assert c["passed"], c["fails"]
    assert c["current_zero_ms"] < c["ev_contactor_open_ms"] + 100, c
    assert faults.cell_text(c) == "%d ms C R ok" % max(c["contactor_open_ms"], c["current_zero_ms"])


def test_sim_fault_runs_one_cell_and_keeps_it_in_result_json(tmp_path, capsys):
    import json

    from host import cli
    assert cli.main(["sim", "--fault", "cp_e@PreCharge", "--out", str(tmp_path)]) == 0
    cell = json.loads((tmp_path / "result.json").read_text())
    assert cell["verdict"] == "pass" and cell["fault"] == "cp_e" and cell["state"] == "PreCharge"
    assert cell["powered"] and cell["contactor_open_ms"] <= 100
    assert "fault cp_e at PreCharge (dc): %d ms C R ok" % max(
        cell["contactor_open_ms"], cell["current_zero_ms"]) in capsys.readouterr().out
    assert cli.main(["sim", "--fault", "cp_e", "--out", str(tmp_path)]) == 1
    assert "NAME@STATE" in capsys.readouterr().err


@pytest.mark.parametrize("service", ["dc", "ac_bpt"])
def test_the_whole_matrix_passes(service):
    """Every applicable cell, every fault in every state (about 30 s for DC)."""
    cells = [(f, s) for s in faults.STATES for f in faults.FAULTS]
    results = faults.run_matrix(cells, service=service)
    assert len(results) == len(faults.STATES) * len(faults.FAULTS)
    failed = ["%s@%s: %s" % (c["fault"], c["state"], c["fails"]) for c in results
              if c.get("applicable", True) and not c["passed"]]
    assert not failed, failed
    pilot = [c for c in results if c["fault"] in ("cp_a", "cp_e", "cp_f") and c.get("powered")]
    assert pilot and all(max(c["contactor_open_ms"], c["current_zero_ms"]) <= 100 for c in pilot)
