"""Fuzz the MCU-host link: the frame decoder and the Link above it
(micro15118.hostlink).

decoder: streams of 1-5 parts (valid frames of every message type, frames
  with a good CRC but a wrong version, a length field above max_payload or
  disagreeing with the frame, truncated frames, random bytes with and
  without zeros, runs longer than a frame) are mutated (bit flips, byte
  changes, truncation, insertion, deleted runs, splices, delimiter and code
  bytes) or replaced by random bytes, and fed to FrameDecoder (max_payload
  64, 300 or 2048) in random chunks as bytes, bytearray or memoryview.
  Accepted = no error counted; rejected = errors counted.  Unexpected: an
  exception; frames, error counts or pending bytes that differ from a
  reference decoder written straight from the format (split at 00, COBS,
  CRC, header checks), or that depend on how the stream was split; an
  unmutated stream that does not give back its frames.
link: a Link that is up (handshake with a scripted peer) is fed frames
  with good CRCs whose payloads are valid, mutated or random, of known and
  unknown types (HELLO with and without ACK included), responses to its
  own pending requests and to none, plus garbage; the clock jumps now and
  then (keepalive, request timeouts, loss).  One input is one feed() (and
  sometimes poll()).  Accepted = an application event came out; rejected
  = none.  Unexpected: an exception out of feed/poll/next_deadline, an
  event of unknown name or shape, a frame the Link sends that does not
  decode or exceeds its peer's max_payload, a next_deadline not after now
  once polled,
  more requests pending than slots, a request id that ends twice or never
  (checked at the end of each session, after running the clock past every
  timeout).
"""
import binascii
import struct

from micro15118.hostlink import frame, msg
from micro15118.hostlink.frame import FrameDecoder
from micro15118.hostlink.link import Link

from . import runner
from .mutate import BASIC, duplicate_chunk, mutate, set_byte

OPS = BASIC + (set_byte((0x00, 0x01, 0x02, 0xFE, 0xFF)), duplicate_chunk)
MAXES = (64, 300, frame.MAX_PAYLOAD)               # the decoder's
LINK_MAXES = (frame.MIN_PAYLOAD, 300, frame.MAX_PAYLOAD)


# -- the reference decoder -------------------------------------------------------

def ref_cobs(enc):
    out = bytearray()
    i = 0
    while i < len(enc):
        c = enc[i]
        if i + c > len(enc):
            return None
        out += enc[i + 1:i + c]
        i += c
        if c != 0xFF and i < len(enc):
            out.append(0)
    return bytes(out)


def reference(stream, max_payload):
    """(frames, errors, pending) the format says the stream holds."""
    enc_max = frame.enc_len(max_payload + frame.OVERHEAD)
    errors = dict.fromkeys(frame.ERROR_KEYS, 0)
    frames = []
    parts = stream.split(b"\x00")
    tail = parts.pop()
    for seg in parts:
        if not seg:
            continue
        if len(seg) > enc_max:
            errors["too_long"] += 1
            continue
        dec = ref_cobs(seg)
        if dec is None or len(dec) < 10:
            errors["truncated"] += 1
            continue
        body, (crc,) = dec[:-4], struct.unpack(">I", dec[-4:])
        version, mtype, seq, length = struct.unpack(">BBHH", body[:6])
        if binascii.crc32(body) != crc:
            short = version == frame.VERSION and len(body) - 6 < length <= max_payload
            errors["truncated" if short else "crc"] += 1
        elif version != frame.VERSION:
            errors["version"] += 1
        elif length > max_payload:
            errors["too_long"] += 1
        elif length != len(body) - 6:
            errors["length"] += 1
        else:
            frames.append((mtype, seq, body[6:]))
    if len(tail) > enc_max:
        errors["too_long"] += 1
        return frames, errors, 0
    return frames, errors, len(tail)


# -- inputs ------------------------------------------------------------------------

