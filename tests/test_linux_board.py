"""The Linux board (boards/linux-qca7000, kind "linux"): our firmware on a
network interface through drivers/linux_packet.py, as on an MPU whose
QCA7000 the kernel's qca_spi driver offers as eth1.  Here the interface is
one end of a veth pair in a network namespace the test creates.

* The driver alone, under MicroPython and CPython: frames both ways (HomePlug
  and IPv6 in, others and our own outgoing ones not), the carrier as
  'ready' / 'lost' / 'reset', the refusal of an interface where the kernel's
  IPv6 is on, and build() on the board file importing no simulation module.
* Two boards end to end: our charger and vehicle (link_main) each on its own
  veth in its own namespace; the other end of each veth is a bridge port of
  the wire server (host/bench/wire_server.py), whose modem models play the
  two QCA7000s and the powerline (CM_SET_KEY, attenuation profiles, AVLN).
  SLAC, SDP, TCP and a V2GTP echo of every message must complete.

Needs root (namespaces, veths, raw sockets); fails, not skips, without it.
"""
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

import pytest

from host.bench import linkrun
from host.bench.wire_server import WireServer
from host.peers import tap
from peerenv import require_root

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOARD = ROOT / "boards" / "linux-qca7000" / "board.json"
RUNTIMES = ["micropython", "cpython"]
CHARGER_MAC = "02:15:11:80:0c:01"
VEHICLE_MAC = "02:15:11:80:0c:02"
PEER_MAC = "02:15:11:80:0c:0f"


def board_file(tmp_path, name, ifname, **extra):
    """The example board with this test's interface."""
    cfg = json.loads(BOARD.read_text())
    assert cfg["kind"] == "linux" and cfg["pilot"] == "fixed"
    cfg["interface"] = ifname
    cfg.update(extra)
    path = tmp_path / (name + ".json")
    path.write_text(json.dumps(cfg))
    return str(path)


def set_kernel_ipv6(ns, ifname, on):
    with tap.in_netns(ns.name):
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % ifname, "w") as f:
            f.write("0" if on else "1")


def veth(ns_a, ns_b, mac_a, mac_b):
    """A veth pair (a in ns_a, b in ns_b), the kernel's IPv6 off on both
    ends (as the board's interface needs), both up."""
    a, b = tap.veth_create(netns_a=ns_a.name, netns_b=ns_b.name)
    for ns, name, mac in ((ns_a, a, mac_a), (ns_b, b, mac_b)):
        set_kernel_ipv6(ns, name, False)
        ns.link_up(name, mac=bytes.fromhex(mac.replace(":", "")))
    return a, b


def in_ns(ns, runtime, args, **kw):
    """A firmware-side process in the namespace (its /sys is the
    namespace's: ip netns exec mounts it)."""
    cmd = ["ip", "netns", "exec", ns.name] + linkrun.interpreter(runtime) + list(args)
    return subprocess.Popen(cmd, env=linkrun.firmware_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL, **kw)


def finish(proc, timeout):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return "timeout", out
    return proc.returncode, out


# -- the driver alone ------------------------------------------------------

