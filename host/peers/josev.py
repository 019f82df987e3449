"""python-iso15118 0.31.2 ("Josev") as a -20 peer, run inside network namespaces.

Josev needs a real interface that is up, supports multicast and has an fe80::
address (not loopback: it joins the SDP multicast group).  The harness gives it one in a
namespace it creates, starts its SECC and/or EVCC there with `ip netns exec`,
captures their logs to files and parses progress from them as they arrive:

    from host.peers.josev import JosevSecc, JosevEvcc, josev_vs_josev, josev_over_wire

    r = josev_vs_josev("DC")              # a fresh netns + veth, SECC and EVCC
    assert r.ok, r.report()
    r.sequence      # ['SupportedAppProtocol', 'SessionSetup', ..., 'SessionStop']
    r.pairs         # [Pair(req, res, t_req, t_res, code), ...] as the EVCC saw them
    r.timings       # {'secc_ready': 1.5, 'evcc_sdp': 1.6, 'sap_to_stop': 5.1, ...} (s)

    with JosevSecc(ns, "veth0", protocols=("ISO_15118_20_AC",)) as secc:
        secc.wait_ready()                 # "UDP server started"
        with JosevEvcc(ns, "veth1", service="AC") as ev:
            ev.wait_done(60)              # SessionStopRes, exit or failure
            ev.sequence(), ev.timings(), ev.returncode

Both classes take a host.peers.tap.NetNs (or a namespace name), the interface name
inside it, and `log_dir` (default: a fresh temp dir, kept for post mortems);
each process runs in an empty temp cwd (Josev reads a `.env` from its cwd) with
a minimal environment we build (nothing leaks in from the caller).  Every wait
has its own timeout, and stop()/close() kill the whole process group (Josev's
java child included) even after a failure; Josev's EVCC may hang after a
failed session, so never wait on it without a timeout.

The control mode: Josev's simulated EV takes the first parameter set the
charger offers.  `JosevEvcc(control='scheduled'|'dynamic')` starts it through
host/peers/josev_evcc.py, which makes it pick the first offered set with that
ControlMode instead; control=None leaves Josev's own choice.

Our firmware on the other side
------------------------------
Josev always runs on the kernel's IPv6/TCP.  Our SECC or EVCC firmware runs on
the MicroPython unix port as a simulated board of the wire server
(host/bench/wire_server.py, started by host.bench.linkrun.LinkBench), with the QCA7000
model and its modem on the virtual PLC wire.  The kernel side joins that wire
through a TAP bridge, exactly as tests/test_interop_kernel.py does:

    with NetNs() as ns, LinkBench(vehicle=False) as bench:      # our charger
        t = tap_on_wire(bench.server, ns, "pev", EV_TAP_MAC)      # the "PC + modem"
        bench.plug()
        bench.charger.wait_event("plugged", 10)
        join_avln(("pev", t, ns, EV_TAP_MAC))                   # SLAC agent joins the AVLN
        with JosevEvcc(ns, t.name, service="DC", control="dynamic") as ev:
            assert ev.wait_done(90), ev.log_text(tail=30)      # Josev's EV, our charger
        t.close()

Mirror image for our EVCC (LinkBench(charger=False)): tap_on_wire(..., "evse",
EVSE_TAP_MAC), JosevSecc(ns, t.name, protocols=...) and wait_ready(), then
join_avln(("evse", t, ns, EVSE_TAP_MAC), after_start=lambda:
(bench.server.set_duty(50), bench.plug())); our vehicle firmware then finds
Josev's SECC by SDP through the wire; read secc.pairs()/secc.sequence().

josev_over_wire() runs Josev against Josev across that same path (two
namespaces, two TAP bridges, two SLAC agents, one AVLN): the proof that the
kernel side of it works (tests/test_josev_baseline.py).  A firmware build
that speaks TCP on a veth directly could instead use `JosevSecc(ns, veth)`
with the other veth end.  Known Josev quirk for our SECC: its EV rejects a
Scheduled ScheduleExchangeRes whose schedule has no price schedule.

Command line (from the repo root, as root):
    python -m host.peers.josev DC|AC|DC_BPT|AC_BPT [--control scheduled|dynamic|josev]
                                [--wire] [--runs N] [--log-dir DIR]
"""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVCC_LAUNCHER = HERE / "josev_evcc.py"
PYTHON = sys.executable          # the venv that has iso15118 (and aiofile)

