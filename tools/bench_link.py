"""Benchmark the link layer (plug-in to TCP) and print figures.

    python tools/bench_link.py [--runs N] [--skip kernel,heap,...]

1. plug-in to TCP established, simulated time (host/bench/linksim.py: the
   firmware's protocol timing with no scheduling noise), over N seeds;
2. the same in real time with both firmwares under the MicroPython unix
   port through the wire server and the QCA7000 chip model;
3. TCP throughput over the wire: our charger firmware (MicroPython) echoing
   1 MB of V2GTP to the kernel's TCP on a TAP bridge, against the kernel
   talking to the kernel over the same wire (two TAP bridges); ratio;
4. peak MicroPython heap of the link firmware (live heap after collection,
   sampled during an exchange) and the smallest -X heapsize that completes a
   session with 1400-byte messages.

Needs root for 3 (network namespaces).  Figures vary with machine load:
compare the ratios printed in the same run.
"""
import os
import pathlib
import re
import subprocess
import sys
import time

from host.peers import tap
from host.bench.linksim import LinkSim
from host.harness.figures import bench_args, spread

REPO = pathlib.Path(__file__).resolve().parent.parent

MEGABYTE = 1 << 20


def bench_sim(runs):
    matched, secc, connected, wall = [], [], [], []
    for seed in range(1, runs + 1):
        sim = LinkSim(seed=seed)
        t0 = time.perf_counter()
        sim.plug()
        plug_t = sim.t
        sim.run_until(lambda s, e: s is sim.vehicle and e[0] == "connected", 30000)
        wall.append((time.perf_counter() - t0) * 1000)
        v = sim.vehicle
        matched.append(sim.first(v, "slac_matched") - plug_t)
        secc.append(sim.first(v, "secc") - plug_t)
        connected.append(sim.first(v, "connected") - plug_t)
    print("1. plug-in -> TCP established, simulated time (CPython, virtual clock):")
    print("   SLAC matched   ", spread(matched, "%.0f", "ms"))
    print("   SDP answered   ", spread(secc, "%.0f", "ms"))
    print("   TCP established", spread(connected, "%.0f", "ms"))
    print("   (CPU time to simulate one: %s)" % spread(wall, "%.0f", "ms"))


def bench_real(runs):
    from host.bench.linkrun import LinkBench
    connected = []
    for _ in range(runs):
        with LinkBench(vehicle_args=("--count", "1", "--size", "10")) as bench:
            bench.plug()
            c = bench.vehicle.wait_event("connected", 30)[0]
            p = bench.vehicle.wait_event("plugged", 1)[0]
            connected.append(c - p)
    print("2. plug-in -> TCP established, real time, both firmwares under MicroPython:")
    print("   TCP established", spread(connected, "%.0f", "ms"))


def kernel_pair(ns_a, ns_b, bench):
    """Two TAP bridges on one wire, each behind a SLAC agent: EV side in ns_a,
    EVSE side in ns_b.  Returns the two TAP names once both joined the AVLN."""
    from host.peers.slacagent import SlacAgent
    ta = tap.Tap(netns=ns_a.name, mac=tap.EV_TAP_MAC)
    tb = tap.Tap(netns=ns_b.name, mac=tap.EVSE_TAP_MAC)
    for ns, t in ((ns_a, ta), (ns_b, tb)):
        ns.link_up(t.name, dad=False)
        ns.wait_link_local(t.name)
    bench.server.add_bridge("tap", ta.name, role="pev", dev=ta)
    bench.server.add_bridge("tap", tb.name, role="evse", dev=tb)
    evse = SlacAgent("evse", tb.name, ns_b.name, tap.EVSE_TAP_MAC).start()
    time.sleep(0.3)
    ev = SlacAgent("pev", ta.name, ns_a.name, tap.EV_TAP_MAC).start()
    try:
        assert ev.matched.wait(20) and evse.matched.wait(5), (ev.events, evse.events)
    finally:
        ev.stop()
        evse.stop()
    return ta.name, tb.name


