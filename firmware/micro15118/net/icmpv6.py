"""ICMPv6: neighbour solicitation/advertisement (RFC 4861) and echo (RFC 4443).

Builders return the ICMPv6 message with its checksum filled in; ``parse``
checks length and checksum.  Everything else a stack may receive (router
advertisements, MLD, errors) is parsed but ignored by the stack.
"""
import struct

from . import ipv6

from ..compat import const

ECHO_REQUEST = const(128)
ECHO_REPLY = const(129)
NEIGHBOR_SOLICIT = const(135)
NEIGHBOR_ADVERT = const(136)
OPT_SOURCE_LLADDR = const(1)
OPT_TARGET_LLADDR = const(2)
ND_HOP_LIMIT = const(255)      # ND messages must arrive with 255: not routed
FLAG_ROUTER = const(0x80)
FLAG_SOLICITED = const(0x40)
FLAG_OVERRIDE = const(0x20)


def _finish(src, dst, msg):
    msg = bytearray(msg)
    c = ipv6.upper_checksum(src, dst, ipv6.NH_ICMPV6, msg)
    msg[2] = c >> 8
    msg[3] = c & 0xFF
    return bytes(msg)


def build_ns(src, dst, target, src_mac):
    """NS for ``target``; the source link-layer option is left out when src
    is unspecified (duplicate address detection, RFC 4861 §4.3)."""
    msg = struct.pack(">BBHI", NEIGHBOR_SOLICIT, 0, 0, 0) + target
    if src != ipv6.UNSPECIFIED:
        msg += bytes((OPT_SOURCE_LLADDR, 1)) + src_mac
    return _finish(src, dst, msg)


def build_na(src, dst, target, mac, flags=FLAG_SOLICITED | FLAG_OVERRIDE):
    msg = (struct.pack(">BBHI", NEIGHBOR_ADVERT, 0, 0, flags << 24) + target
           + bytes((OPT_TARGET_LLADDR, 1)) + mac)
    return _finish(src, dst, msg)


def build_echo(src, dst, typ, ident, seq, data=b""):
    return _finish(src, dst, struct.pack(">BBHHH", typ, 0, 0, ident, seq) + bytes(data))


def parse(src, dst, msg):
    """(type, code, message memoryview) or None if short or the checksum fails."""
    if len(msg) < 4 or ipv6.upper_checksum(src, dst, ipv6.NH_ICMPV6, msg) != 0:
        return None
    return msg[0], msg[1], msg


def parse_options(opts):
    """{type: value bytes} of ND options; None if any option is malformed
    (length 0 or running past the end, RFC 4861 §4.6)."""
    out = {}
    i = 0
    n = len(opts)
    while i < n:
        if i + 2 > n:
            return None
        ln = opts[i + 1] * 8
        if ln == 0 or i + ln > n:
            return None
        out[opts[i]] = bytes(opts[i + 2:i + ln])
        i += ln
    return out


def _lladdr(opts, typ):
    v = opts.get(typ)
    if v is None:
        return None
    return v[:6] if len(v) >= 6 else b""


def _nd_target(hop, msg, lladdr_opt):
    """(target, MAC from the lladdr_opt option or None) of a valid NS or NA
    (RFC 4861 §7.1: the checks both share), else None."""
    if hop != ND_HOP_LIMIT or msg[1] != 0 or len(msg) < 24:
        return None
    target = bytes(msg[8:24])
    if ipv6.is_multicast(target):
        return None
    opts = parse_options(msg[24:])
    if opts is None:
        return None
    mac = _lladdr(opts, lladdr_opt)
    if mac == b"":
        return None
    return target, mac


def parse_ns(src, dst, hop, msg):
    """(target, source MAC or None) of a valid NS, else None."""
    ns = _nd_target(hop, msg, OPT_SOURCE_LLADDR)
    if ns is not None and src == ipv6.UNSPECIFIED:
        # DAD probe: must go to a solicited-node group and carry no SLLAO.
        if ns[1] is not None or dst[:13] != ipv6.solicited_node(ns[0])[:13]:
            return None
    return ns


def parse_na(src, dst, hop, msg):
    """(target, flags, target MAC or None) of a valid NA, else None."""
    na = _nd_target(hop, msg, OPT_TARGET_LLADDR)
    if na is None:
        return None
    flags = msg[4]
    if ipv6.is_multicast(dst) and flags & FLAG_SOLICITED:
        return None
    return na[0], flags, na[1]


def parse_echo(msg):
    """(ident, seq, data memoryview) of an echo message, or None."""
    if len(msg) < 8 or msg[1] != 0:
        return None
    return (msg[4] << 8) | msg[5], (msg[6] << 8) | msg[7], msg[8:]
