"""Benchmark Plug-and-Charge over TLS 1.3: where the time, the SE050 commands and the host-link bytes go.

    python tools/bench_pnc.py [--runs N] [--json] [--skip tls,sim]

1. tls: the host's TLS 1.3 handshake alone (tools/bench_tls.py's in-memory
   pair: TLS_AES_256_GCM_SHA384, secp521r1, mutual P-521 chains, OCSP
   staple checked), CPU time of each side; the handshake signature is a
   software key there, not the SE050.
2. sim: N whole DC sessions with PnC in the in-process simulation
   (host/bench/sessionsim.py, tls=True): both boards' firmware over the
   PLC models, each with its host link, TLS mode and the SE050 driver on
   an Se050Model with the PKI's device keys, the hosts' TlsServer /
   TlsClient on the other end of the link (the handshake signature is a
   real SIGN_REQUEST to the MCU's SE050); the EV signs its
   PnC_AReqAuthorizationMode with the same SE050 (xmldsig.Se050Crypto:
   SHA-512 and ECDSA in the chip), the charger's PnC seam is
   host/pnc/verify.Verifier with the PKI's roots, CRLs and OCSP.  The
   SE050 models run with ASSUMED_TIMING (host/bench/se050_model.py:
   assumed figures, not datasheet ones) and the driver's waits advance
   the simulation clock, so the virtual times include the chip's busy
   time.  Measured per session:
   * virtual ms: SDP answer -> TLS up (vehicle), AuthorizationSetupRes ->
     AuthorizationReq (the EV builds and signs), AuthorizationReq ->
     AuthorizationRes at the EV; whole session;
   * host CPU, wall clock: the verifier's pnc_authorize (process time),
     the charger's Secc.handle of the AuthorizationReq (decode, evidence,
     verifier, encode), the EV's Evcc.handle that builds and signs the
     request (this includes the SE050 model computing in software);
   * SE050 per side: commands by name and the model's busy ms (after the
     boards' start-up: SELECT and reading the chain at boot are not
     counted);
   * host link per side: bytes on the serial line by message type and
     direction (counted from the frames), split into the TLS handshake
     (up to TLS ESTABLISHED), the PnC authorization (AuthorizationReq
     sent to AuthorizationRes received) and the rest of the session.
   The simulated serial line is instant: at the boards' 921600 baud
   (8N1) each byte costs 10.85 us, given as link ms.
   The charger's verifier is called in process: the host link (protocol
   1.0, micro15118/hostlink/msg.py) has no message that carries PnC
   evidence to the host yet, so its bytes are an estimate (the evidence's
   fields in one frame, the verdict in another), marked as such.
3. heap: the charger and vehicle apps' heap with PnC on the 32-bit frozen
   build is not measured (null): tools/bench_mcu.py's heap_app runs
   secc_main / evcc_main over the simulated link, and neither main has
   PnC options yet (secc_main has no PnC verifier to call, evcc_main no
   contract key or chain arguments).

Figures are medians over N sessions (host CPU is noisy on a busy machine).
With --json the last line is one JSON object.
"""
import argparse
import json
import os
import statistics
import sys
import time

from micro15118.hostlink import frame, msg as hl
from micro15118.iso20 import msg, xmldsig

BAUD_BYTE_US = 10 * 1e6 / 921600       # 8N1 at the boards' default host_uart_baudrate
MSG_NAMES = {getattr(hl, n): n for n in (
    "HELLO", "PING", "PONG", "ERROR", "TLS_RECORD", "TLS_EVENT", "APP_DATA", "SIGN_REQUEST", "SIGN_RESPONSE",
    "CERT_REQUEST", "CERT_RESPONSE", "CONFIG_SET", "CONFIG_GET", "CONFIG_RESULT", "OCPP_EVENT")}


def median(values):
    return round(statistics.median(values), 3) if values else None


# ---------------------------------------------------------------------------
# 1. the TLS handshake alone

def bench_tls(runs):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_tls
    from host.tls.testpki import TestPki
    pki = TestPki()
    staple = pki.ocsp_response()
    bench_tls.bench_memory(pki, staple, 2)          # warm-up
    res, _ = bench_tls.bench_memory(pki, staple, runs)
    return res


# ---------------------------------------------------------------------------
# 2. PnC sessions in the simulation

