"""Link-layer bring-up app: plug-in -> SLAC -> SDP -> TCP -> V2GTP exchange.

Runs one role on a simulated board (unix port or CPython) against the wire
process (host/bench/wire_server.py):

    micropython firmware/micro15118/link_main.py charger --wire 127.0.0.1:PORT
    micropython firmware/micro15118/link_main.py vehicle --wire 127.0.0.1:PORT --count 50 --size 1000

The charger echoes every V2GTP message; the vehicle sends `count` messages of
`size` bytes once connected, checks every echo and exits 0 when all came
back intact.  Every link event is printed as a line `t=<ms> <event> ...`, so
tests and the benchmark can follow the session.  Until the -20 session
exists (secc_main/evcc_main), this is what exercises the link end to end.
"""
import gc
import sys

from .appkit import HeapWatch, fmt, mem_alloc, mem_free, parse_args
from .boardsetup import build, sleep_ms

PTYPE = 0x8002          # -20 CommonMessages; any valid type would do
OPTIONS = {"--wire": None, "--board": None, "--mac": None, "--count": "20",
           "--size": "500", "--sessions": "1", "--timeout": "60000",
           "--name": "", "--security": "none"}
USAGE = ("usage: link_main.py charger|vehicle [--wire HOST:PORT] [--mac XX:..] "
         "[--count N] [--size BYTES] [--sessions N]")


def pattern(index, size):
    """Deterministic payload for message `index` (cheap to check)."""
    b = bytearray(size)
    x = (index * 2654435761 + 12345) & 0xFFFFFFFF
    for i in range(size):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        b[i] = (x >> 16) & 0xFF
    return bytes(b)


def main(argv):
    opts = parse_args(argv, OPTIONS, USAGE)
    runner, board = build(opts)
    gc.collect()
    at_start = mem_alloc()       # code of the imported modules + link objects
    charger = opts["role"] == "charger"
    count = int(opts["--count"])
    size = int(opts["--size"])
    sessions_left = int(opts["--sessions"])
    timeout = int(opts["--timeout"])
    heap = HeapWatch()
    sent = received = 0
    nbytes = 0
    t_connected = None
    result = None
    while result is None:
        events = runner.step()
        now = runner.now_ms
        heap.sample(now)
        for ev in events:
            print("t=%d %s" % (now, " ".join(fmt(v) for v in ev)))
            name = ev[0]
            if name == "v2gtp":
                if charger:
                    runner.link.send(ev[1], ev[2], now)
                else:
                    if ev[2] != pattern(received, size):
                        print("t=%d MISMATCH message %d" % (now, received))
                        result = 1
                    received += 1
                    nbytes += len(ev[2])
            elif name == "connected" and not charger:
                # Every connection starts the exchange afresh (what was in
                # flight when a link dropped is gone).
                t_connected = now
                sent = received = nbytes = 0
            elif name == "disconnected" and charger:
                sessions_left -= 1
                if sessions_left <= 0:
                    result = 0
        if not charger and runner.link.stream is not None and t_connected is not None:
            # Keep a few messages in flight; the echoes pace the sender.
            while sent < count and sent - received < 4:
                runner.link.send(PTYPE, pattern(sent, size), now)
                sent += 1
            if received == count and result is None:
                ms = now - t_connected
                print("t=%d RESULT ok messages=%d bytes=%d time_ms=%d" % (now, count, nbytes, ms))
                runner.link.close(now)
                # Let the FIN go out before leaving.
                end = now + 300
                while runner.now() < end:
                    runner.step()
                    sleep_ms(1)
                result = 0
        if timeout and now > timeout:
            print("t=%d TIMEOUT" % now)
            result = 3
        wait = runner.idle_ms()
        if wait:
            sleep_ms(1 if wait > 1 else wait)
    print("HEAP peak=%d start=%d free=%d" % (heap.peak, at_start, mem_free()))
    return result


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except ValueError as e:
        print("link_main: error:", e)
        code = 2
    sys.exit(code)
