"""The Linux kernel's IPv6/UDP/TCP as the far end of our link (run inside a
network namespace with `ip netns exec`).  Plain CPython sockets; the SDP and
V2GTP bytes are packed here by hand so nothing of ours is involved.

    kernel_v2g.py client IFACE NBYTES SIZE
        SDP request to ff02::1 (no TLS, TCP), connect to the announced SECC,
        send NBYTES of V2GTP messages (SIZE-byte payloads), read the echoes
        and check them.  Prints `KERNEL CLIENT ok sent=.. received=.. seconds=..`.
    kernel_v2g.py abuse IFACE
        SDP garbage (must get no answer), then a valid SDP request; a TCP
        connection that sends a V2GTP header with a bad version (the SECC must
        close it), then a fresh connection with a good message (must be
        echoed).  Prints `KERNEL ABUSE ok ...`.
    kernel_v2g.py server IFACE
        Answer SDP requests with this interface's link-local address and a TCP
        port, accept one connection and echo every V2GTP message until the
        peer closes.  Prints `KERNEL SERVER ready ...` then
        `KERNEL SERVER done messages=.. bytes=..`.
"""
import random
import socket
import struct
import sys
import threading
import time

SDP_PORT = 15118
V2GTP_SDP_REQ, V2GTP_SDP_RES, V2GTP_COMMON = 0x9000, 0x9001, 0x8002
NO_TLS, TCP = 0x10, 0x00


def v2gtp(ptype, payload):
    return struct.pack(">BBHI", 1, 0xFE, ptype, len(payload)) + payload


def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def read_message(sock):
    head = read_exact(sock, 8)
    version, inverse, ptype, length = struct.unpack(">BBHI", head)
    if version != 1 or inverse != 0xFE:
        raise ValueError("bad V2GTP header %s" % head.hex())
    return ptype, read_exact(sock, length)


def link_local(iface):
    with open("/proc/net/if_inet6") as f:
        for line in f:
            parts = line.split()
            if parts[5] == iface and parts[0].startswith("fe80"):
                return bytes.fromhex(parts[0])
    raise SystemExit("no link-local address on " + iface)


def sdp_discover(iface, udp, tries, who):
    """(ip, port, security) of the SECC that answers our SDP request first."""
    scope = socket.if_nametoindex(iface)
    request = v2gtp(V2GTP_SDP_REQ, bytes([NO_TLS, TCP]))
    for _ in range(tries):
        udp.sendto(request, ("ff02::1", SDP_PORT, 0, scope))
        try:
            data, _ = udp.recvfrom(100)
        except socket.timeout:
            continue
        if len(data) == 28 and data[:4] == b"\x01\xfe\x90\x01":
            return (socket.inet_ntop(socket.AF_INET6, data[8:24]),
                    struct.unpack(">H", data[24:26])[0], data[26])
    raise SystemExit(who + " no SDP response")


def peer_closed(sock):
    """Whether the peer ends the connection (FIN or RST) instead of sending."""
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def client(iface, nbytes, size):
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.settimeout(0.25)
    ip, port, security = sdp_discover(iface, udp, 200, "KERNEL CLIENT")
    print("KERNEL CLIENT sdp secc=%s port=%d security=%d" % (ip, port, security), flush=True)

    sock = socket.create_connection((ip + "%" + iface, port), timeout=30)
    count = (nbytes + size - 1) // size
    rng = random.Random(1)
    messages = [rng.randbytes(size) for _ in range(min(count, 64))]
    errors = []
    got = [0]

    def reader():
        try:
            for i in range(count):
                ptype, payload = read_message(sock)
                if ptype != V2GTP_COMMON or payload != messages[i % len(messages)]:
                    errors.append("message %d differs" % i)
                    return
                got[0] += len(payload)
        except Exception as e:       # reported below
            errors.append(repr(e))

    t0 = time.monotonic()
    th = threading.Thread(target=reader)
    th.start()
    sent = 0
    for i in range(count):
        sock.sendall(v2gtp(V2GTP_COMMON, messages[i % len(messages)]))
        sent += size
    th.join(120)
    seconds = time.monotonic() - t0
    sock.close()
    if errors or got[0] != sent:
        raise SystemExit("KERNEL CLIENT failed: %s received=%d sent=%d" % (errors, got[0], sent))
    print("KERNEL CLIENT ok sent=%d received=%d seconds=%.3f" % (sent, got[0], seconds), flush=True)


