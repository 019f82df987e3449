"""Linux TAP devices, AF_PACKET sockets, network namespaces and veth pairs.

Bridges between the simulated PLC wire / the firmware's NetStack and real
kernel stacks or tools (tcpdump, Wireshark, a kernel TCP peer).  Linux only,
needs root (CAP_NET_ADMIN) and the ``ip`` command (iproute2).

    with NetNs() as ns:                     # deleted on exit, even on error
        tap = Tap(netns=ns.name)            # fd stays here, device lives in ns
        ns.link_up(tap.name, dad=False)
        frame = tap.read(); tap.write(frame)

Every name made here is unique (prefix + pid + counter, at most 15 chars) and
recorded; whatever is still around at interpreter exit is removed.
"""
import atexit
import contextlib
import ctypes
import errno
import fcntl
import itertools
import os
import select
import socket
import struct
import subprocess

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
CLONE_NEWNET = 0x40000000
MAX_FRAME = 65536

# Host MACs of kernel-stack peers on TAP bridges (locally administered):
# python-iso15118's EV and charger, and a lone SLAC agent.
EV_TAP_MAC = bytes.fromhex("02aa0000000a")
EVSE_TAP_MAC = bytes.fromhex("02aa0000000b")
AGENT_MAC = bytes.fromhex("02aa00000009")

_counter = itertools.count(1)
_netns = set()           # namespaces we created and have not deleted yet
_links = set()           # (ifname, netns) of veths we created


def unique_name(prefix="m15"):
    """An interface/namespace name unique to this process (<= 15 chars)."""
    name = "%s%d_%d" % (prefix, os.getpid() % 100000, next(_counter))
    if len(name) > 15:
        raise ValueError("name too long: " + name)
    return name


def ip(*args, netns=None, check=True):
    """Run ``ip [-n netns] args...``; returns stdout (str)."""
    cmd = ["ip"] + (["-n", netns] if netns else []) + [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), proc.stderr.strip()))
    return proc.stdout


def netns_create(name=None):
    name = name or unique_name("m15ns")
    ip("netns", "add", name)
    _netns.add(name)
    ip("link", "set", "lo", "up", netns=name)
    return name


def netns_delete(name):
    """Delete a namespace; the interfaces inside go with it."""
    _netns.discard(name)
    ip("netns", "delete", name, check=False)
    for link in [l for l in _links if l[1] == name]:
        _links.discard(link)


def netns_exec(name, args, **kw):
    """``subprocess.Popen`` of args inside the namespace."""
    return subprocess.Popen(["ip", "netns", "exec", name] + list(args), **kw)


def veth_create(a=None, b=None, netns_a=None, netns_b=None):
    """A veth pair; each end optionally moved into a namespace.  Returns the
    two names.  Deleting one end deletes both."""
    a = a or unique_name("m15va")
    b = b or unique_name("m15vb")
    ip("link", "add", a, "type", "veth", "peer", "name", b)
    _links.add((a, None))
    if netns_a:
        ip("link", "set", a, "netns", netns_a)
        _links.discard((a, None))
        _links.add((a, netns_a))
    if netns_b:
        ip("link", "set", b, "netns", netns_b)
    return a, b


def link_delete(name, netns=None):
    _links.discard((name, netns))
    ip("link", "delete", name, netns=netns, check=False)


def _sysctl_path(ifname, key):
    return "/proc/sys/net/ipv6/conf/%s/%s" % (ifname, key)


def link_up(name, netns=None, dad=True, mac=None):
    """Bring an interface up; dad=False disables duplicate address detection
    first so its IPv6 link-local address is usable at once."""
    if mac is not None:
        ip("link", "set", name, "address", ":".join("%02x" % b for b in mac), netns=netns)
    if not dad:
        with in_netns(netns):
            with open(_sysctl_path(name, "accept_dad"), "w") as f:
                f.write("0")
    ip("link", "set", name, "up", netns=netns)


def link_local_of(name, netns=None):
    """The interface's fe80:: address as text (without zone), or None."""
    out = ip("-6", "-o", "addr", "show", "dev", name, "scope", "link", netns=netns)
    for line in out.splitlines():
        parts = line.split()
        if "inet6" in parts:
            addr = parts[parts.index("inet6") + 1].split("/")[0]
            if "tentative" not in parts:
                return addr
    return None