def random_payload(rnd, mtype, limit):
    """A valid payload of type mtype, fields drawn at random."""
    r = rnd.randrange
    data = rnd.randbytes(min(limit - 8, rnd.choice((0, 1, 5, 60, r(400), r(3000)))))
    rid = r(65536)
    if mtype == msg.HELLO:
        p = msg.encode_hello(r(1, 4), r(2), rnd.choice((64, 300, 2048, r(64, 65536))), r(1 << 32),
                             rnd.randbytes(r(33)))
    elif mtype in (msg.PING, msg.PONG):
        p = msg.encode_ping(r(65536))
    elif mtype == msg.ERROR:
        p = msg.encode_error(r(256), r(256), r(65536), data[:40])
    elif mtype in (msg.TLS_RECORD, msg.APP_DATA):
        p = msg.encode_conn_data(r(256), data)
    elif mtype == msg.TLS_EVENT:
        p = msg.encode_tls_event(r(256), r(1, 5), r(65536), data[:60])
    elif mtype == msg.SIGN_REQUEST:
        p = msg.encode_sign_request(rid, r(1 << 32), r(1, 5), r(2), data[:114] or b"\x01")
    elif mtype == msg.SIGN_RESPONSE:
        p = msg.encode_sign_response(rid, rnd.choice((0, 1, 2, 0xF0)), r(2), data[:140])
    elif mtype == msg.CERT_REQUEST:
        p = msg.encode_cert_request(rid, r(4), r(65536), r(65536))
    elif mtype == msg.CERT_RESPONSE:
        chunk = data[:limit - 8]
        off = r(65536 - len(chunk))
        p = msg.encode_cert_response(rid, r(3), r(off + len(chunk), 65536), off, chunk)
    elif mtype == msg.CONFIG_SET:
        p = msg.encode_config_set(rid, rnd.randbytes(r(1, 40)), data[:100])
    elif mtype == msg.CONFIG_GET:
        p = msg.encode_config_get(rid, rnd.randbytes(r(1, 40)))
    elif mtype == msg.CONFIG_RESULT:
        p = msg.encode_config_result(rid, r(3), data[:100])
    elif mtype == msg.OCPP_EVENT:
        p = b'{"event":"x","n":%d}' % r(1000)
    else:
        p = data
    return p[:limit]


def raw_frame(version, mtype, seq, length, payload, crc=None):
    raw = struct.pack(">BBHH", version, mtype, seq & 0xFFFF, length) + payload
    if crc is None:
        crc = binascii.crc32(raw)
    raw += struct.pack(">I", crc)
    out = bytearray(frame.enc_len(len(raw)))
    n = frame.cobs_encode_into(bytearray(raw), len(raw), out, 0)
    return b"\x00" + bytes(out[:n]) + b"\x00"


def part(rnd, max_payload):
    """One piece of a stream, and the frame it must give (None for none)."""
    r = rnd.random()
    mtype = rnd.choice(msg.TYPES) if rnd.random() < 0.9 else rnd.randrange(256)
    seq = rnd.randrange(65536)
    if r < 0.55:
        p = random_payload(rnd, mtype, max_payload)
        return frame.encode(mtype, seq, p), (mtype, seq, p)
    p = rnd.randbytes(rnd.choice((0, 3, 20, rnd.randrange(max_payload + 1))))
    if r < 0.6:
        return raw_frame(rnd.choice((0, 2, 0x81, 0xFF)), mtype, seq, len(p), p), None
    if r < 0.65:
        return raw_frame(1, mtype, seq, rnd.randrange(max_payload + 1, 65536), p), None
    if r < 0.7:
        return raw_frame(1, mtype, seq, (len(p) + rnd.choice((-1, 1, 7))) & 0xFFFF, p), None
    if r < 0.75:
        return raw_frame(1, mtype, seq, len(p), p, crc=rnd.randrange(1 << 32)), None
    if r < 0.8:
        f = frame.encode(mtype, seq, p)
        return f[:rnd.randrange(1, len(f))], None                 # cut off: no closing 00
    if r < 0.85:
        return bytes(rnd.randrange(1, 256) for _ in range(rnd.randrange(1, 40))), None
    if r < 0.9:
        return rnd.randbytes(rnd.randrange(1, 200)), None
    if r < 0.95:
        return b"\x5a" * rnd.randrange(frame.enc_len(max_payload + 10) - 5, 2 * max_payload + 40), None
    return b"\x00" * rnd.randrange(1, 4), None


def chunks(rnd, data):
    kind = rnd.choice((bytes, bytearray, memoryview))
    i = 0
    while i < len(data):
        k = rnd.choice((1, 2, 3, 9, 64, 255, 1000, 5000, len(data)))
        yield kind(data[i:i + k])
        i += k


