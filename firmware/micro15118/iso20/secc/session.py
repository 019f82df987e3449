"""The ISO 15118-20 SECC session machine (sans-I/O).

    secc = Secc(config, charger, now, rng, clock_s)   # the app's random source and clock
    secc.handle(ptype, payload, now)     # one V2GTP message from the EV
    secc.poll(now); secc.next_deadline()
    secc.out    -> [(ptype, payload)]    # responses to send, in order
    secc.events -> [tuple]               # for the charger application

One module per request handles it: handle(secc, name, body, now) returns
(response body, outcome), and states.py maps (request, outcome) to the
state the SECC waits in next and the requests it accepts there.  This
module applies that, and checks what is common to all requests:
decoding, the SessionID, the sequence, the emergency stop, and the timers
(docs/standards-notes.md §5):

* a request not allowed now: its own response type, FAILED_SequenceError;
* a SessionID that is not ours: FAILED_UnknownSession;
* EXI that does not decode: a FAILED response of the type the EV should
  have sent now (Failed_NoNegotiation before SAP is done);
* after any FAILED response and after SessionStopRes (Terminate / Pause) the
  event ('close', reason) comes 5 s later (V2G20-1643); meanwhile requests
  are dropped;
* V2G_SECC_Sequence_Timeout 60 s after each response: the EV is silent, so
  power off, ('stopped', 'sequence_timeout') and ('close', ...) at once;
* V2G_SECC_CommunicationSetup_Performance_Time 18 s from the connection to
  the SessionSetupReq;
* ongoing limits: EIM authorization 180 s, ScheduleExchange 55 s (the
  values EVerest's libiso15118 uses), cable check 40 s (the EV's
  V2G_EVCC_CableCheck_Timeout); past them the answer is FAILED.  A PnC
  verification still pending after 55 s (inside the EV's 60 s
  V2G_EVCC_Ongoing_Timeout) is WARNING_GeneralPnCAuthorizationError, so
  the EV may still use EIM.

Authorization: config "auth" lists the services the charger offers, in
order ("EIM", "PnC"); PnC is offered only on a TLS connection (config
"tls", or connection_made(now, tls=True)) and when the charger has a PnC
verifier (Charger.pnc_authorize); secc/authorization.py tells the rest.
With config "certificate_installation" the PnC offer includes
CertificateInstallationService and CertificateInstallationReq goes to the
charger's backend (Charger.certificate_installation): secc/certificate_installation.py.
Each request is answered at once (Ongoing while the backend works, well
inside the EV's 5 s V2G_EVCC_Msg_Timeout for it), for up to 55 s.

Events: ('state', name) ('protocol', namespace) ('session', id, resumed)
('auth_request', evccid) ('authorized', ok) ('pnc', code) ('install_request', evccid)
('cert_install', code) ('service', id, set, mode)
('ev_status', dict) ('energy', on) ('power', w, charged_wh, discharged_wh)
('stopped', reason) ('metering_confirmed', meter_info) ('warning', what, ...)
('close', reason).  `ev_pilot(state, now)`: the EV's CP state from the link.
"""

from .. import msg
from .. import sap
from . import context
from . import states
from ..state_names import SAP
from . import failed
from . import session_setup
from . import authorization_setup
from . import authorization
from . import service_discovery
from . import service_detail
from . import service_selection
from . import schedule_exchange
from . import charge_parameter_discovery
from . import cable_check
from . import pre_charge
from . import power_delivery
from . import charge_loop
from . import welding_detection
from . import session_stop
from . import metering_confirmation
from . import certificate_installation

HANDLERS = {
    "SessionSetupReq": session_setup,
    "AuthorizationSetupReq": authorization_setup,
    "AuthorizationReq": authorization,
    "ServiceDiscoveryReq": service_discovery,
    "ServiceDetailReq": service_detail,
    "ServiceSelectionReq": service_selection,
    "ScheduleExchangeReq": schedule_exchange,
    "AC_ChargeParameterDiscoveryReq": charge_parameter_discovery,
    "DC_ChargeParameterDiscoveryReq": charge_parameter_discovery,
    "DC_CableCheckReq": cable_check,
    "DC_PreChargeReq": pre_charge,
    "PowerDeliveryReq": power_delivery,
    "AC_ChargeLoopReq": charge_loop,
    "DC_ChargeLoopReq": charge_loop,
    "DC_WeldingDetectionReq": welding_detection,
    "SessionStopReq": session_stop,
    "MeteringConfirmationReq": metering_confirmation,
    "CertificateInstallationReq": certificate_installation,
}

TIMERS = {
    "sequence": 60000,          # V2G_SECC_Sequence_Timeout
    "comm_setup": 18000,        # V2G_SECC_CommunicationSetup_Performance_Time
    "close": 5000,              # close after SessionStopRes / FAILED
    "eim_ongoing": 180000,
    "pnc_ongoing": 55000,
    "install_ongoing": 55000,   # CertificateInstallation pending at the backend
    "schedule_ongoing": 55000,
    "cable_check_ongoing": 40000,
}