def peer(ns, *args):
    return subprocess.Popen(["ip", "netns", "exec", ns.name, sys.executable,
                             str(REPO / "tests" / "peers" / "kernel_v2g.py"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_client(ns, ifname):
    proc = peer(ns, "client", ifname, str(MEGABYTE), "1400")
    out, _ = proc.communicate(timeout=300)
    m = re.search(r"ok sent=(\d+) received=(\d+) seconds=([\d.]+)", out)
    if proc.returncode != 0 or not m:
        raise RuntimeError("kernel client failed:\n" + out)
    return int(m.group(1)), float(m.group(3))


def unpaced_chip(modem, clock):
    from host.bench.qca7000_model import Qca7000Model
    return Qca7000Model(modem, clock=clock, tx_ms=0)


def ours_vs_kernel(**wire_options):
    from host.bench.linkrun import LinkBench
    from host.peers.slacagent import SlacAgent
    with tap.NetNs() as ns, LinkBench(vehicle=False, **wire_options) as bench:
        t = tap.Tap(netns=ns.name, mac=tap.AGENT_MAC)
        ns.link_up(t.name, dad=False)
        ns.wait_link_local(t.name)
        bench.server.add_bridge("tap", t.name, role="pev", dev=t)
        bench.plug()
        bench.charger.wait_event("plugged", 10)
        agent = SlacAgent("pev", t.name, ns.name, tap.AGENT_MAC).start()
        assert agent.matched.wait(20), agent.events
        agent.stop()
        bench.charger.wait_event("slac_matched", 10)
        return run_client(ns, t.name)


def bench_throughput():
    from host.bench.linkrun import LinkBench
    # ours: the charger firmware under MicroPython, the kernel as client; the
    # chip model paces the host's writes at one frame per ms (a Green PHY
    # link carries roughly that), then without pacing (the firmware's own limit)
    n, ours = ours_vs_kernel()
    n1, unpaced = ours_vs_kernel(chip_factory=unpaced_chip)
    # kernel <-> kernel over the same wire (bridges: no chip, no pacing)
    with tap.NetNs() as ns_a, tap.NetNs() as ns_b, LinkBench(charger=False, vehicle=False) as bench:
        ta, tb = kernel_pair(ns_a, ns_b, bench)
        server = peer(ns_b, "server", tb)
        line = server.stdout.readline()
        assert "ready" in line, line
        n2, kernel = run_client(ns_a, ta)
        server.wait(30)
    print("3. TCP throughput over the virtual wire (1 MB of 1400-byte V2GTP messages echoed):")
    print("   our charger (MicroPython) <-> kernel: %.1f KiB/s each way (%.2f s)" % (n / 1024 / ours, ours))
    print("   the same, chip model without its 1 frame/ms pacing: %.1f KiB/s (%.2f s)"
          % (n1 / 1024 / unpaced, unpaced))
    print("   kernel <-> kernel, same wire:        %.1f KiB/s each way (%.2f s)" % (n2 / 1024 / kernel, kernel))
    print("   ratio ours/kernel: %.3f (unpaced %.3f)" % (kernel / ours, kernel / unpaced))


def exchange_ok(heap, count=30, size=1400):
    from host.bench.linkrun import LinkBench
    try:
        with LinkBench(heap=heap, vehicle_args=("--count", str(count), "--size", str(size))) as bench:
            bench.plug()
            bench.vehicle.wait_event("RESULT", 40)
            return bench.vehicle.wait_exit(10) == 0, bench
    except AssertionError:
        return False, None


def bench_heap():
    from host.bench.linkrun import LinkBench
    with LinkBench(vehicle_args=("--count", "200", "--size", "1400")) as bench:
        bench.plug()
        bench.vehicle.wait_event("RESULT", 60)
        bench.vehicle.wait_exit(10)
        vpeak = re.search(r"HEAP peak=(\d+) start=(\d+)", bench.vehicle.output()).groups()
        bench.unplug()
        bench.charger.wait_event("unplugged", 5)
        bench.charger.stop()
        cpeak = None
    with LinkBench(charger_args=("--sessions", "1"), vehicle_args=("--count", "200", "--size", "1400")) as bench:
        bench.plug()
        bench.charger.wait_exit(60)
        cpeak = re.search(r"HEAP peak=(\d+) start=(\d+)", bench.charger.output()).groups()
    lo, hi = 16, 512          # KiB: lo fails (assumed), hi passes
    ok, _ = exchange_ok(f"{hi}k")
    if not ok:
        print("4. heap: the exchange fails even with %d KiB" % hi)
        return
    while hi - lo > 4:
        mid = (lo + hi) // 2
        ok, _ = exchange_ok(f"{mid}k")
        if ok:
            hi = mid
        else:
            lo = mid
    print("4. MicroPython heap (64-bit unix port, modules from .py source):")
    for name, (peak, start) in (("charger", cpeak), ("vehicle", vpeak)):
        print("   %s: live heap peak %s B during a 200 x 1400 B exchange; %s B at start "
              "(module bytecode, which an MCU keeps in flash when frozen, + link objects); "
              "growth while running %d B" % (name, peak, start, int(peak) - int(start)))
    print("   smallest -X heapsize completing a session (both boards): %d KiB" % hi)


def main():
    runs, skip = bench_args(__doc__, 10, ("sim", "real", "throughput", "heap"))
    if "sim" not in skip:
        bench_sim(runs)
    if "real" not in skip:
        bench_real(max(1, runs // 3))
    if "throughput" not in skip:
        if os.geteuid() != 0:
            print("3. skipped: needs root for network namespaces")
        else:
            bench_throughput()
    if "heap" not in skip:
        bench_heap()


if __name__ == "__main__":
    main()
