# Run under MicroPython (or CPython): one full session between our Evcc and
# our Secc in one process on a virtual clock, timing every Secc.handle() call
# and sampling the heap.  Prints:
#   SECC_US n=<messages> p50=<us> p99=<us> max=<us>
#   HEAP peak=<bytes after collection> start=<bytes> total=<heap size>
#   RESULT <done|failed> ...
# usage: micropython tools/mp/secc_timing.py [service] [control] [direction] [loops]
# or, frozen (tools/mp/manifest_bench.py): import secc_timing; secc_timing.main([...])
# (MicroPython finds the micro15118 package through MICROPYPATH, see
# host.bench.linkrun.firmware_env; CPython through the install.)
import gc
import sys

try:
    from time import ticks_diff, ticks_us
except ImportError:
    import time

    def ticks_us():
        return int(time.perf_counter() * 1000000)

    def ticks_diff(a, b):
        return a - b

from micro15118.iso20.charger import Charger
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.secc.session import Secc
from micro15118.sim.battery import Battery
from micro15118.sim.power import PowerModel
from micro15118.iso20.vehicle import Vehicle


def alloc():
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


def main(argv):
    service = argv[0] if len(argv) > 0 else "dc_bpt"
    control = argv[1] if len(argv) > 1 else "dynamic"
    direction = argv[2] if len(argv) > 2 else "discharge"
    loops = int(argv[3]) if len(argv) > 3 else 40
    gc.collect()
    start = alloc()
    clock = lambda: 1735732800  # noqa: E731
    charger = Charger(PowerModel(0), authorized=True)
    secc = Secc({}, charger, 0, rng=lambda n: b"\x5a" * n, clock_s=clock)
    battery = Battery(capacity_wh=60000, soc=50.0,
                      max_charge_power=11000 if service.startswith("ac") else 150000)
    ev = Evcc({"service": service, "control": control, "direction": direction,
               "loops": loops, "mac": b"\x02\x00\x00\x00\x00\x07"}, Vehicle(battery), 0,
              clock_s=clock)
    now = 0
    secc.connection_made(now)
    ev.start(now)
    times = []
    peak = 0
    to_secc, to_ev = [], []
    for _ in range(200000):
        if ev.ended and not to_secc and not to_ev:
            break
        to_secc.extend(ev.out)
        ev.out = []
        to_ev.extend(secc.out)
        secc.out = []
        if to_secc:
            ptype, data = to_secc.pop(0)
            t0 = ticks_us()
            secc.handle(ptype, data, now)
            times.append(ticks_diff(ticks_us(), t0))
            gc.collect()
            used = alloc()
            if used > peak:
                peak = used
            continue
        if to_ev:
            ptype, data = to_ev.pop(0)
            ev.handle(ptype, data, now)
            continue
        nxt = [d for d in (ev.next_deadline(), secc.next_deadline()) if d is not None]
        now = max(now + 1, min(nxt)) if nxt else now + 1
        ev.poll(now)
        charger.update(now)     # the charger app's turn
        secc.poll(now)
    times.sort()
    n = len(times)
    print("SECC_US n=%d p50=%d p99=%d max=%d" % (
        n, times[n // 2], times[min(n - 1, (n * 99) // 100)], times[-1]))
    total = (gc.mem_alloc() + gc.mem_free()) if hasattr(gc, "mem_free") else 0
    print("HEAP peak=%d start=%d total=%d" % (peak, start, total))
    print("RESULT %s" % (ev.result,))
    return 0 if ev.result and ev.result[0] == "done" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