DEFAULTS = {
    "evse_id": "ZZ*MIC*E0001*1",
    "protocols": sap.SECC_DEFAULT,
    "services": (msg.SERVICE_DC, msg.SERVICE_DC_BPT, msg.SERVICE_AC, msg.SERVICE_AC_BPT),
    "control_modes": (msg.SCHEDULED, msg.DYNAMIC),
    "auth": ("EIM",),           # offered, in order: "EIM", "PnC"
    "tls": False,               # the connections run over TLS (PnC needs it)
    "certificate_installation": False,  # CertificateInstallationService (PnC only)
    "supported_providers": None,        # PnC: [ProviderID] to list, or None
    "free_service": True,
    "service_renegotiation": True,
    "standby_allowed": False,
    "discharge_sign": 1,        # +1: discharge limits positive on the wire
    "dc_connector": 2,          # Extended (CCS)
    "ac_connector": 2,          # three-phase as python-iso15118 has it (LIB: 3)
    "dc_nominal_voltage": 800,
    "ac_nominal_voltage": 230,
    "mobility_needs_mode": 1,   # provided by the EVCC
    "pricing": 0,               # no pricing
    "bpt_channel": 1,           # Unified
    "generator_mode": 1,        # GridFollowing
    "islanding_parameter": "GridCodeIslandingDetectionMethod",
    "currency": "EUR",
    "energy_fee": 0.30,         # per kWh, for the scheduled mode's price schedule
    "schedule_duration": 86400,  # s, the default schedule's single entry
}


