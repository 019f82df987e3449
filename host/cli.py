"""The ``micro15118`` command line.

Each subcommand is one ``add_<name>(subparsers)`` function listed in
``COMMANDS``; it builds its parser and sets ``func`` to the function that runs
it.  ``func(args)`` returns an exit status (``None`` means 0).

Exit status: 0 ok, 1 bad input or failed run (ValueError, OSError, RuntimeError,
exi.ExiError), 2 usage.  A reader that goes away (``| head``) ends any command
quietly with status 0.
"""

import argparse
import math
import os
import string
import sys

from host import __version__

PROG = "micro15118"

# Every schema the codec has (firmware/exi SCHEMAS), in the order they are
# tried when bytes do not decode under the one asked for.
EXI_SCHEMAS = ("appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC", "-20:ACDP", "-20:WPT",
               "-2", "din", "xmldsig")

_HEX_DIGITS = frozenset(string.hexdigits)
_TEXT_BYTES = frozenset(string.printable.encode())

# V2GTP payload type -> (what it is, schemas to try in order).  ISO 15118-20
# Table 12 (values also in firmware/v2gtp.py); 0x8001 is SupportedAppProtocol
# in -20 and every EXI message in ISO 15118-2 (Table 10) and DIN SPEC 70121
# (Table 16).
V2GTP_PAYLOAD_TYPES = {
    0x8001: ("SupportedAppProtocol / -2 / DIN EXI", ("appProtocol", "-2", "din")),
    0x8002: ("-20 CommonMessages", ("-20:CommonMessages",)),
    0x8003: ("-20 AC", ("-20:AC",)),
    0x8004: ("-20 DC", ("-20:DC",)),
    0x8005: ("-20 ACDP", ("-20:ACDP",)),
    0x8006: ("-20 WPT", ("-20:WPT",)),
    0x8101: ("-20 ScheduleRenegotiation side stream", ("-20:CommonMessages",)),
    0x8102: ("-20 MeteringConfirmation side stream", ("-20:CommonMessages",)),
    0x8103: ("-20 ACDP SystemStatus side stream", ("-20:ACDP",)),
    0x8104: ("-20 ParkingStatus side stream", ()),
    0x9000: ("SDP request", ()),
    0x9001: ("SDP response", ()),
    0x9002: ("SDP request (wireless)", ()),
    0x9003: ("SDP response (wireless)", ()),
}
V2GTP_HEADER = 8


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
    """Hex text (any whitespace allowed) -> bytes; errors say where and what."""
    digits = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _HEX_DIGITS:
            digits.append(c)
        elif not c.isspace():
            j = i
            while j < n and not (text[j] in _HEX_DIGITS or text[j].isspace()) and j - i < 16:
                j += 1
            raise ValueError("invalid hex at character %d: %r" % (i + 1, text[i:j]))
        i += 1
    if not digits:
        raise ValueError("empty hex input")
    if len(digits) % 2:
        raise ValueError("odd number of hex digits (%d)" % len(digits))
    return bytes.fromhex("".join(digits))


def _is_text(raw):
    """Hex text rather than raw bytes?  Raw EXI starts with a byte >= 0x80 or
    the cookie '$EXI', a V2GTP frame with 0x01: neither is printable text."""
    return not raw.startswith(b"$EXI") and all(b in _TEXT_BYTES for b in raw)


def _bytes_or_hex(raw, where):
    if not raw:
        raise ValueError("empty input" + where)
    if isinstance(raw, str):
        return parse_hex(raw)
    if _is_text(raw):
        return parse_hex(raw.decode("ascii"))
    return raw


def read_exi_input(arg):
    """``HEX``, ``@FILE`` or ``-`` (stdin); a file or stdin holds raw bytes
    (EXI or a V2GTP frame) or hex text."""
    if arg == "-":
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        return _bytes_or_hex(stream.read(), " on stdin")
    if arg.startswith("@"):
        with open(arg[1:], "rb") as f:
            return _bytes_or_hex(f.read(), " file: " + arg[1:])
    return parse_hex(arg)


