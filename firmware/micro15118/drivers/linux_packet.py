"""The modem as a Linux network interface, through an AF_PACKET socket.

On a Linux board (Raspberry Pi, i.MX, ...) with a QCA7000 on SPI, the
kernel's qca_spi driver does what drivers/qca7000.py does on a
microcontroller (sync, framing, interrupt service) and offers the modem as
an Ethernet interface (e.g. eth1).  `LinuxPacket(ifname)` gives the Runner
the same interface as `Qca7000` over a raw packet socket bound to it, on
MicroPython's unix port and on CPython (needs CAP_NET_RAW):

    modem.service(now)     reads the waiting frames into .rx and checks the
                           interface's carrier every check_ms into .events:
      ('ready',)  carrier up (qca_spi: the chip is in sync), frames flow;
      ('lost',)   carrier gone (no sync, interface down);
      ('reset',)  the carrier went down and up again between two checks
                  (the modem restarted), followed by ('ready',);
    modem.send(frame)      -> bool: False if not ready or the queue is full
    modem.state, .stats, .mac (the interface's MAC: the host's), .reset(),
    modem.next_deadline(), modem.value() (the "IRQ line": 1 while a frame
    is waiting, so the Runner does not nap).

Only HomePlug AV (0x88E1) and IPv6 (0x86DD) frames reach .rx; the
interface's own outgoing frames are skipped.  The socket's address is a
raw struct sockaddr_ll on MicroPython (its socket module takes and returns
sockaddr bytes) and a tuple on CPython; the interface's index, MAC and
carrier come from /sys/class/net/<if>/ (in a network namespace, under
`ip netns exec`, which mounts that namespace's sysfs).

The kernel's own IPv6 must be off on the interface (sysctl
net.ipv6.conf.<if>.disable_ipv6=1): our stack uses the same MAC and
link-local address, so the kernel would answer our peer's TCP segments with
resets.  The driver refuses to start otherwise.
"""
import socket
import struct

from . import qcafrm

AF_PACKET = 17
SOCK_RAW = 3
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23          # Linux 4.20+; outgoing frames are skipped anyway
ETH_P_ALL = 0x0003
ETH_HOMEPLUG = 0x88E1
ETH_IPV6 = 0x86DD
PACKET_OUTGOING = 4                  # sll_pkttype of a frame we sent
POLLIN = 1
RX_BURST = 32                        # frames read per service()

# Linux errno values (MicroPython's errno module lacks some)
EAGAIN = 11
ENOBUFS = 105
ENETDOWN = 100
ENXIO = 6
ENODEV = 19

UNKNOWN = "unknown"
READY = "ready"

STAT_KEYS = ("rx_frames", "tx_frames", "tx_not_ready", "tx_no_space", "tx_too_long",
             "rx_other", "rx_too_long", "lost", "restarts", "net_down")

SYS = "/sys/class/net/"


def _read_sys(ifname, name):
    """A /sys/class/net/<if>/<name> value as text, or None if unreadable
    (reading `carrier` of an interface that is down fails with EINVAL)."""
    try:
        with open(SYS + ifname + "/" + name) as f:
            return f.read().strip()
    except OSError:
        return None


def _errno(e):
    return e.args[0] if e.args and isinstance(e.args[0], int) else None


def _htons(v):
    return struct.unpack("H", struct.pack(">H", v))[0]


