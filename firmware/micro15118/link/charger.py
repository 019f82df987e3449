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
from .. import v2gtp
from .common import (
    C_SEQU_RETRY, DUTY_DIGITAL, DUTY_F, DUTY_OFF, ETH_HOMEPLUG, ETH_IPV6,
    SDP_PORT, T_STEP_EF, V2gtpStream, earliest, ethertype,
    LeaveNetwork, is_slac_parm_req,
)
from ..net.stack import NetStack
from .common import RX_WINDOW
from ..slac import mme
from ..slac.evse import EvseSlac
from ..slac.linkmon import LinkMonitor

# states
IDLE = "idle"          # nothing plugged in (CP state A)
SLAC = "slac"          # 5 % PWM on, matching
EF = "ef"              # E/F pulse before a SLAC retry
LINKED = "linked"      # matched: SDP answered, TCP accepted
FAILED = "failed"      # gave up on high-level communication until unplugged


class ChargerLink:
    def __init__(self, host_mac, now=0, rng=None, tcp_port=None,
                 evse_id=None, max_payload=8192, sequ_retries=C_SEQU_RETRY):
        if rng is None:
            raise TypeError("ChargerLink needs rng: the app's random source (no platform default)")
        self.host_mac = bytes(host_mac)
        self.rng = rng
        self.tx = []
        self.events = []
        self.duty = DUTY_OFF
        self.state = IDLE
        self.max_payload = max_payload
        self.sequ_retries = sequ_retries
        self.retries_left = sequ_retries
        self.dropped = 0
        self.pilot = pilot.ChargerPilot(now)
        self.pilot.set_duty(self.duty)
        kw = {}
        if evse_id is not None:
            kw["evse_id"] = evse_id
        self.slac = EvseSlac(self.host_mac, rng=rng, **kw)
        self.monitor = LinkMonitor(self.host_mac)
        self.monitor_kick = False   # poll at once on the EV's first IPv6 frame
        self.net = NetStack(self.host_mac, rng=rng, rx_window=RX_WINDOW)
        if tcp_port is None:
            r = rng(2)
            tcp_port = 49152 + (((r[0] << 8) | r[1]) & 0x3FFF)
        self.tcp_port = tcp_port
        self.net.udp_bind(SDP_PORT)
        self.net.tcp_listen(tcp_port)
        self.sdp = sdp.SdpServer(self.net.ip, tcp_port)
        self.stream = None
        self.ef_until = None
        self.leave = LeaveNetwork(self.host_mac, rng)
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

    def modem_frame(self, frame, now):
        kind = ethertype(frame)
        if kind == ETH_HOMEPLUG:
            if len(frame) >= 17 and frame[15] == 0x09 and frame[16] == 0x60:
                self.key_unconfirmed = False        # CM_SET_KEY.CNF
            if self.state == LINKED and is_slac_parm_req(frame):
                # The EV lost the link and starts matching again.
                self._link_lost("ev_rematch", now)
            if self.state == SLAC:
                self.slac.handle_frame(frame, now)
            self.monitor.handle_frame(frame, now)
            self.leave.handle_frame(frame)
        elif kind == ETH_IPV6:
            if self.state == LINKED:
                if self.monitor_kick and not self.monitor.up:
                    # The EV's traffic says its modem has joined our AVLN:
                    # ask our modem now instead of at the next 1 s poll.  The
                    # monitor reports the loss only of a link it has seen up,
                    # and its first poll (at the match) comes while the EV's
                    # modem restarts with the key, so without this a PLC loss
                    # in the first second of the session went unnoticed until
                    # TT_match_join (12 s), power flowing all along.
                    self.monitor_kick = False
                    self.monitor.start(now)
                self.net.handle_frame(frame, now)
        else:
            self.dropped += 1
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

    def poll(self, now):
        self.leave.poll(now)
        if self.state == EF and now >= self.ef_until:
            self._start_slac(now)
        if self.state == SLAC:
            self.slac.poll(now)
        if self.state == LINKED:
            self.monitor.poll(now)
            self.net.poll(now)
            if self.stream is not None:
                self.stream.flush()
        self._pump(now)

    def next_deadline(self):
        d = self.leave.next_deadline()
        if self.state == EF:
            d = earliest(d, self.ef_until)
        elif self.state == SLAC:
            d = earliest(d, self.slac.next_deadline())
        elif self.state == LINKED:
            d = earliest(d, self.monitor.next_deadline(), self.net.next_deadline())
        return d

    def send(self, ptype, payload, now):
        """Queue one V2GTP message; False when no TCP connection is open."""
        if self.stream is None:
            return False
        self.stream.queue(v2gtp.encode(ptype, payload))
        self.net.poll(now)
        self._pump(now)
        return True

    def close(self, now):
        """Close the TCP connection gracefully (after SessionStop)."""
        if self.stream is not None:
            self.stream.conn.close(now)
            self._pump(now)

    # ---- internals ----------------------------------------------------
    def _emit(self, *event):
        self.events.append(event)

    def _set_duty(self, duty):
        self.duty = duty
        self.pilot.set_duty(duty)

    def _start_slac(self, now):
        self.leave.stop()           # SLAC sets a fresh key of its own
        self.state = SLAC
        self._set_duty(DUTY_DIGITAL)
        self.slac.start(now)
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

    def _on_cp(self, old, new, now):
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
            self.monitor.start(now)
            self.monitor_kick = True
            self._emit("slac_matched", ev[1])
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
                self.stream = V2gtpStream(conn, v2gtp.V2gtpReader(self.max_payload))
                self._emit("connected", conn.remote)
        elif name == "tcp_data":
            stream = self.stream
            if stream is not None and ev[1] is stream.conn:
                for ptype, payload in stream.receive():
                    self._emit("v2gtp", ptype, payload)
                if stream.reader.error:
                    # A broken V2GTP header leaves no way to find the next
                    # message in the stream: close the connection.
                    self._emit("v2gtp_error", stream.reader.error)
                    stream.conn.abort(now)
        elif name == "tcp_eof":
            # V2G has no use for a half-open connection: the peer's FIN ends it.
            ev[1].close(now)
        elif name == "tcp_closed":
            if self.stream is not None and ev[1] is self.stream.conn:
                self.stream = None
                self._emit("disconnected", ev[2] if len(ev) > 2 else "")

    def _pump(self, now):
        # Drain sub-components until nothing moves: handling one event can
        # produce frames and events in another.
        for _ in range(16):
            busy = False
            if self.pilot.events:
                evs = self.pilot.events
                self.pilot.events = []
                busy = True
                for ev in evs:
                    if ev[0] == "cp":
                        self._on_cp(ev[1], ev[2], now)
            if self.slac.events:
                evs = self.slac.events
                self.slac.events = []
                busy = True
                for ev in evs:
                    self._on_slac(ev, now)
            if self.monitor.events:
                evs = self.monitor.events
                self.monitor.events = []
                busy = True
                for ev in evs:
                    if ev[0] == "link_up":
                        self._emit("link_up")
                    elif ev[0] == "link_lost" and self.state == LINKED:
                        self._link_lost(ev[1] if len(ev) > 1 else "link_status", now)
            if self.net.events:
                evs = self.net.events
                self.net.events = []
                busy = True
                for ev in evs:
                    self._on_net(ev, now)
            for part in (self.slac, self.monitor, self.net, self.leave):
                if part.tx:
                    self.tx.extend(part.tx)
                    part.tx = []
            if not busy:
                break
