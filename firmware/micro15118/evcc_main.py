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

Plug-and-Charge: `--auth pnc` (board file "auth": "pnc"; default eim) takes
PnC when the charger offers it over TLS; the AuthorizationReq is signed by
the board's SE050 with the contract key `--contract-key ID` ("contract_key",
default 0x15118400, host/pki's first contract slot), the chain sent is
`--contract-chain ID|FILE,...` ("contract_chain": the leaf's SE050 binary
object, then the sub-CA certificate files, leaf side first; default the
leaf object 0x15118480 alone, which the session refuses: it needs the
sub-CAs).  `--eim-fallback 0` ("eim_fallback": false) ends the session when
the charger refuses the contract, instead of asking for EIM.
"""
import gc
import sys

from .iso20.evcc.session import Evcc
from .iso20.vehicle import Vehicle
from .appkit import HeapWatch, fmt, mem_alloc, mem_free, parse_args
from .boardsetup import _flag, build, clock_s, contract_refs, load_board, secure_element, sleep_ms
from .vehicle_app import VehicleApp
from .drive import run

OPTIONS = {"--wire": None, "--board": None, "--mac": None, "--timeout": "120000", "--name": "",
           "--service": "dc", "--control": "scheduled", "--direction": "charge",
           "--soc": "50", "--loops": "20", "--capacity-wh": "60000",
           "--precharge-tolerance": "10", "--msg-timeout": "2000", "--loop-timeout": "500",
           # host link and TLS (boardsetup.py): TLS 1.3 terminated on the host
           "--host-link": None, "--tls": None, "--tls-key": None, "--tls-chain": None,
           "--se050": None,
           # Plug-and-Charge: the contract key and chain in the board's SE050
           "--auth": None, "--contract-key": None, "--contract-chain": None, "--eim-fallback": None}
USAGE = ("usage: evcc_main.py vehicle [--wire HOST:PORT] [--service dc|ac|dc_bpt|ac_bpt] "
         "[--control scheduled|dynamic] [--direction charge|discharge] [--soc PCT] [--loops N] "
         "[--auth eim|pnc [--contract-key ID] [--contract-chain ID|FILE,...] [--eim-fallback 0|1]]")
# host/pki's SE050 map (host/pki/se050.py): the first contract slot
CONTRACT_KEY = 0x15118400
CONTRACT_CERT = 0x15118480
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


def pnc_config(opts, runner, tls):
    """(crypto seam, Evcc config keys) for --auth; (None, {}) for EIM."""
    cfg = load_board(opts["--board"]) if opts["--board"] else {}
    auth = opts["--auth"] or cfg.get("auth") or "eim"
    if auth == "eim":
        return None, {}
    if auth != "pnc":
        raise ValueError("--auth eim or pnc, not %s" % auth)
    se = secure_element(runner)
    if not tls or se is None:
        raise ValueError("--auth pnc needs TLS and the board's SE050 (the contract key is in it)")
    from .iso20.xmldsig import Se050Crypto
    key = opts["--contract-key"] or cfg.get("contract_key") or CONTRACT_KEY
    chain = opts["--contract-chain"] or cfg.get("contract_chain") or [CONTRACT_CERT]
    return Se050Crypto(se), {"auth": "pnc", "contract_key": key if isinstance(key, int) else int(key, 0),
                             "contract_chain": contract_refs(chain),
                             "eim_fallback": _flag(opts["--eim-fallback"], cfg.get("eim_fallback", True))}


def main(argv):
    opts = parse_args(argv, OPTIONS, USAGE)
    if opts["role"] != "vehicle":
        raise ValueError(USAGE)
    runner, board = build(opts)
    ac = opts["--service"].startswith("ac")
    ratings = {"capacity_wh": float(opts["--capacity-wh"]), "soc": float(opts["--soc"]),
               "max_charge_power": 11000 if ac else 150000}
    battery = battery_of(board, ratings)
    tls = runner.link.tls is not None
    crypto, pnc = pnc_config(opts, runner, tls)
    vehicle = Vehicle(battery, crypto=crypto)
    config = {"service": opts["--service"], "control": opts["--control"],
              "direction": opts["--direction"], "loops": int(opts["--loops"]),
              "precharge_tolerance_v": float(opts["--precharge-tolerance"]),
              # V2G_EVCC_Msg_Timeout: 2 s, 0.5 s in the charge loop
              "timeouts": {"default": int(opts["--msg-timeout"]),
                           "ChargeLoop": int(opts["--loop-timeout"])},
              # the session runs over TLS (the host terminates it; link/tls.py)
              "tls": tls}
    config.update(pnc)
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