class Secc:
    def __init__(self, config=None, charger=None, now=0, rng=None, clock_s=None, store=None):
        cfg = dict(DEFAULTS)
        if config:
            cfg.update(config)
        timers = dict(TIMERS)
        timers.update(cfg.get("timers") or {})
        cfg["timers"] = timers
        if not (config and "protocols" in config):
            # offer the -20 families of the configured services only
            cfg["protocols"] = tuple(p for p in sap.SECC_DEFAULT
                                     if any((sid in msg.DC_SERVICES) == (p[0] == msg.NS_DC)
                                            for sid in cfg["services"]))
        self.cfg = cfg
        self.charger = charger
        if rng is None or clock_s is None:
            raise TypeError("Secc needs rng and clock_s from the app (no platform default)")
        self.rng = rng
        self.clock_s = clock_s
        self.store = store if store is not None else context.PauseStore()
        self.out = []
        self.events = []
        self.dropped = 0        # requests ignored while closing / closed
        self.errors = 0         # internal errors (a bug): answered FAILED
        self.connection_made(now)

    # --- connection -------------------------------------------------------
    def connection_made(self, now, tls=None):
        """A new TCP connection: start over at SAP (paused sessions stay).
        tls: the connection runs over TLS (None: as config "tls" says)."""
        self.ctx = context.Context()
        self.ctx.tls = bool(self.cfg["tls"] if tls is None else tls)
        if self.charger is not None:
            self.charger.envelope.close()   # a new session sets its own
        self.state = None
        self.allowed = ()
        self.closed = False
        self._close_at = None
        self._close_reason = None
        self._seq_at = None
        self._setup_at = now + self.cfg["timers"]["comm_setup"]
        self._enter(SAP, ("supportedAppProtocolReq",))

    def connection_lost(self, now):
        """TCP is gone: power off at once; a session that was running is
        kept as paused so the EV can resume it."""
        if self.closed:
            return
        self.power_off(now)
        if self.ctx.session_id is not None and self._close_at is None:
            self.store.put(self.ctx.pause_copy())
        self.events.append(("stopped", "connection_lost"))
        self._finish()

    def ev_pilot(self, state, now):
        """The EV switched its CP resistors (the link's ('ev_cp', state)).
        IEC 61851-1 allows power only in C/D: an EV that drops to B while
        energy flows (it opened its contactor, or gave up) gets no more,
        at once; the session goes on at zero power."""
        if state == "B" and self.ctx.energy and not self.closed:
            self.power_off(now)
            self.events.append(("warning", "ev_cp_b_under_power"))

    def _finish(self):
        self.closed = True
        self._close_at = self._seq_at = self._setup_at = None

    # --- timers -----------------------------------------------------------
    def next_deadline(self):
        d = None
        for t in (self._close_at, self._seq_at, self._setup_at):
            if t is not None and (d is None or t < d):
                d = t
        return d

    def poll(self, now):
        if self.closed:
            return
        if self.charger.estop and self.ctx.energy:
            self.ctx.energy = False
            self.events.append(("stopped", "emergency_stop"))
        if self._close_at is not None and now >= self._close_at:
            self.events.append(("close", self._close_reason))
            self._finish()
        elif self._seq_at is not None and now >= self._seq_at:
            self.power_off(now)
            self.events.append(("stopped", "sequence_timeout"))
            self.events.append(("close", "sequence_timeout"))
            self._finish()
        elif self._setup_at is not None and now >= self._setup_at:
            self.power_off(now)
            self.events.append(("close", "communication_setup_timeout"))
            self._finish()

    # --- input ------------------------------------------------------------
    def handle(self, ptype, payload, now):
        if self.closed or self._close_at is not None:
            self.dropped += 1
            return
        self._out_mark = len(self.out)
        try:
            name, body = msg.decode(ptype, payload)
        except ValueError:
            self._malformed(now, "malformed")
            return
        except Exception as e:      # a codec bug (or MemoryError)
            self._internal_error(e, now)
            return
        try:
            self._dispatch(name, body, now)
        except Exception as e:      # a bug must not leave the power on
            self._internal_error(e, now)

    def _internal_error(self, e, now):
        self.errors += 1
        self.last_error = e
        del self.out[self._out_mark:]
        self._malformed(now, "internal_error")

    def _dispatch(self, name, body, now):
        if name == "supportedAppProtocolReq":
            res, proto = None, None
            if self.state == SAP:
                res, proto = sap.secc_negotiate(body, self.cfg["protocols"])
            if proto is None:
                self.power_off(now)
                self._respond("supportedAppProtocolRes", {"ResponseCode": msg.SAP_FAILED}, now)
                self.close_after(now, "no_negotiation")
                return
            self.ctx.protocol = proto
            self.events.append(("protocol", proto[0]))
            self._respond("supportedAppProtocolRes", res, now)
            self._enter(*states.after(name, "agreed", False))
            return
        res_name = failed.response_of(name)
        if res_name is None or self.state == SAP:
            self._malformed(now, "sequence_error")
            return
        if self.ctx.session_id is not None and body["Header"]["SessionID"] != self.ctx.session_id:
            self.fail(res_name, msg.FAILED_UNKNOWN_SESSION, now)
            return
        if name not in self.allowed and not (name == "MeteringConfirmationReq" and self.ctx.service):
            self.fail(res_name, msg.FAILED_SEQUENCE_ERROR, now)
            return
        if self.charger.estop:
            self.power_off(now)
            self.fail(res_name, msg.FAILED, now)
            return
        res, outcome = HANDLERS[name].handle(self, name, body, now)
        if outcome is not None:
            state, accepts = states.after(name, outcome, self.ctx.dc)
            self._enter(self.state if state is states.SAME else state, accepts)
        self._respond(res_name, res, now)
        if msg.failed(res["ResponseCode"]):
            self.power_off(now)
            self.close_after(now, res["ResponseCode"])

    def _malformed(self, now, reason):
        if self.state == SAP:
            self._respond("supportedAppProtocolRes", {"ResponseCode": msg.SAP_FAILED}, now)
        else:
            req = states.family(states.EXPECTED[self.state], self.ctx.dc)
            self._respond(req[:-3] + "Res", failed.body(req[:-3] + "Res", msg.FAILED, self.hdr()), now)
        self.power_off(now)
        self.close_after(now, reason)

    def _enter(self, state, allowed):
        """Wait in `state` for one of the request names `allowed`."""
        if state != self.state:
            self.state = state
            self.ctx.ongoing_since = None
            self.events.append(("state", state))
        self.allowed = allowed

    # --- helpers for the request handlers ---------------------------------
    def hdr(self):
        return msg.header(self.ctx.session_id or msg.NEW_SESSION_ID, self.clock_s())

    def fail_body(self, res_name, code):
        return failed.body(res_name, code, self.hdr(), self.cfg["evse_id"])

    def fail(self, res_name, code, now):
        self.power_off(now)
        self._respond(res_name, self.fail_body(res_name, code), now)
        self.close_after(now, code)

    def ongoing_expired(self, now, timer):
        """Start the ongoing clock on the first call; True past its limit."""
        if self.ctx.ongoing_since is None:
            self.ctx.ongoing_since = now
            return False
        return now - self.ctx.ongoing_since > self.cfg["timers"][timer]

    def close_after(self, now, reason):
        self._close_at = now + self.cfg["timers"]["close"]
        self._close_reason = reason
        self._seq_at = self._setup_at = None

    def power_off(self, now):
        """No current, contactor open, the safety envelope closed."""
        c = self.charger
        c.envelope.close()
        if self.ctx.dc:
            c.dc_target(0, 0, now)
        else:
            c.ac_power(0, now)
        c.contactor(False, now)
        if self.ctx.energy:
            self.ctx.energy = False
            self.events.append(("energy", False))
        self.ctx.contactor = False

    def to_wire_discharge(self, x):
        """A positive discharge limit -> the configured sign on the wire."""
        return msg.rational(x * self.cfg["discharge_sign"])

    def from_wire_discharge(self, r):
        return msg.value(r) * self.cfg["discharge_sign"]

    def _respond(self, res_name, body, now):
        self.out.append(msg.encode(res_name, body))
        if self.ctx.session_id is not None:
            self._setup_at = None
        if self._close_at is None:
            self._seq_at = now + self.cfg["timers"]["sequence"]
