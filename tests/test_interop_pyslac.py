"""pyslac (PyPI, SwitchEV) as the EVSE completes SLAC with our EV firmware.

pyslac runs in a network namespace on a veth; the other end of the veth is
bridged onto our virtual PLC wire through a modem model, which plays the
EVSE's local QCA modem (answers pyslac's CM_SET_KEY, sends it one
CM_ATTEN_PROFILE.IND per sound).  Our EV runs under MicroPython on a
simulated board with the real QCA7000 driver.  pyslac has no control pilot:
the test drives the charger end of the cable (5 % PWM).
"""
import pathlib
import re
import subprocess
import threading

from host.peers import tap
from host.bench.linkrun import LinkBench
from peerenv import pyslac_python, require_root

PYSLAC_DRIVER = pathlib.Path(__file__).resolve().parent / "peers" / "pyslac_evse.py"


def test_pyslac_evse_matches_our_ev():
    require_root()
    python = pyslac_python()
    with tap.NetNs() as ns:
        wire_end, peer_end = tap.unique_name("m15w"), tap.unique_name("m15p")
        tap.veth_create(wire_end, peer_end, netns_b=ns.name)
        tap.link_up(wire_end, dad=False)
        tap.link_up(peer_end, netns=ns.name, dad=False)
        peer_mac = tap.mac_of(peer_end, netns=ns.name)
        with LinkBench(charger=False) as bench:
            bench.server.add_bridge("raw", wire_end, role="evse")
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns.name, python, str(PYSLAC_DRIVER), peer_end, "90"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            lines = []
            ready = threading.Event()

            def read():
                for line in proc.stdout:
                    lines.append(line.rstrip())
                    if "SET_KEY done" in line:
                        ready.set()
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            try:
                # pyslac sets its key, waits its 10 s settle time, then listens.
                assert ready.wait(40), "pyslac never got CM_SET_KEY.CNF:\n" + "\n".join(lines)
                bench.server.set_duty(50)           # 5 %: digital communication
                bench.plug()
                matched = bench.vehicle.wait_event("slac_matched", 60)
                assert proc.wait(60) == 0, "\n".join(lines)
            finally:
                if proc.poll() is None:
                    proc.kill()
                reader.join(5)
            report = [ln for ln in lines if ln.startswith("PYSLAC MATCHED")]
            assert report, "\n".join(lines)
            m = re.search(r"nid=([0-9a-f]+) nmk=([0-9a-f]+) pev=([0-9a-f:]+)", report[0])
            nid, pev = m.group(1), m.group(3)
            # Our EV matched pyslac's host (the veth's MAC), pyslac matched our EV,
            # and our EV put pyslac's key into its modem.
            assert matched[2] == peer_mac.hex()
            assert pev == "02:00:00:00:00:02"
            vehicle_modem = bench.server.client("vehicle").modem
            assert vehicle_modem.key_nid.hex() == nid
            assert bench.server.wait_for(lambda s: s.client("vehicle").modem.link_status() == 1, 5)
            print("vehicle:", [e[1:] for e in bench.vehicle.events()])