class _Wire(bytearray):
    """One direction of a host link's serial line: counts the bytes of each
    frame (delimiters and COBS included) by phase and message type, from
    the frames a decoder finds in what the line carries."""

    def __init__(self, counts, phase, side_state):
        bytearray.__init__(self)
        self.counts = counts
        self.phase = phase
        self.side = side_state
        self.dec = frame.FrameDecoder()
        self.pending = 0

    def __iadd__(self, data):
        bytearray.__iadd__(self, data)
        data = bytes(data)
        start = 0
        for i, b in enumerate(data):
            if b:
                continue
            for mtype, seq, payload in self.dec.feed(data[start:i + 1]):
                name = MSG_NAMES.get(mtype, hex(mtype))
                if name in ("HELLO", "PING", "PONG"):
                    ph = "keepalive"
                else:
                    ph = self.phase()
                    if ph == "plugged":
                        ph = "v2g" if self.side["established"] else "tls"
                if mtype == hl.TLS_EVENT and len(payload) > 1 and payload[1] == hl.TLS_ESTABLISHED:
                    self.side["established"] = True
                key = (ph, name)
                self.counts[key] = self.counts.get(key, 0) + self.pending + i + 1 - start
                self.pending = 0
                start = i + 1
        if start < len(data):
            self.dec.feed(data[start:])
            self.pending += len(data) - start
        return self


def one_session(seed, pki, verifier, loops):
    import micro15118.iso20.evcc.session as evcc_session
    import micro15118.iso20.secc.session as secc_session
    from host.bench.se050_model import ASSUMED_TIMING
    from host.bench.sessionsim import EvApp, SessionSim
    from host.pnc import vehicle as hv
    from micro15118.iso20.charger import Charger

    r = {"verifier": [], "secc_ms": None, "evcc_ms": None}
    marks = []

    class Pnc:
        def pnc_authorize(self, evidence, now):
            c0, t0 = time.process_time(), time.perf_counter()
            code = verifier.pnc_authorize(evidence, now)
            r["verifier"].append((code, (time.process_time() - c0) * 1000, (time.perf_counter() - t0) * 1000))
            r["evidence_bytes"] = sum(len(evidence[k]) for k in ("element", "signed_info", "signature", "digest",
                                                                 "challenge"))
            return code

    def charger_cls(power, authorized=True):
        return Charger(power, authorized=authorized, pnc=Pnc())

    sim = SessionSim(seed=seed, tls=True, loops=loops, charger_cls=charger_cls,
                     secc_config={"auth": ("PnC", "EIM")})
    phase = {"now": "boot"}
    counts = {"charger": {}, "vehicle": {}}
    se050 = {}
    for side in (sim.charger, sim.vehicle):
        host = sim.hosts[side.name]
        chip = host.se050
        chip.timing = dict(ASSUMED_TIMING)
        chip.stats["commands"] = {}          # from here on: the session, not the boot
        chip.stats["busy_ms"] = 0

        def advance(ms):
            sim.t += ms
        side.runner.host.keys.se.t1.sleep_ms = advance
        se050[side.name] = chip
        wire = host.wire
        state = {"established": False}
        wire.to_host = _Wire(counts[side.name], lambda: phase["now"], state)
        wire.to_mcu = _Wire(counts[side.name], lambda: phase["now"], state)

    cfg = dict(sim.ev_config)
    cfg.update(hv.contract_config(pki))
    se = sim.vehicle.runner.host.keys.se

    class PncEv(EvApp):
        def send(self, ptype, payload, now):
            name = msg.decode(ptype, payload)[0]
            marks.append((sim.t, "sent", name))
            if name == "AuthorizationReq":
                phase["now"] = "pnc"
            EvApp.send(self, ptype, payload, now)

        def link_event(self, ev, now):
            if ev[0] == "v2gtp":
                name = msg.decode(ev[1], ev[2])[0]
                marks.append((sim.t, "recv", name))
            EvApp.link_event(self, ev, now)
            if ev[0] == "v2gtp" and name == "AuthorizationRes":
                phase["now"] = "session"

    sim.ev = PncEv(sim, sim.vehicle, cfg)
    sim.ev.vehicle.crypto = xmldsig.Se050Crypto(se)

    # wall time of the charger's handling of the AuthorizationReq and of the
    # EV's handling of AuthorizationSetupRes (where it builds and signs)
    real_secc, real_evcc = secc_session.Secc.handle, evcc_session.Evcc.handle

    def secc_handle(self, ptype, data, now):
        t0 = time.perf_counter()
        try:
            return real_secc(self, ptype, data, now)
        finally:
            if msg.decode(ptype, data)[0] == "AuthorizationReq":
                r["secc_ms"] = (time.perf_counter() - t0) * 1000

    def evcc_handle(self, ptype, data, now):
        t0 = time.perf_counter()
        try:
            return real_evcc(self, ptype, data, now)
        finally:
            if msg.decode(ptype, data)[0] == "AuthorizationSetupRes":
                r["evcc_ms"] = (time.perf_counter() - t0) * 1000

    secc_session.Secc.handle, evcc_session.Evcc.handle = secc_handle, evcc_handle
    t_wall = time.perf_counter()
    try:
        sim.run(10)
        phase["now"] = "plugged"
        sim.plug()
        sim.run(120000, lambda: sim.ev.result is not None)
    finally:
        secc_session.Secc.handle, evcc_session.Evcc.handle = real_secc, real_evcc
    r["wall_s"] = time.perf_counter() - t_wall
    r["result"] = sim.ev.result
    r["se050"] = {n: {"commands": dict(c.stats["commands"]), "busy_ms": round(c.stats["busy_ms"], 1)}
                  for n, c in se050.items()}
    r["counts"] = counts

    def at(what, who, name):
        return next((t for t, w, n in marks if w == what and n == name), None)
    sdp = next((t for t, who, ev in sim.trace if who == "vehicle" and ev[0] == "secc"), None)
    tls_up = next((t for t, who, ev in sim.trace if who == "vehicle" and ev[0] == "tls_open"), None)
    r["virtual_ms"] = {
        "sdp_to_tls_up": tls_up - sdp if None not in (sdp, tls_up) else None,
        "setup_res_to_auth_req": _diff(at("recv", None, "AuthorizationSetupRes"), at("sent", None, "AuthorizationReq")),
        "auth_req_to_auth_res": _diff(at("sent", None, "AuthorizationReq"), at("recv", None, "AuthorizationRes")),
        "session": _diff(at("sent", None, "supportedAppProtocolReq"), at("recv", None, "SessionStopRes")),
    }
    return r


