"""Our NetStack against the Linux kernel's IPv6/TCP, through a TAP device.

Each test makes a network namespace holding a TAP whose other end (the fd) is
pumped to a NetStack in this process.  The kernel side runs in
``ip netns exec`` subprocesses.  Needs root; a missing prerequisite fails.
"""
import hashlib
import os
import random
import subprocess
import sys
import textwrap
import time

import pytest

from host.peers import tap as taplib
from micro15118.net import ipv6, stack

MAC = b"\x02\x15\x11\x80\x00\x01"
SIZE = 1 << 20
PORT = 50555
DEADLINE_S = 60


def blob(seed, size=SIZE):
    return random.Random(seed).randbytes(size)


def ms():
    return int(time.monotonic() * 1000)


@pytest.fixture
def env():
    assert os.geteuid() == 0, "needs root (network namespaces, TAP)"
    ns = taplib.NetNs()
    t = None
    try:
        t = taplib.Tap(netns=ns.name)
        ns.link_up(t.name, dad=False)
        kernel_ip = ns.wait_link_local(t.name)
        st = stack.NetStack(MAC, rng=os.urandom, rx_window=32768, tx_buffer=32768, mss=1440)
        yield ns, t, st, kernel_ip
    finally:
        if t is not None:
            t.close()
        ns.delete()
    assert not os.path.exists("/run/netns/" + ns.name)


def pump(t, st, until, proc=None, app=None, timeout=DEADLINE_S):
    """Move frames between the TAP and the stack until ``until()``."""
    end = time.monotonic() + timeout
    while not until():
        now = ms()
        if app is not None:
            app(now)
        st.poll(now)
        for f in st.tx:
            t.write(f)
        st.tx = []
        d = st.next_deadline()
        wait = 0.02 if d is None else max(0.0, min(0.02, (d - ms()) / 1000.0))
        if t.readable(wait):
            for _ in range(64):
                f = t.read()
                if f is None:
                    break
                st.handle_frame(f, ms())
        assert time.monotonic() < end, "timed out"
        if proc is not None and proc.poll() is not None and proc.returncode != 0:
            out, err = proc.communicate()
            pytest.fail("kernel side failed: %s %s" % (out, err))


