"""Fuzz the SDP codec/server/client and the V2GTP stream reader.

    python tools/fuzz_sdp_v2gtp.py [--runs N] [--seed S] [--target sdp|v2gtp|all]

sdp:   mutated SDP datagrams (and other V2GTP messages) go to parse_request,
       parse_response, SdpServer.handle (every policy) and SdpClient.handle.
       Parsers may only raise SdpError; handle() never raises.  What parses
       must re-encode to the same bytes; a server reply must be a valid
       response; the client's event must match the datagram.
v2gtp: streams of valid messages, mutated, are cut into random segments and
       fed to V2gtpReader (as bytes, bytearray or memoryview).  The messages
       and the error must equal what a one-shot parse of the whole stream
       gives; pending() must count the leftover bytes.

Prints `fuzz <target>: N inputs, A accepted, R rejected, U unexpected (T s)`
per target; exit status 1 if anything was unexpected.
"""
import argparse
import os
import random
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from micro15118 import sdp  # noqa: E402
from micro15118 import v2gtp  # noqa: E402

TARGETS = ("sdp", "v2gtp")
IP = bytes.fromhex("fe80000000000000020000fffe000e01")


class Unexpected(Exception):
    pass


def mutate(rnd, data, seeds):
    data = bytearray(data)
    for _ in range(rnd.choice((1, 1, 1, 2, 3, 6))):
        op = rnd.randrange(9)
        if op == 0 and data:                       # flip a bit
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
        elif op == 1 and data:                     # random byte
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif op == 2:                              # truncate
            del data[rnd.randrange(len(data) + 1):]
        elif op == 3:                              # extend / insert
            i = rnd.randrange(len(data) + 1)
            data[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 9)))
        elif op == 4 and data:                     # delete a run
            i = rnd.randrange(len(data))
            del data[i:i + rnd.randrange(1, 9)]
        elif op == 5:                              # splice another seed
            other = rnd.choice(seeds)
            data = data[:rnd.randrange(len(data) + 1)] + other[rnd.randrange(len(other) + 1):]
        elif op == 6 and data:                     # interesting bytes
            data[rnd.randrange(len(data))] = rnd.choice((0x00, 0x01, 0x10, 0x7F, 0x80, 0x90, 0xFE, 0xFF))
        elif op == 7 and len(data) >= 8:           # header field edits
            i = rnd.choice((2, 3, 4, 5, 6, 7))
            data[i] = rnd.choice((0x00, 0x01, 0x02, 0x14, 0x80, 0x81, 0x90, 0xFF))
        else:                                      # duplicate a chunk
            if data:
                i = rnd.randrange(len(data))
                data[i:i] = data[i:i + rnd.randrange(1, 16)]
    return bytes(data)


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
        raise Unexpected("parse_request: %s: %s" % (type(e).__name__, e))
    else:
        accepted = True
        req = (sec, tr)
        if sdp.encode_request(sec, tr) != data:
            raise Unexpected("request does not re-encode")
    try:
        res = sdp.parse_response(view)
    except sdp.SdpError:
        res = None
    except Exception as e:  # noqa: BLE001
        raise Unexpected("parse_response: %s: %s" % (type(e).__name__, e))
    else:
        accepted = True
        if sdp.encode_response(*res) != data:
            raise Unexpected("response does not re-encode")
    server = rnd.choice(SERVERS)()
    try:
        reply = server.handle(view)
    except Exception as e:  # noqa: BLE001
        raise Unexpected("server.handle: %s: %s" % (type(e).__name__, e))
    if (reply is None) != (req is None or req[1] != sdp.TRANSPORT_TCP):
        raise Unexpected("server answered %r for request %r" % (reply, req))
    if reply is not None:
        ip, port, sec, tr = sdp.parse_response(reply)
        if ip != IP or (sec, port) != server.choose(req[0]) or tr != 0:
            raise Unexpected("bad reply")
    if server.dropped + server.answered != 1:
        raise Unexpected("server counters")
    client = sdp.SdpClient(security=rnd.choice((0x00, 0x10)), now=0)
    client.poll(0)
    try:
        ev = client.handle(view, 1)
    except Exception as e:  # noqa: BLE001
        raise Unexpected("client.handle: %s: %s" % (type(e).__name__, e))
    want = None
    if res is not None and res[3] == sdp.TRANSPORT_TCP and res[1] != 0:
        want = ("secc", res[0], res[1], res[2])
    if ev != want or (ev is None) != (client.dropped == 1):
        raise Unexpected("client event %r, expected %r" % (ev, want))
    return accepted


def run_sdp(rnd, runs, report):
    seeds = sdp_seeds()
    return _loop(rnd, runs, report, lambda: mutate(rnd, rnd.choice(seeds), seeds),
                 lambda data: check_sdp(data, rnd), "sdp")


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
        stream = mutate(rnd, stream, seeds)
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
        raise Unexpected("feed: %s: %s" % (type(e).__name__, e))
    msgs, error, leftover = reference(stream, max_payload, allowed)
    if got != msgs or reader.error != error:
        raise Unexpected("reader gave %d msgs/%r, reference %d/%r" % (len(got), reader.error, len(msgs), error))
    if error is None and reader.pending() != leftover:
        raise Unexpected("pending %d, leftover %d" % (reader.pending(), leftover))
    return error is None


def run_v2gtp(rnd, runs, report):
    seeds = [v2gtp.encode(v2gtp.COMMON, b"\x80\x8c\x00"), sdp.encode_request()]
    return _loop(rnd, runs, report, lambda: v2gtp_input(rnd, seeds),
                 lambda data: check_v2gtp(data, rnd), "v2gtp")


# --- driver -------------------------------------------------------------------

def _loop(rnd, runs, report, make, check, name):
    accepted = rejected = 0
    failures = []
    for n in range(1, runs + 1):
        data = make()
        try:
            if check(data):
                accepted += 1
            else:
                rejected += 1
        except Unexpected as e:
            failures.append((data.hex(), str(e)))
            print("UNEXPECTED %s %s: %s" % (name, data.hex(), e), flush=True)
        if report and n % report == 0:
            print("  %s: %d inputs, %d accepted, %d rejected, %d unexpected"
                  % (name, n, accepted, rejected, len(failures)), flush=True)
    return accepted, rejected, failures


def run(target, runs, seed=1, report_every=0):
    """(accepted, rejected, failures) for one target."""
    rnd = random.Random("%s-%d" % (target, seed))
    if target == "sdp":
        return run_sdp(rnd, runs, report_every)
    if target == "v2gtp":
        return run_v2gtp(rnd, runs, report_every)
    raise ValueError(target)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fuzz SDP and the V2GTP reader.")
    ap.add_argument("--runs", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", choices=TARGETS + ("all",), default="all")
    ap.add_argument("--report-every", type=int, default=0)
    args = ap.parse_args(argv)
    unexpected = 0
    for target in (TARGETS if args.target == "all" else (args.target,)):
        t0 = time.time()
        accepted, rejected, failures = run(target, args.runs, args.seed, args.report_every)
        unexpected += len(failures)
        print("fuzz %s: %d inputs, %d accepted, %d rejected, %d unexpected (%.1f s)"
              % (target, args.runs, accepted, rejected, len(failures), time.time() - t0), flush=True)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
