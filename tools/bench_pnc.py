"""Benchmark Plug-and-Charge over TLS 1.3: where the time, the SE050 commands and the host-link bytes go.

    python tools/bench_pnc.py [--runs N] [--json] [--skip tls,sim]

1. tls: the host's TLS 1.3 handshake alone (tools/bench_tls.py's in-memory
   pair: TLS_AES_256_GCM_SHA384, secp521r1, mutual P-521 chains, OCSP
   staple checked), CPU time of each side; the handshake signature is a
   software key there, not the SE050.
2. sim: N whole DC sessions with PnC in the in-process simulation
   (host/bench/sessionsim.py, tls=True, pnc=...: what `micro15118 sim
   --tls --auth pnc` runs, on the virtual clock): both boards' firmware
   over the PLC models, each with its host link, TLS mode and the SE050
   driver on an Se050Model with the PKI's device keys; the hosts'
   TlsServer / TlsClient on the other end of the link (the handshake
   signature a real SIGN_REQUEST to the MCU's SE050); the EV signs its
   PnC_AReqAuthorizationMode in the same SE050 (xmldsig.Se050Crypto:
   SHA-512 and ECDSA in the chip); the charger's MCU sends the evidence
   over its host link (PNC_VERIFY_REQUEST) to its host, where
   host/pnc/verify.Verifier (the PKI's roots, CRLs, OCSP) judges it, and
   answers Ongoing meanwhile.  The SE050 models run with ASSUMED_TIMING
   (host/bench/se050_model.py: assumed figures, not datasheet ones) and
   the driver's waits advance the simulation clock, so the virtual times
   include the chip's busy time; the hosts' CPU is not on that clock.
   Measured per session:
   * virtual ms: SDP answer -> TLS up (vehicle), AuthorizationSetupRes ->
     AuthorizationReq (the EV builds and signs), the first
     AuthorizationReq -> the AuthorizationRes that is not Ongoing (at the
     EV), the whole session;
   * host CPU: the verifier's check (process time and wall), the EV's
     Evcc.handle that builds and signs the request (wall; it includes the
     SE050 model computing in software);
   * SE050 per side: commands by name and the model's busy ms (after the
     boards' start-up: SELECT and reading the chain at boot not counted);
   * host link per side: bytes on the serial line by message type,
     counted from the frames (delimiters and COBS included), split into
     the TLS handshake (up to TLS ESTABLISHED), V2G before Authorization,
     the PnC authorization (the first AuthorizationReq sent to the final
     AuthorizationRes received), the rest, and HELLO/PING/PONG.  The
     simulated serial line is instant: at the boards' 921600 baud (8N1)
     each byte costs 10.85 us, given as link ms.
3. heap: the charger and vehicle apps' heap with PnC on the 32-bit frozen
   build is not measured (null): tools/bench_mcu.py's heap_app runs
   secc_main / evcc_main over a LinkBench without host links, TLS or SE050
   bundles (no --host-link / --tls / --auth pnc), so it cannot run a PnC
   session; host/bench/sim.py's tls_setup has the wiring such a scan needs.

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
from micro15118.iso20 import msg

BAUD_BYTE_US = 10 * 1e6 / 921600       # 8N1 at the boards' default host_uart_baudrate
MSG_NAMES = {getattr(hl, n): n for n in (
    "HELLO", "PING", "PONG", "ERROR", "TLS_RECORD", "TLS_EVENT", "APP_DATA", "SIGN_REQUEST", "SIGN_RESPONSE",
    "CERT_REQUEST", "CERT_RESPONSE", "PNC_VERIFY_REQUEST", "PNC_VERIFY_RESPONSE", "CONFIG_SET", "CONFIG_GET",
    "CONFIG_RESULT", "OCPP_EVENT") if hasattr(hl, n)}


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


def one_session(seed, pki, verifier_cls, loops):
    import micro15118.iso20.evcc.session as evcc_session
    from host.bench.se050_model import ASSUMED_TIMING
    from host.bench.sessionsim import EvApp, SessionSim

    r = {"verifier": [], "evcc_ms": None}
    marks = []

    class Timed(verifier_cls):
        """The host's verifier, its check() timed (the host calls check())."""

        def check(self, evidence, at=None):
            c0, t0 = time.process_time(), time.perf_counter()
            code, why = verifier_cls.check(self, evidence, at)
            r["verifier"].append((code, (time.process_time() - c0) * 1000, (time.perf_counter() - t0) * 1000))
            return code, why

    sim = SessionSim(seed=seed, tls=True, loops=loops, pnc={"verifier": Timed.from_pki(pki), "pki": pki})
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
        host.se.t1.sleep_ms = advance         # the driver's waits pass simulated time
        se050[side.name] = chip
        state = {"established": False}
        host.wire.to_host = _Wire(counts[side.name], lambda: phase["now"], state)
        host.wire.to_mcu = _Wire(counts[side.name], lambda: phase["now"], state)

    class PncEv(EvApp):
        def send(self, ptype, payload, now):
            name, body = msg.decode(ptype, payload)
            marks.append((sim.t, "sent", name, body))
            if name == "AuthorizationReq" and phase["now"] == "plugged":
                phase["now"] = "pnc"
            EvApp.send(self, ptype, payload, now)

        def link_event(self, ev, now):
            done = False
            if ev[0] == "v2gtp":
                name, body = msg.decode(ev[1], ev[2])
                marks.append((sim.t, "recv", name, body))
                done = name == "AuthorizationRes" and body.get("EVSEProcessing") != "Ongoing"
            EvApp.link_event(self, ev, now)
            if done:
                phase["now"] = "session"

    sim.ev = PncEv(sim, sim.vehicle, sim.ev_config, sim._ev_crypto())

    # wall time of the EV's handling of AuthorizationSetupRes (it builds and signs there)
    real_evcc = evcc_session.Evcc.handle

    def evcc_handle(self, ptype, data, now):
        t0 = time.perf_counter()
        try:
            return real_evcc(self, ptype, data, now)
        finally:
            if msg.decode(ptype, data)[0] == "AuthorizationSetupRes":
                r["evcc_ms"] = (time.perf_counter() - t0) * 1000

    evcc_session.Evcc.handle = evcc_handle
    t_wall = time.perf_counter()
    try:
        sim.run(10)
        phase["now"] = "plugged"
        sim.plug()
        sim.run(120000, lambda: sim.ev.result is not None)
    finally:
        evcc_session.Evcc.handle = real_evcc
    r["wall_s"] = time.perf_counter() - t_wall
    r["result"] = sim.ev.result
    r["se050"] = {n: {"commands": dict(c.stats["commands"]), "busy_ms": round(c.stats["busy_ms"], 1)}
                  for n, c in se050.items()}
    r["counts"] = counts
    log = sim.hosts["charger"].pnc_log
    r["evidence_bytes"] = log[0]["bytes"] if log else None
    r["auth_requests"] = sum(1 for t, w, n, b in marks if w == "sent" and n == "AuthorizationReq")

    def first(what, name, finished=False):
        return next((t for t, w, n, b in marks if w == what and n == name
                     and (not finished or b.get("EVSEProcessing") != "Ongoing")), None)
    sdp = next((t for t, who, ev in sim.trace if who == "vehicle" and ev[0] == "secc"), None)
    tls_up = next((t for t, who, ev in sim.trace if who == "vehicle" and ev[0] == "tls_open"), None)
    r["virtual_ms"] = {
        "sdp_to_tls_up": _diff(sdp, tls_up),
        "setup_res_to_auth_req": _diff(first("recv", "AuthorizationSetupRes"), first("sent", "AuthorizationReq")),
        "auth_req_to_auth_res": _diff(first("sent", "AuthorizationReq"), first("recv", "AuthorizationRes", True)),
        "session": _diff(first("sent", "supportedAppProtocolReq"), first("recv", "SessionStopRes")),
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


def bench_sim(runs, loops=3):
    from host.bench import hostsim
    from host.pnc.verify import Verifier
    pki = hostsim.shared_pki()
    one_session(0, pki, Verifier, loops)                    # warm-up (imports, caches)
    sessions = [one_session(seed + 1, pki, Verifier, loops) for seed in range(runs)]
    bad = [s["result"] for s in sessions if not (s["result"] and s["result"][0] == "done")]
    codes = sorted({c for s in sessions for c, _, _ in s["verifier"]})
    res = {
        "sessions": runs, "all_done": not bad, "verdicts": codes,
        "virtual_ms": {k: median([s["virtual_ms"][k] for s in sessions if s["virtual_ms"][k] is not None])
                       for k in sessions[0]["virtual_ms"]},
        "host_cpu_ms": {
            "verifier_cpu": median([v[1] for s in sessions for v in s["verifier"]]),
            "verifier_wall": median([v[2] for s in sessions for v in s["verifier"]]),
            "evcc_build_and_sign_wall": median([s["evcc_ms"] for s in sessions if s["evcc_ms"] is not None]),
        },
        "se050": {side: {"commands": sessions[-1]["se050"][side]["commands"],
                         "commands_total": sum(sessions[-1]["se050"][side]["commands"].values()),
                         "busy_ms": median([s["se050"][side]["busy_ms"] for s in sessions])}
                  for side in ("charger", "vehicle")},
        "host_link_bytes": _link_summary(sessions),
        "evidence_bytes": sessions[-1].get("evidence_bytes"),
        "auth_requests": median([s["auth_requests"] for s in sessions]),
        "wall_s_per_session": median([s["wall_s"] for s in sessions]),
    }
    if bad:
        res["failed"] = bad
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
                               "why_null": "tools/bench_mcu.py heap_app runs secc_main/evcc_main without host "
                                           "links, TLS or SE050 bundles (no --host-link/--tls/--auth pnc), so it "
                                           "cannot run a PnC session"}}
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
        print(row % ("virtual: AuthorizationReq -> AuthorizationRes (at the EV)", "%s ms, %s requests (Ongoing "
                     "until the host's verdict; its CPU is not on the virtual clock)"
                     % (v["auth_req_to_auth_res"], s["auth_requests"])))
        print(row % ("virtual: whole session (3 loops)", "%s ms" % v["session"]))
        print(row % ("host CPU: verifier check (charger's host)", "%s ms CPU (%s ms wall)"
                     % (c["verifier_cpu"], c["verifier_wall"])))
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
        print(row % ("PnC evidence (PNC_VERIFY_REQUEST payload)", "%s bytes" % s["evidence_bytes"]))
    h = result["heap_kib_pnc"]
    print(row % ("heap charger_app / vehicle_app with PnC (32-bit frozen)", "%s / %s: %s"
                 % (h["charger_app"], h["vehicle_app"], h["why_null"])))
    print(row % ("SE050 timing", result["se050_timing"]))


if __name__ == "__main__":
    sys.exit(main())