def decoder_input(rnd):
    max_payload = rnd.choice(MAXES)
    r = rnd.random()
    if r < 0.05:
        return max_payload, rnd.randbytes(rnd.randrange(1, 3000)), None
    parts = [part(rnd, max_payload) for _ in range(rnd.randrange(1, 6))]
    stream = b"".join(p[0] for p in parts)
    if r < 0.25 and all(p[1] is not None for p in parts):
        return max_payload, stream, [p[1] for p in parts]          # clean: every frame back
    seeds = [p[0] for p in parts]
    return max_payload, mutate(rnd, stream, seeds, OPS), None


def check_decoder(rnd, max_payload, stream, expect):
    try:
        whole = FrameDecoder(max_payload)
        got = whole.feed(stream)
        parts = FrameDecoder(max_payload)
        got2 = []
        for c in chunks(rnd, stream):
            got2 += parts.feed(c)
    except Exception as e:  # noqa: BLE001 - what we hunt for
        raise runner.Unexpected(runner.describe(e))
    if got != got2 or whole.errors != parts.errors or whole.pending() != parts.pending():
        raise runner.Unexpected("result depends on chunking")
    frames, errors, pending = reference(stream, max_payload)
    if got != frames or whole.errors != errors or whole.pending() != pending:
        raise runner.Unexpected("decoder %d frames %r pending %d, reference %d frames %r pending %d" % (
            len(got), whole.errors, whole.pending(), len(frames), errors, pending))
    if expect is not None and (got != expect or whole.error_count()):
        raise runner.Unexpected("clean stream decoded wrongly")
    return whole.error_count() == 0


def fuzz_decoder(tally, rnd):
    def make():
        return decoder_input(rnd)

    def check(item):
        return check_decoder(rnd, *item)
    runner.feed(tally, make, check)


# -- link ----------------------------------------------------------------------------

EVENT_LEN = {"link_up": 5, "link_lost": 2, "tls_record": 3, "app_data": 3, "tls_event": 5,
             "ocpp_event": 2, "error": 5, "sign_request": 6, "cert_request": 5, "config_set": 4,
             "config_get": 3, "sign_response": 5, "cert_response": 6, "config_result": 4}
RESPONSE_EVENTS = ("sign_response", "cert_response", "config_result")
KA, LOST, REQ = 100, 400, 700


