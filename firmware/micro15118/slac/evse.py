"""SLAC, charger side (ISO 15118-3 EVSE role), sans-I/O.

    s = EvseSlac(host_mac, rng=rng)
    s.start(now)                 # CP state B with 5 % PWM
    s.handle_frame(frame, now)   # 0x88E1 frames from our modem
    s.poll(now)                  # at s.next_deadline()
    s.tx, s.events               # frames for the modem; ('matched', ev_mac, nid, nmk),
                                 # ('failed', reason), ('set_key',)

`start` draws a fresh NMK, sets it in the local modem (CM_SET_KEY.REQ to the
localcast address) and waits TT_EVSE_SLAC_init for CM_SLAC_PARM.REQ.  A run
(one RunID) is PARM.CNF, sound collection from the modem's
CM_ATTEN_PROFILE.IND, CM_ATTEN_CHAR.IND (retried), then CM_VALIDATE (answered
"not required": this charger does not run the BCB-toggle check) and
CM_SLAC_MATCH.REQ/CNF.

Failures: 'slac_init_timeout' ends the session (state 'failed'; the owner
does E/F and starts again).  A failed run ('no_sounds',
'atten_char_timeout', 'start_atten_timeout', 'match_timeout') is reported
with ('failed', reason) too, but the EVSE keeps its key and waits again for
a PARM.REQ (a fresh TT_EVSE_SLAC_init window), because the EV retries the
whole matching with a new RunID.  A new PARM.REQ always starts a new run,
except once matched, where only the matched EV may start one (re-matching).
"""

from . import keys
from . import mme
from .role import (
    C_EV_MATCH_MNBC, C_EV_MATCH_RETRY, SET_KEY_TIMEOUT, TT_MATCH_RESPONSE, SlacRole,
)

from ..compat import const

# Defaults from ISO 15118-3 Table A.1 (values as in libslac / pyslac).
TT_EVSE_SLAC_INIT = const(40000)
TT_EVSE_MATCH_MNBC = const(600)
TT_MATCH_SEQUENCE = const(400)
TT_EVSE_MATCH_SESSION = const(10000)

IDLE = "idle"
WAIT_PARM = "wait_parm"         # key set, waiting for CM_SLAC_PARM.REQ
WAIT_SOUNDS = "wait_sounds"     # PARM.CNF sent, waiting for START_ATTEN_CHAR
SOUNDING = "sounding"           # collecting ATTEN_PROFILE.IND
ATTEN_CHAR = "atten_char"       # ATTEN_CHAR.IND sent, waiting for the RSP
WAIT_MATCH = "wait_match"       # waiting for VALIDATE.REQ / MATCH.REQ
MATCHED = "matched"
FAILED = "failed"


