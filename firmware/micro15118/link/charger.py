"""Charger (EVSE) side of the link: control pilot, SLAC, IPv6, SDP and a
TCP server carrying V2GTP, wired together and driven sans-I/O.

Inputs:  pilot_sample(high_mv, low_mv, now)  what the CP ADC measured
         modem_frame(frame, now)             an Ethernet frame from the modem
         modem_event(name, now)              'ready' / 'reset' / 'lost' from the driver
         poll(now)                           timers
         send(ptype, payload, now)           a V2GTP message to the EV
Outputs: .tx      Ethernet frames for the modem
         .duty    the PWM duty (permille) the pilot driver must apply
         .events  for the application:
             ('plugged',) ('unplugged',) ('slac_matched', ev_mac) ('link_up',)
             ('slac_failed', reason) ('link_lost', reason) ('connected', remote)
             ('v2gtp', ptype, payload) ('v2gtp_error', reason)
             ('disconnected', reason)
             ('ev_cp', state)  the EV switched its CP resistors: 'B', 'C' or 'D'
                               (C/D: it may draw power; B: it no longer may)
"""

from .. import pilot
from .. import sdp
from .base import SLAC, Link
from .common import (
    C_SEQU_RETRY, DUTY_DIGITAL, DUTY_F, DUTY_OFF, SDP_PORT, T_STEP_EF,
    is_set_key_cnf, is_slac_parm_req, random_port,
)
from ..slac import mme
from ..slac.evse import EvseSlac

# states, and base.SLAC: 5 % PWM on, matching
IDLE = "idle"          # nothing plugged in (CP state A)
EF = "ef"              # E/F pulse before a SLAC retry
LINKED = "linked"      # matched: SDP answered, TCP accepted
FAILED = "failed"      # gave up on high-level communication until unplugged


