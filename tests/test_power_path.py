"""host/bench/power_path.py: the one simulated power path both ends read, and
its seams over the wire server's board protocol."""
import threading

import pytest

from host.bench.power_path import PowerPath
from host.bench.wire_server import WireServer


def dc_path(soc=50.0):
    p = PowerPath(0)
    p.declare_pack(60000, soc, 330, 420, 0)       # 375 V at 50 %
    return p


def precharged_dc_path():
    """A DC path precharged to the pack's 375 V, both contactors closed at 2 s."""
    p = dc_path()
    p.contactor(True, 0)
    p.dc_target(375, 0, 0)
    p.present(2000)
    p.ev_contactor(True, 2000)
    return p


def test_precharge_then_current_flows_only_with_both_contactors_closed():
    p = dc_path()
    assert p.contactor(True, 0)
    p.dc_target(375, 100, 0)
    assert p.present(1000)[0] == pytest.approx(200)          # 200 V/s, EV contactor open
    assert p.present(1000)[1] == 0
    assert p.present(2000)[0] == pytest.approx(375)
    p.ev_contactor(True, 2000)
    p.dc_target(420, 100, 2000)                              # ceiling above the pack
    v, i, w = p.present(2000)
    assert (v, i) == (pytest.approx(375), 100)
    charged, _ = p.meter(2000 + 3600)                        # 3.6 s at 37.5 kW
    assert charged == pytest.approx(37.5, rel=1e-3)
    soc, _, _, pack_in, _ = p.pack_reading(5600)
    assert pack_in == pytest.approx(charged)
    assert soc > 50
    assert not p.events or "inrush" not in " ".join(e[1] for e in p.events)


def test_a_voltage_ceiling_below_the_pack_pushes_no_charge_current():
    p = precharged_dc_path()
    p.dc_target(300, 100, 2000)
    assert p.present(2100)[1] == 0
    assert p.meter(5000) == (0.0, 0.0)


def test_discharge_books_energy_out_of_the_pack():
    p = precharged_dc_path()
    p.dc_target(375, -20, 2000)
    _, discharged = p.meter(2000 + 3600)
    assert discharged == pytest.approx(7.5, rel=1e-3)
    assert p.pack_reading(5600)[0] < 50


def test_closing_onto_a_wrong_voltage_is_an_inrush_and_unplugging_under_load_is_counted():
    p = dc_path()
    p.contactor(True, 0)
    p.dc_target(0, 0, 0)
    p.ev_contactor(True, 100)
    assert any("inrush" in e[1] for e in p.events)
    p2 = precharged_dc_path()
    p2.dc_target(420, 50, 2000)
    p2.plug(False, 2500)
    assert any("unplugged under load" in e[1] for e in p2.events)
    assert p2.present(2600)[1] == 0


def test_ac_power_flows_while_both_contactors_are_closed():
    p = dc_path()
    p.contactor(True, 0)
    p.ac_power(11000, 0)
    assert p.present(10)[2] == 0
    p.ev_contactor(True, 10)
    assert p.present(10)[2] == 11000
    assert p.meter(3610)[0] == pytest.approx(11.0, rel=1e-3)
    assert not any("inrush" in e[1] for e in p.events)


def test_a_peer_ev_without_a_pack_seam_closes_once_the_output_settles():
    p = PowerPath(0)                # nobody declared a pack: python-iso15118's EV
    p.contactor(True, 0)
    p.dc_target(920, 0, 0)          # pre-charge: no current asked
    assert p.present(1000)[:2] == (200, 0)
    p.dc_target(920, 10, 1000)      # the loop: the EV said pre-charge was done
    assert p.present(1000) == (200, 10, 2000)
    assert p.meter(4600)[0] == pytest.approx(2.0, rel=1e-3)
    assert p.present(4600)[0] == 200                 # the pack holds it
    assert any("peer EV contactor closed at 200 V" in e[1] for e in p.events)
    p.contactor(False, 5600)
    assert p.present(5600)[1] == 0


def test_insulation_test_takes_two_seconds_and_can_fail():
    p = dc_path()
    assert p.insulation_check(0) is False       # contactor open
    p.contactor(True, 0)
    assert p.insulation_check(0) is None
    assert p.insulation_check(2000) is True
    p.insulation_fault = True
    assert p.insulation_check(2001) is False


def test_the_board_seams_reach_the_cable_over_the_wire_protocol():
    from micro15118.sim.board import SimBoard, SimPack, SimPowerStage
    server = WireServer()
    stop = threading.Event()
    thread = threading.Thread(target=server.run, args=(stop,), daemon=True)
    thread.start()
    try:
        evse = SimBoard("127.0.0.1", server.address[1], "E", b"\x02\0\0\0\0\x01")
        ev = SimBoard("127.0.0.1", server.address[1], "V", b"\x02\0\0\0\0\x02")
        pack = SimPack(ev, 40000, 80, 300, 400)
        stage = SimPowerStage(evse)
        assert stage.contactor(True, 0)
        stage.dc_target(380, 0, 0)
        assert stage.insulation_check(0) is None
        snap = server.power(0)
        assert snap["charger_contactor"] and snap["pack_declared"] and snap["pack_soc"] == 80
        soc, v, i, charged, discharged = pack.read()
        assert (soc, v, i) == (80, 380, 0)
        pack.contactor(True)
        assert server.power(0)["ev_contactor"]
        assert stage.meter(0) == (0.0, 0.0) or stage.meter(0)[0] >= 0
        with pytest.raises(OSError):
            evse.request(b"W", b"K" + bytes(32))          # a charger has no pack
        evse.close()
        ev.close()
    finally:
        stop.set()
        server.stop()
        thread.join(5)