def abuse(iface):
    scope = socket.if_nametoindex(iface)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.settimeout(0.3)
    garbage = [b"", b"\x01", b"\x01\xfe\x90\x00\x00\x00\x00\x02\x10",      # length says 2, 3 follow
               b"\x02\xfd\x90\x00\x00\x00\x00\x02\x10\x00",                # version 2
               b"\x01\xfe\x80\x01\x00\x00\x00\x02\x10\x00",                # not an SDP type
               b"\x01\xfe\x90\x00\x00\x00\x00\x02\x10\x10",                # transport UDP
               bytes(random.Random(2).randbytes(300))]
    for g in garbage:
        udp.sendto(g, ("ff02::1", SDP_PORT, 0, scope))
    time.sleep(0.5)
    udp.setblocking(False)
    try:
        stray = udp.recvfrom(100)
        raise SystemExit("KERNEL ABUSE garbage was answered: %r" % (stray,))
    except BlockingIOError:
        pass
    udp.settimeout(0.3)
    ip, port, _ = sdp_discover(iface, udp, 40, "KERNEL ABUSE")
    target = (ip + "%" + iface, port)

    sock = socket.create_connection(target, timeout=10)
    sock.sendall(b"\x02\xfd\x80\x02\x00\x00\x00\x04abcd")          # bad version
    if not peer_closed(sock):
        raise SystemExit("KERNEL ABUSE bad V2GTP header did not close the connection")
    sock.close()

    sock = socket.create_connection(target, timeout=10)
    sock.sendall(v2gtp(V2GTP_COMMON, b"still alive"))
    ptype, payload = read_message(sock)
    sock.close()
    if payload != b"still alive":
        raise SystemExit("KERNEL ABUSE echo differs")
    print("KERNEL ABUSE ok garbage=%d unanswered, bad header closed, echo after" % len(garbage),
          flush=True)


def badexi(iface):
    """Malformed EXI to a SECC: print its answer and when it closed."""
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.settimeout(0.3)
    ip, port, _ = sdp_discover(iface, udp, 40, "KERNEL BADEXI")
    sock = socket.create_connection((ip + "%" + iface, port), timeout=15)
    sock.sendall(v2gtp(0x8001, b"\x80\xff\xfe\xfd\x01\x02"))
    ptype, payload = read_message(sock)
    t0 = time.monotonic()
    closed = peer_closed(sock)
    print("KERNEL BADEXI ptype=%04x response=%s closed=%s after=%.2f"
          % (ptype, payload.hex(), closed, time.monotonic() - t0), flush=True)


def server(iface):
    scope = socket.if_nametoindex(iface)
    ip = link_local(iface)
    tcp = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    tcp.bind((socket.inet_ntop(socket.AF_INET6, ip), 0, 0, scope))
    tcp.listen(1)
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp.bind(("::", SDP_PORT))
    mreq = socket.inet_pton(socket.AF_INET6, "ff02::1") + struct.pack("@I", scope)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    answered = [0]

    def sdp():
        while True:
            data, addr = udp.recvfrom(100)
            if data[:8] == v2gtp(V2GTP_SDP_REQ, b"")[:4] + b"\x00\x00\x00\x02" and data[8] == NO_TLS:
                udp.sendto(v2gtp(V2GTP_SDP_RES, ip + struct.pack(">H", port) + bytes([NO_TLS, TCP])), addr)
                answered[0] += 1
    threading.Thread(target=sdp, daemon=True).start()
    print("KERNEL SERVER ready ip=%s port=%d" % (socket.inet_ntop(socket.AF_INET6, ip), port), flush=True)
    conn, _ = tcp.accept()
    t0 = time.monotonic()
    messages = nbytes = 0
    try:
        while True:
            ptype, payload = read_message(conn)
            conn.sendall(v2gtp(ptype, payload))
            messages += 1
            nbytes += len(payload)
    except EOFError:
        pass
    seconds = time.monotonic() - t0
    print("KERNEL SERVER done messages=%d bytes=%d seconds=%.3f sdp_answered=%d"
          % (messages, nbytes, seconds, answered[0]), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "abuse":
        abuse(sys.argv[2])
    elif sys.argv[1] == "badexi":
        badexi(sys.argv[2])
    else:
        server(sys.argv[2])
