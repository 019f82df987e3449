"""Vehicle (EV) side of the link: control pilot, SLAC, IPv6, SDP and a TCP
client carrying V2GTP, wired together and driven sans-I/O.

Inputs:  pilot_sample(high_mv, low_mv, duty, now)  what the EV measures on CP
         modem_frame(frame, now), modem_event(name, now), poll(now)
         send(ptype, payload, now), close(now)
Outputs: .tx (Ethernet frames for the modem) and .events:
             ('plugged',) ('unplugged',) ('slac_matched', evse_mac)
             ('link_up',) ('slac_failed', reason) ('link_lost', reason)
             ('secc', ip, port, security) ('sdp_failed',)
             ('sdp_refused', reason)  the charger answered without the TLS we asked for
             ('connected', remote) ('v2gtp', ptype, payload)
             ('v2gtp_error', reason) ('disconnected', reason)
"""

from .. import pilot
from .. import sdp
from .base import Link
from .common import SDP_PORT, T_SETKEY_RESTART, earliest, random_port
from ..slac import mme
from ..slac.ev import EvSlac

ALL_NODES = b"\xff\x02" + b"\x00" * 13 + b"\x01"

# states, and base.SLAC (matching)
UNPLUGGED = "unplugged"
PLUGGED = "plugged"    # CP in B/C/D but no PWM yet
SDP = "sdp"            # matched; discovering the SECC
TCP = "tcp"            # connecting / connected
WAIT = "wait"          # SLAC or SDP failed; try again after T_RETRY

# How long the EV waits after a failed matching (its own C_conn_max_match
# attempts used up) before it tries again while still plugged in.
T_RETRY = 2000


