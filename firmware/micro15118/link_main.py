"""Link-layer bring-up app: plug-in -> SLAC -> SDP -> TCP -> V2GTP exchange.

Runs one role on a simulated board (unix port or CPython) against the wire
process (host/bench/wire_server.py):

    MICROPYPATH=firmware micropython -m micro15118.link_main charger --wire 127.0.0.1:PORT
    MICROPYPATH=firmware micropython -m micro15118.link_main vehicle --wire 127.0.0.1:PORT --count 50 --size 1000

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
from .drive import run

PTYPE = 0x8002          # -20 CommonMessages; any valid type would do
IN_FLIGHT = 4           # messages the vehicle keeps in flight; the echoes pace it
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


def say(now, ev):
    print("t=%d %s" % (now, " ".join(fmt(v) for v in ev)))


class Echo:
    """The charger: every V2GTP message goes straight back; result 0 once
    `sessions` TCP connections have ended."""

    def __init__(self, link, sessions):
        self.link = link
        self.sessions_left = sessions
        self.result = None

    def link_event(self, ev, now):
        say(now, ev)
        if ev[0] == "v2gtp":
            self.link.send(ev[1], ev[2], now)
        elif ev[0] == "disconnected":
            self.sessions_left -= 1
            if self.sessions_left <= 0:
                self.result = 0

    def turn(self, now):
        pass

    def next_deadline(self):
        return None


class Exchange:
    """The vehicle: `count` messages of `size` bytes, every echo checked;
    result 0 when all came back intact, 1 on a mismatch."""

    def __init__(self, link, count, size):
        self.link = link
        self.count = count
        self.size = size
        self.sent = self.received = self.nbytes = 0
        self.t_connected = None
        self.result = None

    def link_event(self, ev, now):
        say(now, ev)
        if ev[0] == "v2gtp":
            if ev[2] != pattern(self.received, self.size):
                print("t=%d MISMATCH message %d" % (now, self.received))
                self.result = 1
            self.received += 1
            self.nbytes += len(ev[2])
        elif ev[0] == "connected":
            # Every connection starts the exchange afresh (what was in
            # flight when a link dropped is gone).
            self.t_connected = now
            self.sent = self.received = self.nbytes = 0

    def turn(self, now):
        if self.link.stream is None or self.t_connected is None or self.result is not None:
            return
        while self.sent < self.count and self.sent - self.received < IN_FLIGHT:
            self.link.send(PTYPE, pattern(self.sent, self.size), now)
            self.sent += 1
        if self.received == self.count:
            print("t=%d RESULT ok messages=%d bytes=%d time_ms=%d"
                  % (now, self.count, self.nbytes, now - self.t_connected))
            self.link.close(now)
            self.result = 0

    def next_deadline(self):
        return None


def main(argv):
    opts = parse_args(argv, OPTIONS, USAGE)
    runner, board = build(opts)
    gc.collect()
    at_start = mem_alloc()       # code of the imported modules + link objects
    if opts["role"] == "charger":
        app = Echo(runner.link, int(opts["--sessions"]))
    else:
        app = Exchange(runner.link, int(opts["--count"]), int(opts["--size"]))
    heap = HeapWatch()
    now = run(runner, app, sleep_ms, int(opts["--timeout"]), heap)
    result = app.result
    if result is None:
        print("t=%d TIMEOUT" % now)
        result = 3
    elif result == 0 and opts["role"] == "vehicle":
        # Let the FIN go out before leaving.
        end = runner.now_ms + 300
        while runner.now() < end:
            runner.step()
            sleep_ms(1)
    print("HEAP peak=%d start=%d free=%d" % (heap.peak, at_start, mem_free()))
    return result


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except ValueError as e:
        print("link_main: error:", e)
        code = 2
    sys.exit(code)
