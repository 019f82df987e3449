"""A virtual HomePlug Green PHY wire: one shared medium joining modem models.

    wire = PlcWire(pcap=None, loss=0.0, dup=0.0, delay_ms=(0, 0), reorder=0.0, seed=0)
    wire.attach(port, atten_db=20)         # port.from_wire(frame, nid, atten_db, now)
    wire.transmit(port, frame, nid, now)   # nid: 7 bytes or None (not joined)
    wire.poll(now)                          # deliver what is due
    wire.next_deadline()                    # absolute ms, or None

Every transmitted frame goes to every *other* attached port; filtering by
NID or address is the modem's job.  Delivery is always deferred to poll(),
even with no delay, so a port that answers from inside from_wire() never
re-enters the wire while it is delivering.

Impairments are drawn from one seeded random generator, independently per
receiver (noise is local to the receiver on a real line):
  loss      probability a copy is dropped
  dup       probability a copy is delivered twice
  delay_ms  (lo, hi): each copy is delayed by a uniform integer in [lo, hi]
  reorder   probability a copy is held back past the frames sent after it
All of them can be changed at run time with set_impairments().

Attenuation: a port's atten_db is the coupling loss of its cable; a frame
from port a to port b is attenuated by the worse of the two unless
set_path_atten(a, b, db) says otherwise (e.g. crosstalk between cables).

pcap: a PcapWriter, a path, or None.  Each transmitted frame is written
once, at transmit time (whether or not any copy is later lost).
"""
import heapq
import random
import time

from host.capture.pcap import PcapWriter

REORDER_HOLD_MS = 5      # extra hold-back of a reordered copy, beyond delay hi


class PlcWire:
    def __init__(self, pcap=None, loss=0.0, dup=0.0, delay_ms=(0, 0), reorder=0.0,
                 seed=0, pcap_epoch=None):
        if pcap is not None and not hasattr(pcap, "write"):
            pcap = PcapWriter(pcap)
        self.pcap = pcap
        # pcap timestamps are epoch + now/1000; by default the epoch is fixed
        # at the first transmit so the capture shows wall-clock time.
        self.pcap_epoch = pcap_epoch
        self._rng = random.Random(seed)
        self.loss = self.dup = self.reorder = 0.0
        self.delay_ms = (0, 0)
        self.set_impairments(loss=loss, dup=dup, delay_ms=delay_ms, reorder=reorder)
        self._ports = {}         # id(port) -> [port, atten_db]
        self._order = []         # attach order, for deterministic delivery
        self._path = {}          # frozenset(id a, id b) -> atten_db
        self._queue = []         # heap of (due, seq, port, frame, nid, atten)
        self._seq = 0
        self.counters = {"tx": 0, "delivered": 0, "lost": 0, "dup": 0,
                         "reordered": 0, "delayed": 0, "unattached": 0}

    # -- configuration -----------------------------------------------------
    def set_impairments(self, loss=None, dup=None, delay_ms=None, reorder=None):
        for name, val in (("loss", loss), ("dup", dup), ("reorder", reorder)):
            if val is not None:
                val = float(val)
                if not 0.0 <= val <= 1.0:
                    raise ValueError("%s must be a probability, got %r" % (name, val))
                setattr(self, name, val)
        if delay_ms is not None:
            if isinstance(delay_ms, (int, float)):
                delay_ms = (delay_ms, delay_ms)
            lo, hi = int(delay_ms[0]), int(delay_ms[1])
            if lo < 0 or hi < lo:
                raise ValueError("delay_ms must be (lo, hi) with 0 <= lo <= hi")
            self.delay_ms = (lo, hi)

    def impairments(self):
        return {"loss": self.loss, "dup": self.dup, "delay_ms": self.delay_ms,
                "reorder": self.reorder}

    def attach(self, port, atten_db=20):
        if id(port) not in self._ports:
            self._order.append(port)
        self._ports[id(port)] = [port, atten_db]

    def detach(self, port):
        if self._ports.pop(id(port), None) is None:
            return
        self._order = [p for p in self._order if p is not port]
        self._queue = [q for q in self._queue if q[2] is not port]
        heapq.heapify(self._queue)
        for key in [k for k in self._path if id(port) in k]:
            del self._path[key]

    def ports(self):
        return list(self._order)

    def set_atten(self, port, atten_db):
        self._ports[id(port)][1] = atten_db

    def set_path_atten(self, a, b, atten_db):
        """Attenuation between two particular ports (None: back to the default)."""
        key = frozenset((id(a), id(b)))
        if atten_db is None:
            self._path.pop(key, None)
        else:
            self._path[key] = atten_db

    def path_atten(self, a, b):
        key = frozenset((id(a), id(b)))
        if key in self._path:
            return self._path[key]
        return max(self._ports[id(a)][1], self._ports[id(b)][1])

    def members(self, nid):
        """Attached ports currently joined to the AVLN `nid` (port.nid == nid)."""
        if nid is None:
            return []
        return [p for p in self._order if getattr(p, "nid", None) == nid]

    # -- traffic -----------------------------------------------------------
    def transmit(self, sender, frame, nid, now):
        if id(sender) not in self._ports:      # not connected: nobody hears it
            self.counters["unattached"] += 1
            return
        frame = bytes(frame)
        self.counters["tx"] += 1
        if self.pcap is not None:
            if self.pcap_epoch is None:
                self.pcap_epoch = time.time() - now / 1000.0
            self.pcap.write(frame, self.pcap_epoch + now / 1000.0)
        rng = self._rng
        lo, hi = self.delay_ms
        for port in self._order:
            if port is sender:
                continue
            atten = self.path_atten(sender, port)
            if self.loss and rng.random() < self.loss:
                self.counters["lost"] += 1
                continue
            copies = 1
            if self.dup and rng.random() < self.dup:
                copies = 2
                self.counters["dup"] += 1
            for _ in range(copies):
                delay = rng.randint(lo, hi) if hi else 0
                if self.reorder and rng.random() < self.reorder:
                    delay = hi + 1 + rng.randint(0, REORDER_HOLD_MS)
                    self.counters["reordered"] += 1
                if delay:
                    self.counters["delayed"] += 1
                self._push(now + delay, port, frame, nid, atten)

    def _push(self, due, port, frame, nid, atten):
        self._seq += 1
        heapq.heappush(self._queue, (due, self._seq, port, frame, nid, atten))

    def poll(self, now):
        """Deliver every copy that is due; returns how many were delivered."""
        n = 0
        q = self._queue
        while q and q[0][0] <= now:
            _due, _seq, port, frame, nid, atten = heapq.heappop(q)
            if id(port) not in self._ports:
                continue
            self.counters["delivered"] += 1
            n += 1
            port.from_wire(frame, nid, atten, now)
        return n

    def next_deadline(self):
        return self._queue[0][0] if self._queue else None

    def pending(self):
        return len(self._queue)

    def close(self):
        if self.pcap is not None:
            self.pcap.close()
