"""SLAC, vehicle side (ISO 15118-3 PEV role), sans-I/O.

    s = EvSlac(host_mac, rng=rng)
    s.start(now)                 # CP state B and 5 % PWM seen
    s.handle_frame(frame, now)   # 0x88E1 frames from our modem
    s.poll(now)                  # at s.next_deadline()
    s.tx, s.events               # frames for the modem; ('matched', evse_mac, nid, nmk),
                                 # ('retry', reason), ('failed', reason)

One run (one RunID): CM_SLAC_PARM.REQ broadcast (retried C_EV_match_retry
times), collect every CNF for TT_match_response, 3 x START_ATTEN_CHAR.IND
and NUM_SOUNDS x MNBC_SOUND.IND spaced TP_EV_batch_msg_interval, collect
ATTEN_CHAR.IND (answering each with a RSP) until TT_EV_atten_results after
the first START_ATTEN_CHAR, pick the EVSE with the lowest average
attenuation, CM_SLAC_MATCH.REQ (retried), then CM_SET_KEY.REQ with the
received NMK/NID to our modem (localcast).  The SET_KEY.CNF Result is
ignored (QCA firmware reports it inverted) and after `set_key_timeout`
without a CNF we go on anyway.

Attenuation: ISO 15118-3 matches directly below 40 dB, asks for validation
(BCB toggles, CM_VALIDATE) between 40 and 80 dB and never matches above.
This EV does not validate: an EVSE at `atten_limit` (40 dB) or more is not
a candidate.  A failed run is retried with a new RunID after
TT_matching_rate, `c_conn_max_match` runs in total; then ('failed', reason).
"""

from . import mme
from .role import (
    C_EV_MATCH_MNBC, C_EV_MATCH_RETRY, SET_KEY_TIMEOUT, TT_MATCH_RESPONSE, SlacRole,
)

from ..compat import const

TT_EV_ATTEN_RESULTS = const(1200)
TP_EV_BATCH_MSG_INTERVAL = const(20)
TT_MATCHING_RATE = const(400)
C_EV_START_ATTEN_CHAR_INDS = const(3)
C_CONN_MAX_MATCH = const(3)
ATTEN_LIMIT = const(40)         # C_EV_match_signalattn_direct, dB
MAX_EVSES = const(8)            # PARM.CNFs kept per run

IDLE = "idle"
PARM = "parm"                   # PARM.REQ sent, collecting CNFs
SOUNDING = "sounding"           # sending START_ATTEN_CHAR and MNBC_SOUND
ATTEN = "atten"                 # collecting ATTEN_CHAR.IND
MATCH = "match"                 # MATCH.REQ sent
SET_KEY = "set_key"             # SET_KEY.REQ sent to our modem
WAIT_RETRY = "wait_retry"       # pause before the next run
MATCHED = "matched"
FAILED = "failed"