def _diff(a, b):
    return None if a is None or b is None else b - a


def _link_summary(sessions):
    """Median bytes per side and phase, by message type."""
    out = {}
    for side in ("charger", "vehicle"):
        keys = set()
        for s in sessions:
            keys |= set(s["counts"][side])
        per = {}
        for ph, name in sorted(keys):
            per.setdefault(ph, {})[name] = median([s["counts"][side].get((ph, name), 0) for s in sessions])
        out[side] = {ph: dict(v, total=round(sum(v.values()))) for ph, v in per.items()}
    return out


def evidence_estimate(evidence_bytes):
    """Bytes a PnC evidence request would take on the link (protocol 1.0 has
    none): the evidence's five fields with u16 lengths, in chunks of at most
    max_payload with id u16, offset u16, total u16 each (as CERT_RESPONSE
    chunks a chain); the verdict back: id, status, a -20 code (<= 40 chars)."""
    def framed(payload):
        return 2 + frame.enc_len(payload + frame.OVERHEAD)
    body = evidence_bytes + 2 * 5
    room = frame.MAX_PAYLOAD - 6
    up, left = 0, body
    while left > 0:
        n = min(left, room)
        up += framed(6 + n)
        left -= n
    down = framed(2 + 1 + 40)
    return {"to_host": up, "to_mcu": down, "total": up + down, "frames_to_host": -(-body // room)}


def bench_sim(runs, loops=3):
    from host.bench import hostsim
    from host.pnc.verify import Verifier
    pki = hostsim.shared_pki()
    verifier = Verifier.from_pki(pki)
    one_session(0, pki, verifier, loops)                    # warm-up (imports, caches)
    sessions = [one_session(seed + 1, pki, verifier, loops) for seed in range(runs)]
    bad = [s["result"] for s in sessions if not (s["result"] and s["result"][0] == "done")]
    codes = sorted({c for s in sessions for c, _, _ in s["verifier"]})
    res = {
        "sessions": runs, "all_done": not bad, "verdicts": codes,
        "virtual_ms": {k: median([s["virtual_ms"][k] for s in sessions if s["virtual_ms"][k] is not None])
                       for k in sessions[0]["virtual_ms"]},
        "host_cpu_ms": {
            "verifier_cpu": median([v[1] for s in sessions for v in s["verifier"]]),
            "verifier_wall": median([v[2] for s in sessions for v in s["verifier"]]),
            "secc_handle_auth_req_wall": median([s["secc_ms"] for s in sessions if s["secc_ms"] is not None]),
            "evcc_build_and_sign_wall": median([s["evcc_ms"] for s in sessions if s["evcc_ms"] is not None]),
        },
        "se050": {side: {"commands": sessions[-1]["se050"][side]["commands"],
                         "commands_total": sum(sessions[-1]["se050"][side]["commands"].values()),
                         "busy_ms": median([s["se050"][side]["busy_ms"] for s in sessions])}
                  for side in ("charger", "vehicle")},
        "host_link_bytes": _link_summary(sessions),
        "evidence_bytes": sessions[-1].get("evidence_bytes"),
        "wall_s_per_session": median([s["wall_s"] for s in sessions]),
    }
    if bad:
        res["failed"] = bad
    res["pnc_verify_link_bytes_estimate"] = evidence_estimate(res["evidence_bytes"] or 0)
    return res


# ---------------------------------------------------------------------------

PHASES = {"tls": "TLS handshake", "v2g": "V2G before Authorization", "pnc": "PnC authorization",
          "session": "rest of session", "keepalive": "HELLO/PING/PONG"}


def link_ms(nbytes):
    return round(nbytes * BAUD_BYTE_US / 1000, 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="TLS handshakes and PnC sessions (medians)")
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    ap.add_argument("--skip", default="", help="comma list of: tls,sim")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    result = {"se050_timing": "assumed (host/bench/se050_model.py ASSUMED_TIMING, not datasheet figures)",
              "heap_kib_pnc": {"charger_app": None, "vehicle_app": None,
                               "why_null": "secc_main/evcc_main have no PnC options yet (no verifier on the "
                                           "charger's host link, no contract key/chain arguments on the EV), "
                                           "so tools/bench_mcu.py heap_app cannot run a PnC session"}}
    if "tls" not in skip:
        result["tls_handshake_ms"] = bench_tls(max(args.runs, 5))
    if "sim" not in skip:
        result["sim"] = bench_sim(args.runs)
    report(result)
    if args.json:
        print(json.dumps(result))
    return 0


def report(result):
    row = "%-58s %s"
    print(row % ("figure", "value"))
    t = result.get("tls_handshake_ms")
    if t:
        print(row % ("TLS 1.3 handshake, host CPU, in memory (bench_tls)", "%s ms both sides (server %s, client %s)"
                     % (t["total_ms"], t["server_ms"], t["client_ms"])))
    s = result.get("sim")
    if s:
        v, c = s["virtual_ms"], s["host_cpu_ms"]
        print(row % ("sessions (DC, PnC over TLS, SE050 model, assumed timing)",
                     "%d, all done: %s, verdicts %s" % (s["sessions"], s["all_done"], ",".join(s["verdicts"]))))
        print(row % ("virtual: SDP answer -> TLS up (vehicle)", "%s ms (incl. 2 SE050 P-521 signatures)"
                     % v["sdp_to_tls_up"]))
        print(row % ("virtual: AuthorizationSetupRes -> AuthorizationReq (EV)", "%s ms (SE050 SHA-512 + sign)"
                     % v["setup_res_to_auth_req"]))
        print(row % ("virtual: AuthorizationReq -> AuthorizationRes (at the EV)", "%s ms (transport only: the "
                     "verifier runs in no virtual time)" % v["auth_req_to_auth_res"]))
        print(row % ("virtual: whole session (3 loops)", "%s ms" % v["session"]))
        print(row % ("host CPU: verifier pnc_authorize", "%s ms CPU (%s ms wall)"
                     % (c["verifier_cpu"], c["verifier_wall"])))
        print(row % ("host CPU: Secc.handle(AuthorizationReq) incl. verifier", "%s ms wall"
                     % c["secc_handle_auth_req_wall"]))
        print(row % ("host CPU: Evcc.handle(AuthorizationSetupRes)", "%s ms wall (incl. the model's software "
                     "crypto)" % c["evcc_build_and_sign_wall"]))
        for side in ("charger", "vehicle"):
            se = s["se050"][side]
            print(row % ("SE050 %s: commands per session" % side, "%d %s" % (
                se["commands_total"], " ".join("%s=%d" % kv for kv in sorted(se["commands"].items())))))
            print(row % ("SE050 %s: busy per session (assumed timing)" % side, "%s ms" % se["busy_ms"]))
        for side in ("charger", "vehicle"):
            for ph in ("tls", "v2g", "pnc", "session", "keepalive"):
                b = s["host_link_bytes"][side].get(ph)
                if not b:
                    continue
                detail = " ".join("%s=%s" % (k, int(v)) for k, v in sorted(b.items()) if k != "total" and v)
                print(row % ("host link %s, %s: bytes" % (side, PHASES[ph]),
                             "%d (%s ms at 921600 baud) %s" % (b["total"], link_ms(b["total"]), detail)))
        e = s["pnc_verify_link_bytes_estimate"]
        print(row % ("host link charger, PnC evidence to the host (ESTIMATE)", "%d bytes (%s ms): no message for it "
                     "in protocol 1.0" % (e["total"], link_ms(e["total"]))))
    h = result["heap_kib_pnc"]
    print(row % ("heap charger_app / vehicle_app with PnC (32-bit frozen)", "%s / %s: %s"
                 % (h["charger_app"], h["vehicle_app"], h["why_null"])))
    print(row % ("SE050 timing", result["se050_timing"]))


if __name__ == "__main__":
    sys.exit(main())
