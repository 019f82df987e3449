"""Message types of the MCU-host link (protocol 1.0) and their payloads.

Every payload is packed big-endian.  "rest" is the remainder of the payload.
A request carries an id (u16) chosen by its sender; the response repeats it
and adds a status (u8).  Strings are UTF-8 bytes.

  type  name           dir        payload
  0x01  HELLO          both       major u8, minor u8, role u8, flags u8,
                                  max_payload u16, boot_id u32, firmware (rest, <= 32)
  0x02  PING           both       nonce u16
  0x03  PONG           both       nonce u16 (the PING's)
  0x0F  ERROR          both       code u8, ref_type u8, ref_seq u16, text (rest)
  0x10  TLS_RECORD     both       conn u8, TLS bytes (rest): a chunk of the TLS
                                  byte stream as TCP carried it, not one record
  0x11  TLS_EVENT      both       conn u8, event u8, code u16, detail (rest)
  0x12  APP_DATA       both       conn u8, plaintext V2GTP bytes (rest), a chunk
                                  of the stream inside TLS
  0x20  SIGN_REQUEST   host->MCU  id u16, key_id u32, alg u8, fmt u8, digest (rest)
  0x21  SIGN_RESPONSE  MCU->host  id u16, status u8, fmt u8, signature (rest)
  0x22  CERT_REQUEST   host->MCU  id u16, chain u8, offset u16, max_len u16
  0x23  CERT_RESPONSE  MCU->host  id u16, status u8, total u16, offset u16, chunk (rest)
  0x24  PNC_VERIFY_REQUEST   MCU->host  id u16, total u16, offset u16, chunk (rest):
                                  part of a Plug-and-Charge evidence (TLVs below)
  0x25  PNC_VERIFY_RESPONSE  host->MCU  id u16, status u8, code_len u8, code,
                                  detail (rest)
  0x30  CONFIG_SET     host->MCU  id u16, key_len u8, key, value (rest)
  0x31  CONFIG_GET     host->MCU  id u16, key (rest)
  0x32  CONFIG_RESULT  MCU->host  id u16, status u8, value (rest)
  0x40  OCPP_EVENT     both       JSON text (rest): session events for OCPP
                                  (MCU->host), authorisation and commands (host->MCU)

HELLO.flags bit 0 (HELLO_ACK): "I have heard your HELLO" (link.py).
TLS_EVENT events: OPEN (MCU: a TCP connection for TLS is up; the host starts
the handshake, as server for a charger, client for a vehicle), ESTABLISHED
(host: handshake done, detail = cipher suite name), CLOSE (either: the
connection ends; host: after close_notify), ERROR (either: code = TLS alert,
or a local error; the MCU drops the TCP connection).
SIGN_REQUEST: the digest to sign with the secure element's key key_id (an
SE050 object id); for ALG_ED448 (PureEdDSA signs the message, not a hash)
"digest" is the whole message to sign.  fmt asks for DER (ECDSA-Sig-Value)
or raw (r || s, each the curve's size).
CERT_REQUEST: part of a chain the MCU keeps (concatenated DER certificates,
leaf first); the host asks again at offset + len(chunk) until it has total.
PNC_VERIFY_REQUEST: the charger's MCU asks its host to judge the evidence of
a signed PnC AuthorizationReq (iso20/charger.py: element and SignedInfo
fragments, signature, contract chain, challenge...).  The evidence, encoded
by encode_pnc_evidence() (at most PNC_MAX bytes), goes in chunks that each
fit a frame, in order, with one id: offset is the bytes before the chunk,
total the whole length.  The receiving Link puts them together and reports
the request once it has all of it; a chunk out of order, of another id or
total, is a bad payload (the request never completes: the requester's
timeout ends it).  PNC_VERIFY_RESPONSE: status OK and code the -20
ResponseCode ("OK", "WARNING_CertificateRevoked", ...); detail is text for
logs (the verifier's reasons).  Any other status (BAD_REQUEST: the evidence
does not decode; UNSUPPORTED: the host has no verifier) carries no code.
Evidence TLVs: tag u8, length u16, value; in any order, each once but for
PNC_SUB_CA (the sub-CAs in order, leaf side first):
  0x01 id  0x02 method  0x03 element  0x04 signed_info  0x05 signature
  0x06 digest  0x07 leaf  0x08 sub_ca  0x09 challenge  0x0A evccid
(id, method and evccid UTF-8; the rest bytes; digest and evccid optional).
"""
import struct

from ..compat import const
from .frame import VERSION

MINOR = const(0)                # protocol 1.MINOR; the major is frame.VERSION