class EvSlac(SlacRole):
    ID_NAME = "pev_id"

    def __init__(self, host_mac, pev_id=mme.ZERO_ID, rng=None,
                 tt_match_response=TT_MATCH_RESPONSE, tt_ev_atten_results=TT_EV_ATTEN_RESULTS,
                 tp_ev_batch_msg_interval=TP_EV_BATCH_MSG_INTERVAL,
                 tt_matching_rate=TT_MATCHING_RATE, c_ev_match_retry=C_EV_MATCH_RETRY,
                 c_ev_start_atten_char_inds=C_EV_START_ATTEN_CHAR_INDS,
                 c_ev_match_mnbc=C_EV_MATCH_MNBC, c_conn_max_match=C_CONN_MAX_MATCH,
                 atten_limit=ATTEN_LIMIT, set_key_timeout=SET_KEY_TIMEOUT):
        super().__init__(host_mac, pev_id, rng, tt_match_response, c_ev_match_retry,
                         set_key_timeout)
        self.pev_id = bytes(pev_id)
        self.tt_atten = tt_ev_atten_results
        self.tp_batch = tp_ev_batch_msg_interval
        self.tt_rate = tt_matching_rate
        self.n_start = c_ev_start_atten_char_inds
        self.n_sounds = c_ev_match_mnbc
        self.max_match = c_conn_max_match
        self.atten_limit = atten_limit
        self.reset()

    # -- commands ---------------------------------------------------------

    def reset(self):
        """Cable unplugged: back to idle, forget everything about the session."""
        self.state = IDLE
        self.deadline = None
        self.attempt = 0
        self.run_id = None
        self.evse_mac = None
        self.nid = None
        self.nmk = None
        self._clear_run()

    def start(self, now):
        self.reset()
        self._begin_run(now)

    def next_deadline(self):
        return self.deadline

    def poll(self, now):
        d = self.deadline
        if d is None or now < d:
            return
        s = self.state
        if s == PARM:
            if self.evses:
                self._start_sounding(now)
            else:
                self._resend_or_fail(self._send_parm, "parm_timeout", now)
        elif s == SOUNDING:
            self._sound(now)
        elif s == ATTEN:
            self._choose(now)
        elif s == MATCH:
            self._resend_or_fail(self._send_match, "match_timeout", now)
        elif s == SET_KEY:
            self._matched()         # no CNF: QCA firmware may stay silent
        elif s == WAIT_RETRY:
            self._begin_run(now)
        else:
            self.deadline = None

    # -- internals --------------------------------------------------------

    def _handle(self, frame, now):
        m = mme.parse(frame)
        if m is None or m.dst != self.host_mac:
            return False        # everything for us is unicast
        t = m.mmtype
        s = self.state
        if t == mme.CM_SET_KEY_CNF:
            if s != SET_KEY:
                return False
            self._matched()     # Result ignored (inverted on QCA firmware)
            return True
        if t == mme.CM_SLAC_PARM_CNF:
            # RESP_TYPE 0 (open-plc-utils) and 1 (ISO) are both fine.
            if s != PARM or m.run_id != self.run_id or m.forwarding_sta != self.host_mac:
                return False
            if m.app != mme.APP_TYPE or m.sec != mme.SEC_TYPE:
                return False
            for mac in self.evses:
                if mac == m.src:
                    return True     # a duplicate
            if len(self.evses) >= MAX_EVSES:
                return False
            self.evses.append(m.src)
            if len(self.evses) == 1:
                self.time_out = m.time_out
            return True
        if t == mme.CM_ATTEN_CHAR_IND:
            if (s != SOUNDING and s != ATTEN) or m.run_id != self.run_id:
                return False
            if m.source_address != self.host_mac or not self._known(m.src):
                return False
            aag = m.aag
            total = 0
            for x in aag:
                total += x
            self.results[m.src] = (total, len(aag))     # a repeat overwrites
            self.tx.append(mme.atten_char_rsp(m.src, self.host_mac, self.run_id))
            if s == ATTEN and len(self.results) == len(self.evses):
                self._choose(now)       # everyone answered: no need to wait
            return True
        if t == mme.CM_SLAC_MATCH_CNF:
            if s != MATCH or m.src != self.evse_mac or m.run_id != self.run_id:
                return False
            if m.pev_mac != self.host_mac:
                return False
            self.nid = m.nid
            self.nmk = m.nmk
            self.tx.append(mme.set_key_req(self.host_mac, self.nid, self.nmk))
            self.state = SET_KEY
            self.deadline = now + self.set_key_timeout
            return True
        if t == mme.CM_VALIDATE_CNF:
            return False        # we never send CM_VALIDATE.REQ
        return False

    def _known(self, mac):
        for x in self.evses:
            if x == mac:
                return True
        return False

    def _clear_run(self):
        self.evses = []
        self.results = {}
        self.retries = 0
        self.sent = 0
        self.time_out = 6
        self.atten_deadline = None

    def _begin_run(self, now):
        self._clear_run()
        self.run_id = bytes(self.rng(8))
        if len(self.run_id) != 8:
            raise ValueError("rng returned %d bytes" % len(self.run_id))
        self.evse_mac = None
        self._send_parm(now)

    def _send_parm(self, now):
        self.state = PARM
        self.tx.append(mme.slac_parm_req(self.host_mac, self.run_id))
        self.deadline = now + self.tt_response

    def _start_sounding(self, now):
        self.state = SOUNDING
        self.sent = 0
        self.atten_deadline = now + self.tt_atten
        self._sound(now)

    def _sound(self, now):
        i = self.sent
        if i < self.n_start:
            self.tx.append(mme.start_atten_char_ind(self.host_mac, self.run_id, self.n_sounds,
                                                    self.time_out))
        else:
            cnt = self.n_start + self.n_sounds - 1 - i      # sounds remaining
            self.tx.append(mme.mnbc_sound_ind(self.host_mac, self.run_id, cnt, self.rng(16),
                                              self.pev_id))
        self.sent = i + 1
        if self.sent < self.n_start + self.n_sounds:
            self.deadline = now + self.tp_batch
        else:
            self.state = ATTEN
            # Never stop listening before the EVSE had a chance to answer.
            self.deadline = max(self.atten_deadline, now + self.tt_response)
            if self.results and len(self.results) == len(self.evses):
                self._choose(now)

    def _choose(self, now):
        if not self.results:
            self._fail("atten_char_timeout", now)
            return
        best = None
        for mac in self.evses:              # CNF order breaks ties
            r = self.results.get(mac)
            if r is None:
                continue
            # Compare averages total/n exactly: a/b < c/d <=> a*d < c*b.
            if best is None or r[0] * best[2] < best[1] * r[1]:
                best = (mac, r[0], r[1])
        if best[1] >= self.atten_limit * best[2]:
            self._fail("attenuation_too_high", now)
            return
        self.evse_mac = best[0]
        self.retries = 0
        self._send_match(now)

    def _send_match(self, now):
        self.state = MATCH
        self.tx.append(mme.slac_match_req(self.evse_mac, self.host_mac, self.run_id,
                                          pev_id=self.pev_id))
        self.deadline = now + self.tt_response

    def _matched(self):
        self.state = MATCHED
        self.deadline = None
        self.events.append(("matched", self.evse_mac, self.nid, self.nmk))

    def _fail(self, reason, now):
        self.attempt += 1
        if self.attempt >= self.max_match:
            self.state = FAILED
            self.deadline = None
            self.events.append(("failed", reason))
        else:
            self.state = WAIT_RETRY
            self.deadline = now + self.tt_rate
            self.events.append(("retry", reason))
