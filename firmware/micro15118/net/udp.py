"""UDP over IPv6 (RFC 768, RFC 8200 §8.1: the checksum is mandatory)."""
import struct

from . import ipv6

from ..compat import const

HEADER_LEN = const(8)


def build(src, dst, sport, dport, payload):
    n = HEADER_LEN + len(payload)
    msg = bytearray(struct.pack(">HHHH", sport, dport, n, 0))
    msg += payload
    c = ipv6.upper_checksum(src, dst, ipv6.NH_UDP, msg)
    if c == 0:
        c = 0xFFFF          # 0 means "no checksum", forbidden over IPv6
    msg[6] = c >> 8
    msg[7] = c & 0xFF
    return bytes(msg)


def parse(src, dst, msg):
    """(sport, dport, payload memoryview) or None (short, length mismatch,
    zero or wrong checksum, port 0)."""
    if len(msg) < HEADER_LEN:
        return None
    sport, dport, n, csum = struct.unpack_from(">HHHH", msg, 0)
    # The UDP length must match the IPv6 payload length exactly (padding was
    # already cut by the IPv6 layer).
    if n != len(msg) or csum == 0 or sport == 0 or dport == 0:
        return None
    if ipv6.upper_checksum(src, dst, ipv6.NH_UDP, msg) != 0:
        return None
    return sport, dport, msg[HEADER_LEN:]