def split_v2gtp(data):
    """(payload type, payload) of a V2GTP frame, or (None, data) for bare EXI.

    Bare EXI starts with a byte >= 0x80 (or the cookie '$EXI'); anything else
    must be a V2GTP frame: version 0x01, inverse 0xFE, payload type, length."""
    if data[0] >= 0x80 or data.startswith(b"$EXI"):
        return None, data
    if data[0] != 0x01 and len(data) > 1 and data[0] ^ data[1] == 0xFF:
        raise ValueError("V2GTP header: protocol version 0x%02x, expected 0x01" % data[0])
    if data[0] != 0x01:
        raise ValueError("neither EXI (first byte 0x80 or '$EXI') nor V2GTP (protocol version "
                         "0x01): first byte 0x%02x" % data[0])
    if len(data) < V2GTP_HEADER:
        raise ValueError("V2GTP header cut short: %d bytes of 8" % len(data))
    if data[1] != 0xFE:
        raise ValueError("V2GTP header: inverse protocol version 0x%02x, expected 0xfe" % data[1])
    ptype = int.from_bytes(data[2:4], "big")
    length = int.from_bytes(data[4:8], "big")
    if length != len(data) - V2GTP_HEADER:
        raise ValueError("V2GTP header: payload length %d, but %d bytes follow the header"
                         % (length, len(data) - V2GTP_HEADER))
    if not length:
        raise ValueError("V2GTP frame with an empty payload")
    return ptype, data[V2GTP_HEADER:]


def _schemas_of(ptype):
    what, schemas = V2GTP_PAYLOAD_TYPES.get(ptype, (None, ()))
    if not schemas:
        raise ValueError("V2GTP payload type 0x%04x (%s) is not an EXI message we have a "
                         "schema for; give --schema" % (ptype, what or "unknown"))
    return schemas


def _decodes(exi_xml, schema, data):
    """The XML of data under schema, or None (a failed probe is no answer)."""
    try:
        return exi_xml.decode_to_xml(schema, data)
    except Exception:  # noqa: BLE001 - probing other schemas must not mask the real error
        return None


def exi_decode(args):
    from host import exi_xml

    ptype, data = split_v2gtp(read_exi_input(args.input))
    if args.schema:
        tried, why = (args.schema,), "--schema"
    elif ptype is not None:
        tried, why = _schemas_of(ptype), "V2GTP payload type 0x%04x" % ptype
    else:
        args.parser.error("the input has no V2GTP header, so give --schema (one of: %s)"
                          % ", ".join(EXI_SCHEMAS))
    first_error = None
    for schema in tried:
        try:
            xml = exi_xml.decode_to_xml(schema, data)
        except Exception as exc:
            if not _is_input_error(exc):
                raise
            first_error = first_error or (schema, exc)
            continue
        if not args.quiet:
            note = "" if schema == tried[0] else " (not %s)" % " nor ".join(
                tried[:tried.index(schema)])
            print("%s: schema %s, from %s%s" % (PROG, schema, why, note), file=sys.stderr)
        print(xml)
        return 0
    schema, exc = first_error
    others = [s for s in EXI_SCHEMAS if s not in tried and _decodes(exi_xml, s, data) is not None]
    message = " ".join(str(exc).split())
    hint = ("it decodes as " + ", ".join(others)) if others else "no other schema decodes it either"
    raise ValueError("does not decode as %s: %s; %s" % (
        " or ".join(tried) if len(tried) > 1 else schema, message, hint))


def read_text(path):
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def exi_encode(args):
    from host import exi_xml

    print(exi_xml.encode_from_xml(args.schema, read_text(args.input)).hex())


_DECODE_DESCRIPTION = """\
Decode one EXI message to XML.  The input is bare EXI or a whole V2GTP frame
(8-byte header); with a header, the payload type picks the schema and
--schema may be left out.

stdout holds only the XML, so it can be piped on.  The schema used goes to
stderr as one line ("micro15118: schema -20:DC, from V2GTP payload type
0x8004"); -q leaves it out.  Bytes that do not decode under the schema exit 1
with one line that says where decoding stopped and under which other schemas
they do decode.

V2GTP payload types: 0x8001 appProtocol, else -2, else din (the first that
decodes); 0x8002 -20:CommonMessages, 0x8003 -20:AC, 0x8004 -20:DC,
0x8005 -20:ACDP, 0x8006 -20:WPT; side streams 0x8101 and 0x8102
-20:CommonMessages, 0x8103 -20:ACDP."""


