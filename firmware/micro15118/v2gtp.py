"""V2GTP (ISO 15118-2/-20, DIN 70121): the 8-byte header in front of every
EXI message and SDP datagram, and reassembly of messages from a TCP stream.

Header: version 0x01, inverse version 0xFE, payload type (uint16 BE),
payload length (uint32 BE, header not included).
"""
import struct

from .compat import const

VERSION = const(0x01)
VERSION_INV = const(0xFE)
HEADER_LEN = const(8)

SAP = const(0x8001)              # SupportedAppProtocol (all EXI in DIN and -2)
EXI = SAP
COMMON = const(0x8002)           # -20 CommonMessages
AC = const(0x8003)
DC = const(0x8004)
ACDP = const(0x8005)
WPT = const(0x8006)
SCHEDULE_RENEGOTIATION = const(0x8101)   # -20 side streams
METERING_CONFIRMATION = const(0x8102)
ACDP_SYSTEM_STATUS = const(0x8103)
PARKING_STATUS = const(0x8104)
SDP_REQ = const(0x9000)
SDP_RES = const(0x9001)
SDP_REQ_WIRELESS = const(0x9002)
SDP_RES_WIRELESS = const(0x9003)

PAYLOAD_TYPES = (SAP, COMMON, AC, DC, ACDP, WPT,
                 SCHEDULE_RENEGOTIATION, METERING_CONFIRMATION, ACDP_SYSTEM_STATUS,
                 PARKING_STATUS, SDP_REQ, SDP_RES, SDP_REQ_WIRELESS, SDP_RES_WIRELESS)

# Largest payload accepted by default.  The field allows 4 GiB; stacks cap it
# (EVerest's -20 SECC at 2 KiB, its -2 SECC at 8 KiB).  8 KiB leaves room for
# -20 certificate installation (certificates up to 1600 bytes each).
MAX_PAYLOAD = const(8192)


class V2gtpError(ValueError):
    """A header that must not be processed; .reason is a short string."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def encode(ptype, payload):
    return struct.pack('>BBHI', VERSION, VERSION_INV, ptype, len(payload)) + bytes(payload)


def parse_header(buf, max_payload=MAX_PAYLOAD, allowed_types=None):
    """(payload type, payload length) from the first 8 bytes of buf."""
    if len(buf) < HEADER_LEN:
        raise V2gtpError('short header')
    if buf[0] != VERSION or buf[1] != VERSION_INV:
        raise V2gtpError('bad version')
    ptype, length = struct.unpack_from('>HI', buf, 2)
    if ptype not in (PAYLOAD_TYPES if allowed_types is None else allowed_types):
        raise V2gtpError('unknown payload type')
    if length > max_payload:
        raise V2gtpError('payload too long')
    return ptype, length


class V2gtpReader:
    """Splits a TCP byte stream into V2GTP messages.

    feed(data) takes whatever the TCP stream delivered (any split, bytes,
    bytearray or memoryview) and returns the list of (payload type, payload
    bytes) messages it completed.  Each byte is copied once into a buffer
    preallocated for the largest payload, so a big message in many small
    segments costs linear time.

    A header error (wrong version, unknown type, too long) sets .error to the
    reason and the reader ignores everything after it.  The standard has the
    receiver discard such a message; on TCP there is no way to find the next
    header again (the length is the only delimiter), so the owner must close
    the connection.
    """

    def __init__(self, max_payload=MAX_PAYLOAD, allowed_types=None):
        self.max_payload = max_payload
        self.allowed_types = allowed_types
        self._hdr = bytearray(HEADER_LEN)
        self._buf = bytearray(max_payload)
        self._mv = memoryview(self._buf)
        self.reset()

    def reset(self):
        """Ready for a new connection.  A link keeps one reader for all its
        connections: the payload buffer is the largest allocation it makes,
        and taken once at start-up it needs no contiguous block later, in a
        fragmented heap."""
        self.error = None
        self._hlen = 0          # header bytes collected
        self._ptype = 0
        self._need = -1         # payload length, -1 while reading the header
        self._have = 0          # payload bytes collected

    def pending(self):
        """Bytes held for an incomplete message (0 between messages)."""
        return self._hlen + self._have

    def feed(self, data):
        out = []
        if self.error is not None:
            return out
        data = memoryview(data)
        i = 0
        n = len(data)
        while True:
            if self._need < 0:
                if i >= n:
                    break
                k = min(HEADER_LEN - self._hlen, n - i)
                self._hdr[self._hlen:self._hlen + k] = data[i:i + k]
                self._hlen += k
                i += k
                if self._hlen < HEADER_LEN:
                    break
                try:
                    self._ptype, self._need = parse_header(
                        self._hdr, self.max_payload, self.allowed_types)
                except V2gtpError as e:
                    self.error = e.reason
                    break
                self._have = 0
            k = min(self._need - self._have, n - i)
            if k:
                self._mv[self._have:self._have + k] = data[i:i + k]
                self._have += k
                i += k
            if self._have < self._need:
                break
            out.append((self._ptype, bytes(self._mv[:self._need])))
            self._hlen = 0
            self._need = -1
            self._have = 0
        return out
