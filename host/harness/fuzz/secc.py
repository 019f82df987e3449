"""Fuzz the -20 SECC session machine with mutated requests in every state.

Real sessions (DC, DC_BPT, AC, AC_BPT; scheduled and dynamic; pause and
resume) are recorded from the scripted EV of the firmware tests, with a
snapshot of the SECC (and its charger and power model) before every
request.  Each input restores a random snapshot and feeds it one of:

* the real next request mutated at the bit level (bit flips, byte changes,
  truncation, extension, splices, a wrong payload type);
* the real next request mutated at the dict level (numbers, enum strings,
  SessionIDs, optional elements dropped, subtrees swapped from other
  requests), re-encoded with our codec (inputs it refuses are not fed);
* a real request of another state (out of sequence);

then up to two more real requests, and the timers (poll far ahead).

Unexpected: an exception out of handle/poll, an internal error counted by
the Secc, a response that does not decode or is of the wrong type, more
than one response to a request, power left on after a FAILED response or
a close, and any step of the power model outside the safety envelope (the
power model is host/harness/watched_power.py's WatchedPower: it checks itself
against the session's facts after every command and every update).
Accepted: answered OK/WARNING; rejected: FAILED or dropped.
"""
import copy

from micro15118.iso20 import msg
from micro15118.iso20.secc import failed

from .. import scripted_ev as script
from ..watched_power import WatchedPower
from . import runner
from .mutate import BASIC, mutate

INTERESTING = (0, 1, -1, 2, 7, 12, 100, 127, -128, 255, 256, 1000, 32767, -32768, 65535, 2 ** 31 - 1,
               -2 ** 31, 2 ** 32 - 1, 2 ** 63 - 1)


class Recorder(script.ScriptedEv):
    """The scripted EV, keeping (snapshot, ptype, payload) before each request."""

    def __init__(self, *a, **kw):
        script.ScriptedEv.__init__(self, *a, power=WatchedPower(0), **kw)
        self.power.secc = self.secc
        self.steps = []

    def raw(self, ptype, data):
        # the Secc's rng and clock are bound to this EV: copy them onto a
        # stub, not the EV and its recorded steps
        stub = Stub()
        stub.t, stub.n = self.t, self.n
        snap = copy.deepcopy((self.secc, self.charger, self.power), {id(self): stub})
        self.steps.append((snap + (self.t,), ptype, bytes(data)))
        return script.ScriptedEv.raw(self, ptype, data)


class Stub:
    pass


def _dc_pause_resume(ev):
    script.to_selection(ev, msg.SERVICE_DC, msg.DYNAMIC)
    script.dc_prepare(ev, msg.SERVICE_DC, msg.DYNAMIC)
    script.loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=2)
    script.stop(ev, msg.SERVICE_DC, how=msg.PAUSE)
    ev.wait(5000)
    ev.secc.connection_made(ev.t)
    script.sap_and_setup(ev)
    script.authorize(ev)
    script.select(ev, msg.SERVICE_DC, msg.DYNAMIC)
    script.dc_prepare(ev, msg.SERVICE_DC, msg.DYNAMIC)
    script.loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=1)


def _ac_renegotiate(ev):
    script.to_selection(ev, msg.SERVICE_AC, msg.SCHEDULED)
    script.ac_prepare(ev, msg.SERVICE_AC, msg.SCHEDULED)
    script.loop(ev, msg.SERVICE_AC, msg.SCHEDULED, n=1)
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.SCHEDULE_RENEGOTIATION})
    script.schedule(ev, msg.SCHEDULED)
    script.power_start(ev, msg.SCHEDULED)
    script.loop(ev, msg.SERVICE_AC, msg.SCHEDULED, n=1)
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STOP})
    ev.ok("SessionStopReq", {"ChargingSession": msg.SERVICE_RENEGOTIATION})
    script.select(ev, msg.SERVICE_AC_BPT, msg.DYNAMIC)
    script.ac_prepare(ev, msg.SERVICE_AC_BPT, msg.DYNAMIC, channel="Discharge")
    script.loop(ev, msg.SERVICE_AC_BPT, msg.DYNAMIC, n=1)
    script.stop(ev, msg.SERVICE_AC_BPT)


