"""A Link over a UART-like port: the MCU's I/O edge of the host link.

    port = UartPort(machine.UART(1, 921600, timeout=0, rxbuf=4096), link)
    port.service(now)        # every turn of the main loop

The port needs readinto(buf) -> count or None/0 when nothing is waiting
(machine.UART with timeout=0) and write(buf) -> count written (None is
taken as all).  USB CDC on sys.stdin/stdout fits once wrapped so that
readinto does not block (select.poll on sys.stdin first).  Bytes are read
into one buffer taken at start; what the port does not take of a frame is
kept and offered first on the next turn, so frames stay whole and in order.
"""


class UartPort:
    def __init__(self, uart, link, bufsize=512):
        self.uart = uart
        self.link = link
        self._buf = bytearray(bufsize)
        self._mv = memoryview(self._buf)
        self._out = []          # frames not (fully) written
        self._off = 0           # bytes of _out[0] already written
        self.rx_bytes = 0
        self.tx_bytes = 0

    def service(self, now):
        """Read what is waiting, run the link's timers, write its frames."""
        uart = self.uart
        link = self.link
        buf = self._buf
        while True:
            n = uart.readinto(buf)
            if not n:
                break
            self.rx_bytes += n
            link.feed(self._mv[:n], now)
            if n < len(buf):
                break
        link.poll(now)
        self.send_queued()

    def send_queued(self):
        """Takes the frames the link queued and writes what the port takes."""
        link = self.link
        if link.tx:
            self._out.extend(link.tx)
            link.tx = []
        return self.flush()

    def flush(self):
        """Write queued frames until the port takes no more; True when all went."""
        out = self._out
        while out:
            f = out[0]
            w = self.uart.write(memoryview(f)[self._off:] if self._off else f)
            left = len(f) - self._off
            if w is None:
                w = left
            self.tx_bytes += w
            if w < left:
                self._off += w
                return False
            out.pop(0)
            self._off = 0
        return True

    def waiting(self):
        """Bytes queued for the port."""
        n = -self._off
        for f in self._out:
            n += len(f)
        return n