class EvseSlac(SlacRole):
    ID_NAME = "evse_id"

    def __init__(self, host_mac, evse_id=mme.ZERO_ID, rng=None,
                 tt_evse_slac_init=TT_EVSE_SLAC_INIT, tt_evse_match_mnbc=TT_EVSE_MATCH_MNBC,
                 tt_match_response=TT_MATCH_RESPONSE, tt_match_sequence=TT_MATCH_SEQUENCE,
                 tt_evse_match_session=TT_EVSE_MATCH_SESSION, c_ev_match_retry=C_EV_MATCH_RETRY,
                 num_sounds=C_EV_MATCH_MNBC, set_key_timeout=SET_KEY_TIMEOUT):
        super().__init__(host_mac, evse_id, rng, tt_match_response, c_ev_match_retry,
                         set_key_timeout)
        self.evse_id = bytes(evse_id)
        self.tt_slac_init = tt_evse_slac_init
        self.tt_match_mnbc = tt_evse_match_mnbc
        self.tt_sequence = tt_match_sequence
        self.tt_session = tt_evse_match_session
        self.num_sounds = num_sounds
        self.nmk = None
        self.nid = None
        self.reset()

    # -- commands ---------------------------------------------------------

    def reset(self):
        """Cable unplugged: forget the run, stop every timer (the key stays set)."""
        self.state = IDLE
        self.deadline = None
        self.set_key_deadline = None
        self.ev_mac = None
        self.run_id = None
        self._clear_sounds()

    def start(self, now):
        """CP state B with 5 %: new key into the modem, then wait for the EV."""
        self.reset()
        self.nmk = keys.random_nmk(self.rng)
        self.nid = keys.nid_from_nmk(self.nmk)
        self.tx.append(mme.set_key_req(self.host_mac, self.nid, self.nmk))
        self.set_key_deadline = now + self.set_key_timeout
        self._wait_parm(now)

    def next_deadline(self):
        d = self.deadline
        k = self.set_key_deadline
        if d is None or (k is not None and k < d):
            return k
        return d

    def poll(self, now):
        k = self.set_key_deadline
        if k is not None and now >= k:
            # No CNF: assume the key is set anyway (EVerest's 500 ms rule).
            self.set_key_deadline = None
            self.events.append(("set_key",))
        d = self.deadline
        if d is None or now < d:
            return
        s = self.state
        if s == WAIT_PARM:
            self._fail("slac_init_timeout", now, final=True)
        elif s == WAIT_SOUNDS:
            self._fail("start_atten_timeout", now)
        elif s == SOUNDING:
            self._send_results(now)
        elif s == ATTEN_CHAR:
            self._resend_or_fail(self._send_atten_char, "atten_char_timeout", now)
        elif s == WAIT_MATCH:
            self._fail("match_timeout", now)
        else:
            self.deadline = None

    # -- internals --------------------------------------------------------

    def _handle(self, frame, now):
        m = mme.parse(frame)
        if m is None:
            return False
        if m.dst != self.host_mac and m.dst != mme.BROADCAST:
            return False
        t = m.mmtype
        s = self.state
        if t == mme.CM_SET_KEY_CNF:
            # Result is ignored: on QCA firmware its sense is inverted.
            if self.set_key_deadline is None:
                return False
            self.set_key_deadline = None
            self.events.append(("set_key",))
            return True
        if s == IDLE or s == FAILED:
            return False
        if t == mme.CM_SLAC_PARM_REQ:
            return self._on_parm_req(m, now)
        if m.src != self.ev_mac and t != mme.CM_ATTEN_PROFILE_IND:
            return False
        if t == mme.CM_START_ATTEN_CHAR_IND or t == mme.CM_MNBC_SOUND_IND:
            if m.run_id != self.run_id:
                return False
            if s == WAIT_SOUNDS:
                self._start_sounding(now)
                return True
            return s == SOUNDING or s == ATTEN_CHAR     # repeats and late sounds
        if t == mme.CM_ATTEN_PROFILE_IND:
            if m.pev_mac != self.ev_mac:
                return False
            if s == WAIT_SOUNDS:
                self._start_sounding(now)   # the START_ATTEN_CHARs got lost
            elif s != SOUNDING:
                return False
            return self._add_profile(m.aag, now)
        if t == mme.CM_ATTEN_CHAR_RSP:
            if m.run_id != self.run_id or s != ATTEN_CHAR:
                return False
            # Whatever the Result, the EV decides by sending MATCH.REQ or not.
            self._wait_match(now)
            return True
        if t == mme.CM_VALIDATE_REQ:
            if s != ATTEN_CHAR and s != WAIT_MATCH:
                return False
            self.tx.append(mme.validate_cnf(self.ev_mac, self.host_mac))
            if s == ATTEN_CHAR:
                self._wait_match(now)       # the RSP got lost
            return True
        if t == mme.CM_SLAC_MATCH_REQ:
            if m.run_id != self.run_id or m.pev_mac != self.ev_mac:
                return False
            if s != ATTEN_CHAR and s != WAIT_MATCH and s != MATCHED:
                return False
            self.tx.append(mme.slac_match_cnf(self.ev_mac, self.host_mac, self.run_id,
                                              self.nid, self.nmk, pev_id=m.pev_id,
                                              evse_id=self.evse_id))
            if s != MATCHED:                # a repeated REQ gets the same CNF
                self.state = MATCHED
                self.deadline = None
                self.events.append(("matched", self.ev_mac, self.nid, self.nmk))
            return True
        return False

    def _on_parm_req(self, m, now):
        if m.app != mme.APP_TYPE or m.sec != mme.SEC_TYPE:
            return False
        if self.state == MATCHED and m.src != self.ev_mac:
            return False
        if m.src == self.ev_mac and m.run_id == self.run_id:
            if self.state != WAIT_SOUNDS:
                return False
            # Our CNF got lost and the EV asks again: answer again.
        else:
            self.state = WAIT_SOUNDS
            self.ev_mac = m.src
            self.run_id = m.run_id
            self._clear_sounds()
        self.tx.append(mme.slac_parm_cnf(self.ev_mac, self.host_mac, self.run_id,
                                         num_sounds=self.num_sounds,
                                         time_out=(self.tt_match_mnbc + 99) // 100))
        # A slow EV may take a while to start sounding; a new PARM.REQ restarts anyway.
        self.deadline = now + self.tt_session
        return True

    def _clear_sounds(self):
        self.sums = None
        self.count = 0
        self.retries = 0
        self.aag = None

    def _wait_parm(self, now):
        self.state = WAIT_PARM
        self.ev_mac = None
        self.run_id = None
        self.deadline = now + self.tt_slac_init

    def _wait_match(self, now):
        self.state = WAIT_MATCH
        self.deadline = now + self.tt_session

    def _start_sounding(self, now):
        self.state = SOUNDING
        self.deadline = now + self.tt_match_mnbc

    def _add_profile(self, aag, now):
        if self.sums is None:
            self.sums = [0] * len(aag)
        elif len(aag) != len(self.sums):
            return False
        sums = self.sums
        for i in range(len(aag)):
            sums[i] += aag[i]
        self.count += 1
        if self.count >= self.num_sounds:
            self._send_results(now)
        return True

    def _send_results(self, now):
        n = self.count
        if not n:
            self._fail("no_sounds", now)
            return
        half = n // 2
        # Average per group, rounded half up (as pyslac does).
        self.aag = bytes([min(255, (x + half) // n) for x in self.sums])
        self.state = ATTEN_CHAR
        self.retries = 0
        self._send_atten_char(now)

    def _send_atten_char(self, now):
        self.tx.append(mme.atten_char_ind(self.ev_mac, self.host_mac, self.run_id,
                                          self.count, self.aag))
        self.deadline = now + self.tt_response

    def _fail(self, reason, now, final=False):
        self.events.append(("failed", reason))
        if final:
            self.state = FAILED
            self.deadline = None
        else:
            self._clear_sounds()
            self._wait_parm(now)
