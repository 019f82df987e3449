"""The charger application: one -20 Secc per TCP connection (drive.py).

With TLS on the host link (link/tls.py), 'connected' comes once the host's
handshake passed, and a lost host link ('host_lost') ends the session at
once: power off, session closed, its data kept as for any lost connection.

Plug-and-Charge on a board (BoardCharger): the verifier is the host, over
the host link (hostend.HostVerifier); PnC is offered only while it is
there, and the Secc offers it only on a TLS connection."""
from .iso20.charger import Charger
from .iso20.secc.context import PauseStore
from .iso20.secc.session import Secc
from .drive import LINK_ENDS, pump, quiet


class BoardCharger(Charger):
    """The Charger API of a board: its PnC verifier (pnc) may be away, so
    PnC is enabled only while pnc.available() (HostVerifier: the host link
    is up)."""

    def pnc_enabled(self):
        pnc = self.pnc
        if pnc is None:
            return False
        available = getattr(pnc, "available", None)
        return available is None or bool(available())


class ChargerApp:
    """One Secc per TCP connection over a Charger; paused sessions survive
    the connection (store).  result: 0 once `sessions` connections ended."""

    def __init__(self, link, charger, config, rng, clock_s, store=None, sessions=1,
                 estop_after_loops=0, report=quiet):
        self.link = link
        self.charger = charger
        self.config = config
        self.rng = rng
        self.clock_s = clock_s
        self.store = store if store is not None else PauseStore()
        self.sessions_left = sessions
        self.estop_after = estop_after_loops    # fault drill: emergency stop after N loops
        self.loops = 0
        self.report = report
        self.secc = None
        self.result = None

    def link_event(self, ev, now):
        name = ev[0]
        if name != "v2gtp":
            self.report("link", ev, now)
        if name == "connected":
            self.secc = Secc(self.config, self.charger, now, self.rng, self.clock_s, store=self.store)
            return
        secc = self.secc
        if secc is None:
            return
        if name == "v2gtp":
            secc.handle(ev[1], ev[2], now)
        elif name == "ev_cp":
            secc.ev_pilot(ev[1], now)
        elif name == "host_lost":
            # The host link is gone, and with it the TLS endpoint: power off
            # and end the session now (a paused session is kept); the link
            # resets the TCP connection, whose 'disconnected' follows.
            secc.connection_lost(now)
            pump(secc, self.link, now, self._session_event)
        elif name in LINK_ENDS:
            secc.connection_lost(now)       # power off, keep a paused session
            pump(secc, self.link, now, self._session_event)
            self.secc = None
            if name == "disconnected":
                self.sessions_left -= 1
                if self.sessions_left <= 0:
                    self.result = 0

    def turn(self, now):
        if self.secc is not None:
            self.secc.poll(now)
            pump(self.secc, self.link, now, self._session_event)
        self.charger.update(now)

    def _session_event(self, ev, now):
        self.report("secc", ev, now)
        if ev[0] == "close":
            self.link.close(now)
        elif ev[0] == "power":
            self.loops += 1
            if self.loops == self.estop_after:
                self.report("charger", ("EMERGENCY_STOP",), now)
                self.charger.emergency_stop(now)

    def next_deadline(self):
        return self.secc.next_deadline() if self.secc is not None else None
