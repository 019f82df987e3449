"""IPv6 for a link-local-only host: addresses, the fixed header, checksums.

Addresses are 16-byte ``bytes``, MAC addresses 6-byte ``bytes``.  Only the
fixed 40-byte header is built.  On receive a hop-by-hop options header (next
header 0, sent by kernels with MLD reports) is skipped; every other extension
header (routing, fragment, destination options, ...) makes ``parse`` return
None, i.e. the packet is dropped: a single-hop link with a 1500-byte MTU needs
none of them, and fragments are never reassembled.
"""
import struct

from ..compat import const

ETH_P_IPV6 = const(0x86DD)
HEADER_LEN = const(40)
ETH_HLEN = const(14)
NH_HOPOPTS = const(0)
NH_TCP = const(6)
NH_UDP = const(17)
NH_ICMPV6 = const(58)
DEFAULT_HOP_LIMIT = const(64)

BROADCAST_MAC = b"\xff\xff\xff\xff\xff\xff"
UNSPECIFIED = bytes(16)
ALL_NODES = b"\xff\x02" + bytes(13) + b"\x01"          # ff02::1
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"


def link_local(mac):
    """fe80::/64 with the modified EUI-64 interface id (RFC 4291 app. A)."""
    return (b"\xfe\x80" + bytes(6) + bytes((mac[0] ^ 0x02, mac[1], mac[2], 0xFF, 0xFE))
            + bytes(mac[3:6]))


def is_link_local(ip):
    return ip[0] == 0xFE and (ip[1] & 0xC0) == 0x80


def is_multicast(ip):
    return ip[0] == 0xFF


def multicast_mac(ip):
    """Ethernet group address of an IPv6 multicast address (RFC 2464 §7)."""
    return b"\x33\x33" + bytes(ip[12:16])


def solicited_node(ip):
    """ff02::1:ffXX:XXXX from the low 24 bits (RFC 4291 §2.7.1)."""
    return b"\xff\x02" + bytes(9) + b"\x01\xff" + bytes(ip[13:16])


def checksum(data, acc=0):
    """Add ``data`` to a ones'-complement accumulator (not folded).

    Uses the fact that 65536 = 1 (mod 65535): the big-endian integer of a run
    of 16-bit words is congruent to their sum.  Chunks keep the temporary big
    integers small on a microcontroller.
    """
    n = len(data)
    mv = memoryview(data)
    end = n & ~1
    i = 0
    while i < end:
        j = i + 64
        if j > end:
            j = end
        v = int.from_bytes(mv[i:j], "big")
        if v:
            # Non-zero words summing to 0 mod 65535 are ones'-complement -0.
            acc += v % 0xFFFF or 0xFFFF
        i = j
    if n & 1:
        acc += mv[n - 1] << 8
    return acc


def fold(acc):
    """Finish a checksum: reduce to 16 bits, complement."""
    s = acc % 0xFFFF
    if s == 0 and acc:
        s = 0xFFFF
    return (~s) & 0xFFFF


def pseudo_acc(src, dst, nh, length):
    """Accumulator over the IPv6 pseudo-header (RFC 8200 §8.1)."""
    acc = checksum(src)
    acc = checksum(dst, acc)
    return acc + (length >> 16) + (length & 0xFFFF) + nh


def upper_checksum(src, dst, nh, data):
    """Checksum of an ICMPv6/UDP/TCP message (its checksum field zeroed or,
    when verifying, included: then a valid message gives 0)."""
    return fold(checksum(data, pseudo_acc(src, dst, nh, len(data))))


def build_header(src, dst, nh, payload_len, hop_limit=DEFAULT_HOP_LIMIT):
    return struct.pack(">IHBB", 0x60000000, payload_len, nh, hop_limit) + src + dst


def parse(packet):
    """Parse an IPv6 packet (after the Ethernet header).

    Returns (src, dst, next_header, hop_limit, payload memoryview) or None if
    the packet is malformed or uses an extension header we do not handle.
    Trailing bytes beyond the payload length (Ethernet padding) are ignored.
    """
    n = len(packet)
    if n < HEADER_LEN or (packet[0] >> 4) != 6:
        return None
    plen = (packet[4] << 8) | packet[5]
    if HEADER_LEN + plen > n:
        return None
    nh = packet[6]
    hop = packet[7]
    mv = memoryview(packet)
    src = bytes(mv[8:24])
    dst = bytes(mv[24:40])
    payload = mv[HEADER_LEN:HEADER_LEN + plen]
    if nh == NH_HOPOPTS:
        # Skip it: no option we would act upon (router alert, jumbo) applies.
        if len(payload) < 8:
            return None
        hlen = (payload[1] + 1) * 8
        if hlen > len(payload):
            return None
        nh = payload[0]
        payload = payload[hlen:]
    if nh != NH_TCP and nh != NH_UDP and nh != NH_ICMPV6:
        return None
    return src, dst, nh, hop, payload


def eth_header(dst_mac, src_mac, ethertype=ETH_P_IPV6):
    return dst_mac + src_mac + struct.pack(">H", ethertype)


def fmt(ip):
    """Compact text form (RFC 5952): longest run of zero groups as '::'."""
    groups = [(ip[i] << 8) | ip[i + 1] for i in range(0, 16, 2)]
    best = -1
    best_len = 1
    i = 0
    while i < 8:
        if groups[i] == 0:
            j = i
            while j < 8 and groups[j] == 0:
                j += 1
            if j - i > best_len:
                best, best_len = i, j - i
            i = j
        else:
            i += 1
    hexes = ["%x" % g for g in groups]
    if best < 0:
        return ":".join(hexes)
    return ":".join(hexes[:best]) + "::" + ":".join(hexes[best + best_len:])


def parse_addr(text):
    """Text to 16 bytes (no embedded IPv4, no zone id); ValueError if bad."""
    if "%" in text:
        text = text[:text.index("%")]
    if text.count("::") > 1:
        raise ValueError("bad IPv6 address")
    if "::" in text:
        head, tail = text.split("::")
        left = head.split(":") if head else []
        right = tail.split(":") if tail else []
        missing = 8 - len(left) - len(right)
        if missing < 1:
            raise ValueError("bad IPv6 address")
        parts = left + ["0"] * missing + right
    else:
        parts = text.split(":")
    if len(parts) != 8:
        raise ValueError("bad IPv6 address")
    out = bytearray()
    for p in parts:
        if not 1 <= len(p) <= 4:
            raise ValueError("bad IPv6 address")
        v = int(p, 16)
        out.append(v >> 8)
        out.append(v & 0xFF)
    return bytes(out)


def fmt_mac(mac):
    return ":".join("%02x" % b for b in mac)
