"""ISO 15118-20 charger on a simulated board: the link (pilot, SLAC, SDP,
TCP) carrying a Secc session, the charger API and the power-electronics
model (whose meter is the source of truth for energy).

    MICROPYPATH=firmware micropython -m micro15118.secc_main charger --wire 127.0.0.1:PORT [--sessions N]

Prints `t=<ms> <event> ...` for link events and `t=<ms> secc <event> ...`
for session events; exits after --sessions TCP sessions ended, printing
`METER charged_wh=.. discharged_wh=..`.

With `--host-link PATH|HOST:PORT --tls 1` the V2G connection carries TLS 1.3
terminated on the host at the other end of the host link; the handshake
signature comes from the board's SE050 (boardsetup.py).

Plug-and-Charge: with TLS the charger offers PnC next to EIM (config auth
PnC, EIM) while its host link is up; the host judges each signed PnC
AuthorizationReq (hostend.HostVerifier: PNC_VERIFY_REQUEST, answered within
--pnc-timeout ms, else WARNING_GeneralPnCAuthorizationError).  `--pnc 0`
offers EIM only; `--pnc 1` without TLS is refused.  Each verdict prints
`t=<ms> pnc_verdict <code> <ms> <reasons>`.
"""
import gc
import sys

from .appkit import HeapWatch, fmt, mem_alloc, mem_free, parse_args
from .boardsetup import build, clock_s, rng, sleep_ms
from .charger_app import BoardCharger, ChargerApp
from .drive import run
from .hostend import HostVerifier

OPTIONS = {"--wire": None, "--board": None, "--mac": None, "--sessions": "1",
           "--timeout": "120000", "--name": "", "--evse-id": "DE*M15*E0001",
           "--sequence-timeout": "60000", "--estop-after-loops": "0",
           # host link and TLS (boardsetup.py): TLS 1.3 terminated on the host
           "--host-link": None, "--tls": None, "--tls-key": None, "--tls-chain": None,
           "--se050": None,
           # Plug-and-Charge, judged by the host (hostend.HostVerifier)
           "--pnc": None, "--pnc-timeout": "10000"}
USAGE = ("usage: secc_main.py charger [--wire HOST:PORT] [--mac XX:..] [--sessions N] "
         "[--host-link PATH|HOST:PORT --tls 1 [--tls-key ID] [--tls-chain ID|FILE,...] "
         "[--pnc 0|1] [--pnc-timeout MS]]")


def say(who, event, now):
    words = event if who in ("link", "charger") else (who,) + event
    print("t=%d %s" % (now, " ".join(fmt(v) for v in words)))


def power_stage(board):
    if hasattr(board, "request"):
        # a simulated board: the output stage of the wire process's power path
        from .sim.board import SimPowerStage
        return SimPowerStage(board)
    raise ValueError("no power-stage driver for this board yet: a charger needs one")


def pnc_verifier(opts, host, tls):
    """The Charger's PnC seam: the host over the host link, or None."""
    want = opts["--pnc"]
    if want is not None and want in ("0", "no", "off", "false", ""):
        return None
    if not tls or host is None:
        if want is not None:
            raise ValueError("--pnc needs TLS and a host link (--host-link ... --tls 1)")
        return None

    def verdict(code, detail, ms, now):
        say("charger", ("pnc_verdict", code, "%dms" % ms, detail.replace("\n", "; ")), now)
    return HostVerifier(host, int(opts["--pnc-timeout"]), on_verdict=verdict)


def main(argv):
    opts = parse_args(argv, OPTIONS, USAGE)
    if opts["role"] != "charger":
        raise ValueError(USAGE)
    runner, board = build(opts)
    tls = runner.link.tls is not None
    pnc = pnc_verifier(opts, runner.host, tls)
    charger = BoardCharger(power_stage(board), authorized=True, pnc=pnc)
    config = {"evse_id": opts["--evse-id"],
              "timers": {"sequence": int(opts["--sequence-timeout"])},
              # the session runs over TLS (the host terminates it; link/tls.py)
              "tls": tls,
              "auth": ("PnC", "EIM") if pnc is not None else ("EIM",)}
    app = ChargerApp(runner.link, charger, config, rng, clock_s,
                     sessions=int(opts["--sessions"]),
                     estop_after_loops=int(opts["--estop-after-loops"]), report=say)
    heap = HeapWatch()
    gc.collect()
    start_heap = mem_alloc()
    now = run(runner, app, sleep_ms, int(opts["--timeout"]), heap)
    print("METER %s" % fmt(charger.meter(now)))
    print("HEAP peak=%d start=%d free=%d" % (heap.peak, start_heap, mem_free()))
    return 0 if app.result == 0 else 3


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except ValueError as e:
        print("secc_main: error:", e)
        code = 2
    sys.exit(code)
