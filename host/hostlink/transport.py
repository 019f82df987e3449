"""Byte transports for the host link: pyserial (a device, loop://,
socket://host:port, any URL serial_for_url takes), a pty end (os.openpty, for
simulation) and a connected socket (the server end of socket://).

Every transport has the same small interface, all a HostLink needs:

    read()        -> bytes: what arrived, waiting at most .timeout seconds
                     (b"" when nothing came or the other end is gone)
    write(data)   -> int: bytes taken; what cannot go within .write_timeout
                     is dropped and counted in .dropped (a serial line loses
                     bytes too; the link's CRC and supervision cope)
    close()
    .hangup       None, or why the other end is gone (device unplugged,
                  pty closed, socket closed); the link sees that as silence
                  and reports link_lost after its timeout

None of them raises on a vanished peer: losing the link is the link's
business (supervision), not the transport's.
"""
import errno
import os
import select
import socket
import time
import tty

import serial

POLL_S = 0.02
WRITE_TIMEOUT_S = 0.5
BAUDRATE = 115200


class Transport:
    timeout = POLL_S
    write_timeout = WRITE_TIMEOUT_S

    def __init__(self):
        self.hangup = None
        self.dropped = 0
        self.closed = False
        self.rx_bytes = 0
        self.tx_bytes = 0

    def _idle(self, why):
        """The other end is gone: note why, and wait as a read would."""
        if self.hangup is None:
            self.hangup = why
        time.sleep(self.timeout)
        return b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SerialTransport(Transport):
    """A pyserial port: SerialTransport("/dev/ttyACM0"), ("loop://"),
    ("socket://127.0.0.1:5000"), or an open serial.Serial."""

    def __init__(self, port, baudrate=BAUDRATE, timeout=POLL_S, write_timeout=WRITE_TIMEOUT_S, **kw):
        super().__init__()
        self.timeout = timeout
        self.write_timeout = write_timeout
        if isinstance(port, str):
            self.ser = serial.serial_for_url(port, baudrate=baudrate, timeout=timeout,
                                             write_timeout=write_timeout, **kw)
        else:
            self.ser = port
        self.name = getattr(self.ser, "name", None) or str(port)

    def read(self):
        if self.closed:
            return self._idle("closed")
        ser = self.ser
        try:
            n = ser.in_waiting
            data = ser.read(n or 1)
            if data and not n:
                n = ser.in_waiting
                if n:
                    data += ser.read(n)
        except (serial.SerialException, OSError) as e:
            return self._idle(str(e) or type(e).__name__)
        self.rx_bytes += len(data)
        return data

    def write(self, data):
        if self.closed or not data:
            self.dropped += len(data)
            return 0
        try:
            n = self.ser.write(data) or 0
        except serial.SerialTimeoutException:
            n = 0
        except (serial.SerialException, OSError) as e:
            self._idle(str(e) or type(e).__name__)
            n = 0
        self.tx_bytes += n
        self.dropped += len(data) - n
        return n

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.ser.close()
            except Exception:  # noqa: BLE001 - a port that is gone may fail to close
                pass


class FdTransport(Transport):
    """A file descriptor (a pty end) or a socket, read with select."""

    def __init__(self, fd, timeout=POLL_S, write_timeout=WRITE_TIMEOUT_S, name=None):
        super().__init__()
        self.timeout = timeout
        self.write_timeout = write_timeout
        self._sock = fd if isinstance(fd, socket.socket) else None
        if self._sock is not None:
            self._sock.setblocking(False)
            self.fd = self._sock.fileno()
        else:
            self.fd = fd
            os.set_blocking(fd, False)
        self.name = name or "fd %d" % self.fd

    def _recv(self):
        if self._sock is not None:
            return self._sock.recv(65536)
        return os.read(self.fd, 65536)

    def _send(self, data):
        if self._sock is not None:
            return self._sock.send(data)
        return os.write(self.fd, data)

    def read(self):
        if self.closed:
            return self._idle("closed")
        try:
            ready, _, _ = select.select([self.fd], [], [], self.timeout)
            if not ready:
                return b""
            data = self._recv()
        except BlockingIOError:
            return b""
        except OSError as e:
            # EIO: a pty master whose slave was closed; ECONNRESET: a socket
            return self._idle(os.strerror(e.errno) if e.errno else str(e))
        if not data:
            return self._idle("end of file")
        self.hangup = None          # a pty slave can be opened again
        self.rx_bytes += len(data)
        return data

    def write(self, data):
        data = memoryview(bytes(data))
        if self.closed:
            self.dropped += len(data)
            return 0
        sent = 0
        deadline = time.monotonic() + self.write_timeout
        while sent < len(data):
            try:
                sent += self._send(data[sent:])
                continue
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EINTR):
                    if self.hangup is None:
                        self.hangup = os.strerror(e.errno) if e.errno else str(e)
                    break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                select.select([], [self.fd], [], left)
            except (OSError, ValueError):
                break
        self.tx_bytes += sent
        self.dropped += len(data) - sent
        return sent

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            if self._sock is not None:
                self._sock.close()
            else:
                os.close(self.fd)
        except OSError:
            pass


class PtyPair:
    """A pseudo-terminal pair in raw mode, for a simulated serial line:
    .master and .slave are FdTransports; .slave_path (/dev/pts/N) can be
    opened by anything else instead, as a serial device (SerialTransport)."""

    def __init__(self, timeout=POLL_S):
        master, slave = os.openpty()
        tty.setraw(slave)           # no echo, no line discipline: bytes as they are
        self.slave_path = os.ttyname(slave)
        self.master = FdTransport(master, timeout, name="pty master")
        self.slave = FdTransport(slave, timeout, name=self.slave_path)

    def close(self):
        self.master.close()
        self.slave.close()
