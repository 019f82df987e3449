"""`micro15118 sim`: one simulated ISO 15118-20 session, end to end.

Our charger (firmware/micro15118/secc_main.py) and EV (firmware/micro15118/evcc_main.py) run on
simulated boards (MicroPython unix port by default) against the wire
process, or python-iso15118 ("Josev") takes either end; the cable is
plugged in and the session runs to SessionStop.

Every run, whatever its end (pass, fail, Ctrl-C, SIGTERM, timeout), leaves
its evidence in --out: wire.pcap, messages.jsonl (every V2G message decoded
from the capture, with its raw EXI), both sides' logs (a peer's too) and
result.json with the verdict of host/bench/verdict.py and its reasons.  Files a
previous run left in the same directory are removed first.

`--tls` (our charger and our EV): the V2G connection carries TLS 1.3,
terminated for each board by its host (host/bench/host_side.py: a HostLink
over a pty the firmware opens as --host-link, a TlsServer for the charger, a
TlsClient for the EV); each board's SE050 is a model in the wire process
provisioned from the PKI (--pki DIR, or one made in --out/pki), and signs
the one handshake signature the host asks its MCU for.  The key log goes to
--out/tls-keys.log; messages.jsonl is what it decrypts from wire.pcap (the
same verdict as every run); result.json adds "tls": version, suite, group,
both certificate chains' subjects, OCSP, and the SE050 models' commands.

`--auth pnc` (needs --tls): Plug-and-Charge.  Our charger offers PnC over
TLS; its host judges the evidence of the signed AuthorizationReq that the
MCU sends over the host link (PNC_VERIFY_REQUEST) with host/pnc/verify.py's
Verifier.from_pki(--pki).  Our EV signs with the contract key in its SE050
model, which the wire process provisions from DIR/se050/vehicle.json; the
chain it sends is the leaf (an SE050 binary object) and the PKI's MO
sub-CAs.  `--contract CASE` (a DIR/variants/contract_* case: expired,
revoked, unknown_root, tampered_signature...) gives the EV that variant's
key and certificate (the variant's se050/vehicle.json in place of the PKI's
contract entry, same object IDs) and sub-CAs; the run passes only with the
case.json ResponseCode in the AuthorizationRes on the wire and, for a
refused contract, no power at all (meter 0 Wh, the charger's contactor
never closed), or with `--eim-fallback` the EV's fallback to EIM (then a
normal session).  result.json adds "auth": the service used, the codes,
the eMAID, the host's verification (code, reasons, ms), the SE050 commands
per side.  `--pull-host-link-during-pnc`: the charger's host holds the
verification and its link is pulled while it is pending; passes when
nothing was authorized and no power flowed.
"""
import json
import os
import re
import signal
import time

from host.bench import verdict
from host.bench.linkrun import EVCC_MAIN, SECC_MAIN, FirmwareError, LinkBench

PROG = "micro15118"
DEFAULT_OUT = "session"
# What a run writes into --out; a new run removes them first (and what the
# previous result.json listed), nothing else.
EVIDENCE = ("wire.pcap", "messages.jsonl", "charger.log", "vehicle.log", "result.json",
            "evcc.log", "secc.log", "evcc_config.json", "tls-keys.log", "charger_board.json",
            "vehicle_board.json")