def mac_of(name, netns=None):
    out = ip("-o", "link", "show", "dev", name, netns=netns)
    parts = out.split()
    return bytes.fromhex(parts[parts.index("link/ether") + 1].replace(":", ""))


def ifindex(name, netns=None):
    with in_netns(netns):
        return socket.if_nametoindex(name)


_libc = None


def _setns(fd):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


@contextlib.contextmanager
def in_netns(name):
    """Run the body with this thread in namespace ``name`` (None = stay).
    Sockets created inside keep that namespace afterwards."""
    if not name:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


class NetNs:
    """A network namespace as a context manager (deleted on exit)."""

    def __init__(self, name=None):
        self.name = netns_create(name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.delete()

    def delete(self):
        if self.name in _netns:
            netns_delete(self.name)

    def popen(self, args, **kw):
        return netns_exec(self.name, args, **kw)

    def run(self, args, **kw):
        return subprocess.run(["ip", "netns", "exec", self.name] + list(args), **kw)

    def link_up(self, ifname, dad=True, mac=None):
        link_up(ifname, self.name, dad=dad, mac=mac)

    def link_local_of(self, ifname):
        return link_local_of(ifname, self.name)

    def wait_link_local(self, ifname, timeout=5.0):
        """Wait until the interface has a non-tentative fe80:: address."""
        import time
        end = time.monotonic() + timeout
        while True:
            addr = link_local_of(ifname, self.name)
            if addr:
                return addr
            if time.monotonic() > end:
                raise TimeoutError("no link-local address on %s in %s" % (ifname, self.name))
            time.sleep(0.05)


class _FrameIO:
    def fileno(self):
        return self._fd

    def readable(self, timeout=0.0):
        return bool(select.select([self._fd], [], [], timeout)[0])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Tap(_FrameIO):
    """A TAP device (Ethernet frames, no packet-info header).

    The device is created in the caller's namespace and then moved into
    ``netns`` if given; the file descriptor keeps working across the move.
    It disappears when closed (not persistent).
    """

    def __init__(self, name=None, netns=None, mac=None, nonblocking=True):
        self.name = name or unique_name("m15t")
        self.netns = netns
        self._fd = os.open("/dev/net/tun", os.O_RDWR)
        try:
            ifr = struct.pack("16sH22x", self.name.encode(), IFF_TAP | IFF_NO_PI)
            fcntl.ioctl(self._fd, TUNSETIFF, ifr)
            if mac is not None:
                ip("link", "set", self.name, "address", ":".join("%02x" % b for b in mac))
            if netns:
                ip("link", "set", self.name, "netns", netns)
        except Exception:
            os.close(self._fd)
            raise
        if nonblocking:
            os.set_blocking(self._fd, False)

    def read(self):
        """One frame, or None if none is waiting (non-blocking mode)."""
        try:
            return os.read(self._fd, MAX_FRAME)
        except BlockingIOError:
            return None

    def write(self, frame):
        return os.write(self._fd, bytes(frame))

    def close(self):
        if self._fd is not None and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class RawSocket(_FrameIO):
    """An AF_PACKET socket bound to one interface (optionally in a netns).

    ``read`` returns received frames only (the interface's own outgoing
    frames, which ETH_P_ALL also shows, are skipped).
    """

    def __init__(self, ifname, ethertype=ETH_P_ALL, netns=None, nonblocking=True):
        self.ifname = ifname
        with in_netns(netns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
            try:
                self.sock.bind((ifname, ethertype))
            except Exception:
                self.sock.close()
                raise
        self.sock.setblocking(not nonblocking)
        self._fd = self.sock.fileno()

    def read(self):
        while True:
            try:
                frame, addr = self.sock.recvfrom(MAX_FRAME)
            except BlockingIOError:
                return None
            except OSError as e:
                if e.errno == errno.ENETDOWN:   # reported once after the link went down
                    return None
                raise
            if addr[2] != PACKET_OUTGOING:
                return frame

    def write(self, frame):
        return self.sock.send(bytes(frame))

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self._fd = -1


@atexit.register
def _cleanup():
    for name, netns in list(_links):
        link_delete(name, netns)
    for name in list(_netns):
        netns_delete(name)
