"""ISO 15118-20 vehicle on a simulated board: the link (pilot, SLAC, SDP,
TCP) carrying an Evcc session, the vehicle API and the battery model.

    micropython firmware/micro15118/evcc_main.py vehicle --wire 127.0.0.1:PORT \
        --service dc|ac|dc_bpt|ac_bpt --control scheduled|dynamic \
        [--direction charge|discharge] [--soc 50] [--loops 20]

Switches the pilot to state C for power transfer (B otherwise), prints
`t=<ms> <event> ...` for link events and `t=<ms> evcc <event> ...` for
session events, and exits 0 when the session ended as planned, printing
`BATTERY soc=.. net_wh=..`.
"""
import gc
import sys

from .iso20.evcc.session import Evcc
from .sim.battery import Battery
from .iso20.vehicle import Vehicle
from .appkit import HeapWatch, fmt, mem_alloc, mem_free, parse_args
from .boardsetup import build, clock_s, sleep_ms

OPTIONS = {"--wire": None, "--board": None, "--mac": None, "--timeout": "120000", "--name": "",
           "--service": "dc", "--control": "scheduled", "--direction": "charge",
           "--soc": "50", "--loops": "20", "--capacity-wh": "60000",
           "--precharge-tolerance": "10", "--msg-timeout": "2000", "--loop-timeout": "500"}
USAGE = ("usage: evcc_main.py vehicle [--wire HOST:PORT] [--service dc|ac|dc_bpt|ac_bpt] "
         "[--control scheduled|dynamic] [--direction charge|discharge] [--soc PCT] [--loops N]")


def say(now, *event):
    print("t=%d %s" % (now, " ".join(fmt(v) for v in event)))


def main(argv):
    opts = parse_args(argv, OPTIONS, USAGE)
    if opts["role"] != "vehicle":
        raise ValueError(USAGE)
    runner, board = build(opts)
    link = runner.link
    ac = opts["--service"].startswith("ac")
    ratings = {"capacity_wh": float(opts["--capacity-wh"]), "soc": float(opts["--soc"]),
               "max_charge_power": 11000 if ac else 150000}
    if hasattr(board, "request"):
        # a simulated board: the pack sits on the wire process's power path
        from .sim.board import SimPack
        from .sim.pack import PackBattery
        battery = PackBattery(SimPack(board, ratings["capacity_wh"], ratings["soc"], 330.0, 420.0),
                              **ratings)
    else:
        battery = Battery(**ratings)
    vehicle = Vehicle(battery)
    config = {"service": opts["--service"], "control": opts["--control"],
              "direction": opts["--direction"], "loops": int(opts["--loops"]),
              "mac": link.host_mac,
              "precharge_tolerance_v": float(opts["--precharge-tolerance"]),
              # V2G_EVCC_Msg_Timeout: 2 s, 0.5 s in the charge loop
              "timeouts": {"default": int(opts["--msg-timeout"]),
                           "ChargeLoop": int(opts["--loop-timeout"])}}
    Evcc(config, vehicle, 0, clock_s)   # refuse a bad configuration before plug-in
    evcc = None
    result = None
    cp = "B"
    timeout = int(opts["--timeout"])
    heap = HeapWatch()
    gc.collect()
    start_heap = mem_alloc()
    while result is None:
        events = runner.step()
        now = runner.now_ms
        heap.sample(now)
        for ev in events:
            name = ev[0]
            if name != "v2gtp":
                say(now, *ev)
            if name == "connected":
                evcc = Evcc(config, vehicle, now, clock_s)
                evcc.start(now)
            elif name == "v2gtp" and evcc is not None:
                evcc.handle(ev[1], ev[2], now)
            elif name in ("disconnected", "unplugged", "link_lost") and evcc is not None:
                if not evcc.ended:
                    result = 1
                    say(now, "evcc", "failed", "connection " + name)
                evcc = None
        if evcc is not None:
            evcc.poll(now)
            if evcc.out:
                for ptype, payload in evcc.out:
                    link.send(ptype, payload, now)
                evcc.out = []
            if evcc.events:
                evs = evcc.events
                evcc.events = []
                for sev in evs:
                    if sev[0] == "power":
                        # what the EV saw: W, then V and A (DC) for the host's progress
                        sev = sev + (vehicle.voltage, vehicle.current)
                    if sev[0] not in ("soc", "power") or heap.next <= now + 200:
                        say(now, "evcc", *sev)
                    if sev[0] == "done":
                        result = 0
                    elif sev[0] == "failed":
                        result = 1
                    elif sev[0] == "close":
                        link.close(now)
            # State C while the contactors may be closed (V2G20-847), else B.
            want = "C" if getattr(vehicle, "closed", False) else "B"
            if want != cp:
                cp = want
                board.pilot.set_state(cp)
                if hasattr(battery, "contactor"):
                    battery.contactor(cp == "C")    # the pack's contactor follows
                say(now, "cp", cp)
        if timeout and now > timeout:
            say(now, "TIMEOUT")
            result = 3
        wait = runner.idle_ms()
        if evcc is not None:
            d = evcc.next_deadline()
            if d is not None and d - now < wait:
                wait = max(0, d - now)
        if wait:
            sleep_ms(1)
    # Let SessionStop's TCP close go out.
    end = runner.now_ms + 300
    while runner.now() < end:
        runner.step()
        sleep_ms(1)
    battery.update(runner.now_ms)
    print("BATTERY soc=%.4f net_wh=%.6f" % (battery.soc(), battery.net_wh()))
    print("HEAP peak=%d start=%d free=%d" % (heap.peak, start_heap, mem_free()))
    return result


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except ValueError as e:
        print("evcc_main: error:", e)
        code = 2
    sys.exit(code)
