"""Our EV and our charger, both under MicroPython, from plug-in through SLAC,
SDP and TCP to an exchange of V2GTP frames, over the virtual PLC wire and the
QCA7000 chip model (the firmware runs its real SPI driver against it).
Also the faults: unplug at any moment, PLC link loss, modem reset, and a wire
that loses, duplicates, delays and reorders frames."""
import time

import pytest

from host.capture.pcap import read_pcap
from host.bench.linkrun import LinkBench

HOMEPLUG = 0x88E1
IPV6 = 0x86DD


def ethertypes(pcap):
    kinds = {}
    for _, frame in read_pcap(pcap):
        kind = int.from_bytes(frame[12:14], "big")
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def mmtypes(pcap):
    found = {}
    for _, frame in read_pcap(pcap):
        if int.from_bytes(frame[12:14], "big") == HOMEPLUG:
            mmtype = int.from_bytes(frame[15:17], "little")
            found[mmtype] = found.get(mmtype, 0) + 1
    return found


def assert_order(fw, names):
    times = [fw.wait_event(n, 1)[0] for n in names]
    assert times == sorted(times), (names, times)


def test_plug_to_v2gtp_exchange_under_micropython(tmp_path):
    pcap = tmp_path / "wire.pcap"
    with LinkBench(pcap=str(pcap), vehicle_args=("--count", "40", "--size", "1400")) as bench:
        bench.plug()
        result = bench.vehicle.wait_event("RESULT", 60)
        assert "ok messages=40 bytes=56000" in result[2]
        assert bench.vehicle.wait_exit(10) == 0
        assert_order(bench.vehicle, ["plugged", "slac_matched", "secc", "connected", "v2gtp", "RESULT"])
        assert_order(bench.charger, ["plugged", "slac_matched", "connected", "v2gtp"])
        assert bench.charger.count("v2gtp") == 40
        # The charger sees the vehicle's FIN.
        bench.charger.wait_event("disconnected", 10)
        # SLAC and SDP found each other: the SECC the EV connected to is the charger's
        # link-local address (from its MAC) and the EV matched the charger's MAC.
        assert bench.vehicle.wait_event("slac_matched")[2] == "020000000001"
        assert bench.vehicle.wait_event("secc")[2].startswith("fe80000000000000000000fffe000001 ")
    kinds = ethertypes(pcap)
    assert kinds.get(IPV6, 0) >= 80, kinds
    # The whole SLAC sequence crossed the wire (CM_SET_KEY stays between host
    # and modem): PARM.REQ/CNF, 3 START_ATTEN_CHAR, 10 sounds, ATTEN_CHAR.IND/RSP,
    # MATCH.REQ/CNF.
    seen = mmtypes(pcap)
    for mmtype, n in ((0x6064, 1), (0x6065, 1), (0x606A, 3), (0x6076, 10),
                      (0x606E, 1), (0x606F, 1), (0x607C, 1), (0x607D, 1)):
        assert seen.get(mmtype, 0) >= n, (hex(mmtype), seen)


@pytest.mark.parametrize("moment", ["slac", "sdp", "connected", "exchange"])
def test_unplug_at_any_moment_clears_everything(moment):
    args = ("--count", "100000", "--size", "200")
    with LinkBench(vehicle_args=args) as bench:
        bench.plug()
        if moment == "slac":
            bench.vehicle.wait_event("plugged", 20)
            time.sleep(0.15)
        elif moment == "sdp":
            bench.vehicle.wait_event("slac_matched", 20)
        elif moment == "connected":
            bench.vehicle.wait_event("connected", 20)
            bench.charger.wait_event("connected", 20)
        else:
            bench.charger.wait_event("v2gtp", 20, count=50)
        keys = {n: bench.server.client(n).modem.key_nid for n in ("charger", "vehicle")}
        bench.unplug()
        bench.charger.wait_event("unplugged", 5)
        bench.vehicle.wait_event("unplugged", 5)
        if moment in ("connected", "exchange"):
            assert bench.charger.wait_event("disconnected", 5)[2] == "unplugged"
        if moment != "slac":
            # Both modems left the session's AVLN: each got a fresh key.
            for name, nid in keys.items():
                assert bench.server.wait_for(
                    lambda s: s.client(name).modem.key_nid not in (None, nid), 5), name
        # Nothing of the old session survives: plugged in again, the whole
        # sequence runs from the start and data flows on a new connection.
        connected_before = bench.vehicle.count("connected")
        matched_before = bench.vehicle.count("slac_matched")
        bench.plug()
        bench.vehicle.wait_event("slac_matched", 20, count=matched_before + 1)
        bench.vehicle.wait_event("connected", 20, count=connected_before + 1)
        echoes = bench.vehicle.count("v2gtp")
        bench.vehicle.wait_event("v2gtp", 20, count=echoes + 20)