SERVICES = ("AC", "DC", "AC_BPT", "DC_BPT")
CONTROL_MODES = {"scheduled": 1, "dynamic": 2}
PROTOCOL_OF = {"AC": "ISO_15118_20_AC", "AC_BPT": "ISO_15118_20_AC",
               "DC": "ISO_15118_20_DC", "DC_BPT": "ISO_15118_20_DC"}
EXAMPLE_CONFIG = {"AC": "evcc_config_ac.json", "DC": "evcc_config_dc.json",
                  "AC_BPT": "evcc_config_ac_bpt.json", "DC_BPT": "evcc_config_dc_bpt.json"}

# "INFO    2026-11-25 00:32:19,488 - iso15118.shared.states (139): Entered state X"
LINE_RE = re.compile(r"^(\w+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (\S+) \(\d+\): (.*)$")
MSG_RE = re.compile(r'^(Message to encode|Decoded message) \(ns=([^)]*)\): (\{.*)$')
NAME_RE = re.compile(r'^\{\s*"(\w+)"')
BODY_RE = re.compile(r'"Body"\s*:\s*\{\s*"(\w+)"')           # -2 / DIN V2G_Message
CODE_RE = re.compile(r'"ResponseCode"\s*:\s*"(\w+)"')
MODE_RE = re.compile(r'"(\w+ControlMode)"')                 # Scheduled_SEReqControlMode, ...


class JosevError(Exception):
    pass


