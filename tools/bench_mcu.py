"""Firmware budgets on real MicroPython images, measured: heap, flash, time.

    python tools/bench_mcu.py [--json] [--skip heap,apps,flash,time]

Images (built when missing, see `micro15118 firmware build`): a 32-bit unix
port and a Cortex-M3 emulator image with the whole package frozen
(tools/mp/manifest_bench.py), and the charger's board image
(boards/manifests/charger.py) with a bare image beside it for flash.

* heap: the smallest -X heapsize (KiB) that passes, found by a scan (a
  MemoryError can surface as a protocol failure, so bisection would lie):
  codec = the EXI codec imported and the three -20 tables opened; session =
  the in-process DC_BPT dynamic V2G session (tools/mp/secc_timing.py, frozen);
  charger_app / vehicle_app = secc_main / evcc_main through a DC_BPT session
  over the simulated link (the other side with a roomy heap);
* flash (KB): the emulator image bare, what the charger manifest adds
  without its grammar tables, and the tables;
* time: Secc.handle() per request in that session on the Cortex-M3
  emulator under -icount shift=0 (one instruction per emulated ns), as ms at
  133 MHz (one instruction per cycle);
* emulator_session_ok: that session reached SessionStop on the emulator.

With --json the last line is one JSON object (null where not measured).
Prints figures and asserts nothing.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from host.bench.linkrun import EVCC_MAIN, SECC_MAIN, LinkBench
from host.firmware import build, checkout, qemu, source
from host.firmware.ports import PORTS

ROOT = checkout.find_checkout(os.path.dirname(os.path.abspath(__file__)))
BENCH_MANIFEST = os.path.join(ROOT, "tools", "mp", "manifest_bench.py")
# what a board freezes (the -20 tables extend iso20_CommonTypes)
TABLES = ("appProtocol", "iso20_CommonTypes", "iso20_CommonMessages", "iso20_AC", "iso20_DC")
MHZ = 133

CODEC = """
from micro15118 import exi
for s in ('-20:CommonMessages', '-20:AC', '-20:DC'):
    exi.grammar(s)
print('codec ok')
"""


def log(*words):
    print("bench_mcu:", *words, file=sys.stderr, flush=True)


def image(port, role, manifest):
    """The image of (port, role) from manifest, built when missing or stale."""
    sources = [os.path.join(ROOT, "firmware", "micro15118"), os.path.join(ROOT, "tools", "mp"),
               os.path.join(ROOT, "boards", "manifests")]
    return build.current_image(ROOT, PORTS[port], role, manifest, sources, log)


def frozen_run(binary, args, heap_kib, timeout=300):
    """(exit status, output) of the unix image with only its frozen modules."""
    env = dict(os.environ, MICROPYPATH=".frozen")
    with tempfile.TemporaryDirectory() as empty:
        r = subprocess.run([binary, "-X", "heapsize=%dK" % heap_kib] + args, cwd=empty, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
    return r.returncode, r.stdout


def smallest(passes, sizes):
    """The smallest size in sizes that passes, scanning all of them (None if none)."""
    good = [k for k in sizes if passes(k)]
    log("   passed at", good)
    return good[0] if good else None


def heap_codec(binary):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CODEC)
    try:
        return smallest(lambda k: frozen_run(binary, [f.name], k)[1].strip().endswith("codec ok"),
                        range(4, 41, 2))
    finally:
        os.unlink(f.name)


SESSION = "import secc_timing\nsecc_timing.main(['dc_bpt', 'dynamic', 'discharge', '20'])"


def heap_session(binary):
    def passes(k):
        _, out = frozen_run(binary, ["-c", SESSION], k)
        return "RESULT ('done'" in out
    return smallest(passes, range(24, 97, 4))


def heap_app(binary, role):
    """secc_main or evcc_main under -X heapsize, the other side with 2 MiB."""
    def passes(k):
        heaps = {"charger": "2M", "vehicle": "2M"}
        heaps[role] = "%dK" % k
        os.environ["MICRO15118_MICROPYTHON"] = binary      # the frozen image runs the apps
        try:
            with LinkBench(charger_script=SECC_MAIN, vehicle_script=EVCC_MAIN, heap=heaps,
                           charger_args=("--sessions", "1"),
                           vehicle_args=("--service", "dc_bpt", "--control", "dynamic",
                                         "--direction", "discharge", "--loops", "10")) as bench:
                bench.plug()
                return _both_exit_ok(bench, role, 90)
        except Exception as e:      # noqa: BLE001 - a failed run is a failed size
            log("   %s at %d KiB: %s" % (role, k, str(e).splitlines()[0] if str(e) else type(e).__name__))
            return False
        finally:
            os.environ.pop("MICRO15118_MICROPYTHON", None)
    return smallest(passes, range(48, 161, 8))


def _both_exit_ok(bench, role, timeout):
    """Both firmware processes ended with status 0.  The side under test
    dying (a MemoryError) fails the size at once, instead of after the
    other side's timeout."""
    tested = bench.charger if role == "charger" else bench.vehicle
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tested.proc.poll() not in (None, 0):
            return False
        if bench.vehicle.proc.poll() is not None and bench.charger.proc.poll() is not None:
            break
        time.sleep(0.1)
    return bench.vehicle.wait_exit(1) == 0 and bench.charger.wait_exit(15) == 0


