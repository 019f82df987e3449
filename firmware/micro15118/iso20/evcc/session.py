"""The ISO 15118-20 EVCC (vehicle) session, sans-I/O.

    ev = Evcc(config, vehicle, now, clock_s)   # clock_s() -> s since 1970, from the app
    ev.start(now)                      # TCP is up: queue the SAP request
    ev.handle(ptype, payload, now)     # one complete V2GTP message from the SECC
    ev.poll(now); ev.next_deadline()
    ev.out     -> [(ptype, payload)]   # to send, in order
    ev.events  -> ('state', name) ('session', id) ('soc', x) ('power', w)
                  ('stopping', reason) ('done', reason) ('failed', reason) ('close',)
                  ('pnc_refused', code) ('pnc_unavailable', why)   (PnC -> EIM)
                  ('contract_installed', info) ('install_refused', code)
                  ('install_invalid', why) ('install_unavailable', why)

Each state is a module (REQ/RES names, request(), response()); response()
returns an outcome, and states.py maps (state, outcome) to the next state
and when its request goes out; None once it has ended the session.  A
state whose outcome waits for the vehicle (states.AWAIT: nothing goes out)
has resume(), called after ongoing_delay_ms, returning an outcome too.

Two ways to end on an error:
* fail(): at once, ('failed', reason) then ('close',), where talking is
  pointless: the connection is lost, a response does not decode or is not
  the one expected, a wrong SessionID, a FAILED_* response code (the SECC
  has ended its session), no response in time, no session set up.
* decline(): once a session is set up and the EV will not go on (values it
  cannot use, no discharging schedule, a WARNING, Ongoing for too long, a
  charger outside the EV's safety envelope: evcc/guard.py): power off at
  once (contactor open, 0 W booked), ('stopping', reason), then
  PowerDeliveryReq(Stop) if the SECC is in its charge loop (no SECC takes
  SessionStopReq there), SessionStopReq(Terminate), and on its response, any
  response, or after its timeout: ('failed', reason) and ('close',).
"""

from .. import msg
from . import context
from . import states
from . import (supported_app_protocol, session_setup, authorization_setup,
                        authorization, service_discovery, service_detail,
                        service_selection, charge_parameter_discovery,
                        schedule_exchange, cable_check, pre_charge, power_delivery,
                        charge_loop, welding_detection, session_stop)

STATES = {
    states.SAP: supported_app_protocol,
    states.SESSION_SETUP: session_setup,
    states.AUTH_SETUP: authorization_setup,
    states.AUTH: authorization,
    states.DISCOVERY: service_discovery,
    states.DETAIL: service_detail,
    states.SELECTION: service_selection,
    states.CPD: charge_parameter_discovery,
    states.SCHEDULE: schedule_exchange,
    states.CABLE_CHECK: cable_check,
    states.PRE_CHARGE: pre_charge,
    states.POWER_DELIVERY: power_delivery,
    states.LOOP: charge_loop,
    states.WELDING: welding_detection,
    states.SESSION_STOP: session_stop,
}

# What a schema-valid but unusable response raises inside a state.
_BAD = (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError, OverflowError)