def check_installed():
    """Fail with a useful message if Josev or java is missing (no skips)."""
    if shutil.which("java") is None:
        raise JosevError("java not found (Josev's EXI codec is a jar): "
                         "apt-get install default-jre-headless")
    proc = subprocess.run([PYTHON, "-c", "import iso15118, aiofile; print(iso15118.__file__)"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise JosevError("python-iso15118 not importable by %s: %s (pip install iso15118 aiofile)"
                         % (PYTHON, proc.stderr.strip()[-300:]))
    return Path(proc.stdout.strip()).parent


_package_dir = None


def package_dir():
    global _package_dir
    if _package_dir is None:
        _package_dir = check_installed()
    return _package_dir


def evcc_config(service="DC", overrides=None):
    """Josev's example -20 EVCC config for `service`, with overrides (a dict)."""
    if service not in SERVICES:
        raise ValueError("service must be one of %s" % (SERVICES,))
    path = package_dir() / "shared" / "examples" / "evcc" / "iso15118_20" / EXAMPLE_CONFIG[service]
    config = json.loads(path.read_text())
    config.setdefault("useTls", False)
    config.update(overrides or {})
    return config


def _base_env():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO",
           "MESSAGE_LOG_JSON": "true", "MESSAGE_LOG_EXI": "false"}
    for key in ("JAVA_HOME", "TZ"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _wall(stamp):
    # Josev logs local wall time with ms; this is the same clock as time.time().
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


class Message:
    """One V2G message as Josev logged it: tx = it encoded it (t: just before
    its encoder ran), rx = it decoded it (t: just after its decoder ran), so a
    pair's t_res - t_req includes both ends' EXI codec.  `modes` are the -20
    control-mode elements in it (e.g. 'Dynamic_DC_CLReqControlMode')."""
    __slots__ = ("t", "direction", "name", "ns", "code", "modes")

    def __init__(self, t, direction, name, ns, code, modes=()):
        self.t, self.direction, self.name, self.ns, self.code = t, direction, name, ns, code
        self.modes = tuple(modes)

    def __repr__(self):
        return "%s %s%s" % (self.direction, self.name, " " + self.code if self.code else "")


class Pair:
    """One request and its response (res None if none came)."""
    __slots__ = ("req", "res", "t_req", "t_res", "code")

    def __init__(self, req, t_req):
        self.req, self.t_req = req, t_req
        self.res = self.t_res = self.code = None

    @property
    def name(self):
        return base_name(self.req)

    def __repr__(self):
        return "%s->%s(%s)" % (self.req, self.res, self.code)


def base_name(msg_name):
    """'supportedAppProtocolReq' -> 'SupportedAppProtocol', 'DC_ChargeLoopRes' -> 'DC_ChargeLoop'."""
    name = msg_name[:1].upper() + msg_name[1:]
    if name.endswith(("Req", "Res")):
        name = name[:-3]
    return name


def runs(sequence):
    """Collapse repeats: ['A', 'B', 'B'] -> [('A', 1), ('B', 2)]."""
    out = []
    for name in sequence:
        if out and out[-1][0] == name:
            out[-1] = (name, out[-1][1] + 1)
        else:
            out.append((name, 1))
    return out


class JosevProcess:
    """One Josev process in a namespace, its log on disk and parsed as it comes."""

    role = None

    def __init__(self, netns, iface, argv, env, log_dir=None, name=None):
        self.netns = getattr(netns, "name", netns)
        self.iface = iface
        self.name = name or self.role
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="josev-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / (self.name + ".log")
        self.cwd = tempfile.mkdtemp(prefix="josev-cwd-")
        self._init_state(time.time())
        self._logf = open(self.log_path, "w")
        cmd = ["ip", "netns", "exec", self.netns] + list(argv)
        self._logf.write("# %s\n# env: %s\n" % (" ".join(cmd), " ".join(
            "%s=%s" % kv for kv in sorted(env.items()) if kv[0] not in ("PATH", "HOME"))))
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace", start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name="josev-" + self.name)
        self._reader.start()

    def _init_state(self, t_start):
        self.lines = []            # (wall time, level, logger, text)
        self.messages = []         # Message, in log order
        self.marks = {}            # first time of each milestone (wall clock)
        self.errors = []           # ERROR/CRITICAL lines, tracebacks
        self.returncode = None
        self._cond = threading.Condition()
        self.t_start = t_start

    @classmethod
    def from_log(cls, lines, t_start=None):
        """Parse a saved log (path or lines) without running anything; for
        tests of the parser and for re-reading old runs."""
        if isinstance(lines, (str, Path)):
            lines = Path(lines).read_text(errors="replace").splitlines()
        self = cls.__new__(cls)
        self._init_state(t_start)
        self.proc = None
        for line in lines:
            self._parse(line, t_start or 0.0)
        if self.t_start is None:
            self.t_start = min([t for t, _, lg, _ in self.lines if lg] or [0.0])
        return self

    # -- parsing ---------------------------------------------------------------
    def _read(self):
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            now = time.time()
            self._logf.write(line + "\n")
            self._logf.flush()
            with self._cond:
                self._parse(line, now)
                self._cond.notify_all()
        rc = self.proc.wait()
        with self._cond:
            self.returncode = rc
            self.marks.setdefault("exit", time.time())
            self._cond.notify_all()
        self._logf.close()

    def _mark(self, key, t):
        self.marks.setdefault(key, t)

    def _parse(self, line, now):
        m = LINE_RE.match(line)
        if not m:
            if line.startswith("Traceback") or re.match(r"^\w+(Error|Exception)\b", line):
                self.errors.append(line)
            self.lines.append((now, "", "", line))
            return
        level, stamp, logger, text = m.groups()
        t = _wall(stamp)
        self.lines.append((t, level, logger, text))
        if level in ("ERROR", "CRITICAL"):
            self.errors.append(text)
        mm = MSG_RE.match(text)
        if mm:
            verb, ns, body = mm.groups()
            nm = NAME_RE.match(body)
            name = nm.group(1) if nm else "?"
            if name == "V2G_Message":
                bm = BODY_RE.search(body)
                name = bm.group(1) if bm else name
            cm = CODE_RE.search(body)
            self._on_message(Message(t, "tx" if verb.startswith("Message") else "rx",
                                     name, ns, cm.group(1) if cm else None,
                                     MODE_RE.findall(body)))
            return
        self._on_text(t, text)

    def _on_message(self, msg):
        self.messages.append(msg)
        self._mark(msg.direction + ":" + msg.name, msg.t)
        if msg.name == "supportedAppProtocolReq":
            self._mark("sap", msg.t)
        elif msg.name == "SessionStopRes":
            self._mark("stop", msg.t)
        elif msg.code and msg.code.upper().startswith("FAILED"):
            self._mark("failed", msg.t)        # SAP says Failed_NoNegotiation

    def _on_text(self, t, text):
        if text.startswith("EXI Codec version"):
            self._mark("codec", t)
        elif "TCP connection closed" in text:
            self._mark("closed", t)

    # -- waiting ---------------------------------------------------------------
    def wait_until(self, predicate, timeout):
        """Wait until predicate() (called under the lock) is true or the
        process ended; returns predicate()'s last value."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value or self.returncode is not None:
                    return value
                left = end - time.monotonic()
                if left <= 0:
                    return value
                self._cond.wait(min(left, 0.5))

    def wait_mark(self, key, timeout):
        """Wall time of milestone `key` (see .marks), or None on timeout/exit."""
        return self.wait_until(lambda: self.marks.get(key), timeout)

    def wait_exit(self, timeout):
        """The return code, or None if still running after `timeout` s."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(5)
        return self.returncode

    # -- results ---------------------------------------------------------------
    def pairs(self):
        """Request/response pairs from this side's log."""
        with self._cond:
            msgs = list(self.messages)
        out = []
        for msg in msgs:
            if msg.name.endswith("Req"):
                out.append(Pair(msg.name, msg.t))
            elif msg.name.endswith("Res") and out and out[-1].res is None \
                    and base_name(out[-1].req) == base_name(msg.name):
                out[-1].res, out[-1].t_res, out[-1].code = msg.name, msg.t, msg.code
        return out

    def sequence(self):
        """Base names of the requests in order: ['SupportedAppProtocol', ...]."""
        return [p.name for p in self.pairs()]

    def sessions(self):
        """pairs() split at each SupportedAppProtocolReq: one list per TCP
        session (a SECC kept running serves several EVs)."""
        out = []
        for p in self.pairs():
            if p.name == "SupportedAppProtocol" or not out:
                out.append([])
            out[-1].append(p)
        return out

    def responses(self, name):
        return [m for m in self.messages if m.name == name]

    def control_modes(self):
        """The set of control-mode element names seen in this side's messages."""
        return set(mode for m in self.messages for mode in m.modes)

    def latencies(self):
        """(request base name, seconds from request to response) per answered pair."""
        return [(p.name, p.t_res - p.t_req) for p in self.pairs() if p.res is not None]

    def session_stopped_ok(self):
        return any(m.name == "SessionStopRes" and m.code == "OK" for m in self.messages)

    def timings(self):
        """Seconds from this process's start to each milestone it reached."""
        with self._cond:
            return {k: round(v - self.t_start, 3) for k, v in self.marks.items()}

    def log_text(self, tail=None):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        if tail:
            text = "\n".join(text.splitlines()[-tail:])
        return text

    # -- lifecycle -------------------------------------------------------------
    def stop(self, grace=3.0):
        """SIGINT (Josev exits cleanly on it), then SIGTERM, then SIGKILL to the
        whole process group (python and its java).  Returns the exit code."""
        if self.proc is None:              # parsed from a saved log
            return self.returncode
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # the java gateway may outlive its python parent in the same group
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._reader.join(5)
        if self.returncode is None:
            self.returncode = self.proc.poll()
        shutil.rmtree(self.cwd, ignore_errors=True)
        return self.returncode

    def group_alive(self, settle=1.0):
        """True if a live (non-zombie) process of this run's process group is
        still there, checked for up to `settle` s.  Zombies do not count: the
        java child is reparented to init when its python parent dies, and
        this VM's init reaps them late."""
        if self.proc is None:
            return False
        end = time.monotonic() + settle
        while True:
            if not _live_members(self.proc.pid):
                return False
            if time.monotonic() > end:
                return True
            time.sleep(0.05)

    close = stop

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        # unwinding (an interrupted run): no 3 s grace for a clean exit
        self.stop(grace=0.5 if exc_type is not None else 3.0)


def _live_members(pgid):
    """PIDs in process group `pgid` that are not zombies (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()     # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in "ZX":
            out.append(int(entry))
    return out


class JosevSecc(JosevProcess):
    """Josev's SECC (built-in simulated charger) on `iface` in `netns`."""

    role = "secc"

    def __init__(self, netns, iface, protocols=("ISO_15118_20_DC",), auth="EIM",
                 extra_env=None, log_dir=None, name=None):
        package_dir()
        if isinstance(protocols, str):
            protocols = (protocols,)
        if isinstance(auth, str):
            auth = (auth,)
        env = _base_env()
        env.update(NETWORK_INTERFACE=iface, PROTOCOLS=",".join(protocols),
                   AUTH_MODES=",".join(auth), SECC_ENFORCE_TLS="false")
        env.update({k: str(v) for k, v in (extra_env or {}).items()})
        self.protocols = tuple(protocols)
        super().__init__(netns, iface, [PYTHON, "-m", "iso15118.secc.main"], env, log_dir, name)

    def _on_text(self, t, text):
        super()._on_text(t, text)
        if text.startswith("UDP server started"):
            self._mark("ready", t)
        elif text.startswith("SDPRequest received"):
            self._mark("sdp", t)
        elif text.startswith("Sending SDPResponse"):
            self._mark("sdp_res", t)
        elif text.startswith("TCP client connected"):
            self._mark("tcp", t)
        elif text.startswith("UDP server has been resumed"):
            self.marks["resumed"] = t          # the last one: ready for the next EV

    def wait_ready(self, timeout=30):
        """Wait for "UDP server started"; raises JosevError with the log tail otherwise."""
        if not self.wait_mark("ready", timeout):
            raise JosevError("Josev SECC not ready after %.0f s (rc=%s):\n%s"
                             % (timeout, self.proc.poll(), self.log_text(tail=30)))
        return self.marks["ready"]

    def wait_session_stop(self, timeout):
        return self.wait_mark("stop", timeout)

    def wait_done(self, timeout):
        """Wait for SessionStopRes, a FAILED response or the TCP close (of the
        first session).  True if SessionStopRes(OK) was sent."""
        self.wait_until(lambda: any(k in self.marks for k in ("stop", "failed", "closed")), timeout)
        return self.session_stopped_ok()


class JosevEvcc(JosevProcess):
    """Josev's EVCC (simulated EV) for one -20 energy service on `iface`."""

    role = "evcc"

    def _init_state(self, t_start):
        super()._init_state(t_start)
        self.sdp_requests = 0
        self.secc_address = None   # (fe80::..., tcp port) from the SDP response

    def __init__(self, netns, iface, service="DC", control="scheduled",
                 config_overrides=None, extra_env=None, log_dir=None, name=None):
        if control is not None and control not in CONTROL_MODES:
            raise ValueError("control must be one of %s or None" % (tuple(CONTROL_MODES),))
        self.service, self.control = service, control
        self.config = evcc_config(service, config_overrides)
        env = _base_env()
        env.update(NETWORK_INTERFACE=iface)
        if control is not None:
            env["M15_CONTROL_MODE"] = str(CONTROL_MODES[control])
        env.update({k: str(v) for k, v in (extra_env or {}).items()})
        log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="josev-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        name = name or "evcc"
        self.config_path = (log_dir / (name + "_config.json")).resolve()  # absolute: Josev resolves it from its own cwd
        self.config_path.write_text(json.dumps(self.config, indent=1))
        env["EVCC_CONFIG_PATH"] = str(self.config_path)
        super().__init__(netns, iface, [PYTHON, str(EVCC_LAUNCHER), str(self.config_path)],
                         env, log_dir, name)

    def _on_text(self, t, text):
        super()._on_text(t, text)
        if text.startswith("Sending SDPRequest"):
            self._mark("sdp", t)
            self.sdp_requests += 1
        elif text.startswith("SDPResponse received"):
            self._mark("sdp_res", t)
            m = re.search(r"IP address: ([0-9a-fA-F:]+), Port: (\d+)", text)
            if m and self.secc_address is None:
                self.secc_address = (m.group(1), int(m.group(2)))
        elif text.startswith("TCP client connected"):
            self._mark("tcp", t)
        elif "SDPFailedError" in text or "Shutting down high-level communication" in text:
            self._mark("failed", t)            # Josev then hangs instead of exiting

    def wait_done(self, timeout):
        """Wait for SessionStopRes, a FAILED response, the TCP connection's
        close, a given-up SDP or the process's end.  True if SessionStopRes(OK) came."""
        self.wait_until(lambda: any(k in self.marks for k in ("stop", "failed", "closed")), timeout)
        return self.session_stopped_ok()


class SessionResult:
    """What josev_vs_josev() / josev_over_wire() measured."""

    def __init__(self, service, control, evcc, secc, rc, waited_exit, t0):
        self.service, self.control = service, control
        self.rc = rc
        self.pairs = evcc.pairs()
        self.sequence = [p.name for p in self.pairs]
        self.secc_sequence = secc.sequence()
        self.control_modes = evcc.control_modes()
        self.secc_address = evcc.secc_address
        self.sdp_requests = evcc.sdp_requests
        self.stopped_ok = evcc.session_stopped_ok()
        self.ok = (self.stopped_ok and all(p.res is not None for p in self.pairs)
                   and (rc == 0 if waited_exit else True))
        self.evcc_errors, self.secc_errors = list(evcc.errors), list(secc.errors)
        self.logs = {"evcc": str(evcc.log_path), "secc": str(secc.log_path)}
        self.leftovers = evcc.group_alive() or secc.group_alive()    # after stop(): must be False
        self.evcc_log_tail = evcc.log_text(tail=25)
        self.secc_log_tail = secc.log_text(tail=25)
        em, sm = evcc.marks, secc.marks

        def d(a, b):
            return round(b - a, 3) if a is not None and b is not None else None
        self.timings = {
            "secc_ready": d(secc.t_start, sm.get("ready")),      # SECC start -> UDP server
            "evcc_sdp": d(evcc.t_start, em.get("sdp")),          # EVCC start -> first SDPRequest
            "sdp_rtt": d(em.get("sdp"), em.get("sdp_res")),
            "start_to_stop": d(evcc.t_start, em.get("stop")),    # EVCC start -> SessionStopRes
            "sap_to_stop": d(em.get("sap"), em.get("stop")),     # the -20 session itself
            "evcc_exit": d(evcc.t_start, em.get("exit")) if waited_exit else None,
            "total": d(t0, time.time()),
        }
        n = len(self.pairs)
        s = self.timings["sap_to_stop"]
        self.timings["pairs_per_s"] = round(n / s, 2) if s else None

    def report(self):
        return ("josev %s %s ok=%s rc=%s pairs=%d timings=%s\nsequence=%s\nlogs=%s\n"
                "--- evcc errors: %s\n--- secc errors: %s\n--- evcc tail:\n%s\n--- secc tail:\n%s"
                % (self.service, self.control, self.ok, self.rc, len(self.pairs), self.timings,
                   runs(self.sequence), self.logs, self.evcc_errors[:5], self.secc_errors[:5],
                   self.evcc_log_tail, self.secc_log_tail))

    def __repr__(self):
        return "<SessionResult %s %s ok=%s pairs=%d sap_to_stop=%s>" % (
            self.service, self.control, self.ok, len(self.pairs), self.timings["sap_to_stop"])


def run_session(secc_ns, secc_iface, evcc_ns, evcc_iface, service="DC", control="scheduled",
                timeout=90, wait_exit=True, log_dir=None, secc_env=None, config_overrides=None):
    """A fresh Josev SECC and EVCC on the given interfaces, one session.
    wait_exit=False stops the EVCC once SessionStopRes came (saves its 5 s
    TCP linger); the SECC is always stopped at the end."""
    t0 = time.time()
    log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="josev-"))
    end = time.monotonic() + timeout
    with JosevSecc(secc_ns, secc_iface, protocols=(PROTOCOL_OF[service],),
                   extra_env=secc_env, log_dir=log_dir) as secc:
        secc.wait_ready(min(30, timeout))
        with JosevEvcc(evcc_ns, evcc_iface, service=service, control=control,
                       config_overrides=config_overrides, log_dir=log_dir) as ev:
            ev.wait_done(max(1, end - time.monotonic()))
            rc = None
            if wait_exit:
                rc = ev.wait_exit(max(1, min(15, end - time.monotonic())))
                if rc is None:
                    rc = "timeout"
            ev.stop()
        secc.wait_session_stop(2)
        secc.stop()
    return SessionResult(service, control, ev, secc, rc, wait_exit, t0)