class ChargerLink(Link):
    def __init__(self, host_mac, now=0, rng=None, tcp_port=None,
                 evse_id=None, max_payload=8192, sequ_retries=C_SEQU_RETRY):
        super().__init__(host_mac, rng, max_payload)
        self.duty = DUTY_OFF
        self.state = IDLE
        self.sequ_retries = sequ_retries
        self.retries_left = sequ_retries
        self.pilot = pilot.ChargerPilot(now)
        self.pilot.set_duty(self.duty)
        self.slac = EvseSlac(self.host_mac, rng=rng,
                             evse_id=mme.ZERO_ID if evse_id is None else evse_id)
        if tcp_port is None:
            tcp_port = random_port(rng)
        self.tcp_port = tcp_port
        self.net.udp_bind(SDP_PORT)
        self.net.tcp_listen(tcp_port)
        self.sdp = sdp.SdpServer(self.net.ip, tcp_port)

    def use_tls(self, tls):
        """TLS mode (link/tls.py TlsMode): SDP announces the server as TLS
        (security 0x00) to every vehicle; None: plain TCP (0x10)."""
        self.tls = tls
        port = self.tcp_port
        self.sdp = sdp.SdpServer(self.net.ip, None if tls else port, port if tls else None)
        self.ef_until = None
        # The modem ignores its host while it restarts, and every CM_SET_KEY
        # restarts it: a key sent soon after another one (a quick re-plug
        # after the leave-network key, a re-match) can be lost.  Until its
        # CNF comes we resend it once after the next restart.
        self.key_unconfirmed = False
        self.key_resent = False

    # ---- inputs -------------------------------------------------------
    def pilot_sample(self, high_mv, low_mv, now):
        self.pilot.update(high_mv, low_mv, self.duty, now)
        self._pump(now)

    def modem_event(self, name, now):
        # Our key is set in start(), so its restart happens while matching;
        # once linked, any modem restart is a fault.
        # A rebooting modem shows up as 'reset' or 'lost' (signature gone).
        if name in ("reset", "lost") and self.state == LINKED:
            self._link_lost("modem_" + name, now)
        elif (name in ("reset", "lost") and self.state == SLAC and self.key_unconfirmed
              and not self.key_resent):
            # The restart of an earlier key swallowed ours: without it we
            # would match the EV onto a network our modem is not in.
            self.key_resent = True
            self.tx.append(mme.set_key_req(self.host_mac, self.slac.nid, self.slac.nmk))
        self._pump(now)

    def close(self, now):
        """Close the TCP connection gracefully (after SessionStop)."""
        if self.stream is not None:
            self._close_stream(now)

    # ---- internals ----------------------------------------------------
    def _linked(self):
        return self.state == LINKED

    def _retry_at(self):
        return self.ef_until if self.state == EF else None

    def _homeplug_frame(self, frame, now):
        if is_set_key_cnf(frame):
            self.key_unconfirmed = False
        if self.state == LINKED and is_slac_parm_req(frame):
            # The EV lost the link and starts matching again.
            self._link_lost("ev_rematch", now)
        super()._homeplug_frame(frame, now)

    def _set_duty(self, duty):
        self.duty = duty
        self.pilot.set_duty(duty)

    def _start_slac(self, now):
        self._set_duty(DUTY_DIGITAL)
        super()._start_slac(now)
        self.key_unconfirmed = True
        self.key_resent = False

    def _drop_stream(self, reason):
        if self.stream is not None:
            self.stream = None
            self._emit("disconnected", reason)

    def _unplugged(self, now):
        was_linked = self.state == LINKED
        self.slac.reset()
        self.monitor.stop()
        self.net.reset()
        self._drop_stream("unplugged")
        if was_linked:
            self.leave.start(now)
        self.ef_until = None
        self.retries_left = self.sequ_retries
        self._set_duty(DUTY_OFF)
        self.state = IDLE
        self._emit("unplugged")

    def _link_lost(self, reason, now):
        # PLC link gone while the EV is still plugged in: drop the session's
        # TCP connection and let the EV match again.
        self.monitor.stop()
        self.net.reset()
        self._drop_stream("link_lost")
        self._emit("link_lost", reason)
        self._start_slac(now)

    def _on_pilot(self, ev, now):
        if ev[0] != "cp":
            return
        old, new = ev[1], ev[2]
        plugged = new in ("B", "C", "D")
        if self.state == IDLE:
            if plugged:
                self._emit("plugged")
                self._start_slac(now)
        elif new == "A" or (new == "E"):
            self._unplugged(now)
        elif new == "F" and self.state != EF:
            self._unplugged(now)
        elif new in ("B", "C", "D") and old in ("B", "C", "D"):
            # IEC 61851-1: power only in C/D; the session cuts it on C -> B
            self._emit("ev_cp", new)

    def _on_slac(self, ev, now):
        name = ev[0]
        if name == "matched":
            self.state = LINKED
            self._slac_matched(ev[1], now)
        elif name == "failed":
            reason = ev[1] if len(ev) > 1 else ""
            self._emit("slac_failed", reason)
            if reason != "slac_init_timeout":
                return      # one run failed; EvseSlac waits for the EV's retry
            if self.retries_left > 0:
                # V2G3-M06-07: E/F for T_step_EF, then 5 % again.
                self.retries_left -= 1
                self.state = EF
                self.ef_until = now + T_STEP_EF
                self._set_duty(DUTY_F)
            else:
                self.state = FAILED
                self._set_duty(DUTY_OFF)

    def _on_net(self, ev, now):
        name = ev[0]
        if name == "udp":
            if ev[1] == SDP_PORT:
                reply = self.sdp.handle(ev[4])
                if reply is not None:
                    self.net.udp_send(ev[2], ev[3], SDP_PORT, reply, now)
        elif name == "tcp_accept":
            conn = ev[1]
            if self.stream is not None:
                conn.abort(now)     # one V2G session at a time
            else:
                self._open_stream(conn, now)
        elif name == "tcp_closed":
            if self.stream is not None and ev[1] is self.stream.conn:
                self.stream = None
                self._emit("disconnected", ev[2] if len(ev) > 2 else "")
        else:
            super()._on_net(ev, now)     # the V2GTP stream's data and EOF