KEYLOG = "tls-keys.log"
SERVICE_NAMES = {1: "AC", 2: "DC", 5: "AC_BPT", 6: "DC_BPT"}
CONTROL_NAMES = {1: "scheduled", 2: "dynamic"}
_SHOWN = ("plugged", "slac_matched", "connected", "disconnected", "unplugged",
          "link_lost", "slac_failed", "sdp_failed", "cp", "TIMEOUT", "pnc_verdict", "host_lost")


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: the run ends, its evidence is kept."""


class _Signals:
    """SIGINT and SIGTERM raise Interrupted in the main thread while a run
    is going on, so every context manager (firmware, namespaces, Josev)
    unwinds and the evidence is written."""

    def __enter__(self):
        self.saved = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.saved[sig] = signal.signal(sig, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        # a second signal while unwinding must not cut the cleanup short
        signal.signal(signum, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def prepare_out(out):
    """Create --out; remove what a previous run wrote there.  Returns the
    names removed."""
    os.makedirs(out, exist_ok=True)
    names = set(EVIDENCE)
    try:
        with open(os.path.join(out, "result.json")) as f:
            names.update(json.load(f).get("files", []))
    except (OSError, ValueError, AttributeError):
        pass
    removed = []
    for name in sorted(names):
        path = os.path.join(out, os.path.basename(name))
        if os.path.isfile(path):
            os.remove(path)
            removed.append(name)
    return removed


class Progress:
    """What a user follows: link steps, session states, and SoC, power,
    voltage and current in engineering units at most twice a second."""

    def __init__(self, t0):
        self.t0 = t0
        self.last = -1.0
        self.ev = None          # (power W, voltage, current) from our EV

    def say(self, who, text):
        print("%6.2f s  %-8s %s" % (time.monotonic() - self.t0, who, text), flush=True)

    def line(self, who, text):
        if not text.startswith("t="):
            if text.startswith(("METER", "BATTERY")):
                self.say(who, _readable_total(text))
            elif "rror" in text:
                self.say(who, text)
            return
        parts = text.split(" ")
        kind = parts[1] if len(parts) > 1 else ""
        if kind in ("evcc", "secc") and len(parts) > 2:
            self._session(who, parts[2], parts[3:])
        elif kind in _SHOWN:
            self.say(who, " ".join(parts[1:]))

    def _session(self, who, what, rest):
        if what == "power" and who == "vehicle":
            self.ev = [_num(x) for x in rest[:3]]
        elif what == "power":                       # charger: p charged/discharged
            if self.ev is None and time.monotonic() - self.last >= 0.5 and rest:
                self.last = time.monotonic()
                self.say(who, "%s  meter %s" % (kw(_num(rest[0])), _meter_text(rest[1:])))
        elif what == "soc":
            if time.monotonic() - self.last >= 0.5 and rest:
                self.last = time.monotonic()
                p, v, i = (self.ev + [None, None, None])[:3] if self.ev else (None, None, None)
                extra = ""
                if v is not None and i is not None:     # DC: the charger's present values
                    extra = "  %.0f V  %+.1f A" % (v, i)
                self.say(who, "SoC %.2f %%  %s%s" % (_num(rest[0]), kw(p), extra))
        elif what == "service" and len(rest) >= 3:
            self.say(who, "service %s, %s control" % (
                SERVICE_NAMES.get(int(_num(rest[0]) or 0), rest[0]),
                CONTROL_NAMES.get(int(_num(rest[2]) or 0), rest[2])))
        elif what in ("state", "done", "failed", "stopping", "stopped", "close", "authorized", "warning",
                      "pnc", "pnc_refused", "pnc_unavailable"):
            self.say(who, " ".join([what] + rest))


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def kw(w):
    return "--- kW" if w is None else "%+.1f kW" % (w / 1000.0)


def _meter_text(rest):
    try:
        charged, discharged = (float(x) for x in " ".join(rest).replace("/", " ").split()[:2])
    except ValueError:
        return "?"
    return "charged %.3f Wh, discharged %.3f Wh" % (charged, discharged)


def _readable_total(text):
    m = re.match(r"METER (-?[\d.]+)/(-?[\d.]+)", text)
    if m:
        return "meter: charged %.3f Wh, discharged %.3f Wh" % (float(m.group(1)), float(m.group(2)))
    m = re.match(r"BATTERY soc=([\d.]+) net_wh=(-?[\d.]+)", text)
    if m:
        return "battery: SoC %.3f %%, net %+.3f Wh" % (float(m.group(1)), float(m.group(2)))
    return text


def _last(lines, pattern):
    m = None
    for line in lines:
        found = re.search(pattern, line)
        if found:
            m = found
    return m


class Run:
    """One run's evidence, gathered as it goes and written by finish()."""

    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.pcap = os.path.join(out, "wire.pcap")
        self.t0 = time.monotonic()
        self.logs = {}              # file name -> Firmware or text
        self.battery = None         # {'soc_start', 'soc_end', 'net_wh'}
        self.meter_wh = None
        self.end = None             # None, or why the run ended early
        self.server = None          # the wire server: its cable's power path
        self.cable = None           # the power path's snapshot at the end
        self.hosts = {}             # --tls: role -> HostSide
        self.pki = None             # --tls: the PKI directory
        self.se050 = None           # --tls: the SE050 models' stats
        self.host_lost = None       # --pull-host-link-after: what the fault did
        self.case = None            # --contract: the variant's folder
        self.expected = None        # --auth pnc: the AuthorizationRes code the run expects
        self.pnc_pull = None        # --pull-host-link-during-pnc: what the fault did
        self.ev_exit = None         # our EV's exit code and why it ended
        self.meter = None           # (charged, discharged) Wh of our charger's meter

    def path(self, name):
        return os.path.join(self.out, name)

    def keep(self, name, source):
        """source: a Firmware (its whole output is written at the end) or text."""
        self.logs[name] = source

    def read_totals(self):
        """The meter our charger read through its power seam when it exited,
        and the pack on the cable it drove (a peer charger has no power
        stage on our cable: that run is judged from the wire alone)."""
        fw = self.logs.get("charger.log")
        if fw is None:
            return
        m = _last(fw.lines, r"METER (-?[\d.]+)/(-?[\d.]+)")
        if m:
            self.meter_wh = float(m.group(1)) - float(m.group(2))
            self.meter = (float(m.group(1)), float(m.group(2)))
        if self.cable is not None:
            self.battery = {"soc_start": self.cable["pack_soc_start"], "soc_end": self.cable["pack_soc"],
                            "net_wh": self.cable["pack_net_wh"]}

    def _host_lost_verdict(self, session):
        """The fault run's verdict: power flowed when the charger's host link
        was pulled, and the charger ended (exit 0: its session closed) with
        no power flowing and its contactor open."""
        h = self.host_lost
        reasons = []
        if h is None:
            reasons.append("host link lost: the fault was not injected")
        else:
            if not h["powered_before"]:
                reasons.append("host link lost: no power flowed when the link was pulled")
            if h["powered_after"] or h["contactor_closed_after"]:
                reasons.append("host link lost: power still flows after the charger ended")
            if h["charger_saw_host_lost_ms"] is None:
                reasons.append("host link lost: the charger never reported it")
            if h["charger_exit"] != 0:
                reasons.append("host link lost: the charger exited with %s" % h["charger_exit"])
        return {"verdict": "fail" if reasons else "pass", "reasons": reasons, "host_lost": h,
                "session_checks": session.get("checks"), "wire_wh": session.get("wire_wh")}

    def tls_report(self, msgs):
        """result.json's "tls": what each host's endpoint negotiated and
        checked, the SE050 models' signatures; problems if a message went in
        the clear or a side did not complete its handshake."""
        sides = {role: h.info() for role, h in self.hosts.items()}
        report = {"pki": self.pki, "keylog": KEYLOG, "problems": []}
        for role, info in sides.items():
            done = [x for x in info["handshakes"] if x.get("version")]
            last = done[-1] if done else {}
            report[role] = {"version": last.get("version"), "suite": last.get("suite"),
                            "group": last.get("group"), "subject": (last.get("own_chain") or [None])[0],
                            "peer_subjects": last.get("peer_chain"), "handshakes": len(done),
                            "signatures_requested": sum(x.get("signatures", 0) for x in info["handshakes"]),
                            "key_id": info["key_id"], "host": info}
            if role == "charger":
                report[role]["ocsp_stapled"] = last.get("ocsp_stapled")
            else:
                report[role]["ocsp"] = last.get("ocsp")
            if not done:
                report["problems"].append("tls: the %s's host completed no TLS handshake" % role)
        names = {"charger": "charger", "vehicle": "vehicle"}
        se = {}
        for board, stats in (self.se050 or {}).items():
            cmds = stats.get("commands", {})
            se[names.get(board, board)] = {"signatures": cmds.get("ECDSASign", 0), "commands": cmds,
                                           "apdus": stats.get("apdus"), "nacks": stats.get("nacks")}
        report["se050"] = se
        clear = [m for m in msgs if not m.get("tls")]
        if clear:
            report["problems"].append("tls: %d V2G messages in the clear on the wire" % len(clear))
        report["messages_decrypted"] = len(msgs) - len(clear)
        return report

    def auth_report(self, msgs):
        """result.json's "auth": what was asked and expected, the services
        offered and used, each attempt with its code, the eMAID of the
        contract the EV sent, the charger host's verification (code, reasons,
        ms), the SE050 commands per side, and what flowed through the
        charger."""
        from host.bench.host_side import emaid_of
        a = self.args
        offered, attempts = verdict.auth_exchanges(msgs)
        pnc = next((x for x in attempts if x["service"] == "PnC"), None)
        used = next((x["service"] for x in reversed(attempts) if str(x["code"]).startswith("OK")), None)
        fallback = None
        if pnc is not None and pnc["code"] is not None and not pnc["code"].startswith("OK"):
            later = attempts[attempts.index(pnc) + 1:]
            if any(x["service"] == "EIM" for x in later):
                fallback = "EIM"
        emaid = emaid_of(pnc["leaf"]) if pnc is not None and pnc.get("leaf") else None
        charger = self.hosts.get("charger")
        checked = list(charger.pnc_log) if charger is not None else []
        se = {}
        for board, stats in (self.se050 or {}).items():
            cmds = dict(stats.get("commands", {}))
            se[board] = {"commands": cmds, "signatures": cmds.get("ECDSASign", 0)}
        vehicle = self.hosts.get("vehicle")
        if vehicle is not None and "vehicle" in se:
            tls_sigs = sum(x.get("signatures", 0) for x in vehicle.handshakes)
            se["vehicle"]["tls_signatures"] = tls_sigs
            se["vehicle"]["pnc_signatures"] = se["vehicle"]["signatures"] - tls_sigs
        strip = lambda x: {k: v for k, v in x.items() if k != "leaf"}  # noqa: E731
        power = verdict.power_summary(self.cable, self.meter)
        return {"asked": auth_mode(a), "contract": os.path.basename(self.case) if self.case else None,
                "expected": self.expected, "eim_fallback": bool(getattr(a, "eim_fallback", False)),
                "offered": offered, "service": used, "codes": [x["code"] for x in attempts if x["code"]],
                "attempts": [strip(x) for x in attempts], "pnc": strip(pnc) if pnc else None,
                "emaid": emaid, "fallback": fallback, "verification": checked,
                "verification_ms": checked[0].get("ms") if checked else None,
                "charger_verdicts": [rest for _, _, rest in self._charger_events("pnc_verdict")],
                "se050": se, "power": power, "ev_exit": self.ev_exit, "problems": []}

    def _charger_events(self, name):
        fw = self.logs.get("charger.log")
        return fw.events(name) if hasattr(fw, "events") else []

    def _pnc_verdict(self, session, auth, msgs):
        """An --auth pnc run: the session's checks plus the PnC ones; a
        refused contract without the EIM fallback is judged by its
        authorization alone (no charge to judge)."""
        a = self.args
        expected = self.expected or "OK"
        fallback = bool(getattr(a, "eim_fallback", False))
        pnc_checks = verdict.auth_checks(auth, expected, auth["power"], fallback)
        if expected.startswith("OK") or fallback and expected.startswith("WARNING"):
            # a charge follows (PnC, or EIM after the refusal): the session's checks too
            dicts = list(session["checks"]) + [c.as_dict() for c in pnc_checks]
            reasons = list(session["reasons"]) + [c.reason for c in pnc_checks if not c.ok]
        else:
            extra = []
            if expected.startswith("WARNING"):
                extra.append(verdict._session_stop(msgs))   # the EV ended politely
            dicts = [c.as_dict() for c in pnc_checks + extra]
            reasons = [c.reason for c in pnc_checks + extra if not c.ok]
        auth["problems"] = [c.reason for c in pnc_checks if not c.ok]
        return dict(session, verdict="fail" if reasons else "pass", reasons=reasons, checks=dicts)

    def _pnc_pull_verdict(self, session, auth):
        """--pull-host-link-during-pnc: the charger's host held the PnC
        verification, its link was pulled; nothing may be authorized and no
        power may flow; the charger ends (exit 0)."""
        h = self.pnc_pull
        reasons = []
        if h is None:
            reasons.append("host link lost during PnC: the fault was not injected")
        else:
            if h["charger_saw_host_lost_ms"] is None:
                reasons.append("host link lost during PnC: the charger never reported it")
            if h["charger_exit"] != 0:
                reasons.append("host link lost during PnC: the charger exited with %s" % h["charger_exit"])
        ok = [x for x in auth["attempts"] if str(x["code"]).startswith("OK")]
        if ok:
            reasons.append("host link lost during PnC: %s was authorized" % ok[0]["service"])
        if auth["pnc"] is None:
            reasons.append("host link lost during PnC: the EV sent no PnC AuthorizationReq")
        c = verdict.no_power(auth["power"], "with the host link lost during PnC")
        if not c.ok:
            reasons.append(c.reason)
        return {"verdict": "fail" if reasons else "pass", "reasons": reasons, "pnc_pull": h,
                "checks": [c.as_dict()], "wire_wh": session.get("wire_wh"), "messages": session.get("messages")}

    def finish(self):
        """Write every piece of evidence; returns the result dict."""
        if self.server is not None:
            self.cable = self.server.power(0)
            if self.hosts:
                self.se050 = self.server.se050_stats()
        self.read_totals()
        files = []
        for name, source in self.logs.items():
            lines = getattr(source, "lines", None)
            text = "\n".join(lines) if lines is not None else str(source)
            with open(self.path(name), "w") as f:
                f.write(text + "\n")
            files.append(name)
        msgs = []
        if os.path.exists(self.pcap):
            from host.capture import v2glog
            files.append("wire.pcap")
            keylog = self.path(KEYLOG) if os.path.exists(self.path(KEYLOG)) else None
            if keylog:
                files.append(KEYLOG)
            try:
                msgs = v2glog.messages(self.pcap, keylog)
            except (OSError, ValueError) as e:        # a capture cut short
                self.end = self.end or "capture unreadable: %s" % e
            v2glog.write_jsonl_messages(msgs, self.path("messages.jsonl"))
            files.append("messages.jsonl")
        for name in ("evcc.log", "secc.log", "evcc_config.json", "charger_board.json", "vehicle_board.json"):
            if name not in files and os.path.exists(self.path(name)):
                files.append(name)
        a = self.args
        charger_name = "our charger" if a.charger == "ours" else "python-iso15118's charger"
        result = verdict.judge(msgs, a.service, a.direction, battery=self.battery,
                               meter_wh=self.meter_wh, charger_name=charger_name)
        auth = self.auth_report(msgs)
        if getattr(a, "pull_host_link_after", None):
            result = self._host_lost_verdict(result)
        elif getattr(a, "pull_host_link_during_pnc", False):
            result = self._pnc_pull_verdict(result, auth)
        elif auth_mode(a) == "pnc":
            result = self._pnc_verdict(result, auth, msgs)
        result["auth"] = auth
        if self.end:
            result["verdict"] = "interrupted" if self.end in ("SIGINT", "SIGTERM") else "fail"
            result["reasons"].insert(0, self.end if self.end not in ("SIGINT", "SIGTERM")
                                     else "interrupted by " + self.end)
        if self.cable is not None:
            result["cable"] = self.cable
        if getattr(a, "tls", False):
            result["tls"] = self.tls_report(msgs)
            if result["tls"]["problems"] and result["verdict"] == "pass":
                result["verdict"] = "fail"
                result["reasons"].extend(result["tls"]["problems"])
        if a.charger != "ours":
            result["notes"] = ["python-iso15118's charger has no power stage on our cable: "
                               "the SoC and energy are judged from its loop reports"]
        result.update(asked={"service": a.service, "control": a.control, "direction": a.direction,
                             "soc": a.soc, "loops": a.loops, "tls": bool(getattr(a, "tls", False)),
                             "auth": auth_mode(a), "contract": getattr(a, "contract", None),
                             "eim_fallback": bool(getattr(a, "eim_fallback", False))},
                      pairing={"charger": a.charger, "ev": a.ev, "runtime": a.runtime},
                      battery=self.battery, meter_wh=self.meter_wh,
                      seconds=round(time.monotonic() - self.t0, 2),
                      files=sorted(files + ["result.json"]))
        with open(self.path("result.json"), "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        return result


def auth_mode(args):
    """'pnc' or 'eim' (the default; --contract implies pnc)."""
    mode = getattr(args, "auth", None)
    if mode is None:
        mode = "pnc" if getattr(args, "contract", None) else "eim"
    return mode


def check_args(args):
    if args.direction == "discharge" and not args.service.endswith("_bpt"):
        raise ValueError("--direction discharge needs an _bpt service")
    pnc = auth_mode(args) == "pnc"
    if getattr(args, "contract", None) and not pnc:
        raise ValueError("--contract is a Plug-and-Charge contract: use it with --auth pnc")
    if pnc and not getattr(args, "tls", False):
        raise ValueError("--auth pnc needs --tls (no contract certificate over plain TCP)")
    for opt in ("eim_fallback", "pull_host_link_during_pnc"):
        if getattr(args, opt, False) and not pnc:
            raise ValueError("--%s needs --auth pnc" % opt.replace("_", "-"))
    if getattr(args, "pull_host_link_during_pnc", False) and getattr(args, "pull_host_link_after", None):
        raise ValueError("one host link fault at a time")
    if getattr(args, "pull_host_link_after", None) and not getattr(args, "tls", False):
        raise ValueError("--pull-host-link-after needs --tls (the host link carries TLS)")
    if getattr(args, "tls", False) and "josev" in (args.ev, args.charger):
        raise ValueError("--tls runs our charger and our EV (each with its host terminating TLS)")
    if "josev" in (args.ev, args.charger) and os.geteuid() != 0:
        raise RuntimeError("--ev josev / --charger josev need root (network namespaces)")


def run(args):
    check_args(args)
    if getattr(args, "fault", None):
        return run_fault(args)
    out = args.out or DEFAULT_OUT
    removed = prepare_out(out)
    r = Run(args, out)
    print("%s sim: %s, %s control, %s; charger %s, EV %s, %s%s; evidence in %s/%s" % (
        PROG, args.service, args.control, args.direction, args.charger, args.ev, args.runtime,
        ", TLS 1.3" if getattr(args, "tls", False) else "",
        out, " (previous run's files removed)" if removed else ""), flush=True)
    with _Signals():
        try:
            if "josev" in (args.ev, args.charger):
                _run_with_josev(args, r)
            else:
                _run_ours(args, r)
        except Interrupted as e:
            r.end = str(e)
        except (FirmwareError, RuntimeError, OSError) as e:
            r.end = str(e).splitlines()[0] if str(e) else type(e).__name__
        finally:
            result = r.finish()
    _report(result, out)
    if result["verdict"] == "interrupted":
        return 130
    return 0 if result["verdict"] == "pass" else 1


def _report(result, out):
    auth = result.get("auth") or {}
    if auth.get("asked") == "pnc" and not result.get("pnc_pull"):
        pnc = auth.get("pnc") or {}
        v = (auth.get("verification") or [{}])[0]
        print("%s sim: PnC%s: %s (expected %s), eMAID %s, %s%s%s" % (
            PROG, " with " + auth["contract"] if auth.get("contract") else "", pnc.get("code"),
            auth.get("expected"), auth.get("emaid"),
            "verified by the charger's host in %s ms" % v["ms"] if v.get("ms") is not None
            else "not verified by the charger's host",
            "; fallback to %s" % auth["fallback"] if auth.get("fallback") else "",
            "" if auth.get("service") else "; nothing authorized"), flush=True)
    p = result.get("pnc_pull")
    if p and result["verdict"] == "pass":
        print("%s sim: pass: host link pulled while the PnC verification was pending; the charger saw it "
              "at t=%d ms, authorized nothing and ended with no power (%s/result.json)" % (
                  PROG, p["charger_saw_host_lost_ms"], out), flush=True)
        return
    if result["verdict"] == "pass" and auth.get("asked") == "pnc" and auth.get("service") is None:
        power = auth.get("power") or {}
        print("%s sim: pass: %s refused as expected, no power (meter %.3f Wh, contactor never closed) "
              "(%s/result.json)" % (PROG, auth.get("expected"), power.get("meter_charged_wh") or 0.0, out),
              flush=True)
        return
    h = result.get("host_lost")
    if h and result["verdict"] == "pass":
        print("%s sim: pass: host link pulled after %d charge loops; the charger saw it at t=%d ms and "
              "ended with no power flowing (%s/result.json)" % (PROG, h["loops"], h["charger_saw_host_lost_ms"],
                                                               out), flush=True)
        return
    if result["verdict"] == "pass":
        figures = []
        b = result.get("battery")
        if b:
            figures.append("SoC %.2f -> %.3f %%" % (b["soc_start"], b["soc_end"]))
        if result.get("meter_wh") is not None:
            figures.append("meter %+.3f Wh" % result["meter_wh"])
        if b:
            figures.append("battery %+.3f Wh" % b["net_wh"])
        figures.append("wire %+.3f Wh" % result["wire_wh"])
        for note in result.get("notes", []):
            print("%s sim: note: %s" % (PROG, note), flush=True)
        print("%s sim: pass: %s (%s/result.json)" % (PROG, ", ".join(figures), out), flush=True)
    else:
        for reason in result["reasons"]:
            print("%s sim: %s: %s" % (PROG, result["verdict"], reason), flush=True)
        print("%s sim: evidence in %s/" % (PROG, out), flush=True)


def _vehicle_args(args, *extra):
    return ("--service", args.service, "--control", args.control, "--direction", args.direction,
            "--loops", str(args.loops), "--soc", str(args.soc)) + extra


def ensure_pki(directory, variants=False):
    """A PKI in directory (host/pki's `pki init`: the hierarchy and its bad
    variants), made when absent; variants: write DIR/variants/ into a PKI
    that has none."""
    from host.pki import variants as _variants
    from host.pki.ca import Pki
    if os.path.exists(os.path.join(directory, "pki.json")):
        if variants and not os.path.isdir(os.path.join(directory, "variants")):
            _variants.make_variants(Pki.open(directory))
        return directory
    _variants.make_variants(Pki.create(directory, force=True))
    return directory


def tls_setup(args, r):
    """--tls: the PKI, both hosts (HostSide), the firmware's extra arguments
    and the wire server's SE050 bundles."""
    from host.bench.host_side import (LEAF, HostSide, KeyLog, chain_files, contract_refs, contract_source,
                                      read_case, vehicle_bundle)
    from host.pki import se050 as pki_se050
    from host.pnc.verify import Verifier

    contract = getattr(args, "contract", None)
    pki = ensure_pki(args.pki or r.path("pki"), variants=bool(contract))
    r.pki = pki
    pnc = auth_mode(args) == "pnc"
    if contract:
        r.case = contract_source(pki, contract)
        r.expected = read_case(r.case)["response_code"]
    elif pnc:
        r.expected = "OK"
    keylog = KeyLog(r.path(KEYLOG))
    extra = {}
    for role in ("charger", "vehicle"):
        kw = {}
        if role == "charger":
            # the charger's host judges PnC with the PKI's roots, CRLs and OCSP responses
            kw = {"pnc": Verifier.from_pki(pki), "hold_pnc": bool(getattr(args, "pull_host_link_during_pnc", False))}
        r.hosts[role] = HostSide(role, pki, keylog, **kw)
        entry = pki_se050.entry(pki, LEAF[role][1], LEAF[role][0])
        cert = int(entry["cert"]["object_id"], 16)
        # the chains go in a board settings file (boardsetup.py's board file keys): MicroPython's
        # unix port dies on a command-line argument of more than 255 bytes, file paths make long ones
        board = {"kind": "sim", "tls": True, "tls_key": entry["key"]["object_id"],
                 "tls_chain": ["0x%08X" % cert] + chain_files(pki, role)}
        if role == "vehicle" and pnc:
            key, refs = contract_refs(pki, r.case)
            board.update(auth="pnc", contract_key="0x%08X" % key,
                         contract_chain=["0x%08X" % refs[0]] + refs[1:],
                         eim_fallback=bool(getattr(args, "eim_fallback", False)))
        path = r.path(role + "_board.json")
        with open(path, "w") as f:
            json.dump(board, f, indent=1)
            f.write("\n")
        extra[role] = ("--board", path, "--host-link", r.hosts[role].path, "--tls", "1")
    bundles = {"evse": pki_se050.bundle_path(pki, "charger"), "pev": pki_se050.bundle_path(pki, "vehicle")}
    if pnc:
        # the vehicle's SE050: the PKI's keys, the contract's key and certificate in it
        bundles["pev"] = vehicle_bundle(pki, r.case)
    return extra, bundles


def _close_hosts(r):
    for h in r.hosts.values():
        try:
            h.close()
        except OSError:
            pass


def _run_ours(args, r):
    progress = Progress(r.t0)
    extra = {"charger": (), "vehicle": ()}
    wire = {}
    if getattr(args, "tls", False):
        extra, wire["se050"] = tls_setup(args, r)
    try:
        with LinkBench(pcap=r.pcap, runtime=args.runtime, on_line=progress.line,
                       charger_script=SECC_MAIN, vehicle_script=EVCC_MAIN,
                       charger_args=("--sessions", "1") + extra["charger"],
                       vehicle_args=_vehicle_args(args) + extra["vehicle"], **wire) as bench:
            r.keep("charger.log", bench.charger)
            r.keep("vehicle.log", bench.vehicle)
            r.server = bench.server
            bench.plug()
            if getattr(args, "pull_host_link_after", None):
                _pull_host_link(args, r, bench, progress)
            elif getattr(args, "pull_host_link_during_pnc", False):
                _pull_during_pnc(args, r, bench, progress)
                return              # judged by its own checks (result.json "pnc_pull")
            rc = _wait_exit(bench.vehicle, args.timeout)
            r.ev_exit = {"code": rc, "why": _ev_failure(bench.vehicle, rc)}
            bench.charger.wait_exit(15)
    finally:
        _close_hosts(r)
    if getattr(args, "pull_host_link_after", None):
        return                      # judged by its own checks (result.json "host_lost")
    refused = r.expected is not None and not r.expected.startswith("OK")
    if refused and not getattr(args, "eim_fallback", False):
        return                      # the EV ends the session after the refusal: judged by "auth"
    if rc != 0:
        raise RuntimeError("our EV did not complete the session: %s" % _ev_failure(bench.vehicle, rc))


def _pull_host_link(args, r, bench, progress):
    """The fault 'host link lost': the charger's host closes its end of the
    pty after N charge loops; the charger must end with no power flowing."""
    loops = args.pull_host_link_after
    bench.charger.wait_event("secc", args.timeout)          # the session started
    deadline = time.monotonic() + args.timeout
    while sum(1 for _, _, rest in bench.charger.events("secc") if rest.startswith("power")) < loops:
        if time.monotonic() > deadline or bench.charger.proc.poll() is not None:
            raise RuntimeError("the charge loop did not reach %d loops" % loops)
        time.sleep(0.02)
    before = bench.server.power(0)
    progress.say("host", "charger's host link pulled after %d charge loops" % loops)
    t_fault = time.monotonic()
    r.hosts["charger"].close()
    rc = bench.charger.wait_exit(15)
    after = bench.server.power(0)
    seen = bench.charger.events("host_lost")
    r.host_lost = {"loops": loops, "powered_before": _flowing(before), "charger_exit": rc,
                   "powered_after": _flowing(after), "charger_exit_s": round(time.monotonic() - t_fault, 3),
                   "contactor_closed_after": after.get("charger_contactor"),
                   "charger_saw_host_lost_ms": seen[0][0] if seen else None,
                   "charger_stopped": [rest for _, _, rest in bench.charger.events("secc")
                                       if rest.startswith("stopped")]}


def _pull_during_pnc(args, r, bench, progress):
    """The fault 'host link lost while PnC is pending': the charger's host
    holds the PnC verification its MCU asked for, then closes its end of
    the link; nothing may be authorized, no power may flow."""
    host = r.hosts["charger"]
    if not host.pnc_held.wait(args.timeout):
        raise RuntimeError("the charger's host got no PnC verification request")
    time.sleep(0.3)                 # the EV repeats its request, answered Ongoing
    before = bench.server.power(0)
    progress.say("host", "charger's host link pulled while the PnC verification is pending")
    t_fault = time.monotonic()
    host.close()
    rc = bench.charger.wait_exit(15)
    after = bench.server.power(0)
    seen = bench.charger.events("host_lost")
    try:
        ev_rc = bench.vehicle.wait_exit(10)
    except FirmwareError:
        ev_rc = None
    r.ev_exit = {"code": ev_rc, "why": _ev_failure(bench.vehicle, ev_rc) if ev_rc is not None else "still running"}
    r.pnc_pull = {"held": len([x for x in host.pnc_log if x.get("held")]), "powered_before": _flowing(before),
                  "powered_after": _flowing(after), "charger_exit": rc,
                  "charger_exit_s": round(time.monotonic() - t_fault, 3),
                  "charger_saw_host_lost_ms": seen[0][0] if seen else None,
                  "charger_stopped": [rest for _, _, rest in bench.charger.events("secc")
                                      if rest.startswith("stopped")]}


def _flowing(snap):
    return bool(snap.get("charger_contactor")) and (abs(snap.get("current", 0.0)) > 0.01
                                                    or abs(snap.get("power", 0.0)) > 1)


def _wait_exit(fw, timeout):
    try:
        return fw.wait_exit(timeout)
    except FirmwareError:
        raise RuntimeError("timeout: the session did not end within %g s" % timeout) from None


# --- with python-iso15118 ("Josev") on one or both ends ---------------------



def _runs(pairs):
    return " ".join(name if n == 1 else "%sx%d" % (name, n) for name, n in pairs)


def _run_with_josev(args, r):
    """Josev runs on the kernel's TCP/IPv6 in a network namespace, on a TAP
    bridged into the wire behind a modem model; a SLAC agent puts that modem
    into the AVLN.  Our firmware, if any, is on the wire as a simulated board.
    Josev's logs go to --out."""
    from host.peers import josev, tap
    from host.peers.tap import EV_TAP_MAC, EVSE_TAP_MAC

    if args.direction == "discharge" and args.ev == "josev":
        raise ValueError("python-iso15118's EV only charges; use --direction charge")
    josev.check_installed()
    service = args.service.upper()
    progress = Progress(r.t0)
    if args.ev == "josev" and args.charger == "josev":
        res = josev.josev_over_wire(service, args.control, timeout=args.timeout, pcap=r.pcap,
                                    log_dir=r.out)
        if not res.ok:
            raise RuntimeError("python-iso15118 against itself did not complete the session")
        progress.say("both", "sequence: " + _runs(josev.runs(res.sequence)))
        return
    if args.ev == "josev":                        # Josev's EV, our charger
        with tap.NetNs() as ns, LinkBench(pcap=r.pcap, runtime=args.runtime, vehicle=False,
                                          on_line=progress.line, charger_script=SECC_MAIN,
                                          charger_args=("--sessions", "1")) as bench:
            r.keep("charger.log", bench.charger)
            r.server = bench.server
            t = josev.tap_on_wire(bench.server, ns, "pev", EV_TAP_MAC)
            try:
                bench.plug()
                bench.charger.wait_event("plugged", 10)
                josev.join_avln(("pev", t, ns, EV_TAP_MAC))
                progress.say("vehicle", "python-iso15118 EVCC starting on %s" % t.name)
                with josev.JosevEvcc(ns, t.name, service=service, control=args.control,
                                     log_dir=r.out) as ev:
                    ok = ev.wait_done(args.timeout)
                    seq = ev.sequence()
                bench.charger.wait_exit(15)
            finally:
                t.close()
        if not ok:
            raise RuntimeError("python-iso15118's EV did not finish its session")
        progress.say("vehicle", "sequence: " + _runs(josev.runs(seq)))
        return
    # our EV, Josev's charger.  Josev's simulated SECC has no power stage
    # (1 V present voltage) and answers its first messages slowly.
    protocol = "ISO_15118_20_DC" if args.service.startswith("dc") else "ISO_15118_20_AC"
    vehicle_args = _vehicle_args(args, "--precharge-tolerance", "1000", "--msg-timeout", "6000",
                                 "--loop-timeout", "3000")
    with tap.NetNs() as ns, LinkBench(pcap=r.pcap, runtime=args.runtime, charger=False,
                                      on_line=progress.line, vehicle_script=EVCC_MAIN,
                                      vehicle_args=vehicle_args) as bench:
        r.keep("vehicle.log", bench.vehicle)
        t = josev.tap_on_wire(bench.server, ns, "evse", EVSE_TAP_MAC)
        try:
            with josev.JosevSecc(ns, t.name, protocols=(protocol,), log_dir=r.out) as secc:
                secc.wait_ready()
                progress.say("charger", "python-iso15118 SECC ready on %s" % t.name)

                def plug():
                    bench.server.set_duty(50)
                    bench.plug()
                josev.join_avln(("evse", t, ns, EVSE_TAP_MAC), after_start=plug)
                rc = _wait_exit(bench.vehicle, args.timeout)
        finally:
            t.close()
    if rc != 0:
        raise RuntimeError("our EV did not complete the session with python-iso15118's charger: %s"
                           % _ev_failure(bench.vehicle, rc))


def _ev_failure(fw, rc):
    """Why our EV ended: the last 'evcc failed ...' line it printed."""
    m = _last(fw.lines, r"^t=\d+ evcc failed (.*)$")
    return m.group(1) if m else "exit %s" % rc


def run_fault(args):
    """`sim --fault NAME@STATE`: one cell of the fault matrix (host/bench/faults.py,
    our charger and EV on the virtual-clock engine): the fault injected when
    the session reaches STATE; result.json holds the cell's measurements."""
    from host.bench import faults

    name, _, state = args.fault.partition("@")
    if not state:
        raise ValueError("--fault takes NAME@STATE, e.g. cp_a@ChargeLoop")
    if args.ev != "ours" or args.charger != "ours":
        raise ValueError("--fault runs our charger and EV (the fault matrix engine)")
    out = args.out or DEFAULT_OUT
    prepare_out(out)
    cell = faults.run_cell(name, state, service=args.service)
    cell["verdict"] = "pass" if cell["passed"] else ("n/a" if not cell.get("applicable", True) else "fail")
    cell["files"] = ["result.json"]
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(cell, f, indent=1, default=repr)
        f.write("\n")
    print("%s sim: fault %s at %s (%s): %s" % (PROG, name, state, args.service, faults.cell_text(cell)))
    print(faults.LEGEND)
    for why in cell.get("fails", []) + ([cell["reason"]] if cell.get("reason") else []):
        print("%s sim: %s" % (PROG, why))
    return 0 if cell["passed"] else 1
