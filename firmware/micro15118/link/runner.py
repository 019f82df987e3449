"""The only place where the link meets real time and drivers.

`Runner.step()` samples the pilot, services the modem, feeds the link and
sends what it produced; it returns the link's application events.  The same
loop runs on a board (machine drivers), on the unix port and on CPython
(simulated board).  With a host link (`host`: hostend.HostEnd) the runner
services its port too and hands its events to the link (TLS records,
plaintext, TLS events, host link up/lost: link.host_event).
"""
import time

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

# Frames the modem could not take yet (write buffer full); beyond this the
# oldest are dropped and counted, as a congested link would.
TX_QUEUE_MAX = 64


class Runner:
    def __init__(self, link, modem, pilot, charger, sample_ms=5, clock=None, irq=None, host=None):
        self.link = link
        self.host = host
        self.irq = irq          # the modem's interrupt line: work waiting, don't sleep
        self.modem = modem
        self.pilot = pilot
        self.charger = charger
        self.sample_ms = sample_ms
        self.txq = []
        self.tx_dropped = 0
        # clock() -> ms; a simulation passes its virtual clock.
        self.clock = clock or ticks_ms
        self._last = self.clock()
        self.now_ms = 0         # the time of the latest step(), monotonic ms
        self._next_sample = 0
        self._duty = None

    def now(self):
        # A monotonic count of ms that does not wrap like ticks_ms() does.
        t = self.clock()
        self.now_ms += ticks_diff(t, self._last)
        self._last = t
        return self.now_ms

    def step(self):
        link = self.link
        now = self.now()
        if now >= self._next_sample:
            self._next_sample = now + self.sample_ms
            reading = self.pilot.read()
            if self.charger:
                link.pilot_sample(reading[0], reading[1], now)
            else:
                link.pilot_sample(reading[0], reading[1], reading[2], now)
        if self.charger and link.duty != self._duty:
            self._duty = link.duty
            self.pilot.set_duty(link.duty)
        modem = self.modem
        modem.service(now)
        if modem.events:
            evs = modem.events
            modem.events = []
            for ev in evs:
                link.modem_event(ev[0], now)
        if modem.rx:
            frames = modem.rx
            modem.rx = []
            for frame in frames:
                link.modem_frame(frame, now)
        link.poll(now)
        host = self.host
        if host is not None:
            for ev in host.service(now):
                link.host_event(ev, now)
        self.flush()
        evs = link.events
        link.events = []
        return evs

    def flush(self):
        link = self.link
        if link.tx:
            self.txq.extend(link.tx)
            link.tx = []
        q = self.txq
        while q:
            if not self.modem.send(q[0]):
                break
            q.pop(0)
        while len(q) > TX_QUEUE_MAX:
            q.pop(0)
            self.tx_dropped += 1
        if self.host is not None:
            self.host.flush()

    def idle_ms(self):
        """How long the caller may sleep before the next step is due."""
        d = self.link.next_deadline()
        host = self.host
        if host is not None:
            h = host.next_deadline()
            if d is None or h < d:
                d = h
            if host.busy():
                return 0
        wait = self._next_sample - self.now_ms
        if d is not None and d - self.now_ms < wait:
            wait = d - self.now_ms
        if self.txq or (wait > 0 and self.irq is not None and self.irq.value()):
            wait = 0
        return wait if wait > 0 else 0
