"""A stand-in for the modem behind the QCA7000 chip model (host/bench/qca7000_model.py)
and a settable clock: the modem echoes every frame from the host back to it,
so a driver test or fuzzer sees its own frames come home.  The full modem
model (host/bench/modem.py) speaks HomePlug; this one only boots and echoes."""


class Clock:
    """A clock the test moves by hand (ms); calling it gives seconds, as time.time does."""

    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms / 1000.0


class EchoModem:
    def __init__(self, boot_ms=100, echo=True):
        self.mac = b"\x00\xb0\x52\x00\x00\x42"
        self.resets = 0
        self.ready = True
        self.to_host = []
        self.got = []
        self.boot_ms = boot_ms
        self.echo = echo
        self.stuck = False          # never finishes booting
        self._boot_until = None

    def reset(self, now):
        self.resets += 1
        self.ready = False
        self.to_host = []
        self._boot_until = now + self.boot_ms

    def poll(self, now):
        if not self.ready and not self.stuck and now >= self._boot_until:
            self.ready = True

    def from_host(self, frame, now):
        if not self.ready:
            return
        self.got.append(bytes(frame))
        if self.echo:
            self.to_host.append(bytes(frame))
