"""ISO 15118-20 charger on a simulated board: the link (pilot, SLAC, SDP,
TCP) carrying a Secc session, the charger API and the power-electronics
model (whose meter is the source of truth for energy).

    micropython firmware/micro15118/secc_main.py charger --wire 127.0.0.1:PORT [--sessions N]

Prints `t=<ms> <event> ...` for link events and `t=<ms> secc <event> ...`
for session events; exits after --sessions TCP sessions ended, printing
`METER charged_wh=.. discharged_wh=..`.
"""
import gc
import sys

from .iso20.charger import Charger
from .iso20.secc.context import PauseStore
from .iso20.secc.session import Secc
from .sim.power import PowerModel
from .appkit import HeapWatch, fmt, mem_alloc, mem_free, parse_args
from .boardsetup import build, clock_s, rng, sleep_ms

OPTIONS = {"--wire": None, "--board": None, "--mac": None, "--sessions": "1",
           "--timeout": "120000", "--name": "", "--evse-id": "DE*M15*E0001",
           "--sequence-timeout": "60000", "--estop-after-loops": "0"}
USAGE = "usage: secc_main.py charger [--wire HOST:PORT] [--mac XX:..] [--sessions N]"


def say(now, *event):
    print("t=%d %s" % (now, " ".join(fmt(v) for v in event)))


def main(argv):
    opts = parse_args(argv, OPTIONS, USAGE)
    if opts["role"] != "charger":
        raise ValueError(USAGE)
    runner, board = build(opts)
    link = runner.link
    if hasattr(board, "request"):
        # a simulated board: the output stage of the wire process's power path
        from .sim.board import SimPowerStage
        power = SimPowerStage(board)
    else:
        power = PowerModel(0)
    charger = Charger(power, authorized=True)
    config = {"evse_id": opts["--evse-id"],
              "timers": {"sequence": int(opts["--sequence-timeout"])}}
    # Fault drill: the charger's emergency stop after this many charge loops.
    estop_after = int(opts["--estop-after-loops"])
    loops = 0
    store = PauseStore()        # paused sessions survive the TCP connection
    secc = None
    sessions_left = int(opts["--sessions"])
    timeout = int(opts["--timeout"])
    heap = HeapWatch()
    gc.collect()
    start_heap = mem_alloc()
    while True:
        events = runner.step()
        now = runner.now_ms
        heap.sample(now)
        for ev in events:
            name = ev[0]
            if name != "v2gtp":
                say(now, *ev)
            if name == "connected":
                secc = Secc(config, charger, now, rng, clock_s, store=store)
                secc.connection_made(now)
            elif name == "v2gtp" and secc is not None:
                secc.handle(ev[1], ev[2], now)
            elif name == "ev_cp" and secc is not None:
                secc.ev_pilot(ev[1], now)
            elif name in ("disconnected", "unplugged", "link_lost") and secc is not None:
                secc.connection_lost(now)      # power off, keep a paused session
                for sev in secc.events:
                    say(now, "secc", *sev)
                secc = None
                if name == "disconnected":
                    sessions_left -= 1
        if secc is not None:
            secc.poll(now)
            if secc.out:
                for ptype, payload in secc.out:
                    link.send(ptype, payload, now)
                secc.out = []
            if secc.events:
                evs = secc.events
                secc.events = []
                for sev in evs:
                    say(now, "secc", *sev)
                    if sev[0] == "close":
                        link.close(now)
                    elif sev[0] == "power":
                        loops += 1
                        if loops == estop_after:
                            say(now, "EMERGENCY_STOP")
                            charger.emergency_stop(now)
        charger.update(now)
        if sessions_left <= 0 or (timeout and now > timeout):
            break
        wait = runner.idle_ms()
        if secc is not None:
            d = secc.next_deadline()
            if d is not None and d - now < wait:
                wait = max(0, d - now)
        if wait:
            sleep_ms(1)
    meter = charger.meter(now)
    print("METER %s" % fmt(meter))
    print("HEAP peak=%d start=%d free=%d" % (heap.peak, start_heap, mem_free()))
    return 0 if sessions_left <= 0 else 3


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except ValueError as e:
        print("secc_main: error:", e)
        code = 2
    sys.exit(code)