def add_exi(subparsers):
    p = subparsers.add_parser("exi", help="decode/encode EXI messages")
    p.set_defaults(func=lambda args: _usage(p))
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    schema_help = "message schema: " + ", ".join(EXI_SCHEMAS)

    d = actions.add_parser(
        "decode", help="EXI or a V2GTP frame -> XML on stdout",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DECODE_DESCRIPTION)
    d.add_argument("--schema", choices=EXI_SCHEMAS, metavar="S",
                   help=schema_help + " (default: from the V2GTP header)")
    d.add_argument("-q", "--quiet", action="store_true",
                   help="do not print the schema used on stderr")
    d.add_argument("input", metavar="HEX|@FILE|-",
                   help="hex string; @FILE or - (stdin) holding raw bytes or hex text")
    d.set_defaults(func=exi_decode, parser=d)

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

# Option types: argparse turns their ArgumentTypeError into one usage error
# line ("argument --soc: ...") before anything starts.

def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text) from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError("not a number: %r" % text)
    return value


def _number_in(low, high):
    def check(text):
        value = _number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError("must be from %g to %g, not %s" % (low, high, text))
        return value
    return check


def _positive(text):
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0, not %s" % text)
    return value


def _int_at_least(low):
    def check(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("not a whole number: %r" % text) from None
        if value < low:
            raise argparse.ArgumentTypeError("must be at least %d, not %s" % (low, text))
        return value
    return check


def sim_run(args):
    from host import sim
    return sim.run(args)


def add_sim(subparsers):
    p = subparsers.add_parser(
        "sim", help="simulate one ISO 15118-20 charging session (plug-in to SessionStop)",
        description="Run one simulated ISO 15118-20 session: our charger (SECC) and our EV "
                    "(EVCC) firmware on simulated boards, over the control pilot, SLAC, SDP and "
                    "TCP on a virtual PLC wire with the QCA7000 model, power flowing through one "
                    "simulated cable.  Live progress (state, SoC, kW, V, A) on the terminal.  "
                    "Exit 0 only if the verdict passes: SessionStop reached, the SoC moved the "
                    "asked way, meter and battery within 0.5 %%, loop current or power of the "
                    "asked sign and within both sides' limits (result.json gives the reasons); "
                    "1 on a failed verdict, 130 when interrupted.")
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
    p.add_argument("--loops", type=_int_at_least(1), default=20,
                   help="charge loops before stopping, at least 1 (20)")
    p.add_argument("--soc", type=_number_in(0.0, 100.0), default=50.0,
                   help="EV state of charge at plug-in, 0-100 %% (50)")
    p.add_argument("--out", metavar="DIR", default="session",
                   help="evidence: wire.pcap, messages.jsonl, both logs, result.json; files a "
                        "previous run wrote there are removed first, nothing else (session)")
    p.add_argument("--timeout", type=_positive, default=120.0, help="seconds, > 0 (120)")
    p.add_argument("--fault", metavar="NAME@STATE",
                   help="run one cell of the fault matrix instead (see micro15118 faults), "
                        "e.g. cp_a@ChargeLoop")
    p.set_defaults(func=sim_run)


# --- faults ----------------------------------------------------------------

def add_faults(subparsers):
    from host import faults
    return faults.add_faults(subparsers)


# --- main ------------------------------------------------------------------

COMMANDS = [
    add_exi,
    add_link,
    add_sim,
    add_faults,
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
    if isinstance(exc, BrokenPipeError):
        return False                    # the reader went away: main() ends quietly
    if isinstance(exc, (ValueError, OSError, RuntimeError)):
        return True
    try:
        from exi import ExiError
    except ImportError:
        return False
    return isinstance(exc, ExiError)


def _quiet_broken_pipe():
    """The reader went away (``| head``): nothing more to say.  Point stdout
    at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is no real file (tests capture it)
    return 0


def _run(argv):
    args = build_parser().parse_args(_join_option_values(list(argv)))
    try:
        return args.func(args) or 0
    except Exception as exc:
        if not _is_input_error(exc):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(PROG + ": error: " + message, file=sys.stderr)
        return 1


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a broken pipe shows here (also after --help), not at exit
    except BrokenPipeError:
        return _quiet_broken_pipe()


if __name__ == "__main__":
    sys.exit(main())
