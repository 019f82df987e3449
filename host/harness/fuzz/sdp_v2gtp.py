"""Fuzz the SDP codec/server/client and the V2GTP stream reader.

sdp:   mutated SDP datagrams (and other V2GTP messages) go to parse_request,
       parse_response, SdpServer.handle (every policy) and SdpClient.handle.
       Parsers may only raise SdpError; handle() never raises.  What parses
       must re-encode to the same bytes; a server reply must be a valid
       response; the client's event must match the datagram.
v2gtp: streams of valid messages, mutated, are cut into random segments and
       fed to V2gtpReader (as bytes, bytearray or memoryview).  The messages
       and the error must equal what a one-shot parse of the whole stream
       gives; pending() must count the leftover bytes.
"""
from micro15118 import sdp, v2gtp

from . import runner
from .mutate import BASIC, duplicate_chunk, mutate, set_byte, set_byte_at

IP = bytes.fromhex("fe80000000000000020000fffe000e01")
# the V2GTP header: version, inverted version, payload type, length
OPS = BASIC[:-1] + (set_byte((0x00, 0x01, 0x10, 0x7F, 0x80, 0x90, 0xFE, 0xFF)),
                    set_byte_at((2, 3, 4, 5, 6, 7), (0x00, 0x01, 0x02, 0x14, 0x80, 0x81, 0x90, 0xFF)),
                    duplicate_chunk)


# --- sdp --------------------------------------------------------------------

def sdp_seeds():
    seeds = []
    for sec in (0x00, 0x10):
        for tr in (0x00, 0x10):
            seeds.append(sdp.encode_request(sec, tr))
            seeds.append(sdp.encode_response(IP, 61000, sec, tr))
    seeds.append(sdp.encode_response(bytes(16), 0, 0x10))
    seeds.append(sdp.encode_response(b"\xff" * 16, 65535, 0x00))
    seeds.append(v2gtp.encode(v2gtp.SDP_REQ_WIRELESS, b"\x10\x00"))
    seeds.append(v2gtp.encode(v2gtp.SAP, b"\x80\x00"))
    return seeds


SERVERS = (
    lambda: sdp.SdpServer(IP, 61000),
    lambda: sdp.SdpServer(IP, 61000, 64000),
    lambda: sdp.SdpServer(IP, None, 64000),
    lambda: sdp.SdpServer(IP, 61000, 64000, "enforce_tls"),
    lambda: sdp.SdpServer(IP, 61000, 64000, "enforce_no_tls"),
)


def check_sdp(data, rnd):
    """True if some parser accepted data, False if all rejected it."""
    accepted = False
    view = rnd.choice((bytes, bytearray, memoryview))(data)
    try:
        sec, tr = sdp.parse_request(view)
    except sdp.SdpError:
        req = None
    except Exception as e:  # noqa: BLE001 - what we hunt for
        raise runner.Unexpected("parse_request: " + runner.describe(e))
    else:
        accepted = True
        req = (sec, tr)
        if sdp.encode_request(sec, tr) != data:
            raise runner.Unexpected("request does not re-encode")
    try:
        res = sdp.parse_response(view)
    except sdp.SdpError:
        res = None
    except Exception as e:  # noqa: BLE001
        raise runner.Unexpected("parse_response: " + runner.describe(e))
    else:
        accepted = True
        if sdp.encode_response(*res) != data:
            raise runner.Unexpected("response does not re-encode")
    server = rnd.choice(SERVERS)()
    try:
        reply = server.handle(view)
    except Exception as e:  # noqa: BLE001
        raise runner.Unexpected("server.handle: " + runner.describe(e))
    if (reply is None) != (req is None or req[1] != sdp.TRANSPORT_TCP):
        raise runner.Unexpected("server answered %r for request %r" % (reply, req))
    if reply is not None:
        ip, port, sec, tr = sdp.parse_response(reply)
        if ip != IP or (sec, port) != server.choose(req[0]) or tr != 0:
            raise runner.Unexpected("bad reply")
    if server.dropped + server.answered != 1:
        raise runner.Unexpected("server counters")
    client = sdp.SdpClient(security=rnd.choice((0x00, 0x10)), now=0)
    client.poll(0)
    try:
        ev = client.handle(view, 1)
    except Exception as e:  # noqa: BLE001
        raise runner.Unexpected("client.handle: " + runner.describe(e))
    want = None
    if res is not None and res[3] == sdp.TRANSPORT_TCP and res[1] != 0:
        want = ("secc", res[0], res[1], res[2])
    if ev != want or (ev is None) != (client.dropped == 1):
        raise runner.Unexpected("client event %r, expected %r" % (ev, want))
    return accepted


