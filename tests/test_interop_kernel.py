"""The Linux kernel's IPv6/UDP/TCP against our firmware, across the virtual
PLC wire.

A TAP device lives in a network namespace the test creates; its fd is a
bridge port of the wire (behind a modem model, like a PC with a HomePlug
adapter).  A SLAC agent on that TAP gets the bridge's modem into the AVLN;
then plain CPython sockets in the namespace (tests/peers/kernel_v2g.py) talk
to our charger or vehicle firmware running under MicroPython on a simulated
board with the real QCA7000 driver.
"""
import pathlib
import re
import subprocess
import sys
import threading

from host.peers import tap
from host.bench.linkrun import LinkBench
from peerenv import require_root
from host.peers.slacagent import SlacAgent

from host.peers.tap import AGENT_MAC

KERNEL_PEER = pathlib.Path(__file__).resolve().parent / "peers" / "kernel_v2g.py"
MEGABYTE = 1 << 20


class Peer:
    def __init__(self, ns, *args):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, sys.executable, str(KERNEL_PEER), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if "ready" in line:
                self.ready.set()

    def finish(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "timeout"
        self.reader.join(5)
        return rc, "\n".join(self.lines)


def bridged_tap(bench, ns, role):
    t = tap.Tap(netns=ns.name, mac=AGENT_MAC)
    ns.link_up(t.name, dad=False)
    ns.wait_link_local(t.name)
    bench.server.add_bridge("tap", t.name, role=role, dev=t)
    return t


def kernel_ev_matched(bench, ns):
    """An EV (a resistor on the cable, a SLAC agent on a bridged TAP) matched
    with our charger; its TAP, where the kernel's sockets can talk."""
    t = bridged_tap(bench, ns, "pev")
    bench.plug()
    bench.charger.wait_event("plugged", 10)
    agent = SlacAgent("pev", t.name, ns.name, AGENT_MAC).start()
    try:
        assert agent.matched.wait(20), agent.events
    finally:
        agent.stop()
    return t


def test_kernel_tcp_client_exchanges_a_megabyte_with_our_charger():
    require_root()
    with tap.NetNs() as ns, LinkBench(vehicle=False) as bench:
        t = kernel_ev_matched(bench, ns)
        bench.charger.wait_event("slac_matched", 10)
        peer = Peer(ns, "client", t.name, str(MEGABYTE), "1400")
        rc, out = peer.finish(180)
        assert rc == 0, out + "\n--- charger:\n" + bench.charger.output()
        # The kernel's UDP SDP request was answered with our charger's address.
        assert re.search(r"sdp secc=fe80::ff:fe00:1 port=\d+ security=16", out), out
        m = re.search(r"ok sent=(\d+) received=(\d+)", out)
        assert int(m.group(1)) >= MEGABYTE and int(m.group(2)) == int(m.group(1))
        assert bench.charger.count("v2gtp") == (MEGABYTE + 1399) // 1400


def test_kernel_garbage_is_dropped_and_bad_v2gtp_closes_the_connection():
    require_root()
    with tap.NetNs() as ns, LinkBench(vehicle=False) as bench:
        t = kernel_ev_matched(bench, ns)
        rc, out = Peer(ns, "abuse", t.name).finish(60)
        assert rc == 0, out + "\n--- charger:\n" + bench.charger.output()
        assert "KERNEL ABUSE ok" in out
        assert "bad version" in bench.charger.wait_event("v2gtp_error", 5)[2]
        assert bench.charger.count("connected") == 2
        assert bench.charger.proc.poll() is None          # still running


def test_our_vehicle_exchanges_a_megabyte_with_a_kernel_server():
    require_root()
    count, size = 750, 1400                           # 1,050,000 bytes each way
    with tap.NetNs() as ns, LinkBench(charger=False,
                                      vehicle_args=("--count", str(count), "--size", str(size))) as bench:
        t = bridged_tap(bench, ns, "evse")
        peer = Peer(ns, "server", t.name)
        assert peer.ready.wait(10), peer.lines
        agent = SlacAgent("evse", t.name, ns.name, AGENT_MAC).start()
        try:
            bench.server.set_duty(50)                 # the charger's 5 % PWM
            bench.plug()
            assert agent.matched.wait(30), agent.events
            result = bench.vehicle.wait_event("RESULT", 180)
            assert "ok messages=%d bytes=%d" % (count, count * size) in result[2]
            assert bench.vehicle.wait_exit(10) == 0
        finally:
            agent.stop()
        rc, out = peer.finish(30)
        assert rc == 0, out
        m = re.search(r"done messages=(\d+) bytes=(\d+)", out)
        assert m and int(m.group(1)) == count and int(m.group(2)) == count * size, out
        assert bench.vehicle.wait_event("slac_matched")[2] == AGENT_MAC.hex()
