"""ISO 15118-20 vehicle on a simulated board: the link (pilot, SLAC, SDP,
TCP) carrying an Evcc session, the vehicle API and the battery model.

    MICROPYPATH=firmware micropython -m micro15118.evcc_main vehicle --wire 127.0.0.1:PORT \
        --service dc|ac|dc_bpt|ac_bpt --control scheduled|dynamic \
        [--direction charge|discharge] [--soc 50] [--loops 20]

Switches the pilot to state C for power transfer (B otherwise), prints
`t=<ms> <event> ...` for link events and `t=<ms> evcc <event> ...` for
session events, and exits 0 when the session ended as planned, printing
`BATTERY soc=.. net_wh=..`.

With `--host-link PATH|HOST:PORT --tls 1` SDP asks for TLS (a charger that
offers none is refused) and the V2G connection carries TLS 1.3 terminated
on the host at the other end of the host link; the handshake signature
comes from the board's SE050 (boardsetup.py).
"""
import gc
import sys

from .iso20.evcc.session import Evcc
from .iso20.vehicle import Vehicle
from .appkit import HeapWatch, fmt, mem_alloc, mem_free, parse_args
from .boardsetup import build, clock_s, sleep_ms
from .vehicle_app import VehicleApp
from .drive import run

OPTIONS = {"--wire": None, "--board": None, "--mac": None, "--timeout": "120000", "--name": "",
           "--service": "dc", "--control": "scheduled", "--direction": "charge",
           "--soc": "50", "--loops": "20", "--capacity-wh": "60000",
           "--precharge-tolerance": "10", "--msg-timeout": "2000", "--loop-timeout": "500",
           # host link and TLS (boardsetup.py): TLS 1.3 terminated on the host
           "--host-link": None, "--tls": None, "--tls-key": None, "--tls-chain": None,
           "--se050": None}
USAGE = ("usage: evcc_main.py vehicle [--wire HOST:PORT] [--service dc|ac|dc_bpt|ac_bpt] "
         "[--control scheduled|dynamic] [--direction charge|discharge] [--soc PCT] [--loops N]")
PROGRESS_MS = 200       # soc and power lines at most this often


class Reporter:
    """Event lines on stdout; the charge loop's soc/power ones thinned out."""

    def __init__(self):
        self.next_progress = 0

    def __call__(self, who, event, now):
        if who == "evcc" and event[0] in ("soc", "power"):
            if now < self.next_progress:
                return
            if event[0] == "power":
                self.next_progress = now + PROGRESS_MS
        words = event if who in ("link", "ev") else (who,) + event
        print("t=%d %s" % (now, " ".join(fmt(v) for v in words)))


def battery_of(board, ratings):
    if hasattr(board, "request"):
        # a simulated board: the pack sits on the wire process's power path
        from .sim.board import SimPack
        from .sim.pack import PackBattery
        pack = SimPack(board, ratings["capacity_wh"], ratings["soc"], 330.0, 420.0)
        return PackBattery(pack, **ratings)
    raise ValueError("no battery-management driver for this board yet: a vehicle needs one")


def main(argv):
    opts = parse_args(argv, OPTIONS, USAGE)
    if opts["role"] != "vehicle":
        raise ValueError(USAGE)
    runner, board = build(opts)
    ac = opts["--service"].startswith("ac")
    ratings = {"capacity_wh": float(opts["--capacity-wh"]), "soc": float(opts["--soc"]),
               "max_charge_power": 11000 if ac else 150000}
    battery = battery_of(board, ratings)
    vehicle = Vehicle(battery)
    config = {"service": opts["--service"], "control": opts["--control"],
              "direction": opts["--direction"], "loops": int(opts["--loops"]),
              "precharge_tolerance_v": float(opts["--precharge-tolerance"]),
              # V2G_EVCC_Msg_Timeout: 2 s, 0.5 s in the charge loop
              "timeouts": {"default": int(opts["--msg-timeout"]),
                           "ChargeLoop": int(opts["--loop-timeout"])},
              # the session runs over TLS (the host terminates it; link/tls.py)
              "tls": runner.link.tls is not None}
    app = VehicleApp(runner.link, runner.pilot, vehicle, battery, config, clock_s, Reporter())
    Evcc(app.config, vehicle, 0, clock_s)   # refuse a bad configuration before plug-in
    heap = HeapWatch()
    gc.collect()
    start_heap = mem_alloc()
    now = run(runner, app, sleep_ms, int(opts["--timeout"]), heap)
    if app.result is None:
        print("t=%d TIMEOUT" % now)
        code = 3
    else:
        code = 0 if app.result[0] == "done" else 1
    # Let SessionStop's TCP close go out.
    end = runner.now_ms + 300
    while runner.now() < end:
        runner.step()
        sleep_ms(1)
    battery.update(runner.now_ms)
    print("BATTERY soc=%.4f net_wh=%.6f" % (battery.soc(), battery.net_wh()))
    print("HEAP peak=%d start=%d free=%d" % (heap.peak, start_heap, mem_free()))
    return code


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except ValueError as e:
        print("evcc_main: error:", e)
        code = 2
    sys.exit(code)
