"""``micro15118 exi``: decode and encode EXI messages (raw EXI or V2GTP frames)."""
import argparse
import string
import sys

from host.cli.common import PROG, _is_input_error, _usage

# Every schema the codec has (firmware/micro15118/exi SCHEMAS), in the order they are
# tried when bytes do not decode under the one asked for.
EXI_SCHEMAS = ("appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC", "-20:ACDP", "-20:WPT",
               "-2", "din", "xmldsig")

_HEX_DIGITS = frozenset(string.hexdigits)
_TEXT_BYTES = frozenset(string.printable.encode())

# V2GTP payload type -> (what it is, schemas to try in order).  ISO 15118-20
# Table 12 (values also in firmware/micro15118/v2gtp.py); 0x8001 is SupportedAppProtocol
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
    from host.capture import exi_xml

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
    from host.capture import exi_xml

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