DRIVER_CHECK = r"""
import os, sys, time
from micro15118 import boardsetup
from micro15118.drivers.linux_packet import LinuxPacket

A, B, MAC_A, MAC_B, BOARD = sys.argv[1:6]
failed = []

def check(ok, what):
    print(("ok " if ok else "FAIL ") + what)
    if not ok:
        failed.append(what)

def mac(text):
    return bytes(int(p, 16) for p in text.split(":"))

def settle(m, t, ms=300):
    # service until an event or ms have passed; returns (events, t)
    end = t + ms
    while t < end:
        m.service(t)
        if m.events:
            break
        time.sleep(0.01)
        t += 10
    evs = m.events
    m.events = []
    return evs, t

a = LinuxPacket(A, check_ms=20)
b = LinuxPacket(B, check_ms=20)
check(a.mac == mac(MAC_A) and b.mac == mac(MAC_B), "MACs from /sys")
check(a.state == "unknown" and not a.send(bytes(60)), "nothing sent before ready")
t = 0
ea, t = settle(a, t)
eb, t = settle(b, t)
check(ea == [("ready",)] and eb == [("ready",)], "ready on carrier: %r %r" % (ea, eb))

slac = b"\xff" * 6 + a.mac + b"\x88\xe1\x01\x64\x60\x00\x00" + b"\xa5" * 10
ip6 = b.mac + a.mac + b"\x86\xdd" + bytes(range(200))
arp = b"\xff" * 6 + a.mac + b"\x08\x06" + bytes(28)
check(a.send(slac) and a.send(arp) and a.send(ip6), "a sends")
back = b"\xff" * 6 + b.mac + b"\x88\xe1\x01\x65\x60\x00\x00" + b"\x5a" * 46
ip6b = a.mac + b.mac + b"\x86\xdd" + bytes(range(100, 250))
check(b.send(back) and b.send(ip6b), "b sends")
# another socket on a's interface (as the kernel would): outgoing there, not for a
c = LinuxPacket(A, check_ms=20)
c.service(t)
other = b"\xff" * 6 + a.mac + b"\x88\xe1\x01\x66\x60\x00\x00" + b"\x33" * 46
check(c.send(other), "another socket on a's interface sends")
c.close()
time.sleep(0.05)
check(a.value() == 1 and b.value() == 1, "value() 1 while frames wait")
a.service(t)
b.service(t)
check(b.rx == [slac + bytes(60 - len(slac)), ip6, other], "b got a's HomePlug (padded to 60) and IPv6 frames: %r" % b.rx)
check(b.stats["rx_other"] == 1, "b dropped the ARP frame")
check(a.rx == [back, ip6b], "a got b's frames and none sent on its interface: %r" % a.rx)
check(a.value() == 0 and b.value() == 0, "value() 0 once read")
check(not a.send(bytes(1519)) and a.stats["tx_too_long"] == 1, "oversize frame refused")
a.rx = []

os.system("ip link set %s down" % B)
ea, t = settle(a, t)
check(ea == [("lost",)] and a.state == "unknown", "lost when the carrier goes: %r" % ea)
check(not a.send(slac) and a.stats["tx_not_ready"] >= 1, "no send while lost")
os.system("ip link set %s up" % B)
ea, t = settle(a, t, 3000)
check(ea == [("ready",)], "ready again: %r" % ea)
# down and up between two checks: the modem restarted
os.system("ip link set %s down; ip link set %s up" % (B, B))
ea, t = settle(a, t, 3000)
check(ea == [("reset",), ("ready",)] and a.stats["restarts"] == 1, "a bounce is a reset: %r" % ea)
a.close()
b.close()

try:
    LinuxPacket("lo")
    check(False, "the kernel's IPv6 on lo refused")
except ValueError as e:
    check("disable_ipv6=1" in str(e), "the kernel's IPv6 on lo refused: " + str(e))

runner, board = boardsetup.build({"role": "vehicle", "--board": BOARD})
check(type(runner.modem).__name__ == "LinuxPacket" and runner.irq is runner.modem, "build(): the driver")
check(runner.link.host_mac == mac(MAC_A), "build(): the host MAC is the interface's")
check(runner.pilot.read() == (9000, -12000, 50), "build(): fixed pilot B at 5 %%: %r" % (runner.pilot.read(),))
sim = [m for m in sys.modules if "micro15118.sim" in m]
check(sim == [], "no simulation module imported: %r" % sim)
print("DRIVER " + ("FAILED %d" % len(failed) if failed else "OK"))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_driver_on_a_veth(runtime, tmp_path):
    require_root()
    with tap.NetNs() as ns:
        a, b = veth(ns, ns, VEHICLE_MAC, PEER_MAC)
        script = tmp_path / "driver_check.py"
        script.write_text(textwrap.dedent(DRIVER_CHECK))
        board = board_file(tmp_path, "vehicle", a)
        rc, out = finish(in_ns(ns, runtime, [str(script), a, b, VEHICLE_MAC, PEER_MAC, board]), 60)
        assert rc == 0 and "DRIVER OK" in out, out
        assert "FAIL" not in out and out.count("\nok ") >= 17, out


# -- two boards, end to end -----------------------------------------------

class Wire:
    """The wire server (modem models and the powerline) in a thread."""

    def __init__(self):
        self.server = WireServer()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.server.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.server.stop()
        self.thread.join(5)
        self.server.close()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_two_linux_boards_slac_sdp_tcp(runtime, tmp_path):
    require_root()
    count, size = 100, 1200
    with tap.NetNs() as ns_c, tap.NetNs() as ns_v, tap.NetNs() as ns_w:
        # Each board's interface in its own namespace, the modem side of it
        # (a bridge port of the wire) in a third.
        c_if, c_modem = veth(ns_c, ns_w, CHARGER_MAC, "02:15:11:80:0c:11")
        v_if, v_modem = veth(ns_v, ns_w, VEHICLE_MAC, "02:15:11:80:0c:12")
        wire = Wire()
        procs = []
        try:
            bridges = {
                "evse": wire.server.add_bridge("raw", "evse", role="evse",
                                               dev=tap.RawSocket(c_modem, netns=ns_w.name)),
                "pev": wire.server.add_bridge("raw", "pev", role="pev",
                                              dev=tap.RawSocket(v_modem, netns=ns_w.name)),
            }
            charger = in_ns(ns_c, runtime, [
                "-m", linkrun.LINK_MAIN, "charger", "--board", board_file(tmp_path, "c", c_if),
                "--sessions", "1", "--timeout", "60000"])
            procs.append(charger)
            vehicle = in_ns(ns_v, runtime, [
                "-m", linkrun.LINK_MAIN, "vehicle", "--board", board_file(tmp_path, "v", v_if),
                "--count", str(count), "--size", str(size), "--timeout", "60000"])
            procs.append(vehicle)
            v_rc, v_out = finish(vehicle, 90)
            c_rc, c_out = finish(charger, 30)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            wire.close()
        both = "--- vehicle:\n%s\n--- charger:\n%s" % (v_out, c_out)
        assert v_rc == 0 and c_rc == 0, both
        assert "RESULT ok messages=%d bytes=%d" % (count, count * size) in v_out, both
        # matched with the charger's host MAC (the interface's), found it by
        # SDP at the link-local address from that MAC, connected
        assert "slac_matched " + CHARGER_MAC.replace(":", "") in v_out, both
        assert "secc fe80000000000000001511fffe800c01 " in v_out, both
        # and the charger matched and accepted the vehicle's interface
        assert "slac_matched " + VEHICLE_MAC.replace(":", "") in c_out, both
        assert "connected fe80000000000000001511fffe800c02/" in c_out, both
        assert "disconnected closed" in c_out, both
        # every message went over both drivers and came back
        assert c_out.count(" v2gtp ") == count, both
        for role, b in bridges.items():
            assert b.rx > count and b.tx > count, (role, b.rx, b.tx)