class VehicleLink(Link):
    def __init__(self, host_mac, now=0, rng=None, security=sdp.NO_TLS,
                 pev_id=None, max_payload=8192):
        super().__init__(host_mac, rng, max_payload)
        self.state = UNPLUGGED
        self.security = security
        self.pilot = pilot.VehiclePilot(now)
        self.slac = EvSlac(self.host_mac, rng=rng,
                           pev_id=mme.ZERO_ID if pev_id is None else pev_id)
        self.sdp_port = random_port(rng)
        self.net.udp_bind(self.sdp_port)
        self.sdp = None
        self.conn = None
        self.restart_expected = None
        self.retry_at = None
        self.closing = False
        self.duty = None

    # ---- inputs -------------------------------------------------------
    def pilot_sample(self, high_mv, low_mv, duty, now):
        self.pilot.update(high_mv, low_mv, duty, now)
        self._pump(now)

    def modem_event(self, name, now):
        # The driver reports a rebooting modem as 'reset' or 'lost' (it may
        # see the signature gone first), then 'ready'.  After our own
        # CM_SET_KEY that reboot is expected: ignore it until 'ready'.  While
        # matching, EvSlac copes with its modem on its own.
        if name in ("reset", "lost") and self.state in (SDP, TCP):
            if self.restart_expected is None or now > self.restart_expected:
                self._link_lost("modem_" + name, now)
        elif name == "ready":
            if self.restart_expected is not None:
                self.restart_expected = None    # the restart our key asked for is over
            if self.state == SDP and self.sdp is not None:
                # Ask at once instead of waiting out the retry interval of a
                # request sent while the modem booted.
                self.sdp.restart(now)
        self._pump(now)

    def poll(self, now):
        if self.state == SDP and self.sdp is not None:
            self.sdp.poll(now)      # its requests go out in _pump
        super().poll(now)

    def next_deadline(self):
        d = super().next_deadline()
        if self.state == SDP and self.sdp is not None:
            d = earliest(d, self.sdp.next_deadline())
        return d

    def close(self, now):
        self.closing = True
        if self.conn is not None:
            if self.stream is not None:
                self._close_stream(now)
            else:
                self.conn.close(now)
                self._pump(now)

    def use_tls(self, tls):
        """TLS mode (link/tls.py TlsMode): SDP asks for TLS, and a charger
        that answers without it is refused; None: plain TCP."""
        self.tls = tls
        self.security = sdp.TLS if tls else sdp.NO_TLS

    # ---- internals ----------------------------------------------------
    def _linked(self):
        return self.state in (SDP, TCP)

    def _retry_at(self):
        return self.retry_at if self.state == WAIT else None

    def _clear(self):
        self.slac.reset()
        self.monitor.stop()
        self.net.reset()
        self.sdp = None
        if self.stream is not None or self.conn is not None:
            self._emit("disconnected", "link_reset")
        self.stream = None
        self.conn = None
        self.restart_expected = None
        self.retry_at = None

    def _link_lost(self, reason, now):
        self._clear()
        self._emit("link_lost", reason)
        if self.duty is not None:
            self._start_slac(now)
        else:
            self.state = PLUGGED

    def _wait_retry(self, now):
        self.state = WAIT
        self.retry_at = now + T_RETRY

    def _on_pilot(self, ev, now):
        if ev[0] == "cp":
            new = ev[2]
            plugged = new in ("B", "C", "D")
            if plugged and self.state == UNPLUGGED:
                self.state = PLUGGED
                self._emit("plugged")
                if self.duty is not None:
                    # The PWM came up while the plug-in was still debounced.
                    self._start_slac(now)
            elif not plugged and self.state != UNPLUGGED:
                if self.state in (SDP, TCP):
                    self.leave.start(now)
                self._clear()
                self.state = UNPLUGGED
                self._emit("unplugged")
        elif ev[0] == "duty":
            duty = ev[1]
            pwm = 30 <= duty <= 970
            self.duty = duty if pwm else None
            # High-level communication starts on 5 % (and is allowed with a
            # nominal duty cycle for AC); PWM off is ISO 15118-3's E/F pulse
            # or "no HLC".
            if pwm and self.state == PLUGGED:
                self._start_slac(now)

    def _on_slac(self, ev, now):
        name = ev[0]
        if name == "matched":
            # EvSlac has just set the key in our modem, which now restarts.
            self.restart_expected = now + T_SETKEY_RESTART
            self.state = SDP
            self.sdp = sdp.SdpClient(self.security, now)
            self._slac_matched(ev[1], now)
        elif name == "set_key":
            self.restart_expected = now + T_SETKEY_RESTART
        elif name == "failed":
            self._emit("slac_failed", ev[1] if len(ev) > 1 else "")
            self._wait_retry(now)

    def _on_sdp(self, ev, now):
        if ev[0] == "secc" and self.state == SDP and self.tls is not None and ev[3] != sdp.TLS:
            # We asked for TLS and the charger offers the V2G server without it:
            # never start the session in the clear.
            self._emit("sdp_refused", "the charger offers no TLS (SDP security 0x%02x)" % ev[3])
            self._clear()
            self._wait_retry(now)
        elif ev[0] == "secc" and self.state == SDP:
            self.state = TCP
            self.sdp = None
            self._emit("secc", ev[1], ev[2], ev[3])
            self.conn = self.net.tcp_connect(ev[1], ev[2], now)
        elif ev[0] == "sdp_failed":
            self._emit("sdp_failed")
            self._clear()
            self._wait_retry(now)

    def _on_net(self, ev, now):
        name = ev[0]
        if name == "udp":
            if self.sdp is not None and ev[1] == self.sdp_port and ev[3] == SDP_PORT:
                self.sdp.handle(ev[4], now)
        elif name == "tcp_connected":
            if ev[1] is self.conn:
                self._open_stream(self.conn, now)
        elif name == "tcp_closed":
            if ev[1] is self.conn:
                self.conn = None
                self.stream = None
                self._emit("disconnected", ev[2] if len(ev) > 2 else "")
                if not self.closing and self.state == TCP:
                    # Lost without our asking: find the SECC again.
                    self.state = SDP
                    self.sdp = sdp.SdpClient(self.security, now)
        else:
            super()._on_net(ev, now)     # the V2GTP stream's data and EOF

    def _event_sources(self):
        return super()._event_sources() + ((self.sdp, self._on_sdp),)

    def _send_datagrams(self, now):
        # SDP requests go to every node on the link.
        if self.sdp is None or not self.sdp.tx:
            return False
        for payload in self.sdp.tx:
            self.net.udp_send(ALL_NODES, SDP_PORT, self.sdp_port, payload, now)
        self.sdp.tx = []
        return True
