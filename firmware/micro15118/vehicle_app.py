"""The vehicle application: one -20 Evcc per vehicle (drive.py)."""
from .iso20.evcc.session import Evcc
from .drive import LINK_ENDS, pump, quiet


class VehicleApp:
    """One Evcc session (one per vehicle) over a Vehicle; the CP state
    follows the EV's contactors, and the pack's contactor follows the CP.
    result: the session's ('done' | 'failed', reason) once it ended."""

    def __init__(self, link, pilot, vehicle, battery, config, clock_s, report=quiet):
        self.link = link
        self.pilot = pilot
        self.vehicle = vehicle
        self.battery = battery
        self.config = dict(config, mac=link.host_mac)
        self.clock_s = clock_s
        self.report = report
        self.evcc = None
        self.result = None
        self.cp = "B"

    def link_event(self, ev, now):
        name = ev[0]
        if name != "v2gtp":
            self.report("link", ev, now)
        if name in ("sdp_refused", "tls_failed") and self.evcc is None and self.result is None:
            # no session in the clear: a charger without TLS, or a handshake
            # that failed, ends this vehicle's attempt with the reason
            self.result = ("failed", name + ": " + ev[1])
            self.report("evcc", self.result, now)
            return
        if name == "connected":
            if self.evcc is None:
                self.evcc = Evcc(self.config, self.vehicle, now, self.clock_s)
                self.evcc.start(now)
        elif self.evcc is None:
            return
        elif name == "v2gtp":
            self.evcc.handle(ev[1], ev[2], now)
        elif name in LINK_ENDS or name == "host_lost":
            self.evcc.connection_lost(now)

    def turn(self, now):
        if self.evcc is None:
            return
        self.evcc.poll(now)
        pump(self.evcc, self, now, self._session_event)
        # State C while the contactors may be closed (V2G20-847), else B.
        want = "C" if self.vehicle.closed else "B"
        if want != self.cp:
            self.cp = want
            self.pilot.set_state(want)
            self.battery.contactor(want == "C")
            self.report("ev", ("cp", want), now)

    def send(self, ptype, payload, now):
        """The EVCC's messages go out here (a simulation may alter them)."""
        self.link.send(ptype, payload, now)

    def _session_event(self, ev, now):
        if ev[0] == "power":
            # what the EV saw: W, then V and A for the host's progress
            ev = ev + (self.vehicle.voltage, self.vehicle.current)
        self.report("evcc", ev, now)
        if ev[0] in ("done", "failed"):
            self.result = ev
        elif ev[0] == "close":
            self.link.close(now)

    def next_deadline(self):
        return self.evcc.next_deadline() if self.evcc is not None else None