def record():
    """[(steps of one session)]: each step (snapshot, ptype, payload)."""
    sessions = []
    for service in (msg.SERVICE_DC, msg.SERVICE_DC_BPT, msg.SERVICE_AC, msg.SERVICE_AC_BPT):
        for mode in (msg.SCHEDULED, msg.DYNAMIC):
            ev = Recorder(authorized=None)
            script.sap_and_setup(ev, script.family(service))
            ev.ok("AuthorizationSetupReq")
            ev.ok("AuthorizationReq", {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}})
            ev.charger.authorize(True)
            ev.ok("AuthorizationReq", {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}})
            script.select(ev, service, mode)
            script.prepare(ev, service, mode, "Charge" if service in msg.BPT_SERVICES else None)
            script.loop(ev, service, mode, n=2, meter=True)
            ev.ok("MeteringConfirmationReq", {"SignedMeteringData": {
                "@Id": "m", "SessionID": ev.sid, "MeterInfo": {"MeterID": "M", "ChargedEnergyReadingWh": 1},
                "Dynamic_SMDTControlMode": {}}})
            script.stop(ev, service)
            sessions.append(ev.steps)
    for fn in (_dc_pause_resume, _ac_renegotiate):
        ev = Recorder()
        fn(ev)
        sessions.append(ev.steps)
    return sessions


def session_id_bit(rnd, data, seeds):
    """A bit flip in the SessionID area, right after the EXI header."""
    if len(data) > 2:
        data[rnd.randrange(1, min(len(data), 12))] ^= 1 << rnd.randrange(8)
    return data


OPS = BASIC + (session_id_bit,)