HELLO = const(0x01)
PING = const(0x02)
PONG = const(0x03)
ERROR = const(0x0F)
TLS_RECORD = const(0x10)
TLS_EVENT = const(0x11)
APP_DATA = const(0x12)
SIGN_REQUEST = const(0x20)
SIGN_RESPONSE = const(0x21)
CERT_REQUEST = const(0x22)
CERT_RESPONSE = const(0x23)
CONFIG_SET = const(0x30)
CONFIG_GET = const(0x31)
CONFIG_RESULT = const(0x32)
PNC_VERIFY_REQUEST = const(0x24)
PNC_VERIFY_RESPONSE = const(0x25)
OCPP_EVENT = const(0x40)

TYPES = (HELLO, PING, PONG, ERROR, TLS_RECORD, TLS_EVENT, APP_DATA, SIGN_REQUEST,
         SIGN_RESPONSE, CERT_REQUEST, CERT_RESPONSE, PNC_VERIFY_REQUEST, PNC_VERIFY_RESPONSE,
         CONFIG_SET, CONFIG_GET, CONFIG_RESULT, OCPP_EVENT)
REQUESTS = (SIGN_REQUEST, CERT_REQUEST, PNC_VERIFY_REQUEST, CONFIG_SET, CONFIG_GET)
RESPONSE_TO = {SIGN_REQUEST: SIGN_RESPONSE, CERT_REQUEST: CERT_RESPONSE,
               PNC_VERIFY_REQUEST: PNC_VERIFY_RESPONSE,
               CONFIG_SET: CONFIG_RESULT, CONFIG_GET: CONFIG_RESULT}

# HELLO roles and flags
ROLE_CHARGER = const(1)         # an MCU running the SECC
ROLE_VEHICLE = const(2)         # an MCU running the EVCC
ROLE_HOST = const(3)
HELLO_ACK = const(0x01)
FW_MAX = const(32)

# TLS_EVENT events
TLS_OPEN = const(1)
TLS_ESTABLISHED = const(2)
TLS_CLOSE = const(3)
TLS_ERROR = const(4)

# SIGN_REQUEST algorithms and signature formats
ALG_ECDSA_P256_SHA256 = const(1)
ALG_ECDSA_P384_SHA384 = const(2)
ALG_ECDSA_P521_SHA512 = const(3)    # ISO 15118-20 TLS certificates
ALG_ED448 = const(4)                # ISO 15118-20 TLS certificates (message, not digest)
SIG_DER = const(0)
SIG_RAW = const(1)

# CERT_REQUEST chains
CHAIN_OWN = const(0)            # what this end presents in TLS: SECC chain (charger) or
                                # the vehicle's chain (vehicle)
CHAIN_TRUST = const(1)          # trust anchors for the peer's chain (V2G / OEM roots)
CHAIN_CONTRACT = const(2)       # the vehicle's contract chain (Plug & Charge)

# PNC_VERIFY evidence: TLV tags, the most a request may carry
PNC_ID = const(0x01)
PNC_METHOD = const(0x02)
PNC_ELEMENT = const(0x03)
PNC_SIGNED_INFO = const(0x04)
PNC_SIGNATURE = const(0x05)
PNC_DIGEST = const(0x06)
PNC_LEAF = const(0x07)
PNC_SUB_CA = const(0x08)
PNC_CHALLENGE = const(0x09)
PNC_EVCCID = const(0x0A)
PNC_MAX = const(16384)
PNC_CODE_MAX = const(64)        # the longest -20 ResponseCode is 40 characters

# Response statuses.  TIMEOUT and LINK_LOST are never sent: the requester's
# Link makes them when no response came.
OK = const(0)
FAILED = const(1)
UNKNOWN = const(2)              # no such key id / chain / config key
UNSUPPORTED = const(3)          # algorithm, format or request not supported
BUSY = const(4)
BAD_REQUEST = const(5)
DENIED = const(6)
TIMEOUT = const(0xF0)
LINK_LOST = const(0xF1)

# ERROR codes
ERR_UNKNOWN_TYPE = const(1)
ERR_BAD_PAYLOAD = const(2)
ERR_UNKNOWN_CONN = const(3)
ERR_BUSY = const(4)


