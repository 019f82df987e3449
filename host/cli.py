"""The ``micro15118`` command line.

Each subcommand is one ``add_<name>(subparsers)`` function listed in
``COMMANDS``; it builds its parser and sets ``func`` to the function that runs
it.  ``func(args)`` returns an exit status (``None`` means 0).

Exit status: 0 ok, 1 bad input or failed run (ValueError, OSError, RuntimeError,
exi.ExiError), 2 usage.
"""

import argparse
import string
import sys

from host import __version__

PROG = "micro15118"

EXI_SCHEMAS = ("appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC", "-2", "din")

_HEX_CHARS = frozenset(string.hexdigits + string.whitespace)


class _Parser(argparse.ArgumentParser):
    """No option abbreviations: ``_join_option_values`` must see full names."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


# Options whose values may start with '-' (schema names such as "-20:AC").
_DASH_VALUE_OPTIONS = ("--schema",)


def _join_option_values(argv):
    """Rewrite ``--schema -20:AC`` as ``--schema=-20:AC``.

    argparse takes "-20:AC" for an unknown option (it is not a negative
    number), so ``--schema -20:AC`` would fail with "expected one argument".
    """
    out = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg in _DASH_VALUE_OPTIONS and i + 1 < len(argv):
            out.append(arg + "=" + argv[i + 1])
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


# --- exi -------------------------------------------------------------------

def parse_hex(text):
    """Hex string (any whitespace allowed) -> bytes."""
    digits = "".join(text.split())
    if not digits:
        raise ValueError("empty hex input")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ValueError("invalid hex input (need an even number of hex digits)") from None


def read_exi_input(arg):
    """``HEX`` or ``@FILE``; FILE holds raw EXI or hex text."""
    if not arg.startswith("@"):
        return parse_hex(arg)
    with open(arg[1:], "rb") as f:
        raw = f.read()
    if not raw:
        raise ValueError("empty input file: " + arg[1:])
    # EXI never starts with an ASCII hex digit (header byte 0x80 or '$EXI').
    if all(chr(b) in _HEX_CHARS for b in raw):
        return parse_hex(raw.decode("ascii"))
    return raw


def read_text(path):
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def exi_decode(args):
    from host import exi_xml

    print(exi_xml.decode_to_xml(args.schema, read_exi_input(args.input)))


def exi_encode(args):
    from host import exi_xml

    print(exi_xml.encode_from_xml(args.schema, read_text(args.input)).hex())


def add_exi(subparsers):
    p = subparsers.add_parser("exi", help="decode/encode EXI messages")
    p.set_defaults(func=lambda args: _usage(p))
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    schema_help = "message schema: " + ", ".join(EXI_SCHEMAS)

    d = actions.add_parser("decode", help="EXI -> XML on stdout")
    d.add_argument("--schema", required=True, choices=EXI_SCHEMAS, metavar="S", help=schema_help)
    d.add_argument("input", metavar="HEX_OR_@FILE",
                   help="hex string, or @FILE holding raw EXI or hex text")
    d.set_defaults(func=exi_decode)

    e = actions.add_parser("encode", help="XML -> EXI as hex on stdout")
    e.add_argument("--schema", required=True, choices=EXI_SCHEMAS, metavar="S", help=schema_help)
    e.add_argument("input", metavar="FILE.xml", help="XML document, or - for stdin")
    e.set_defaults(func=exi_encode)


# --- link ------------------------------------------------------------------

# Link events worth a progress line (per-message events are summarised).
_LINK_SHOWN = ("plugged", "slac_matched", "link_up", "secc", "connected", "slac_failed",
               "sdp_failed", "link_lost", "disconnected", "unplugged", "RESULT", "TIMEOUT")


def link_run(args):
    """Plug in, run SLAC, SDP and TCP, exchange V2GTP; 0 only if all came back."""
    import time

    from host.linkrun import FirmwareError, LinkBench

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
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    p.add_argument("--count", type=int, default=20, help="V2GTP messages to exchange (20)")
    p.add_argument("--size", type=int, default=1000, help="payload bytes per message (1000)")
    p.add_argument("--loss", type=float, default=0.0,
                   help="impair the wire: loss and reorder probability (duplicates: half)")
    p.add_argument("--pcap", help="write every frame on the wire to this pcap file")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds (60)")
    p.set_defaults(func=link_run)


# --- sim -------------------------------------------------------------------

def sim_run(args):
    from host import sim
    return sim.run(args)


def add_sim(subparsers):
    p = subparsers.add_parser(
        "sim", help="simulate one ISO 15118-20 charging session (plug-in to SessionStop)",
        description="Run one simulated ISO 15118-20 session: our charger (SECC) and our EV "
                    "(EVCC) firmware on simulated boards, over the control pilot, SLAC, SDP and "
                    "TCP on a virtual PLC wire with the QCA7000 model.  Live progress (state, "
                    "SoC, power) on the terminal.  Exit 0 only if the session completed, the SoC "
                    "moved the right way and the charger's meter agrees with the EV's energy "
                    "within 1 %%.")
    p.add_argument("--service", choices=("ac", "dc", "ac_bpt", "dc_bpt"), default="dc")
    p.add_argument("--control", choices=("scheduled", "dynamic"), default="scheduled")
    p.add_argument("--direction", choices=("charge", "discharge"), default="charge",
                   help="for *_bpt services: discharge is V2G (default charge)")
    p.add_argument("--ev", choices=("ours", "josev"), default="ours",
                   help="our EVCC firmware, or python-iso15118's EVCC (needs root: it runs on "
                        "the kernel stack in a network namespace, on a TAP bridged to the wire)")
    p.add_argument("--charger", choices=("ours", "josev"), default="ours",
                   help="our SECC firmware, or python-iso15118's SECC (needs root)")
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    p.add_argument("--loops", type=int, default=20, help="charge loops before stopping (20)")
    p.add_argument("--soc", type=float, default=50.0, help="EV state of charge at plug-in (50)")
    p.add_argument("--out", metavar="DIR",
                   help="write wire.pcap, messages.jsonl and the firmware logs there")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds (120)")
    p.set_defaults(func=sim_run)


# --- main ------------------------------------------------------------------

COMMANDS = [
    add_exi,
    add_link,
    add_sim,
]


def _usage(parser):
    parser.print_help(sys.stderr)
    return 2


def build_parser():
    parser = _Parser(prog=PROG, description="micro15118 host tools")
    parser.add_argument("--version", action="version", version=PROG + " " + __version__)
    parser.set_defaults(func=lambda args: _usage(parser))
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND",
                                       parser_class=_Parser)
    for add in COMMANDS:
        add(subparsers)
    return parser


def _is_input_error(exc):
    if isinstance(exc, (ValueError, OSError, RuntimeError)):
        return True
    try:
        from exi import ExiError
    except ImportError:
        return False
    return isinstance(exc, ExiError)


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    args = build_parser().parse_args(_join_option_values(list(argv)))
    try:
        return args.func(args) or 0
    except Exception as exc:
        if not _is_input_error(exc):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(PROG + ": error: " + message, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