def josev_vs_josev(service="DC", control="scheduled", timeout=90, wait_exit=True, log_dir=None,
                   **kw):
    """Josev EVCC against Josev SECC on a veth pair in a namespace made for
    the run (deleted after).  Returns a SessionResult."""
    from host.peers import tap
    with tap.NetNs() as ns:
        a, b = tap.veth_create(netns_a=ns.name, netns_b=ns.name)
        for name in (a, b):
            ns.link_up(name, dad=False)
        for name in (a, b):
            ns.wait_link_local(name)
        return run_session(ns, a, ns, b, service, control, timeout, wait_exit, log_dir, **kw)


from host.peers.tap import EV_TAP_MAC, EVSE_TAP_MAC  # noqa: E402,F401  (one definition)


def tap_on_wire(server, ns, role, mac):
    """A TAP in namespace `ns` (fe80:: ready, DAD off), bridged into the wire
    server as a host behind a modem of role 'evse' or 'pev'.  Close it after."""
    from host.peers import tap
    t = tap.Tap(netns=ns.name, mac=mac)
    try:
        ns.link_up(t.name, dad=False)
        ns.wait_link_local(t.name)
        server.add_bridge("tap", t.name, role=role, dev=t)
    except BaseException:
        t.close()
        raise
    return t


def join_avln(*members, timeout=20, after_start=None):
    """Run a SLAC agent (host/peers/slacagent.py) per (role, tap, ns, mac) until
    each has matched, EVSE agents first; after_start() runs once they are
    started (e.g. bench.plug() when our firmware is the other end).  Returns
    the seconds it took; raises JosevError if an agent did not match."""
    from host.peers.slacagent import SlacAgent
    t0 = time.monotonic()
    members = sorted(members, key=lambda m: m[0] != "evse")
    agents = []
    try:
        for role, t, ns, mac in members:
            agents.append(SlacAgent(role, t.name, getattr(ns, "name", ns), mac).start())
            if role == "evse":
                time.sleep(0.3)        # the EVSE listens before the EV asks
        if after_start is not None:
            after_start()
        for agent in agents:
            if not agent.matched.wait(max(0.1, timeout - (time.monotonic() - t0))):
                raise JosevError("SLAC agent did not match: %s" % ([a.events for a in agents],))
    finally:
        for agent in agents:
            agent.stop()
    return time.monotonic() - t0


