"""The host link's byte port on the MicroPython unix port (and CPython): a
tty or pty path (the simulation's pty, a USB serial adapter in raw mode) or
a TCP socket, with machine.UART's timeout=0 interface for
hostlink.port.UartPort: readinto(buf) -> count, or None when nothing waits
(never blocks); write(buf) -> count.

    port = open_port("/dev/pts/7")          # or "127.0.0.1:5118"

A tty is not set to raw mode here (the unix port has no termios): its owner
does that (host.hostlink.PtyPair; `stty raw` for a serial adapter).  A
vanished peer (pty master closed: POLLHUP / EIO; socket closed) is never an
exception: reads return nothing and writes are dropped, `.hangup` says why,
and the Link's supervision reports the link lost.
"""
import select
import socket


def open_port(spec):
    """HOST:PORT (a TCP socket) or a device path."""
    host, sep, port = spec.rpartition(":")
    if sep and port.isdigit() and not spec.startswith("/"):
        return TcpPort(host or "127.0.0.1", int(port))
    return TtyPort(spec)


class TtyPort:
    def __init__(self, path):
        self.name = path
        self.f = open(path, "r+b", 0)     # unbuffered: poll sees every byte not yet read
        self._poll = select.poll()
        self._poll.register(self.f, select.POLLIN)
        self.hangup = None

    def readinto(self, buf):
        # The unix port's FileIO.readinto waits until buf is full: read one
        # byte at a time while poll says one is there.
        n = 0
        mv = memoryview(buf)
        size = len(buf)
        while n < size:
            ready = self._poll.poll(0)
            if not ready:
                break
            flags = ready[0][1]
            if not flags & select.POLLIN:
                if flags & (select.POLLHUP | select.POLLERR):
                    self.hangup = "hangup"
                break
            try:
                k = self.f.readinto(mv[n:n + 1])
            except OSError as e:
                self.hangup = "read: %s" % e
                break
            if not k:
                break
            n += k
        return n or None

    def write(self, data):
        if self.hangup is not None:
            return len(data)        # dropped, as on a line nobody listens to
        try:
            n = self.f.write(data)
        except OSError as e:
            self.hangup = "write: %s" % e
            return len(data)
        return len(data) if n is None else n

    def close(self):
        self.f.close()


class TcpPort:
    def __init__(self, host, port):
        self.name = "%s:%d" % (host, port)
        self.sock = socket.socket()
        self.sock.connect(socket.getaddrinfo(host, port)[0][-1])
        self.sock.setblocking(False)
        self.hangup = None
        self._recv_into = getattr(self.sock, "recv_into", None) or self.sock.readinto

    def readinto(self, buf):
        if self.hangup is not None:
            return None
        try:
            n = self._recv_into(buf)
        except OSError as e:        # EAGAIN (CPython: BlockingIOError) or a reset
            if e.args and e.args[0] == 11:
                return None
            self.hangup = "read: %s" % e
            return None
        if n is None:
            return None
        if n == 0:
            self.hangup = "closed"
            return None
        return n

    def write(self, data):
        if self.hangup is not None:
            return len(data)
        try:
            n = self.sock.send(data)
        except OSError as e:
            if e.args and e.args[0] == 11:
                return 0
            self.hangup = "write: %s" % e
            return len(data)
        return 0 if n is None else n

    def close(self):
        self.sock.close()
