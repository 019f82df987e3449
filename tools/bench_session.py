"""Benchmark the -20 session and print figures, in one run:

1. session wall time (SupportedAppProtocol to SessionStopRes) and request/
   response pairs per second: our EVCC with our SECC (both MicroPython, over
   the whole simulated link) vs Josev's EVCC with Josev's SECC (kernel TCP on
   a veth); same service and number of charge loops (10, Josev's default);
2. SECC processing time per message (p50/p99) under the MicroPython unix
   port (tools/mp/secc_timing.py: Secc.handle() timed in a full session);
3. MicroPython heap of the SECC firmware (secc_main: link + session) through
   a full DC_BPT session: the smallest -X heapsize that passes, and the live
   peak after collection.

    python tools/bench_session.py [--runs N] [--skip josev,heap]
Needs root for the Josev runs (network namespaces).
"""
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

from host.capture import v2glog
from host.harness.figures import bench_args, spread
from host.bench.linkrun import EVCC_MAIN, SECC_MAIN, LinkBench, firmware_env, micropython

REPO = pathlib.Path(__file__).resolve().parent.parent


def ours(service, loops, heap=None, timeout=120):
    """One session; returns (seconds SAP->SessionStopRes, pairs, charger output)."""
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "wire.pcap")
        with LinkBench(pcap=pcap, charger_script=SECC_MAIN, vehicle_script=EVCC_MAIN, heap=heap,
                       charger_args=("--sessions", "1"),
                       vehicle_args=("--service", service, "--loops", str(loops))) as bench:
            bench.plug()
            rc = bench.vehicle.wait_exit(timeout)
            bench.charger.wait_exit(15)
            out = bench.charger.output()
        msgs = v2glog.messages(pcap)
    if rc != 0:
        raise RuntimeError("our session failed")
    sap = [m["t"] for m in msgs if m["name"] == "supportedAppProtocolReq"][0]
    stop = [m["t"] for m in msgs if m["name"] == "SessionStopRes"][-1]
    pairs = sum(1 for m in msgs if m["from"] == "EV")
    return stop - sap, pairs, out


def bench_wall(runs):
    from host.peers.josev import josev_vs_josev
    o = [ours("dc", 10) for _ in range(runs)]
    print("1. -20 DC session, 10 charge loops, SAP -> SessionStopRes:")
    print("   ours (MicroPython EVCC + SECC, full link)  %s s; pairs %s; %s pairs/s" % (
        spread([x[0] for x in o]), sorted({x[1] for x in o}),
        spread([x[1] / x[0] for x in o], "%.1f")))
    if os.geteuid() != 0:
        print("   Josev: skipped (needs root for network namespaces)")
        return
    j, ready = [], []
    for _ in range(runs):
        r = josev_vs_josev("DC")
        if r.ok:
            j.append((r.timings["sap_to_stop"], len(r.pairs)))
            ready.append(r.timings["secc_ready"])
    if not j:
        print("   Josev vs Josev: no successful run")
        return
    print("   Josev EVCC + Josev SECC (kernel TCP)        %s s; pairs %s; %s pairs/s" % (
        spread([x[0] for x in j]), sorted({x[1] for x in j}),
        spread([x[1] / x[0] for x in j], "%.1f")))
    # wall time, so a benchmark figure and not a test (tests/test_josev_baseline.py)
    print("   Josev SECC start-up (process start -> UDP server up) %s s" % spread(ready))
    print("   ratio of medians (Josev / ours): wall %.1fx, pairs/s %.1fx" % (
        statistics.median([x[0] for x in j]) / statistics.median([x[0] for x in o]),
        statistics.median([x[1] / x[0] for x in o]) / statistics.median([x[1] / x[0] for x in j])))


def bench_secc_timing():
    script = REPO / "tools" / "mp" / "secc_timing.py"
    print("2. SECC processing time per message (Secc.handle, full DC_BPT dynamic V2G session):")
    for label, cmd in (("MicroPython unix port", [micropython()]), ("CPython", [sys.executable])):
        proc = subprocess.run(cmd + [str(script), "dc_bpt", "dynamic", "discharge", "40"],
                              capture_output=True, text=True, timeout=300, env=firmware_env())
        m = re.search(r"SECC_US n=(\d+) p50=(\d+) p99=(\d+) max=(\d+)", proc.stdout)
        if proc.returncode != 0 or not m:
            print("   %s: failed\n%s" % (label, proc.stdout + proc.stderr))
            continue
        print("   %-22s p50 %s us, p99 %s us, max %s us over %s requests" % (
            label, m.group(2), m.group(3), m.group(4), m.group(1)))


def bench_heap():
    print("3. MicroPython heap of the SECC firmware (secc_main: link + -20 SECC), DC_BPT session:")
    lo, hi = 32, 512
    try:
        ours("dc_bpt", 10, heap={"charger": "%dk" % hi})
    except Exception:
        print("   fails even with %d KiB" % hi)
        return
    out = None
    while hi - lo > 8:
        mid = (lo + hi) // 2
        try:
            _, _, o = ours("dc_bpt", 10, heap={"charger": "%dk" % mid}, timeout=60)
            hi, out = mid, o
        except Exception:
            lo = mid
    if out is None:
        _, _, out = ours("dc_bpt", 10, heap={"charger": "%dk" % hi})
    m = re.search(r"HEAP peak=(\d+) start=(\d+)", out)
    print("   smallest -X heapsize that completes it: %d KiB (target 64 KiB; 64-bit port, "
          "module bytecode in RAM)" % hi)
    if m:
        print("   at that size: live peak %s B, %s B after start-up (code + objects), "
              "growth in the session %d B" % (m.group(1), m.group(2),
                                               int(m.group(1)) - int(m.group(2))))


def main():
    runs, skip = bench_args(__doc__, 3, ("wall", "timing", "heap"))
    if "wall" not in skip:
        bench_wall(runs)
    if "timing" not in skip:
        bench_secc_timing()
    if "heap" not in skip:
        bench_heap()


if __name__ == "__main__":
    main()