class Evcc:
    def __init__(self, config, vehicle, now=0, clock_s=None):
        if clock_s is None:
            raise TypeError("Evcc needs clock_s from the app (no platform default)")
        self.ctx = context.Context(config)
        self.vehicle = vehicle
        self.clock_s = clock_s
        self.out = []
        self.events = []
        self.state = None
        self.step = None
        self.req_name = self.res_name = None
        self.deadline = None      # response timeout
        self.send_at = None       # a delayed request
        self.setup_deadline = None
        self.ongoing_since = None # first Ongoing of the present state
        self.resume_at = None     # a state waits for the vehicle (states.AWAIT)
        self.await_since = None
        self.ended = False
        self.result = None        # ('done', reason) | ('failed', reason)
        self.declined = None      # the reason while SessionStop goes out after decline()
        self.paused = False       # ended with SessionStop(Pause): resume with session_id
        self.dropped = 0
        self.sent = 0

    # -- the application's calls -----------------------------------------
    def start(self, now):
        if self.state is not None:
            return
        self.setup_deadline = now + self.ctx.timeouts['setup']
        self.goto(states.SAP, now)

    @property
    def session_id(self):
        return self.ctx.session_id

    def handle(self, ptype, payload, now):
        if self.ended or self.deadline is None:
            self.dropped += 1     # nothing asked: unsolicited or late
            return
        if self.declined is not None:
            self._declined_answer(ptype, payload, now)
            return
        step = self.step
        try:
            name, body = msg.decode(ptype, payload)
        except Exception as e:    # the codec's errors are ValueErrors; be strict
            self.fail('malformed %s: %s' % (self.res_name, e), now)
            return
        if name != self.res_name:
            self.fail('expected %s, got %s' % (self.res_name, name), now)
            return
        self.deadline = None
        try:
            if self.state not in (states.SAP, states.SESSION_SETUP):
                if body['Header']['SessionID'] != self.ctx.session_id:
                    self.fail('wrong SessionID in ' + name, now)
                    return
            code = body.get('ResponseCode', '')
            if isinstance(code, str) and code.startswith('FAILED'):
                self.fail(code, now)
                return
            outcome = step.response(self, body, now)
        except _BAD as e:
            self.decline('bad %s: %r' % (name, e), now)
            return
        if outcome is not None and not self.ended:
            self._follow(outcome, now)

    def poll(self, now):
        if self.ended:
            return
        if self.setup_deadline is not None and now >= self.setup_deadline:
            self.fail('timeout: no session set up (V2G_EVCC_CommunicationSetup_Timeout)', now)
            return
        if self.send_at is not None and now >= self.send_at:
            self.send(now)
        if self.resume_at is not None and now >= self.resume_at:
            self._resume(now)
            if self.ended:
                return
        if self.deadline is not None and now >= self.deadline:
            if self.declined is not None:
                self.fail('%s (no %s)' % (self.declined, self.res_name), now)
            else:
                self.fail('timeout waiting for ' + self.res_name, now)

    def next_deadline(self):
        ts = [t for t in (self.send_at, self.deadline, self.setup_deadline, self.resume_at)
              if t is not None]
        if self.ended or not ts:
            return None
        return min(ts)

    def connection_lost(self, now):
        if not self.ended:
            self.fail('connection lost', now, close=False)

    # -- for the states ----------------------------------------------------
    def header(self):
        sid = self.ctx.session_id
        return msg.header(sid if sid is not None else msg.NEW_SESSION_ID, self.clock_s())

    def goto(self, name, now, delay=0):
        if name != self.state:
            self.ongoing_since = None
            self.state = name
            self.step = step = STATES[name]
            # AC_/DC_ variants name their messages per service
            if hasattr(step, 'names'):
                self.req_name, self.res_name = step.names(self.ctx)
            else:
                self.req_name, self.res_name = step.REQ, step.RES
            self.events.append(('state', name))
        if delay > 0:
            self.send_at = now + delay
        else:
            self.send(now)

    def send(self, now):
        self.send_at = None
        step = self.step
        try:
            body = step.request(self, now)
            if hasattr(step, 'names'):
                # a state may send another message now (Authorization:
                # CertificateInstallationReq first)
                self.req_name, self.res_name = step.names(self.ctx)
            ptype, data = msg.encode(self.req_name, body)
        except _BAD as e:
            # the vehicle's values do not fit the message (e.g. out of range)
            self.decline('cannot build %s: %r' % (self.req_name, e), now)
            return
        self.out.append((ptype, data))
        self.sent += 1
        t = self.ctx.timeouts
        self.deadline = now + t.get(self.req_name[:-3], t.get(self.state, t['default']))

    def _resume(self, now):
        """The state waited for the vehicle (states.AWAIT): ask it again."""
        self.resume_at = None
        try:
            outcome = self.step.resume(self, now)
        except _BAD as e:
            self.decline('%s: %r' % (self.state, e), now)
            return
        if outcome is not None and not self.ended:
            self._follow(outcome, now)

    def _follow(self, outcome, now):
        """Go where states.TRANSITIONS sends (state, outcome)."""
        nxt, when = states.TRANSITIONS[(self.state, outcome)]
        delay = 0
        if when == states.ONGOING:
            # the SECC said Ongoing: ask again after a pause, within the limit
            if self.ongoing_since is None:
                self.ongoing_since = now
            elif now - self.ongoing_since >= self.ctx.timeouts[states.ONGOING_LIMIT[self.state]]:
                self.decline('timeout: %s still Ongoing' % self.state, now)
                return
            delay = self.ctx.ongoing_delay
        elif when == states.AWAIT:
            # nothing to send: the vehicle (its verifier) is still deciding
            if self.await_since is None:
                self.await_since = now
            elif now - self.await_since >= self.ctx.timeouts[states.AWAIT_LIMIT[self.state]]:
                self.decline('timeout: %s, the vehicle did not decide' % self.state, now)
                return
            self.resume_at = now + self.ctx.ongoing_delay
            return
        elif when == states.PAUSE:
            delay = self.ctx.ongoing_delay
        elif when == states.INTERVAL:
            delay = self.ctx.loop_interval
        self.goto(nxt, now, delay)

    def session_set_up(self):
        self.setup_deadline = None

    def finish(self, reason, now):
        self._end(('done', reason), now, True)

    def decline(self, reason, now):
        """The EV will not go on: tell the SECC (SessionStop, Terminate)
        before closing, if there is a session to stop; else fail()."""
        if (self.ended or self.declined is not None or self.ctx.session_id is None
                or self.state == states.SESSION_STOP):
            return self.fail(reason, now)
        self.declined = reason
        self.deadline = self.send_at = self.setup_deadline = self.resume_at = None
        self._power_off(now)
        self.events.append(('stopping', reason))
        ctx = self.ctx
        ctx.stop_with = msg.TERMINATE
        ctx.end_reason = reason
        if ctx.in_loop:
            ctx.progress = msg.STOP
            self.goto(states.POWER_DELIVERY, now)
        else:
            self.goto(states.SESSION_STOP, now)
        return None

    def _declined_answer(self, ptype, payload, now):
        """Any answer while declining: after PowerDeliveryRes(Stop),
        SessionStop; else the end."""
        self.deadline = None
        if self.state == states.POWER_DELIVERY:
            try:
                name, body = msg.decode(ptype, payload)
                code = body.get('ResponseCode', '')
                ok = name == self.res_name and not code.startswith('FAILED')
            except Exception:
                ok = False
            if ok:
                self.ctx.in_loop = False
                self.goto(states.SESSION_STOP, now)
                return
        self.fail(self.declined, now)

    def _power_off(self, now):
        self.ctx.ev_power = 0.0
        if self.vehicle.closed:
            self.vehicle.contactor(False, now)
        else:
            self.vehicle.delivered(now, 0.0)

    def fail(self, reason, now, close=True):
        self._end(('failed', reason), now, close)
        return None

    def _end(self, result, now, close):
        if self.ended:
            return
        self.ended = True
        self.deadline = self.send_at = self.setup_deadline = self.resume_at = None
        self.result = result
        self._power_off(now)
        self.events.append(result)
        if close:
            self.events.append(('close',))
