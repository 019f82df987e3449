"""A tiny PLC world for the SLAC state machines: modems, wire, clock.

Not the real modem model (host/bench/modem.py): just enough to run EvSlac against
EvseSlac.  Each `Node` is a host state machine plus its modem.  The modem
answers CM_SET_KEY.REQ (joins that NID), VS_PL_LINK_STATUS.REQ and
VS_SW_VER.REQ sent to the localcast address, and, on an EVSE, emits one
CM_ATTEN_PROFILE.IND per CM_MNBC_SOUND.IND heard.  Everything else goes on
the wire to every other host whose MAC is the destination (or broadcast),
one millisecond later.  `net.drop(src_node, dst_node, frame)` may discard
frames in flight.

Used by the SLAC tests in tests/firmware (also under MicroPython, so plain
code only) and the SLAC fuzzer (host/harness/fuzz/slac.py).
"""
from micro15118.slac import mme

LATENCY = 1


def mac(n):
    return bytes((0x02, 0, 0, 0, 0, n))


class Node:
    def __init__(self, net, sm, host_mac, modem_mac, role, atten):
        self.net = net
        self.sm = sm
        self.host_mac = host_mac
        self.modem_mac = modem_mac
        self.role = role
        self.atten = atten          # dB towards the EV (an int, or 58 values)
        self.monitor = None         # an optional LinkMonitor on the same host
        self.nid = None
        self.nmk = None
        self.set_keys = 0
        self.set_key_result = 0
        self.answer_set_key = True
        self.answer_link = True
        self.sent = []              # every frame the host sent
        self.received = []          # (now, frame) delivered to this host

    def profile(self):
        a = self.atten
        if isinstance(a, int):
            return [a] * mme.NUM_GROUPS
        return list(a)


class Net:
    def __init__(self):
        self.nodes = []
        self.now = 0
        self.queue = []     # [time, seq, node, frame]
        self.seq = 0
        self.drop = None
        self.steps = 0

    def add(self, sm, role, n, atten=20):
        node = Node(self, sm, sm.host_mac, mac(0x80 + n), role, atten)
        self.nodes.append(node)
        return node

    def _later(self, node, frame):
        self.seq += 1
        self.queue.append([self.now + LATENCY, self.seq, node, frame])

    def _modem(self, node, frame):
        m = mme.parse(frame)
        if m is None:
            return
        t = m.mmtype
        if t == mme.CM_SET_KEY_REQ:
            node.nid = m.nid
            node.nmk = m.nmk
            node.set_keys += 1
            if node.answer_set_key:
                self._later(node, mme.set_key_cnf(node.host_mac, node.modem_mac,
                                                  node.set_key_result))
        elif t == mme.VS_PL_LINK_STATUS_REQ and node.answer_link:
            link = False
            for other in self.nodes:
                if other is not node and node.nid is not None and other.nid == node.nid:
                    link = True
            self._later(node, mme.link_status_cnf(node.host_mac, node.modem_mac, link))
        elif t == mme.VS_SW_VER_REQ:
            self._later(node, mme.sw_ver_cnf(node.host_mac, node.modem_mac, b"SIM-1.0"))

    def _from_host(self, node, frame):
        node.sent.append(frame)
        dst = bytes(frame[0:6])
        if dst == mme.LOCALCAST:
            self._modem(node, frame)
            return
        if dst == mme.BROADCAST and len(frame) > 16 and frame[15] | (frame[16] << 8) == mme.CM_SET_KEY_REQ:
            self._modem(node, frame)        # pyPLC style: broadcast SET_KEY
            return
        sound = len(frame) > 16 and frame[15] | (frame[16] << 8) == mme.CM_MNBC_SOUND_IND
        for other in self.nodes:
            if other is node:
                continue
            if self.drop is not None and self.drop(node, other, frame):
                continue
            if dst == mme.BROADCAST or dst == other.host_mac:
                self._later(other, frame)
            if sound and other.role == "evse":
                self._later(other, mme.atten_profile_ind(other.host_mac, other.modem_mac,
                                                         bytes(frame[6:12]), other.profile()))

    def _drain(self):
        for node in self.nodes:
            for obj in (node.sm, node.monitor):
                if obj is not None and obj.tx:
                    frames = obj.tx
                    obj.tx = []
                    for f in frames:
                        self._from_host(node, f)

    def _deliver(self, node, frame):
        node.received.append((self.now, frame))
        if (node.monitor is not None and len(frame) > 16
                and frame[15] | (frame[16] << 8) == mme.VS_PL_LINK_STATUS_CNF):
            node.monitor.handle_frame(frame, self.now)
        else:
            node.sm.handle_frame(frame, self.now)

    def next_time(self):
        best = None
        for q in self.queue:
            if best is None or q[0] < best:
                best = q[0]
        for node in self.nodes:
            for obj in (node.sm, node.monitor):
                if obj is not None:
                    d = obj.next_deadline()
                    if d is not None and (best is None or d < best):
                        best = d
        return best

    def step(self):
        """Advance to the next event; False if there is none."""
        self._drain()
        t = self.next_time()
        if t is None:
            return False
        self.steps += 1
        if self.steps > 200000:
            raise RuntimeError("simulation does not settle")
        if t > self.now:
            self.now = t
        due = [q for q in self.queue if q[0] <= self.now]
        due.sort(key=lambda q: q[1])
        self.queue = [q for q in self.queue if q[0] > self.now]
        for q in due:
            self._deliver(q[2], q[3])
        for node in self.nodes:
            node.sm.poll(self.now)
            if node.monitor is not None:
                node.monitor.poll(self.now)
        self._drain()
        return True

    def run(self, until):
        """Run every event up to time `until` (ms), then stop there."""
        while True:
            self._drain()
            t = self.next_time()
            if t is None or t > until:
                break
            self.step()
        if self.now < until:
            self.now = until

    def run_until(self, cond, limit=120000):
        while not cond():
            self._drain()
            t = self.next_time()
            if t is None or t > limit:
                return False
            self.step()
        return True


def first(events, name):
    for e in events:
        if e[0] == name:
            return e
    return None


def counter(seed=0):
    """A deterministic rng(n) for reproducible runs."""
    state = [seed]

    def rng(n):
        out = bytearray(n)
        for i in range(n):
            state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
            out[i] = (state[0] >> 16) & 0xFF
        return bytes(out)
    return rng
