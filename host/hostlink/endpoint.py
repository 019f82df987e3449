"""HostLink: one end of the MCU-host link on CPython.

The protocol is the firmware's own (micro15118.hostlink: framing, Link with
its supervision and requests); this class only moves bytes between a
transport and a Link, runs the Link's timers, and hands events on.

    with HostLink(SerialTransport("/dev/ttyACM0")) as hl:    # starts its thread
        hl.wait_up(5)
        status, fmt, sig = hl.sign(key_id, msg.ALG_ECDSA_P521_SHA512, digest)
        chain = hl.cert_chain(msg.CHAIN_OWN)
        hl.respond_pnc_verify(rid, msg.OK, b"OK")     # a charger MCU's pnc_verify_request
        hl.send_tls(conn, tls_bytes)
        ev = hl.get_event(1.0)          # ("tls_record", conn, data), ("link_lost", ...)...
        server = TlsServer(..., signer=hl.signer(key_id))       # host.tls's signer seam

Threading: start() runs step() in a daemon thread; without it, the owner
calls step() from its own loop (poll style).  step() waits for the
transport at most its .timeout (20 ms by default), so the Link's timers run
at that resolution.  The Link is only touched under one lock; writes go out
in the order the Link queued them.  Events go to on_event(ev) or, without
one, to a queue read by get_event(); either way one at a time and in order.
on_event runs in whichever thread delivers (the loop thread, mostly) and
may call back in, blocking requests included: from the loop thread those
step the loop themselves, so a TLS engine fed from on_event can ask for
its handshake signature synchronously.  Responses to the blocking calls
(sign, cert_chain, pnc_verify, config_get, config_set) go to their caller,
not to the events; a lost link or a timeout ends them with status
msg.LINK_LOST or msg.TIMEOUT, never a hang.
"""
import collections
import os
import queue
import threading
import time
import traceback

from micro15118.hostlink import msg
from micro15118.hostlink.frame import MAX_PAYLOAD
from micro15118.hostlink.link import KEEPALIVE_MS, LOST_MS, REQUEST_MS, Link

import host

RESPONSES = ("sign_response", "cert_response", "pnc_verify_response", "config_result")

# host.tls signature schemes -> (SIGN_REQUEST algorithm, signature format)
SCHEMES = {
    "ecdsa_secp256r1_sha256": (msg.ALG_ECDSA_P256_SHA256, msg.SIG_DER),
    "ecdsa_secp384r1_sha384": (msg.ALG_ECDSA_P384_SHA384, msg.SIG_DER),
    "ecdsa_secp521r1_sha512": (msg.ALG_ECDSA_P521_SHA512, msg.SIG_DER),
    "ed448": (msg.ALG_ED448, msg.SIG_RAW),
}


class HostLinkError(Exception):
    """A blocking request that did not succeed; .status is the msg status."""

    def __init__(self, text, status):
        super().__init__("%s (status 0x%02x)" % (text, status))
        self.status = status


def monotonic_ms():
    return int(time.monotonic() * 1000)


class _Waiter:
    def __init__(self):
        self.done = threading.Event()
        self.result = None