class MsgError(ValueError):
    """A payload that does not decode; .reason is a short string."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _need(p, n):
    if len(p) < n:
        raise MsgError("short")


def _exact(p, n):
    if len(p) != n:
        raise MsgError("length")


def _u16(v):
    if not 0 <= v <= 0xFFFF:
        raise ValueError("not a u16")
    return v


# -- HELLO, PING, PONG, ERROR ----------------------------------------------------

def encode_hello(role, flags, max_payload, boot_id, fw=b"", major=VERSION, minor=MINOR):
    fw = bytes(fw)[:FW_MAX]
    return struct.pack(">BBBBHI", major, minor, role, flags, max_payload, boot_id & 0xFFFFFFFF) + fw


def decode_hello(p):
    """(major, minor, role, flags, max_payload, boot_id, fw bytes)"""
    _need(p, 10)
    if len(p) > 10 + FW_MAX:
        raise MsgError("length")
    major, minor, role, flags, max_payload, boot_id = struct.unpack_from(">BBBBHI", p, 0)
    return major, minor, role, flags, max_payload, boot_id, bytes(p[10:])


def encode_ping(nonce):
    return struct.pack(">H", nonce & 0xFFFF)


def decode_ping(p):
    """nonce (PING and PONG)"""
    _exact(p, 2)
    return (p[0] << 8) | p[1]


def encode_error(code, ref_type, ref_seq, text=b""):
    return struct.pack(">BBH", code, ref_type, ref_seq & 0xFFFF) + bytes(text)


def decode_error(p):
    """(code, ref_type, ref_seq, text)"""
    _need(p, 4)
    code, ref_type, ref_seq = struct.unpack_from(">BBH", p, 0)
    return code, ref_type, ref_seq, bytes(p[4:])


# -- TLS and plaintext streams ----------------------------------------------------

def encode_conn_data(conn, data):
    """TLS_RECORD and APP_DATA"""
    return bytes((conn,)) + bytes(data)


def decode_conn_data(p):
    """(conn, data) of TLS_RECORD and APP_DATA"""
    _need(p, 1)
    return p[0], bytes(p[1:])


def encode_tls_event(conn, event, code=0, detail=b""):
    return struct.pack(">BBH", conn, event, code) + bytes(detail)


def decode_tls_event(p):
    """(conn, event, code, detail)"""
    _need(p, 4)
    conn, event, code = struct.unpack_from(">BBH", p, 0)
    if not TLS_OPEN <= event <= TLS_ERROR:
        raise MsgError("event")
    return conn, event, code, bytes(p[4:])


# -- SIGN ----------------------------------------------------------------------------

def encode_sign_request(rid, key_id, alg, fmt, digest):
    return struct.pack(">HIBB", _u16(rid), key_id & 0xFFFFFFFF, alg, fmt) + bytes(digest)


def decode_sign_request(p):
    """(id, key_id, alg, fmt, digest)"""
    _need(p, 9)
    rid, key_id, alg, fmt = struct.unpack_from(">HIBB", p, 0)
    if len(p) == 8:
        raise MsgError("no digest")
    return rid, key_id, alg, fmt, bytes(p[8:])


def encode_sign_response(rid, status, fmt=SIG_DER, signature=b""):
    return struct.pack(">HBB", _u16(rid), status, fmt) + bytes(signature)


def decode_sign_response(p):
    """(id, status, fmt, signature)"""
    _need(p, 4)
    rid, status, fmt = struct.unpack_from(">HBB", p, 0)
    return rid, status, fmt, bytes(p[4:])


# -- CERT ----------------------------------------------------------------------------

def encode_cert_request(rid, chain, offset, max_len):
    return struct.pack(">HBHH", _u16(rid), chain, _u16(offset), _u16(max_len))


def decode_cert_request(p):
    """(id, chain, offset, max_len)"""
    _exact(p, 7)
    return struct.unpack_from(">HBHH", p, 0)


def encode_cert_response(rid, status, total=0, offset=0, chunk=b""):
    return struct.pack(">HBHH", _u16(rid), status, _u16(total), _u16(offset)) + bytes(chunk)


def decode_cert_response(p):
    """(id, status, total, offset, chunk)"""
    _need(p, 7)
    rid, status, total, offset = struct.unpack_from(">HBHH", p, 0)
    if offset + len(p) - 7 > total:
        raise MsgError("past total")
    return rid, status, total, offset, bytes(p[7:])


# -- PNC_VERIFY ----------------------------------------------------------------------

def encode_pnc_verify_request(rid, total, offset, chunk):
    return struct.pack(">HHH", _u16(rid), _u16(total), _u16(offset)) + bytes(chunk)


def decode_pnc_verify_request(p):
    """(id, total, offset, chunk)"""
    _need(p, 7)
    rid, total, offset = struct.unpack_from(">HHH", p, 0)
    if total > PNC_MAX or offset + len(p) - 6 > total:
        raise MsgError("past total")
    return rid, total, offset, bytes(p[6:])


def encode_pnc_verify_response(rid, status, code=b"", detail=b""):
    code = bytes(code)
    if len(code) > PNC_CODE_MAX:
        raise ValueError("code length")
    return struct.pack(">HBB", _u16(rid), status, len(code)) + code + bytes(detail)


def decode_pnc_verify_response(p):
    """(id, status, code, detail)"""
    _need(p, 4)
    rid, status, n = struct.unpack_from(">HBB", p, 0)
    if n > PNC_CODE_MAX or 4 + n > len(p):
        raise MsgError("code")
    return rid, status, bytes(p[4:4 + n]), bytes(p[4 + n:])


# evidence dict key -> (tag, kind): "s" UTF-8 text, "b" bytes, "l" a list of bytes
_PNC_FIELDS = (("id", PNC_ID, "s"), ("method", PNC_METHOD, "s"), ("element", PNC_ELEMENT, "b"),
               ("signed_info", PNC_SIGNED_INFO, "b"), ("signature", PNC_SIGNATURE, "b"),
               ("digest", PNC_DIGEST, "b"), ("leaf", PNC_LEAF, "b"), ("sub_cas", PNC_SUB_CA, "l"),
               ("challenge", PNC_CHALLENGE, "b"), ("evccid", PNC_EVCCID, "s"))
_PNC_NEEDED = ("id", "method", "element", "signed_info", "signature", "leaf", "challenge")


def _tlv(out, tag, value):
    value = value.encode() if isinstance(value, str) else bytes(value)
    if len(value) > 0xFFFF:
        raise ValueError("field too long")
    out.extend(struct.pack(">BH", tag, len(value)))
    out.extend(value)


def encode_pnc_evidence(ev):
    """The evidence dict of a PnC AuthorizationReq (iso20/charger.py) as
    TLVs; absent or None optional fields are left out.  ValueError when a
    needed field is missing or the whole exceeds PNC_MAX."""
    out = bytearray()
    for key, tag, kind in _PNC_FIELDS:
        value = ev.get(key)
        if value is None:
            if key in _PNC_NEEDED:
                raise ValueError("evidence without " + key)
            continue
        if kind == "l":
            for item in value:
                _tlv(out, tag, item)
        else:
            _tlv(out, tag, value)
    if len(out) > PNC_MAX:
        raise ValueError("evidence too long")
    return bytes(out)


def decode_pnc_evidence(p):
    """TLVs -> the evidence dict (sub_cas always a list); MsgError on a
    truncated TLV, an unknown or repeated tag, a missing field, or text
    that is not UTF-8."""
    ev = {"sub_cas": []}
    i = 0
    n = len(p)
    while i < n:
        if i + 3 > n:
            raise MsgError("short")
        tag = p[i]
        k = (p[i + 1] << 8) | p[i + 2]
        i += 3
        if i + k > n:
            raise MsgError("short")
        value = bytes(p[i:i + k])
        i += k
        for key, t, kind in _PNC_FIELDS:
            if t == tag:
                break
        else:
            raise MsgError("tag")
        if kind == "l":
            ev[key].append(value)
            continue
        if key in ev:
            raise MsgError("repeated")
        if kind == "s":
            try:
                value = value.decode()
            except Exception:       # noqa: BLE001 - MicroPython raises UnicodeError
                raise MsgError("text")
        ev[key] = value
    for key in _PNC_NEEDED:
        if key not in ev:
            raise MsgError("no " + key)
    return ev


# -- CONFIG --------------------------------------------------------------------------

def encode_config_set(rid, key, value):
    key = bytes(key)
    if not 0 < len(key) < 256:
        raise ValueError("key length")
    return struct.pack(">HB", _u16(rid), len(key)) + key + bytes(value)


def decode_config_set(p):
    """(id, key, value)"""
    _need(p, 3)
    rid, klen = struct.unpack_from(">HB", p, 0)
    if klen == 0 or 3 + klen > len(p):
        raise MsgError("key")
    return rid, bytes(p[3:3 + klen]), bytes(p[3 + klen:])


def encode_config_get(rid, key):
    key = bytes(key)
    if not 0 < len(key) < 256:
        raise ValueError("key length")
    return struct.pack(">H", _u16(rid)) + key


def decode_config_get(p):
    """(id, key)"""
    _need(p, 3)
    if len(p) > 2 + 255:
        raise MsgError("key")
    return (p[0] << 8) | p[1], bytes(p[2:])


def encode_config_result(rid, status, value=b""):
    return struct.pack(">HB", _u16(rid), status) + bytes(value)


def decode_config_result(p):
    """(id, status, value)"""
    _need(p, 3)
    rid, status = struct.unpack_from(">HB", p, 0)
    return rid, status, bytes(p[3:])


# -- OCPP ----------------------------------------------------------------------------

def encode_ocpp_event(json_bytes):
    return bytes(json_bytes)


def decode_ocpp_event(p):
    """the JSON bytes (checked to be non-empty only: the host parses them)"""
    if not len(p):
        raise MsgError("empty")
    return bytes(p)


def request_id(p):
    """The id at the head of a request or response payload (None if short)."""
    if len(p) < 2:
        return None
    return (p[0] << 8) | p[1]