def fuzz_sdp(tally, rnd):
    seeds = sdp_seeds()
    runner.feed(tally, lambda: mutate(rnd, rnd.choice(seeds), seeds, OPS), lambda data: check_sdp(data, rnd))


# --- v2gtp ------------------------------------------------------------------

def reference(stream, max_payload, allowed):
    """(messages, error, leftover) parsing the whole stream in one go."""
    msgs = []
    i = 0
    while len(stream) - i >= 8:
        try:
            ptype, n = v2gtp.parse_header(stream[i:i + 8], max_payload, allowed)
        except v2gtp.V2gtpError as e:
            return msgs, e.reason, None
        if len(stream) - i - 8 < n:
            break
        msgs.append((ptype, stream[i + 8:i + 8 + n]))
        i += 8 + n
    return msgs, None, len(stream) - i


def v2gtp_input(rnd, seeds):
    parts = []
    for _ in range(rnd.randrange(1, 5)):
        ptype = rnd.choice(v2gtp.PAYLOAD_TYPES)
        n = rnd.choice((0, 1, 2, 20, rnd.randrange(300), rnd.randrange(2000)))
        chunk = bytes(rnd.randrange(256) for _ in range(min(n, 24)))
        parts.append(v2gtp.encode(ptype, (chunk * (n // 24 + 1))[:n]))
    stream = b"".join(parts)
    if rnd.random() < 0.9:
        stream = mutate(rnd, stream, seeds, OPS)
    if len(seeds) < 200:
        seeds.append(stream)
    return stream


ALLOWED = (None, None, (v2gtp.SAP, v2gtp.COMMON, v2gtp.AC, v2gtp.DC), (v2gtp.SDP_REQ,))


def check_v2gtp(stream, rnd):
    max_payload = rnd.choice((64, 512, 2048, v2gtp.MAX_PAYLOAD))
    allowed = rnd.choice(ALLOWED)
    try:
        reader = v2gtp.V2gtpReader(max_payload, allowed)
        got = []
        i = 0
        while i < len(stream) or rnd.random() < 0.05:
            j = i + rnd.choice((1, 2, 7, 8, 9, rnd.randrange(1, 64), rnd.randrange(1, 3000)))
            if rnd.random() < 0.05:
                j = i                                  # empty segment
            got.extend(reader.feed(rnd.choice((bytes, bytearray, memoryview))(stream[i:j])))
            i = j
            if i >= len(stream):
                break
    except Exception as e:  # noqa: BLE001
        raise runner.Unexpected("feed: " + runner.describe(e))
    msgs, error, leftover = reference(stream, max_payload, allowed)
    if got != msgs or reader.error != error:
        raise runner.Unexpected("reader gave %d msgs/%r, reference %d/%r" % (len(got), reader.error, len(msgs), error))
    if error is None and reader.pending() != leftover:
        raise runner.Unexpected("pending %d, leftover %d" % (reader.pending(), leftover))
    return error is None


def fuzz_v2gtp(tally, rnd):
    seeds = [v2gtp.encode(v2gtp.COMMON, b"\x80\x8c\x00"), sdp.encode_request()]
    runner.feed(tally, lambda: v2gtp_input(rnd, seeds), lambda data: check_v2gtp(data, rnd))


TARGETS = {"sdp": fuzz_sdp, "v2gtp": fuzz_v2gtp}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv)