def _paths(obj, path, out):
    out.append(path)
    if isinstance(obj, dict):
        for k, v in obj.items():
            _paths(v, path + (k,), out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _paths(v, path + (i,), out)
    return out


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def mutate_dict(rnd, body, pool):
    """A copy of body with 1..3 random changes; pool: (strings, subtrees by key)."""
    strings, subtrees = pool
    body = copy.deepcopy(body)
    for _ in range(rnd.choice((1, 1, 2, 3))):
        paths = _paths(body, (), [])[1:]
        if not paths:
            break
        path = rnd.choice(paths)
        parent = _get(body, path[:-1])
        key = path[-1]
        v = parent[key]
        r = rnd.randrange(10)
        if r == 0 and isinstance(parent, dict) and key != "Header":
            del parent[key]
        elif isinstance(v, bool):
            parent[key] = not v
        elif isinstance(v, int):
            parent[key] = rnd.choice(INTERESTING) if r < 6 else v + rnd.choice((-1, 1))
        elif isinstance(v, str):
            parent[key] = rnd.choice(strings) if r < 7 else v[:rnd.randrange(len(v) + 1)]
        elif isinstance(v, bytes):
            parent[key] = rnd.choice((b"\x00" * 8, b"\x01" * 8, bytes(rnd.randrange(256) for _ in range(8)),
                                      v[:-1], v + b"\x00"))
        elif isinstance(key, str) and key in subtrees and r < 8:
            parent[key] = copy.deepcopy(rnd.choice(subtrees[key]))
        elif isinstance(v, dict) and subtrees and r >= 8:
            k2 = rnd.choice(list(subtrees))
            v[k2] = copy.deepcopy(rnd.choice(subtrees[k2]))
        elif isinstance(v, list) and v:
            if r < 5:
                v.append(copy.deepcopy(v[0]))
            else:
                del v[rnd.randrange(len(v))]
    return body


def build_pool(sessions):
    strings, subtrees, seeds, requests = set(), {}, [], []
    for steps in sessions:
        for _, ptype, payload in steps:
            seeds.append(payload)
            name, body = msg.decode(ptype, payload)
            requests.append((ptype, payload))
            for p in _paths(body, (), [])[1:]:
                v = _get(body, p)
                if isinstance(v, str):
                    strings.add(v)
                elif isinstance(v, dict) and isinstance(p[-1], str):
                    subtrees.setdefault(p[-1], []).append(v)
    strings.update(("Discharge", "Standby", "ScheduleRenegotiation", "ServiceRenegotiation", "Pause", "PnC", ""))
    return (sorted(strings), subtrees), seeds, requests


def check_envelope(power):
    if power.bad:
        raise runner.Unexpected("envelope: " + power.bad[0])


def check_outputs(secc, sent_name, power):
    """Decode what the SECC sent for one request; returns 'ok'/'rejected'."""
    check_envelope(power)
    outs = secc.out[:]
    del secc.out[:]
    if secc.errors:
        raise runner.Unexpected("internal error: %r" % getattr(secc, "last_error", None))
    if not outs:
        return "rejected"       # dropped while closing
    if len(outs) != 1:
        raise runner.Unexpected("%d responses" % len(outs))
    ptype, data = outs[0]
    try:
        name, body = msg.decode(ptype, data)
    except ValueError as e:
        raise runner.Unexpected("response does not decode: %s" % e)
    if sent_name is not None and failed.response_of(sent_name) and name != failed.response_of(sent_name) \
            and name != "supportedAppProtocolRes" and not msg.failed(body["ResponseCode"]):
        raise runner.Unexpected("%s answered with %s" % (sent_name, name))
    code = body["ResponseCode"]
    if msg.failed(code) or code == msg.SAP_FAILED:
        if power.closed or power.current or power.ac_w:
            raise runner.Unexpected("power on after %s" % code)
        return "rejected"
    return "ok"


def draw(rnd, sessions, pool, seeds, requests):
    """(steps, i, ptype, data): an input for step i of a recorded session, or
    None when our encoder refuses the mutated dict (then it is no input)."""
    steps = rnd.choice(sessions)
    i = rnd.randrange(len(steps))
    snap, ptype, payload = steps[i]
    kind = rnd.randrange(10)
    if kind < 5:
        data = mutate(rnd, payload, seeds, OPS)
        if rnd.randrange(8) == 0:
            ptype = rnd.choice((msg.SAP, msg.COMMON, msg.AC, msg.DC, 0x8101, 0x9000, 0))
    elif kind < 8:
        name, body = msg.decode(ptype, payload)
        body = mutate_dict(rnd, body, pool)
        try:
            ptype, data = msg.encode(name, body)
        except ValueError:
            return None
    else:
        ptype, data = rnd.choice(requests)
    return steps, i, ptype, data


def one(rnd, item):
    """Feeds a drawn input to the SECC restored from its snapshot, then the
    session's next requests and the timers; 'ok' or 'rejected'."""
    steps, i, ptype, data = item
    secc, charger, power, t = copy.deepcopy(steps[i][0])
    power.bad = []
    try:
        sent = msg.decode(ptype, data)[0]
    except ValueError:
        sent = None
    t += rnd.choice((0, 1, 250, 5000))
    charger.update(t)           # the charger app's turn before each message and timer
    secc.handle(ptype, data, t)
    result = check_outputs(secc, sent, power)
    # go on with the real session (answers must stay sane), then the timers
    for _, p2, d2 in steps[i + 1:i + 1 + rnd.randrange(3)]:
        t += 250
        charger.update(t)
        secc.handle(p2, d2, t)
        check_outputs(secc, msg.decode(p2, d2)[0], power)
    for dt in (5000, 60000, 200000):
        charger.update(t + dt)
        secc.poll(t + dt)
        check_envelope(power)
        if secc.errors:
            raise runner.Unexpected("internal error in poll")
        if secc.closed and (power.closed or power.current or power.ac_w):
            raise runner.Unexpected("closed with power on")
    if not secc.closed:
        raise runner.Unexpected("not closed 200 s later")
    return result


def fuzz_secc(tally, rnd, sessions=None):
    """sessions: from record() (made here when not given)."""
    if sessions is None:
        sessions = record()
    pool, seeds, requests = build_pool(sessions)
    runner.feed(tally, lambda: draw(rnd, sessions, pool, seeds, requests),
                lambda item: None if item is None else one(rnd, item) == "ok")


TARGETS = {"secc": fuzz_secc}


def main(argv=None):
    return runner.main(__doc__, TARGETS, argv, runs=20000, prepare=lambda: {"sessions": record()})