class LinkSession:
    """A Link under test, brought up by a scripted peer, and the peer's view."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.now = 0
        self.max_payload = rnd.choice(LINK_MAXES)
        self.peer_max = rnd.choice(LINK_MAXES)
        self.link = Link(rnd.choice((msg.ROLE_CHARGER, msg.ROLE_VEHICLE, msg.ROLE_HOST)), 0,
                         rnd.randrange(1 << 32), b"fuzz", KA, LOST, REQ, self.max_payload,
                         rnd.choice((1, 2, 8)))
        self.seq = 0
        self.open = set()           # request ids the Link has not ended yet
        self.ended = set()
        self.up()

    def frame(self, mtype, payload, seq=None):
        if seq is None:
            seq = self.seq
            self.seq = (self.seq + 1) & 0xFFFF
        return frame.encode(mtype, seq, payload)

    def up(self):
        self.link.poll(self.now)
        self.link.feed(self.frame(msg.HELLO, msg.encode_hello(msg.ROLE_HOST, msg.HELLO_ACK, self.peer_max, 7)),
                       self.now)
        self.drain()

    def drain(self):
        """Check what the Link sent and the events it made."""
        link = self.link
        out = b"".join(link.tx)
        link.tx = []
        dec = FrameDecoder(max(self.max_payload, self.peer_max))
        frames = dec.feed(out)
        if dec.error_count() or dec.pending():
            raise runner.Unexpected("the Link sent a bad frame: %r" % dec.errors)
        limit = min(self.max_payload, self.peer_max) if link.up else self.max_payload
        for mtype, _, p in frames:
            if len(p) > limit and mtype != msg.HELLO:
                raise runner.Unexpected("sent %d bytes, limit %d" % (len(p), limit))
        app = 0
        for ev in link.events:
            if not isinstance(ev, tuple) or EVENT_LEN.get(ev[0]) != len(ev):
                raise runner.Unexpected("bad event %r" % (ev,))
            if ev[0] in RESPONSE_EVENTS:
                if ev[1] not in self.open:
                    raise runner.Unexpected("request %r ended twice or was never made" % ev[1])
                self.open.discard(ev[1])
                self.ended.add(ev[1])
            if ev[0] not in ("link_up", "link_lost"):
                app += 1
        link.events = []
        if len(link.pending()) > len(link._p_id):
            raise runner.Unexpected("pending")
        if self.open != set(link.pending()):
            raise runner.Unexpected("open %r, pending %r" % (sorted(self.open), link.pending()))
        return app

    def request(self):
        rnd = self.rnd
        link = self.link
        k = rnd.randrange(4)
        if k == 0:
            rid = link.request_sign(rnd.randrange(1 << 32), rnd.randrange(1, 5), rnd.randbytes(64), self.now,
                                    timeout_ms=rnd.choice((None, 50, 300)))
        elif k == 1:
            rid = link.request_cert(rnd.randrange(4), rnd.randrange(5000), self.now, rnd.randrange(3000))
        elif k == 2:
            rid = link.request_config_get(b"key", self.now)
        else:
            rid = link.request_config_set(b"key", b"value", self.now)
        if rid is not None:
            if rid in self.open:
                raise runner.Unexpected("id %d reused while pending" % rid)
            self.open.add(rid)

    def one_input(self):
        rnd = self.rnd
        link = self.link
        r = rnd.random()
        if r < 0.1:
            self.request()
        if r < 0.3 and self.open:
            # a response to a pending request, maybe damaged, maybe of the wrong type
            rid = rnd.choice(sorted(self.open))
            mtype = rnd.choice((msg.SIGN_RESPONSE, msg.CERT_RESPONSE, msg.CONFIG_RESULT))
            p = bytearray(random_payload(rnd, mtype, min(self.max_payload, self.peer_max)))
            p[0:2] = rid.to_bytes(2, "big")
            if rnd.random() < 0.3:
                p = mutate(rnd, p, [bytes(p)], OPS)
            data = self.frame(mtype, bytes(p))
        else:
            data = b""
            for _ in range(rnd.randrange(1, 4)):
                mtype = rnd.choice(msg.TYPES) if rnd.random() < 0.9 else rnd.randrange(256)
                if mtype == msg.HELLO and rnd.random() < 0.7:
                    mtype = msg.PING                            # fewer link resets
                p = random_payload(rnd, mtype, self.max_payload)
                if rnd.random() < 0.5:
                    p = mutate(rnd, p, [p], OPS)[:self.max_payload]
                seq = None if rnd.random() < 0.9 else rnd.randrange(65536)
                data += self.frame(mtype, p, seq)
            if rnd.random() < 0.1:
                data = mutate(rnd, data, [data], OPS)
        try:
            if rnd.random() < 0.3:
                self.now += rnd.choice((1, 10, KA, REQ // 2, LOST + 1))
                link.poll(self.now)
            for c in chunks(rnd, data):
                link.feed(c, self.now)
            link.poll(self.now)
            d = link.next_deadline()
        except Exception as e:  # noqa: BLE001 - what we hunt for
            raise runner.Unexpected(runner.describe(e))
        if d <= self.now:
            raise runner.Unexpected("deadline %d not after now %d once polled" % (d, self.now))
        app = self.drain()
        if not link.up and rnd.random() < 0.5:
            self.up()
        return app > 0

    def finish(self):
        """Run the clock past every timeout: every request must have ended."""
        link = self.link
        for _ in range(50):
            self.now = max(self.now + 1, link.next_deadline())
            link.poll(self.now)
            self.drain()
            if not self.open:
                return
        raise runner.Unexpected("requests never ended: %r" % sorted(self.open))


def fuzz_link(tally, rnd):
    while tally.more():
        s = LinkSession(rnd)
        try:
            for _ in range(rnd.randrange(50, 400)):
                if not tally.more():
                    break
                tally.count(s.one_input())
            s.finish()
        except runner.Unexpected as e:
            tally.fail("after input %d: %s" % (tally.inputs, e))
        except Exception as e:  # noqa: BLE001
            tally.fail("after input %d: %s" % (tally.inputs, runner.describe(e)))


TARGETS = {"decoder": fuzz_decoder, "link": fuzz_link}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv, runs=1000000)
