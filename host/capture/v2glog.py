"""The V2G messages of a capture: reassemble the TCP streams of a pcap,
split them into V2GTP messages and decode the EXI with our codec.

    messages(pcap_path) -> [{'t', 'from', 'ptype', 'name', 'body', 'hex'}]
    write_jsonl(pcap_path, out_path) -> number of messages

't' is the capture's timestamp of the message's last byte (the time base of
wire.pcap); 'hex' is the raw EXI payload, beside its decoded 'body'.

'from' is 'EV' or 'SECC' (the SECC is the side that accepted the TCP
connection).  Retransmitted and duplicated segments are merged by sequence
number; a message that does not decode is logged with its error.

A connection that carries TLS 1.3 is decrypted with the run's NSS key log
(`messages(pcap, keylog=path)`, host/capture/tls13.py): its messages are the
V2GTP inside, 't' the time of the last byte of the record that completed
them, and each entry says "tls": true.  Without the key (or when it does not
open the records) the connection gives no message: nothing else in it is
V2GTP.
"""
import json
import struct

from micro15118.iso20 import msg

from host.capture import tls13
from host.capture.pcap import read_pcap

_SCHEMAS = {0x8001: "appProtocol", 0x8002: "-20:CommonMessages", 0x8003: "-20:AC", 0x8004: "-20:DC"}


def _segments(pcap_path):
    """(ts, flow, seq, flags, payload) for every TCP/IPv6 segment."""
    for ts, frame in read_pcap(pcap_path):
        if len(frame) < 74 or frame[12:14] != b"\x86\xdd" or frame[20] != 6:
            continue
        ip = frame[14:54]
        plen = struct.unpack(">H", ip[4:6])[0]
        src, dst = bytes(ip[8:24]), bytes(ip[24:40])
        tcp = frame[54:54 + plen]
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        off = (tcp[12] >> 4) * 4
        flags = tcp[13]
        yield ts, (src, sport, dst, dport), seq, flags, bytes(tcp[off:])


def _streams(pcap_path):
    flows = {}
    servers = set()
    for ts, flow, seq, flags, payload in _segments(pcap_path):
        f = flows.setdefault(flow, {"isn": None, "parts": {}, "first": ts})
        if flags & 0x02:                     # SYN
            f["isn"] = seq
            if flags & 0x10:                 # SYN+ACK: the server's side
                servers.add(flow)
        if payload:
            f["parts"].setdefault(seq, (ts, payload))
    for flow, f in flows.items():
        if f["isn"] is None:
            continue
        expect = (f["isn"] + 1) & 0xFFFFFFFF
        data = bytearray()
        stamps = []                          # (offset, ts)
        parts = f["parts"]
        while True:
            hit = None
            for seq, (ts, payload) in parts.items():
                d = (expect - seq) & 0xFFFFFFFF
                if d < len(payload):         # covers `expect`
                    hit = (ts, payload[d:])
                    break
            if hit is None:
                break
            stamps.append((len(data), hit[0]))
            data += hit[1]
            expect = (expect + len(hit[1])) & 0xFFFFFFFF
        yield ("SECC" if flow in servers else "EV"), bytes(data), stamps, flow


def _ts_at(stamps, offset):
    t = stamps[0][1] if stamps else 0.0
    for off, ts in stamps:
        if off > offset:
            break
        t = ts
    return t


def _plain_streams(pcap_path, keylog):
    """(sender, V2GTP bytes, stamps, tls) per direction: the TCP payload, or
    for a TLS connection what the key log decrypts."""
    streams = list(_streams(pcap_path))
    keys = tls13.read_keylog(keylog) if keylog else {}
    by_flow = {s[3]: s for s in streams}
    for sender, data, stamps, flow in streams:
        if not tls13.is_tls(data) and not (sender == "SECC" and _peer_is_tls(by_flow, flow)):
            yield sender, data, stamps, False
            continue
        if sender != "EV":
            continue            # the pair is decrypted once, from the client's side
        peer = by_flow.get((flow[2], flow[3], flow[0], flow[1]))
        if peer is None or not keys:
            continue
        try:
            got = tls13.decrypt_pair(data, stamps, peer[1], peer[2], keys)
        except tls13.TlsDecryptError:
            continue
        yield "EV", got["client"][0], got["client"][1], True
        yield "SECC", got["server"][0], got["server"][1], True


def _peer_is_tls(by_flow, flow):
    peer = by_flow.get((flow[2], flow[3], flow[0], flow[1]))
    return peer is not None and tls13.is_tls(peer[1])


def messages(pcap_path, keylog=None):
    out = []
    for sender, data, stamps, tls in _plain_streams(pcap_path, keylog):
        i = 0
        while i + 8 <= len(data):
            version, inverse, ptype, length = struct.unpack(">BBHI", data[i:i + 8])
            if version != 1 or inverse != 0xFE or i + 8 + length > len(data):
                break
            payload = data[i + 8:i + 8 + length]
            entry = {"t": _ts_at(stamps, i + 8 + length - 1), "from": sender, "ptype": ptype}
            if tls:
                entry["tls"] = True
            try:
                name, body = msg.decode(ptype, payload)
                entry["name"], entry["body"] = name, body
            except ValueError as e:
                entry["name"], entry["error"] = "?", str(e)
            entry["hex"] = payload.hex()
            out.append(entry)
            i += 8 + length
    out.sort(key=lambda e: e["t"])
    return out


def _jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def write_jsonl(pcap_path, out_path, keylog=None):
    return write_jsonl_messages(messages(pcap_path, keylog), out_path)


def write_jsonl_messages(msgs, out_path):
    with open(out_path, "w") as f:
        for m in msgs:
            f.write(json.dumps(_jsonable(m)) + "\n")
    return len(msgs)