def kernel(ns, script, *args):
    return ns.popen([sys.executable, "-c", textwrap.dedent(script)] + [str(a) for a in args],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


KERNEL_PEER = """
    import hashlib, random, socket, sys, threading
    mode, addr, port, ifname, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    scope = socket.if_nametoindex(ifname)
    mine = random.Random(2).randbytes(size)
    if mode == "client":
        s = socket.create_connection((addr + "%" + ifname, port), timeout=30)
    else:
        ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("::", port, 0, scope))
        ls.listen(1)
        print("READY", flush=True)
        ls.settimeout(30)
        s, _ = ls.accept()
    s.settimeout(30)
    def sender():
        s.sendall(mine)
        s.shutdown(socket.SHUT_WR)
    th = threading.Thread(target=sender)
    th.start()
    h = hashlib.sha256()
    n = 0
    while True:
        d = s.recv(65536)
        if not d:
            break
        h.update(d)
        n += len(d)
    th.join()
    s.close()
    print("GOT", n, h.hexdigest(), flush=True)
"""


class Exchange:
    """Our side of the 1 MB both ways exchange on one connection."""

    def __init__(self, size=SIZE):
        self.size = size
        self.conn = None
        self.out = blob(1, size)
        self.off = 0
        self.h = hashlib.sha256()
        self.n = 0
        self.closed = False
        self.reason = None

    def app(self, st, now):
        for ev in st.events:
            if ev[0] in ("tcp_accept", "tcp_connected"):
                self.conn = ev[1]
            elif ev[0] == "tcp_closed":
                self.reason = ev[2]
        st.events = []
        c = self.conn
        if c is None:
            return
        if self.off < self.size:
            self.off += c.send(memoryview(self.out)[self.off:self.off + 32768])
        elif not self.closed:
            c.close(now)
            self.closed = True
        d = c.recv()
        if d:
            self.h.update(d)
            self.n += len(d)

    def done(self):
        return self.reason is not None


def check_peer_output(proc, ex):
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    words = out.split()
    got = words[words.index("GOT") + 1:words.index("GOT") + 3]
    assert got == [str(ex.size), hashlib.sha256(blob(1, ex.size)).hexdigest()]
    assert ex.n == ex.size and ex.h.hexdigest() == hashlib.sha256(blob(2, ex.size)).hexdigest()
    assert ex.reason == "closed"


def test_kernel_client_to_our_server(env):
    ns, t, st, kernel_ip = env
    st.tcp_listen(PORT)
    proc = kernel(ns, KERNEL_PEER, "client", ipv6.fmt(st.ip), PORT, t.name, SIZE)
    ex = Exchange()
    pump(t, st, ex.done, proc, app=lambda now: ex.app(st, now))
    check_peer_output(proc, ex)
    assert st.connections() == [] or st.connections()[0].state == "TIME_WAIT"


def test_our_client_to_kernel_server(env):
    ns, t, st, kernel_ip = env
    proc = kernel(ns, KERNEL_PEER, "server", "::", PORT + 1, t.name, SIZE)
    assert proc.stdout.readline().strip() == "READY"
    ex = Exchange()
    st.tcp_connect(ipv6.parse_addr(kernel_ip), PORT + 1, ms())
    pump(t, st, ex.done, proc, app=lambda now: ex.app(st, now))
    check_peer_output(proc, ex)


class Lossy:
    """Wraps the TAP: drops a share of the frames both ways (seeded)."""

    def __init__(self, t, loss, seed):
        self.t = t
        self.loss = loss
        self.rnd = random.Random(seed)
        self.lost = 0

    def write(self, frame):
        if self.rnd.random() >= self.loss:
            self.t.write(frame)
        else:
            self.lost += 1

    def read(self):
        while True:
            frame = self.t.read()
            if frame is None or self.rnd.random() >= self.loss:
                return frame
            self.lost += 1

    def readable(self, timeout):
        return self.t.readable(timeout)


def test_lossy_link_both_roles(env):
    """5 % of frames lost each way: our retransmissions and the kernel's meet."""
    ns, t, st, kernel_ip = env
    size = 256 * 1024
    lossy = Lossy(t, 0.05, seed=5)
    st.tcp_listen(PORT)
    proc = kernel(ns, KERNEL_PEER, "client", ipv6.fmt(st.ip), PORT, t.name, size)
    ex = Exchange(size)
    pump(lossy, st, ex.done, proc, app=lambda now: ex.app(st, now))
    check_peer_output(proc, ex)
    proc = kernel(ns, KERNEL_PEER, "server", "::", PORT + 2, t.name, size)
    assert proc.stdout.readline().strip() == "READY"
    ex = Exchange(size)
    st.tcp_connect(ipv6.parse_addr(kernel_ip), PORT + 2, ms())
    pump(lossy, st, ex.done, proc, app=lambda now: ex.app(st, now))
    check_peer_output(proc, ex)
    assert lossy.lost > 50


KERNEL_PING = """
    import socket, struct, sys, time
    addr, ifname = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.settimeout(2)
    dst = (addr, 0, 0, socket.if_nametoindex(ifname))
    ok = 0
    for seq in range(3):
        s.sendto(struct.pack(">BBHHH", 128, 0, 0, 0x4242, seq) + b"ping-payload", dst)
        end = time.time() + 2
        while time.time() < end:
            data, src = s.recvfrom(2000)
            if data[0] == 129 and data[4:8] == struct.pack(">HH", 0x4242, seq) and data[8:] == b"ping-payload":
                ok += 1
                break
    print("REPLIES", ok, flush=True)
"""


def test_kernel_ping_gets_replies(env):
    ns, t, st, kernel_ip = env
    proc = kernel(ns, KERNEL_PING, ipv6.fmt(st.ip), t.name)
    pump(t, st, lambda: proc.poll() is not None, timeout=20)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "REPLIES 3" in out, out


KERNEL_UDP = """
    import socket, sys
    addr, ifname, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    scope = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", 40404, 0, scope))
    s.settimeout(5)
    s.sendto(b"\\x01\\xfe\\x90\\x00\\x00\\x00\\x00\\x02\\x10\\x00", ("ff02::1", port, 0, scope))
    data, src = s.recvfrom(2000)
    s.sendto(b"unicast", (addr, port, 0, scope))
    data2, src2 = s.recvfrom(2000)
    print("ANSWER", data.hex(), data2.hex(), src[0].split("%")[0], flush=True)
"""


def test_kernel_udp_multicast_and_unicast(env):
    ns, t, st, kernel_ip = env
    st.udp_bind(15118)
    proc = kernel(ns, KERNEL_UDP, ipv6.fmt(st.ip), t.name, 15118)
    got = []

    def app(now):
        for ev in st.events:
            if ev[0] == "udp":
                got.append(ev)
                st.udp_send(ev[2], ev[3], 15118, b"re:" + ev[4], now)
        st.events = []
    pump(t, st, lambda: proc.poll() is not None, app=app, timeout=20)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    words = out.split()
    assert words[0] == "ANSWER"
    assert bytes.fromhex(words[1]) == b"re:\x01\xfe\x90\x00\x00\x00\x00\x02\x10\x00"
    assert bytes.fromhex(words[2]) == b"re:unicast"
    assert words[3] == ipv6.fmt(st.ip)
    assert [g[1] for g in got] == [15118, 15118] and got[0][3] == 40404
    assert ipv6.fmt(got[0][2]) == kernel_ip


def test_namespace_helpers_clean_up():
    assert os.geteuid() == 0, "needs root"
    with taplib.NetNs() as ns:
        a, b = taplib.veth_create(netns_a=ns.name)
        assert a in taplib.ip("-o", "link", netns=ns.name)
        r = taplib.RawSocket(a, netns=ns.name)
        w = taplib.RawSocket(b)
        taplib.link_up(a, ns.name)
        taplib.link_up(b)
        frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x07" + b"\x88\xb5" + b"hello".ljust(46, b"\x00")
        deadline = time.monotonic() + 5
        got = None
        while got is None and time.monotonic() < deadline:
            try:
                w.write(frame)                      # "network is down" until the carrier is up
            except OSError:
                time.sleep(0.05)
                continue
            if r.readable(0.1):
                f = r.read()
                if f is not None and f[12:14] == b"\x88\xb5":
                    got = f
        r.close()
        w.close()
        assert got == frame
        name = ns.name
    assert not os.path.exists("/run/netns/" + name)
    assert b not in taplib.ip("-o", "link")          # the veth went with the namespace