def test_plc_link_loss_is_detected_and_recovered():
    with LinkBench(vehicle_args=("--count", "100000", "--size", "200")) as bench:
        bench.plug()
        # Once the link monitors saw the AVLN up, the vehicle's modem goes
        # deaf and mute for 5 s.
        bench.vehicle.wait_event("link_up", 20)
        bench.charger.wait_event("v2gtp", 20, count=20)
        bench.server.link_loss("vehicle", 5000)
        bench.vehicle.wait_event("link_lost", 15)
        # Both sides match again and a new connection carries data.
        bench.vehicle.wait_event("slac_matched", 30, count=2)
        bench.charger.wait_event("connected", 30, count=2)
        echoes = bench.vehicle.count("v2gtp")
        bench.vehicle.wait_event("v2gtp", 20, count=echoes + 20)


@pytest.mark.parametrize("board", ["charger", "vehicle"])
def test_modem_reset_is_detected_and_recovered(board):
    with LinkBench(vehicle_args=("--count", "100000", "--size", "200")) as bench:
        bench.plug()
        bench.charger.wait_event("v2gtp", 20, count=20)
        bench.server.reset_modem(board)
        fw = bench.charger if board == "charger" else bench.vehicle
        assert fw.wait_event("link_lost", 15)[2] in ("modem_reset", "modem_lost")
        bench.charger.wait_event("connected", 30, count=2)
        echoes = bench.vehicle.count("v2gtp")
        bench.vehicle.wait_event("v2gtp", 20, count=echoes + 20)


def test_lossy_wire_still_delivers_the_stream_intact():
    # 5 % loss, 3 % duplicates, 10 % reordered, 0-15 ms delay on every frame,
    # SLAC included.  The vehicle checks every byte of every echo.
    with LinkBench(loss=0.05, dup=0.03, reorder=0.10, delay_ms=(0, 15), seed=7,
                   vehicle_args=("--count", "150", "--size", "1400")) as bench:
        bench.plug()
        result = bench.vehicle.wait_event("RESULT", 90)
        assert "ok messages=150" in result[2]
        assert bench.vehicle.wait_exit(10) == 0
        stats = bench.server.stats()["wire"]
        assert stats["lost"] > 20 and stats["dup"] > 10 and stats["reordered"] > 20, stats


def test_chip_faults_during_the_exchange_do_not_corrupt_the_stream():
    # SPI bit errors on both chips' MISO, then a bad signature, read- and
    # write-buffer errors and a bogus RDBUF_BYTE_AVA: the drivers re-sync,
    # corrupted frames die at the framing or checksum checks, TCP resends.
    with LinkBench(vehicle_args=("--count", "120", "--size", "1400")) as bench:
        bench.plug()
        bench.charger.wait_event("v2gtp", 20, count=10)
        for name in ("charger", "vehicle"):
            bench.server.chip_fault(name, "set_bit_errors", 2e-5, seed=3)
        bench.charger.wait_event("v2gtp", 30, count=40)
        for fault in ("inject_bad_signature", "inject_rdbuf_error", "inject_wrbuf_error",
                      "inject_avail_glitch"):
            bench.server.chip_fault("charger", fault)
            bench.server.chip_fault("vehicle", fault)
            time.sleep(0.2)
        result = bench.vehicle.wait_event("RESULT", 90)
        assert "ok messages=120" in result[2]
        assert bench.vehicle.wait_exit(10) == 0
