"""IPv6 addresses, header, checksum; ICMPv6 and UDP codecs."""
from micro15118.net import icmpv6, ipv6, tcp, udp

MAC = b"\x00\x01\x87\x0a\x0b\x0c"
A = ipv6.parse_addr("fe80::1")
B = ipv6.parse_addr("fe80::2")


def naive_checksum(data):
    """Word-by-word ones' complement sum with end-around carry."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def test_link_local_from_mac_modified_eui64():
    ip = ipv6.link_local(MAC)
    assert ipv6.fmt(ip) == "fe80::201:87ff:fe0a:b0c"
    assert ipv6.link_local(b"\x02\x00\x00\x00\x00\x01") == ipv6.parse_addr("fe80::ff:fe00:1")
    assert ipv6.is_link_local(ip) and not ipv6.is_multicast(ip)


def test_multicast_mac_and_solicited_node():
    ip = ipv6.link_local(MAC)
    snm = ipv6.solicited_node(ip)
    assert ipv6.fmt(snm) == "ff02::1:ff0a:b0c"
    assert ipv6.multicast_mac(snm) == b"\x33\x33\xff\x0a\x0b\x0c"
    assert ipv6.multicast_mac(ipv6.ALL_NODES) == b"\x33\x33\x00\x00\x00\x01"
    assert ipv6.fmt_mac(MAC) == "00:01:87:0a:0b:0c"


def test_fmt_and_parse_addr():
    for text in ("::", "::1", "fe80::", "ff02::1", "2001:db8::1:0:0:1", "1:2:3:4:5:6:7:8",
                 "fe80::1:0:0:0", "2001:db8:0:1:1:1:1:1"):
        assert ipv6.fmt(ipv6.parse_addr(text)) == text, text
    assert ipv6.fmt(ipv6.parse_addr("2001:0db8:0000:0000:0000:0000:0000:0001")) == "2001:db8::1"
    assert ipv6.parse_addr("fe80::1%eth0") == A
    for bad in ("1::2::3", "1:2:3", "12345::", "1:2:3:4:5:6:7:8:9", "g::"):
        try:
            ipv6.parse_addr(bad)
        except ValueError:
            continue
        assert False, bad


def test_checksum_matches_naive_sum():
    seed = 1
    for n in (0, 1, 2, 3, 63, 64, 65, 127, 128, 129, 1500, 1501):
        data = bytearray(n)
        for i in range(n):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            data[i] = seed >> 16 & 0xFF
        assert ipv6.fold(ipv6.checksum(data)) == naive_checksum(data), n
    assert ipv6.fold(ipv6.checksum(b"\xff\xff" * 40)) == naive_checksum(b"\xff\xff" * 40)
    assert ipv6.fold(ipv6.checksum(bytes(10))) == 0xFFFF


def test_known_icmpv6_checksum():
    # Echo request fe80::1 -> fe80::2, id 0x1234 seq 1, payload "abcd":
    # sum worked by hand over pseudo-header and message.
    msg = icmpv6.build_echo(A, B, icmpv6.ECHO_REQUEST, 0x1234, 1, b"abcd")
    pseudo = A + B + b"\x00\x00\x00\x0c\x00\x00\x00\x3a"
    expect = naive_checksum(pseudo + msg[:2] + b"\x00\x00" + msg[4:])
    assert (msg[2] << 8) | msg[3] == expect
    assert icmpv6.parse(A, B, msg) is not None
    assert icmpv6.parse(A, ipv6.parse_addr("fe80::3"), msg) is None     # pseudo-header counts


def test_header_build_and_parse():
    payload = b"x" * 10
    pkt = ipv6.build_header(A, B, ipv6.NH_UDP, len(payload), 7) + payload
    assert len(pkt) == 50 and pkt[0] == 0x60
    src, dst, nh, hop, p = ipv6.parse(pkt)
    assert (src, dst, nh, hop, bytes(p)) == (A, B, ipv6.NH_UDP, 7, payload)
    # Ethernet padding after the payload is cut off.
    src, dst, nh, hop, p = ipv6.parse(pkt + bytes(8))
    assert bytes(p) == payload
    assert ipv6.parse(pkt[:-1]) is None                     # payload length past the end
    assert ipv6.parse(pkt[:39]) is None                     # short header
    bad = bytearray(pkt)
    bad[0] = 0x40                                           # IPv4 version
    assert ipv6.parse(bytes(bad)) is None
    for nh in (43, 44, 50, 59, 60, 4, 99):                  # extension or unknown headers
        bad = bytearray(pkt)
        bad[6] = nh
        assert ipv6.parse(bytes(bad)) is None, nh


def test_hop_by_hop_header_skipped():
    hbh = bytes((ipv6.NH_ICMPV6, 0, 5, 2, 0, 0, 1, 0))     # router alert (MLD)
    body = b"\x8f\x00\x00\x00"
    pkt = ipv6.build_header(A, B, ipv6.NH_HOPOPTS, len(hbh) + len(body), 1) + hbh + body
    src, dst, nh, hop, p = ipv6.parse(pkt)
    assert nh == ipv6.NH_ICMPV6 and bytes(p) == body
    bad = ipv6.build_header(A, B, ipv6.NH_HOPOPTS, 8, 1) + bytes((58, 3, 0, 0, 0, 0, 0, 0))
    assert ipv6.parse(bad) is None                          # claims 32 bytes, has 8


def test_udp_roundtrip_and_checks():
    d = udp.build(A, B, 15118, 40000, b"sdp")
    assert udp.parse(A, B, d)[:2] == (15118, 40000) and bytes(udp.parse(A, B, d)[2]) == b"sdp"
    bad = bytearray(d)
    bad[-1] ^= 1
    assert udp.parse(A, B, bytes(bad)) is None             # checksum
    zero = bytearray(d)
    zero[6] = zero[7] = 0
    assert udp.parse(A, B, bytes(zero)) is None            # no checksum: forbidden over IPv6
    assert udp.parse(A, B, d + b"\x00") is None            # length field mismatch
    assert udp.parse(A, B, d[:7]) is None


def test_udp_checksum_zero_sent_as_ffff():
    # Find a payload whose checksum computes to 0: it must go out as 0xFFFF.
    for i in range(70000):
        payload = bytes((i >> 8 & 0xFF, i & 0xFF))
        d = udp.build(A, B, 1, 2, payload)
        if d[6:8] == b"\xff\xff":
            assert udp.parse(A, B, d) is not None
            return
    assert False, "no payload with checksum 0 found"


def test_ns_na_codec():
    snm = ipv6.solicited_node(B)
    ns = icmpv6.build_ns(A, snm, B, MAC)
    typ, code, msg = icmpv6.parse(A, snm, ns)
    assert typ == icmpv6.NEIGHBOR_SOLICIT
    assert icmpv6.parse_ns(A, snm, 255, msg) == (B, MAC)
    assert icmpv6.parse_ns(A, snm, 254, msg) is None        # hop limit must be 255
    na = icmpv6.build_na(B, A, B, MAC)
    typ, code, msg = icmpv6.parse(B, A, na)
    assert icmpv6.parse_na(B, A, 255, msg) == (B, icmpv6.FLAG_SOLICITED | icmpv6.FLAG_OVERRIDE, MAC)
    # Option with length 0 is malformed.
    raw = bytearray(ns)
    raw[25] = 0
    raw[2] = raw[3] = 0
    c = ipv6.upper_checksum(A, snm, ipv6.NH_ICMPV6, raw)
    raw[2], raw[3] = c >> 8, c & 0xFF
    typ, code, msg = icmpv6.parse(A, snm, bytes(raw))
    assert icmpv6.parse_ns(A, snm, 255, msg) is None
    # DAD probe (unspecified source) has no SLLAO.
    dad = icmpv6.build_ns(ipv6.UNSPECIFIED, snm, B, MAC)
    typ, code, msg = icmpv6.parse(ipv6.UNSPECIFIED, snm, dad)
    assert icmpv6.parse_ns(ipv6.UNSPECIFIED, snm, 255, msg) == (B, None)


def test_echo_codec():
    m = icmpv6.build_echo(A, B, icmpv6.ECHO_REPLY, 1, 2, b"zz")
    typ, code, msg = icmpv6.parse(A, B, m)
    ident, seq, data = icmpv6.parse_echo(msg)
    assert (typ, ident, seq, bytes(data)) == (icmpv6.ECHO_REPLY, 1, 2, b"zz")


def test_tcp_codec_and_options():
    seg = tcp.build(A, B, 1000, 2000, 0xFFFFFFFF, 5, tcp.SYN, 4096, b"", mss=1220)
    r = tcp.parse(A, B, seg)
    assert r[:7] == (1000, 2000, 0xFFFFFFFF, 5, tcp.SYN, 4096, 1220) and bytes(r[7]) == b""
    assert len(seg) == 24
    assert tcp.parse(A, ipv6.parse_addr("fe80::3"), seg) is None   # pseudo-header
    bad = bytearray(seg)
    bad[12] = 0x40                                           # data offset 16 < 20
    bad[16] = bad[17] = 0
    c = ipv6.upper_checksum(A, B, ipv6.NH_TCP, bad)
    bad[16], bad[17] = c >> 8, c & 0xFF
    assert tcp.parse(A, B, bytes(bad)) is None
    bad = bytearray(seg)
    bad[21] = 0                                              # option length 0
    bad[16] = bad[17] = 0
    c = ipv6.upper_checksum(A, B, ipv6.NH_TCP, bad)
    bad[16], bad[17] = c >> 8, c & 0xFF
    assert tcp.parse(A, B, bytes(bad)) is None