def flash(charger_elf):
    tree = source.source_tree(ROOT, None, log)
    port = PORTS["qemu-m3"]
    bare_text, bare_data, _ = build.build_bare(tree, port, 2, log)
    text, data, _ = build.size(port.size_tool(), charger_elf)
    tables = sum(len(_table_bytes(name)) for name in TABLES)
    added = text + data - bare_text - bare_data
    return {"bare": round((bare_text + bare_data) / 1000, 1),
            "firmware": round((added - tables) / 1000, 1), "tables": round(tables / 1000, 1)}


def _table_bytes(name):
    with open(os.path.join(ROOT, "schemas", name + ".exig"), "rb") as f:
        return f.read()


def emulator_session(elf):
    """(p50 ms, p99 ms at 133 MHz, reached SessionStop) of the in-process session on qemu."""
    r = qemu.run(elf, SESSION, machine=PORTS["qemu-m3"].machine, timeout=600,
                 extra=("-icount", "shift=0"))
    m = re.search(r"SECC_US n=(\d+) p50=(\d+) p99=(\d+) max=(\d+)", r.output)
    ok = r.ok and "RESULT ('done'" in r.output
    if not m:
        log("   emulator session: no timing (%s)" % (r.error.strip().splitlines()[-1:] or r.output[-200:]))
        return None, None, ok
    # -icount shift=0: 1 instruction = 1 ns emulated, so instructions = us * 1000
    to_ms = lambda us: round(int(us) * 1000 / (MHZ * 1000.0), 2)  # noqa: E731
    return to_ms(m.group(2)), to_ms(m.group(3)), ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    ap.add_argument("--skip", default="", help="comma list of: heap,apps,flash,time")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    result = {"heap_kib": {"codec": None, "session": None, "charger_app": None, "vehicle_app": None},
              "flash_kb": {"bare": None, "firmware": None, "tables": None},
              "secc_ms_133mhz": {"p50": None, "p99": None}, "emulator_session_ok": False}
    unix = image("unix32", "bench", BENCH_MANIFEST)
    if "heap" not in skip:
        log("heap: codec and -20 tables (32-bit unix, frozen)")
        result["heap_kib"]["codec"] = heap_codec(unix)
        log("heap: in-process DC_BPT session")
        result["heap_kib"]["session"] = heap_session(unix)
    if "apps" not in skip:
        for role, key in (("charger", "charger_app"), ("vehicle", "vehicle_app")):
            log("heap: %s app over the link" % role)
            result["heap_kib"][key] = heap_app(unix, role)
    if "flash" not in skip:
        log("flash: Cortex-M3 emulator image")
        charger = image("qemu-m3", "charger", checkout.manifest(ROOT, "charger"))
        result["flash_kb"] = flash(charger)
    if "time" not in skip:
        log("time: Secc.handle on the Cortex-M3 emulator (-icount shift=0)")
        elf = image("qemu-m3", "bench", BENCH_MANIFEST)
        p50, p99, ok = emulator_session(elf)
        result["secc_ms_133mhz"] = {"p50": p50, "p99": p99}
        result["emulator_session_ok"] = ok
    print("%-44s %s" % ("figure", "value (target)"))
    targets = {"session": "<= 40 KiB", "charger_app": "<= 64 KiB", "vehicle_app": "<= 64 KiB"}
    for k, v in result["heap_kib"].items():
        print("%-44s %s KiB (%s)" % ("heap " + k, v, targets.get(k, "-")))
    for k, v in result["flash_kb"].items():
        print("%-44s %s KB" % ("flash " + k, v))
    print("%-44s (firmware + tables <= 160 KB)" % "")
    print("%-44s p50 %s, p99 %s ms (p99 <= 100 ms)" % ("SECC per request at 133 MHz",
                                                       result["secc_ms_133mhz"]["p50"],
                                                       result["secc_ms_133mhz"]["p99"]))
    print("%-44s %s" % ("emulator session reached SessionStop", result["emulator_session_ok"]))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