def josev_over_wire(service="DC", control="scheduled", timeout=120, wait_exit=False, log_dir=None,
                    pcap=None, **kw):
    """Josev EVCC and Josev SECC in two namespaces, each on a TAP bridged into
    our virtual PLC wire (host/bench/wire_server.py) behind its own modem model;
    SLAC agents (host/peers/slacagent.py) put both modems into one AVLN first.
    All V2G traffic crosses the simulated wire.  Returns a SessionResult with
    .slac_s (time to join the AVLN) and .wire (bridge frame counters)."""
    from host.peers import tap
    from host.bench.linkrun import LinkBench
    with tap.NetNs() as ns_ev, tap.NetNs() as ns_se, \
            LinkBench(charger=False, vehicle=False, pcap=pcap) as bench:
        taps = []
        try:
            taps.append(tap_on_wire(bench.server, ns_ev, "pev", EV_TAP_MAC))
            taps.append(tap_on_wire(bench.server, ns_se, "evse", EVSE_TAP_MAC))
            t_ev, t_se = taps
            slac_s = join_avln(("pev", t_ev, ns_ev, EV_TAP_MAC), ("evse", t_se, ns_se, EVSE_TAP_MAC))
            result = run_session(ns_se, t_se.name, ns_ev, t_ev.name, service, control,
                                 timeout, wait_exit, log_dir, **kw)
            result.slac_s = round(slac_s, 3)
            with bench.server.lock:
                result.wire = [b.info() for b in bench.server.bridges]
            return result
        finally:
            for t in taps:
                t.close()


def _main(argv=None):
    import argparse
    p = argparse.ArgumentParser(description="Run Josev against Josev and print the timings.")
    p.add_argument("service", nargs="?", default="DC", choices=SERVICES)
    p.add_argument("--control", default="scheduled", choices=tuple(CONTROL_MODES) + ("josev",))
    p.add_argument("--wire", action="store_true", help="across the virtual PLC wire (TAP bridges)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--log-dir")
    a = p.parse_args(argv)
    control = None if a.control == "josev" else a.control
    fn = josev_over_wire if a.wire else josev_vs_josev
    ok = True
    for _ in range(a.runs):
        r = fn(a.service, control, log_dir=a.log_dir)
        print(r.report() if not r.ok else r, r.timings, runs(r.sequence), flush=True)
        if a.wire:
            print("slac %.2f s, bridges %s" % (r.slac_s, r.wire), flush=True)
        ok &= r.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(_main())
