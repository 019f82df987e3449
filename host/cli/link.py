"""``micro15118 link``: the link layers alone, plug-in to a V2GTP exchange."""
from host.bench import RUNTIMES
from host.cli.common import PROG

# Link events worth a progress line (per-message events are summarised).
_LINK_SHOWN = ("plugged", "slac_matched", "link_up", "secc", "connected", "slac_failed",
               "sdp_failed", "link_lost", "disconnected", "unplugged", "RESULT", "TIMEOUT")


def link_run(args):
    """Plug in, run SLAC, SDP and TCP, exchange V2GTP; 0 only if all came back."""
    import time

    from host.bench.linkrun import FirmwareError, LinkBench

    if args.count < 1 or args.size < 1:
        raise ValueError("--count and --size must be at least 1")
    start = time.monotonic()

    def show(name, line):
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[1] in _LINK_SHOWN or not line.startswith("t="):
            print("%6.2f s  %-8s %s" % (time.monotonic() - start, name, line), flush=True)

    wire = {}
    if args.loss:
        wire.update(loss=args.loss, dup=args.loss / 2, reorder=args.loss, delay_ms=(0, 10))
    print("%s: %s charger and vehicle firmware on a virtual PLC wire (QCA7000 model)%s"
          % (PROG, args.runtime, ", pcap " + args.pcap if args.pcap else ""), flush=True)
    try:
        with LinkBench(pcap=args.pcap, runtime=args.runtime, on_line=show,
                       vehicle_args=("--count", str(args.count), "--size", str(args.size)),
                       **wire) as bench:
            bench.plug()
            print("%6.2f s  cable plugged in" % (time.monotonic() - start), flush=True)
            result = bench.vehicle.wait_event("RESULT", args.timeout)
            bench.vehicle.wait_exit(10)
            stats = bench.server.stats()["wire"]
    except FirmwareError as exc:
        raise RuntimeError(str(exc).splitlines()[0]) from None
    print("%s: link ok: %s; wire frames %d (lost %d)"
          % (PROG, result[2], stats["tx"], stats["lost"]))
    return 0


def add_link(subparsers):
    p = subparsers.add_parser(
        "link", help="simulate plug-in -> SLAC -> SDP -> TCP -> V2GTP between our charger and EV",
        description="Run our charger and vehicle firmware (MicroPython unix port by default) "
                    "on simulated boards: the real QCA7000 SPI driver against a chip model on a "
                    "virtual PLC wire.  Plugs the cable in, waits for SLAC, SDP and TCP, then the "
                    "vehicle sends V2GTP messages that the charger echoes.  Exit 0 only if every "
                    "echo came back intact.")
    p.add_argument("--runtime", choices=RUNTIMES, default="micropython")
    p.add_argument("--count", type=int, default=20, help="V2GTP messages to exchange (20)")
    p.add_argument("--size", type=int, default=1000, help="payload bytes per message (1000)")
    p.add_argument("--loss", type=float, default=0.0,
                   help="impair the wire: loss and reorder probability (duplicates: half)")
    p.add_argument("--pcap", help="write every frame on the wire to this pcap file")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds (60)")
    p.set_defaults(func=link_run)