class LinuxPacket:
    def __init__(self, ifname, check_ms=100, allow_kernel_ipv6=False):
        self.ifname = ifname
        self.check_ms = check_ms          # carrier check period
        index = _read_sys(ifname, "ifindex")
        if index is None:
            raise ValueError("no network interface " + ifname)
        if not allow_kernel_ipv6 and _kernel_ipv6(ifname):
            raise ValueError("the kernel's IPv6 is on for %s and would reset our TCP "
                             "connections: sysctl -w net.ipv6.conf.%s.disable_ipv6=1"
                             % (ifname, ifname))
        self.mac = bytes(int(p, 16) for p in _read_sys(ifname, "address").split(":"))
        self.state = UNKNOWN
        qcafrm.modem_outputs(self, STAT_KEYS)
        self._check_at = 0
        self._changes = None
        self._check_now = False
        s = socket.socket(AF_PACKET, SOCK_RAW, _htons(ETH_P_ALL))
        try:
            try:    # MicroPython: a struct sockaddr_ll
                s.bind(struct.pack("H", AF_PACKET) + struct.pack(">H", ETH_P_ALL)
                       + struct.pack("i", int(index)) + bytes(12))
            except TypeError:    # CPython: (ifname, protocol)
                s.bind((ifname, ETH_P_ALL))
            try:
                s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:
                pass
            s.setblocking(False)
        except Exception:
            s.close()
            raise
        self.sock = s
        import select
        self._poll = select.poll()
        self._poll.register(s.fileno(), POLLIN)

    def close(self):
        if self.sock is not None:
            self._poll.unregister(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def value(self):
        """1 while a frame is waiting (what the QCA7000's IRQ line says)."""
        return 1 if self._poll.poll(0) else 0

    def reset(self):
        """Re-check the interface at the next service() ('reset' if ready)."""
        if self.state == READY:
            self.events.append(("reset",))
        self.state = UNKNOWN
        self._check_now = True

    def next_deadline(self):
        return self._check_at

    def service(self, now):
        if self._check_now or now >= self._check_at:
            self._check_now = False
            self._check_at = now + self.check_ms
            self._check()
        if self.state == READY:
            self._receive()

    def send(self, frame):
        """Write one Ethernet frame (padded to 60); False if not ready or no room."""
        n = len(frame)
        if not qcafrm.may_send(self.stats, self.state == READY, n):
            return False
        if n < qcafrm.MIN_LEN:
            frame = bytes(frame) + bytes(qcafrm.MIN_LEN - n)
        try:
            self.sock.send(frame)
        except OSError as e:
            if _errno(e) in (EAGAIN, ENOBUFS):
                self.stats["tx_no_space"] += 1
                return False
            if self._down(e):
                return False
            raise
        self.stats["tx_frames"] += 1
        return True

    # -- internals --------------------------------------------------------

    def _down(self, e):
        """An error that says the interface went away: check it now."""
        if _errno(e) in (ENETDOWN, ENXIO, ENODEV):
            self.stats["net_down"] += 1
            self._check_now = True
            return True
        return False

    def _check(self):
        up = _read_sys(self.ifname, "carrier") == "1"
        changes = _read_sys(self.ifname, "carrier_changes")
        bounced = changes is not None and self._changes is not None and changes != self._changes
        self._changes = changes
        if self.state == READY:
            if not up:
                self.stats["lost"] += 1
                self.state = UNKNOWN
                self.events.append(("lost",))
            elif bounced:
                # Down and up again since the last check: a modem restart.
                self.stats["restarts"] += 1
                self.events.append(("reset",))
                self.events.append(("ready",))
        elif up:
            self.state = READY
            self.events.append(("ready",))

    def _recv(self):
        """(frame, pkttype) or None when nothing is waiting."""
        try:
            frame, addr = self.sock.recvfrom(qcafrm.MAX_LEN + 1)
        except OSError as e:
            if _errno(e) == EAGAIN or self._down(e):
                return None
            raise
        # sockaddr_ll bytes (MicroPython) or (ifname, proto, pkttype, ...) (CPython)
        return frame, (addr[2] if isinstance(addr, tuple) else addr[10])

    def _receive(self):
        if not self._poll.poll(0):
            return            # cheaper than a failing recvfrom (its buffer, the exception)
        stats = self.stats
        for _ in range(RX_BURST):
            got = self._recv()
            if got is None:
                return
            frame, pkttype = got
            if pkttype == PACKET_OUTGOING:
                continue
            if len(frame) > qcafrm.MAX_LEN:
                stats["rx_too_long"] += 1
                continue
            etype = (frame[12] << 8) | frame[13] if len(frame) >= 14 else 0
            if etype != ETH_HOMEPLUG and etype != ETH_IPV6:
                stats["rx_other"] += 1
                continue
            self.rx.append(frame)
            stats["rx_frames"] += 1


def _kernel_ipv6(ifname):
    try:
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % ifname) as f:
            return f.read().strip() == "0"
    except OSError:
        return False      # no IPv6 in this kernel