class HostLink:
    def __init__(self, transport, role=msg.ROLE_HOST, fw=None, boot_id=None,
                 keepalive_ms=KEEPALIVE_MS, lost_ms=LOST_MS, request_ms=REQUEST_MS,
                 max_payload=MAX_PAYLOAD, clock=monotonic_ms, on_event=None, start=True):
        self.transport = transport
        self.clock = clock
        self.on_event = on_event
        self.events = queue.Queue()
        if boot_id is None:
            boot_id = int.from_bytes(os.urandom(4), "big")
        if fw is None:
            fw = ("micro15118 host " + host.__version__).encode()
        self._lock = threading.RLock()          # the Link, the transport's writes, the queues
        self.link = Link(role, clock(), boot_id, fw, keepalive_ms, lost_ms, request_ms, max_payload)
        self._up = threading.Event()
        self._waiters = {}                      # request id -> _Waiter of a blocking call
        self._pending = collections.deque()     # events not yet handed on
        self._dlock = threading.RLock()         # held by the thread handing them on
        self._delivering = False
        self._stop = threading.Event()
        self._thread = None
        self.errors = []                        # exceptions out of on_event in the loop thread
        if start:
            self.start()

    # -- the loop ---------------------------------------------------------------

    def start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="hostlink %s" % getattr(
                self.transport, "name", ""), daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as e:  # noqa: BLE001 - an on_event bug must not stop supervision
                self.errors.append(e)
                traceback.print_exc()

    def step(self):
        """One turn: read what the transport has (waiting at most its
        timeout), feed it, run the timers, write, hand events on."""
        data = self.transport.read()
        with self._lock:
            now = self.clock()
            if data:
                self.link.feed(data, now)
            self.link.poll(now)
            self._flush()
        self._deliver()

    def _flush(self):
        """Under the lock: writes what the Link queued and takes its events;
        a response someone waits for goes to its waiter at once, the rest
        queue for _deliver, in order."""
        link = self.link
        if link.tx:
            frames = link.tx
            link.tx = []
            self.transport.write(b"".join(frames))
        events = link.events
        link.events = []
        for ev in events:
            name = ev[0]
            if name == "link_up":
                self._up.set()
            elif name == "link_lost":
                self._up.clear()
            elif name in RESPONSES:
                w = self._waiters.pop(ev[1], None)
                if w is not None:
                    w.result = ev
                    w.done.set()
                    continue
            self._pending.append(ev)

    def _deliver(self):
        """Hands queued events on, one thread at a time and in order.  Events
        that arrive while a callback runs (it may step the loop itself) wait
        until it returns; a thread that finds another one delivering leaves
        the queue to it."""
        while True:
            if not self._dlock.acquire(blocking=False):
                return
            try:
                if self._delivering:
                    return                  # from a callback of this very thread
                self._delivering = True
                try:
                    while True:
                        with self._lock:
                            if not self._pending:
                                break
                            ev = self._pending.popleft()
                        if self.on_event is not None:
                            self.on_event(ev)
                        else:
                            self.events.put(ev)
                finally:
                    self._delivering = False
            finally:
                self._dlock.release()
            with self._lock:                # one queued after our last look?
                if not self._pending:
                    return

    def _call(self, fn, *args):
        with self._lock:
            result = fn(*args)
            self._flush()
        self._deliver()
        return result

    def stop(self):
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._thread = None

    def close(self):
        """Stops the loop and closes the transport (pulling the plug, for the peer)."""
        self.stop()
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- state ------------------------------------------------------------------

    @property
    def up(self):
        return self._up.is_set()

    def wait_up(self, timeout=None):
        """True once the link is up (False after timeout seconds)."""
        if self._thread is None:
            end = None if timeout is None else time.monotonic() + timeout
            while not self._up.is_set() and (end is None or time.monotonic() < end):
                self.step()
            return self._up.is_set()
        return self._up.wait(timeout)

    def get_event(self, timeout=None):
        """The next event (None after timeout seconds); with no thread
        running, steps the loop while it waits."""
        if self._thread is None:
            end = None if timeout is None else time.monotonic() + timeout
            while self.events.empty() and (end is None or time.monotonic() < end):
                self.step()
            timeout = 0
        try:
            return self.events.get(timeout=timeout) if timeout != 0 else self.events.get_nowait()
        except queue.Empty:
            return None

    def stats(self):
        """The Link's counters, the decoder's error counts (rx_*) and the transport's."""
        with self._lock:
            s = dict(self.link.stats)
            s["dropped"] = self.link.dropped
            s.update(("rx_" + k, v) for k, v in self.link.decoder.errors.items())
            s["rx_frames"] = self.link.decoder.frames
        t = self.transport
        s.update(tx_bytes=t.tx_bytes, rx_bytes=t.rx_bytes, tx_lost=t.dropped, hangup=t.hangup)
        return s

    # -- sending ----------------------------------------------------------------

    def send_tls(self, conn, data):
        return self._call(self.link.send_tls, conn, data)

    def send_app_data(self, conn, data):
        return self._call(self.link.send_app_data, conn, data)

    def send_tls_event(self, conn, event, code=0, detail=b""):
        return self._call(self.link.send_tls_event, conn, event, code, detail)

    def send_ocpp(self, json_bytes):
        return self._call(self.link.send_ocpp, json_bytes)

    def send_error(self, code, ref_type=0, ref_seq=0, text=b""):
        return self._call(self.link.send_error, code, ref_type, ref_seq, text)

    # -- requests: as events (request_*) or blocking -----------------------------

    def request_sign(self, key_id, alg, digest, fmt=msg.SIG_DER, timeout_ms=None):
        return self._call(lambda: self.link.request_sign(key_id, alg, digest, self.clock(), fmt, timeout_ms))

    def request_cert(self, chain, offset, max_len=0, timeout_ms=None):
        return self._call(lambda: self.link.request_cert(chain, offset, self.clock(), max_len, timeout_ms))

    def request_pnc_verify(self, evidence, timeout_ms=None):
        return self._call(lambda: self.link.request_pnc_verify(evidence, self.clock(), timeout_ms))

    def request_config_get(self, key, timeout_ms=None):
        return self._call(lambda: self.link.request_config_get(key, self.clock(), timeout_ms))

    def request_config_set(self, key, value, timeout_ms=None):
        return self._call(lambda: self.link.request_config_set(key, value, self.clock(), timeout_ms))

    def _blocking(self, start):
        """Runs start() -> request id under the lock with a waiter ready for
        its response; returns the response event."""
        w = _Waiter()
        with self._lock:
            rid = start()
            if rid is None:
                raise HostLinkError("too many requests pending", msg.BUSY)
            self._waiters[rid] = w
            self._flush()
        self._deliver()
        # The Link ends every request (response, TIMEOUT or LINK_LOST) while
        # the loop runs; the wait's own limit only guards a stopped loop.
        limit = time.monotonic() + (self.link.request_ms + self.link.lost_ms) / 1000 + 5
        while not w.done.is_set():
            if self._thread is None or self._thread is threading.current_thread():
                self.step()             # no loop thread, or this is it (in a callback)
            else:
                w.done.wait(0.1)
            if time.monotonic() > limit:
                self._waiters.pop(rid, None)
                raise HostLinkError("no response and no timeout: is the loop running?", msg.TIMEOUT)
        return w.result

    def sign(self, key_id, alg, digest, fmt=msg.SIG_DER, timeout_ms=None):
        """(status, fmt, signature) from the MCU's secure element."""
        ev = self._blocking(lambda: self.link.request_sign(key_id, alg, digest, self.clock(), fmt, timeout_ms))
        return ev[2], ev[3], ev[4]

    def signer(self, key_id, timeout_ms=None):
        """host.tls's signer(digest, algorithm) -> signature, made by the
        MCU's secure element with key key_id (DER for ECDSA, raw for Ed448);
        raises HostLinkError when it fails, so the handshake fails."""
        def sign(digest, algorithm):
            try:
                alg, fmt = SCHEMES[algorithm]
            except KeyError:
                raise HostLinkError("no signature scheme %r on the link" % algorithm, msg.UNSUPPORTED)
            status, got_fmt, sig = self.sign(key_id, alg, bytes(digest), fmt, timeout_ms)
            if status != msg.OK:
                raise HostLinkError("signature by key 0x%08x" % key_id, status)
            if got_fmt != fmt or not sig:
                raise HostLinkError("signature by key 0x%08x in format %d" % (key_id, got_fmt), msg.FAILED)
            return sig
        return sign

    def cert_chain(self, chain, timeout_ms=None):
        """The whole chain (DER certificates, leaf first), pulled in parts;
        raises HostLinkError if a part fails."""
        got = bytearray()
        while True:
            ev = self._blocking(lambda: self.link.request_cert(chain, len(got), self.clock(), 0, timeout_ms))
            _, _, status, total, offset, chunk = ev
            if status != msg.OK:
                raise HostLinkError("certificate chain %d at %d" % (chain, len(got)), status)
            if offset != len(got) or (not chunk and len(got) < total):
                raise HostLinkError("certificate chain %d: part at %d, asked %d" % (chain, offset, len(got)),
                                    msg.FAILED)
            got += chunk
            if len(got) >= total:
                return bytes(got)

    def pnc_verify(self, evidence, timeout_ms=None):
        """(status, code, detail) of the peer's verdict on a PnC evidence
        (msg.encode_pnc_evidence bytes); the MCU's request turned around,
        for tests and tools."""
        ev = self._blocking(lambda: self.link.request_pnc_verify(evidence, self.clock(), timeout_ms))
        return ev[2], ev[3], ev[4]

    def config_get(self, key, timeout_ms=None):
        """(status, value)"""
        ev = self._blocking(lambda: self.link.request_config_get(key, self.clock(), timeout_ms))
        return ev[2], ev[3]

    def config_set(self, key, value, timeout_ms=None):
        """status"""
        return self._blocking(lambda: self.link.request_config_set(key, value, self.clock(), timeout_ms))[2]

    # -- answering the peer's requests ------------------------------------------

    def respond_sign(self, rid, status, fmt=msg.SIG_DER, signature=b""):
        return self._call(self.link.respond_sign, rid, status, fmt, signature)

    def respond_cert(self, rid, status, total=0, offset=0, chunk=b""):
        return self._call(self.link.respond_cert, rid, status, total, offset, chunk)

    def serve_cert(self, rid, chain_bytes, offset, max_len=0):
        return self._call(self.link.serve_cert, rid, chain_bytes, offset, max_len)

    def respond_pnc_verify(self, rid, status, code=b"", detail=b""):
        return self._call(self.link.respond_pnc_verify, rid, status, code, detail)

    def respond_config(self, rid, status, value=b""):
        return self._call(self.link.respond_config, rid, status, value)
