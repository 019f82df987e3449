"""The whole link in one process on a virtual clock.

Charger and vehicle firmware objects (links, runners, the real QCA7000 SPI
driver) run against the chip and modem models on a PlcWire, with a cable
model for the pilot.  Nothing sleeps: time advances 1 ms per step, so a
session's protocol timing (SLAC timers, retransmissions) is measured exactly
and runs much faster than real time.  Used by tools/bench_link.py and tests.
"""
import random

from micro15118.drivers.qca7000 import Qca7000
from micro15118.link.charger import ChargerLink
from micro15118.link.runner import Runner
from micro15118.link.vehicle import VehicleLink
from micro15118.sim.cable import CableModel

from host.bench.modem import Modem
from host.bench.plc_wire import PlcWire
from host.bench.qca7000_model import Qca7000Model
from host.bench import linkrun

# the same boards as the firmware processes of host/bench/linkrun.py
CHARGER_MAC = bytes.fromhex(linkrun.CHARGER_MAC.replace(":", ""))
VEHICLE_MAC = bytes.fromhex(linkrun.VEHICLE_MAC.replace(":", ""))


class _Bus:
    """The chip model as an SPI bus and IRQ pin."""

    def __init__(self, chip):
        self.chip = chip

    def transfer(self, mosi):
        return self.chip.transfer(bytes(mosi))

    def value(self):
        return 1 if self.chip.irq else 0


class _Pilot:
    def __init__(self, sim, charger):
        self.sim = sim
        self.charger = charger

    def read(self):
        sim = self.sim
        if not self.charger and not sim.plugged:
            return 12000, 12000, 1000, None     # nothing connected to the EV inlet
        high, low, duty = sim.cable.read()
        return high, low, duty, sim.cable.pp()

    def set_duty(self, permille):
        self.sim.cable.set_charger(permille)

    def set_state(self, state):
        self.sim.vehicle_state = state
        self.sim._apply()


class Side:
    def __init__(self, sim, name, mac, role, link):
        self.name = name
        self.modem = Modem(bytes.fromhex("00b052") + mac[3:], role, sim.wire,
                           host_mac=mac, seed=sim.rand.randrange(1 << 30))
        self.chip = Qca7000Model(self.modem, clock=lambda: sim.t / 1000.0)
        bus = _Bus(self.chip)
        self.driver = Qca7000(bus, bus)
        self.link = link
        self.runner = Runner(link, self.driver, _Pilot(sim, role == "evse"),
                             role == "evse", clock=lambda: sim.t)
        self.log = []        # (t_ms, event tuple)
        self.sent = []       # (t_ms, frame) every frame the firmware handed its modem
        send = self.driver.send

        def recording_send(frame):
            ok = send(frame)
            if ok:
                self.sent.append((sim.t, bytes(frame)))
            return ok
        self.driver.send = recording_send


class LinkSim:
    def __init__(self, seed=1, atten_db=20, **impairments):
        self.t = 0
        self.rand = random.Random(seed)
        self.wire = PlcWire(seed=seed, **impairments)
        self.cable = CableModel()
        self.plugged = False
        self.vehicle_state = "B"
        rng = lambda n: bytes(self.rand.randrange(256) for _ in range(n))  # noqa: E731
        self.charger = Side(self, "charger", CHARGER_MAC, "evse", ChargerLink(CHARGER_MAC, rng=rng))
        self.vehicle = Side(self, "vehicle", VEHICLE_MAC, "pev", VehicleLink(VEHICLE_MAC, rng=rng))
        self.wire.detach(self.vehicle.modem)     # unplugged: the EV's modem is off the wire
        self.atten_db = atten_db
        self._apply()

    def _apply(self):
        self.cable.set_vehicle(self.vehicle_state if self.plugged else "A")

    def plug(self):
        self.plugged = True
        self._apply()
        self.wire.attach(self.vehicle.modem, self.atten_db)

    def unplug(self):
        self.plugged = False
        self._apply()
        self.wire.detach(self.vehicle.modem)

    def step(self):
        """Advance 1 ms; returns [(side, event)] the links produced."""
        self.t += 1
        out = []
        for side in (self.charger, self.vehicle):
            for ev in side.runner.step():
                side.log.append((self.t, ev))
                out.append((side, ev))
        for side in (self.charger, self.vehicle):
            side.modem.poll(self.t)
        self.wire.poll(self.t)
        return out

    def run_until(self, predicate, limit_ms=60000, on_event=None):
        """Step until predicate(side, event) is true for an event; return t or None."""
        end = self.t + limit_ms
        while self.t < end:
            for side, ev in self.step():
                if on_event is not None:
                    on_event(side, ev)
                if predicate(side, ev):
                    return self.t
        return None

    def first(self, side, name):
        for t, ev in side.log:
            if ev[0] == name:
                return t
        return None
