"""A whole ISO 15118-20 session in one process on a virtual clock.

`SessionSim` is `host.bench.linksim.LinkSim` (our ChargerLink/VehicleLink with the
real QCA7000 driver on chip and modem models on a PlcWire) with the -20
session on top, as firmware/micro15118/secc_main.py and firmware/micro15118/evcc_main.py run it:

* the charger app (`ChargerApp`): one `Secc` per TCP connection over
  `iso20.charger.Charger` driving the cable's power path
  (host/bench/power_path.py, as the wire process has it); link events
  'connected', 'v2gtp', 'disconnected', 'unplugged', 'link_lost' feed it;
  its 'close' event closes TCP;
* the vehicle app (`EvApp`): one `Evcc` (one session per vehicle, as
  evcc_main) over `iso20.vehicle.Vehicle` and a `PackBattery` whose pack
  sits on the same power path; CP state C while the EV's contactors are
  closed, B otherwise, and the pack's contactor follows.

Clocks (`clock_s`) and randomness are the simulation's, so a seed replays a
run exactly.  Time jumps to the next instant anything is due (a runner's
pilot sample or link timer, a driver timer, a frame in the chip's write
buffer, a modem or wire event, a session timer); with an interrupt pending
or frames queued it steps 1 ms.  Every runner's clock is the simulation's
`t`, also for parts created later (a fresh vehicle, a restarted charger),
so the power model's meter integrates over one clock.

`tls=True`: both boards run TLS mode with a host link to an in-process host
(host/bench/hostsim.py): the V2G connection carries TLS 1.3, each board's
SE050 model signs its handshake; `hosts[name].wire.cut` pulls a host link.
`pnc={"verifier": Verifier, "contract": dir, "eim_fallback": bool}` (with
tls): Plug-and-Charge as `micro15118 sim --tls --auth pnc` runs it: the
charger's host judges the PnC evidence its MCU sends over the host link
(hostend.HostVerifier; `hosts["charger"].hold_pnc` leaves it pending), the
EV signs with the contract key in its SE050 model (the PKI's vehicle bundle,
a contract variant's key and certificate in place of the PKI's contract when
"contract" is a DIR/variants/contract_* folder).

Fault hooks used by host/bench/faults.py: `cable.force` ('E' CP shorted to PE,
'F' CP held at -12 V), `drop_tcp` (TCP segments vanish on the wire, the PLC
link stays up), `EvApp.silent` / `.garbage` / `.alive`,
`restart_charger()`, `new_vehicle()`.
"""
from micro15118.drivers.qca7000 import Qca7000
from micro15118.iso20.charger import Charger
from micro15118.sim.pack import PackBattery
from micro15118.iso20.vehicle import Vehicle
from micro15118.link.charger import ChargerLink
from micro15118.link.runner import Runner
from micro15118.link.vehicle import VehicleLink
from micro15118.sim.cable import CableModel
from micro15118 import charger_app, vehicle_app

from host.bench.linksim import CHARGER_MAC, LinkSim, Side, _Bus, _Pilot
from host.bench.power_path import PowerPath

EPOCH_S = 1767225600            # 2026-01-01T00:00:00Z: TimeStamp at t = 0


class FaultCable(CableModel):
    """The cable model plus a CP line held at -12 V (state F) by a fault."""
    force = None                # None | 'E' | 'F'

    def read(self):
        if self.force == "F":
            return -12000, -12000, 0
        return CableModel.read(self)


def _sync_clock(runner, t):
    # A Runner counts ms from its creation; ours all count simulation time.
    runner.now_ms = t
    runner._last = runner.clock()


class ChargerApp(charger_app.ChargerApp):
    """secc_main's app on the simulation's clock and randomness, its session
    events recorded; `seccs` keeps every Secc it created."""

    def __init__(self, sim, side, power, charger_cls=Charger, config=None, pnc=None):
        kw = {} if pnc is None else {"pnc": pnc}
        charger_app.ChargerApp.__init__(
            self, side.link, charger_cls(power, authorized=True, **kw), dict(config or {}),
            sim.rng, sim.clock_s, report=_recorder(sim))
        self.side = side
        self.power = power
        self.seccs = []
        self.alive = True

    def link_event(self, ev, now):
        charger_app.ChargerApp.link_event(self, ev, now)
        if ev[0] == "connected":
            self.seccs.append(self.secc)


class EvApp(vehicle_app.VehicleApp):
    """evcc_main's app with its pack on the in-process power path, and the
    fault hooks: `silent` (the EVCC neither sends nor reads, TCP stays up),
    `garbage` (the next request goes out as malformed EXI), `alive` (False:
    the firmware vanished and is not stepped)."""

    def __init__(self, sim, side, config, crypto=None):
        ac = config["service"].startswith("ac")
        battery = PackBattery(_LocalPack(sim, 60000.0, 50.0, 330.0, 420.0), capacity_wh=60000.0,
                              soc=50.0, max_charge_power=11000 if ac else 150000)
        vehicle_app.VehicleApp.__init__(self, side.link, side.runner.pilot, Vehicle(battery, crypto=crypto),
                                         battery, config, sim.clock_s, report=_recorder(sim))
        self.sim = sim
        self.side = side
        self.alive = True
        self.silent = False
        self.garbage = False

    def link_event(self, ev, now):
        if not self.silent:
            vehicle_app.VehicleApp.link_event(self, ev, now)

    def turn(self, now):
        if not self.silent:
            vehicle_app.VehicleApp.turn(self, now)

    def send(self, ptype, payload, now):
        if self.garbage:
            self.garbage = False
            payload = b"\xff\x13\x37" + bytes(len(payload))
            self.sim.record("evcc", ("garbage_sent", ptype))
        vehicle_app.VehicleApp.send(self, ptype, payload, now)


def _recorder(sim):
    """The apps' report hook: session and EV events into the trace (not the
    link's, which LinkSim records, nor the loop's soc/power)."""
    def report(who, ev, now):
        if who == "link" or (who == "evcc" and ev[0] in ("soc", "power")):
            return
        sim.record(who, ev)
    return report


class _LocalPack:
    """The vehicle's pack on the in-process power path (sim/board.SimPack
    reaches the same over the wire server's protocol)."""

    def __init__(self, sim, capacity_wh, soc, v_empty, v_full):
        self.sim = sim
        sim.power.declare_pack(capacity_wh, soc, v_empty, v_full, sim.t)

    def read(self):
        return self.sim.power.pack_reading(self.sim.t)

    def contactor(self, closed):
        self.sim.power.ev_contactor(closed, self.sim.t)


class SessionSim(LinkSim):
    def __init__(self, seed=1, service="dc", loops=5, control="scheduled",
                 charger_cls=Charger, power=None, secc_config=None, tls=False, pnc=None, **impairments):
        LinkSim.__init__(self, seed=seed, **impairments)
        if pnc is not None and not tls:
            raise ValueError("PnC needs tls=True")
        self.tls = tls
        self.pnc = pnc
        self.hosts = {}          # side name -> hostsim.SimHost (tls)
        self.cable = FaultCable()
        self._apply()
        self.rng = lambda n: bytes(self.rand.randrange(256) for _ in range(n))  # noqa: E731
        self.clock_s = lambda: EPOCH_S + self.t / 1000.0  # noqa: E731
        self.trace = []          # (t, who, event): link, session and fault events
        self.drop_tcp = False
        self.tcp_dropped = 0
        self._transmit = self.wire.transmit
        self.wire.transmit = self._wire_transmit
        self.power = power if power is not None else PowerPath(0)
        self.charger_cls = charger_cls
        self.secc_config = secc_config
        if tls:
            self.secc_config = secc_config = dict(secc_config or {}, tls=True)
            if pnc is not None:
                secc_config.setdefault("auth", ("PnC", "EIM"))
                if charger_cls is Charger:
                    self.charger_cls = charger_cls = charger_app.BoardCharger
            self._tls_side(self.charger, "charger")
            self._tls_side(self.vehicle, "vehicle")
        self.chg = ChargerApp(self, self.charger, self.power, charger_cls, secc_config, self._pnc_seam())
        self.ev_config = {"service": service, "control": control, "loops": loops,
                          "precharge_tolerance_v": 10.0,
                          "timeouts": {"default": 2000, "ChargeLoop": 500}, "tls": tls}
        if pnc is not None:
            self.ev_config.update(self._contract_config())
        self.ev = EvApp(self, self.vehicle, self.ev_config, self._ev_crypto())
        self.vehicles = 1
        self.steps = 0

    # ---- the world ---------------------------------------------------------
    def _tls_side(self, side, role):
        from host.bench import hostsim
        from host.bench.host_side import vehicle_bundle
        kw = {}
        if self.pnc is not None:
            pki = hostsim.shared_pki() if self.pnc.get("pki") is None else self.pnc["pki"]
            kw["pki"] = pki
            if role == "charger":
                kw["pnc"] = self.pnc.get("verifier")
            else:
                kw["bundle"] = vehicle_bundle(pki, self.pnc.get("contract"))
        self.hosts[side.name] = hostsim.attach(self, side, role, **kw)

    def _pnc_seam(self):
        """The charger's PnC seam: a HostVerifier on its board end (PnC)."""
        if self.pnc is None:
            return None
        from micro15118.hostend import HostVerifier
        return HostVerifier(self.hosts[self.charger.name].end)

    def _ev_crypto(self):
        if self.pnc is None:
            return None
        from micro15118.iso20.xmldsig import Se050Crypto
        return Se050Crypto(self.hosts[self.vehicle.name].se)

    def _contract_config(self):
        from host.bench import hostsim
        from host.bench.host_side import contract_refs
        pki = self.pnc.get("pki") or hostsim.shared_pki()
        from micro15118 import boardsetup
        key, refs = contract_refs(pki, self.pnc.get("contract"))
        # as evcc_main resolves --contract-chain: the leaf an SE050 object, sub-CA files read
        chain = boardsetup.contract_refs(["0x%08X" % refs[0]] + refs[1:])
        return {"auth": "pnc", "contract_key": key, "contract_chain": chain,
                "eim_fallback": bool(self.pnc.get("eim_fallback", True))}

    def record(self, who, ev):
        self.trace.append((self.t, who, ev))

    def _wire_transmit(self, sender, frame, nid, now):
        # IPv6 (0x86DD) carrying TCP (next header 6)
        if (self.drop_tcp and len(frame) > 20 and frame[12] == 0x86 and frame[13] == 0xDD
                and frame[20] == 6):
            self.tcp_dropped += 1
            return
        self._transmit(sender, frame, nid, now)

    def plug(self):
        LinkSim.plug(self)
        self.power.plug(True, self.t)

    def unplug(self):
        LinkSim.unplug(self)
        self.power.plug(False, self.t)

    def _apply(self):
        if getattr(self.cable, "force", None) == "E":
            self.cable.set_vehicle("E")
        else:
            LinkSim._apply(self)

    def new_vehicle(self):
        """Retire the present vehicle (unplug it first) and build a fresh one
        with its own MAC, modem and firmware; plug() plugs it in."""
        if self.plugged:
            self.unplug()
        self.ev.alive = False
        self.vehicles += 1
        mac = bytes.fromhex("0200000001%02x" % (self.vehicles & 0xFF))
        self.vehicle = Side(self, "vehicle", mac, "pev", VehicleLink(mac, rng=self.rng))
        self.wire.detach(self.vehicle.modem)
        _sync_clock(self.vehicle.runner, self.t)
        if self.tls:
            self._tls_side(self.vehicle, "vehicle")
        self.vehicle_state = "B"
        self.ev = EvApp(self, self.vehicle, self.ev_config, self._ev_crypto())
        return self.ev

    def restart_charger(self):
        """The charger firmware restarts: new link, driver, runner, charger
        API and Secc on the same chip, modem and power electronics; the
        power-on reset opens the contactor."""
        self.chg.alive = False
        self.power.contactor(False, self.t)
        side = self.charger
        bus = _Bus(side.chip)
        side.driver = Qca7000(bus, bus)
        side.link = ChargerLink(CHARGER_MAC, rng=self.rng)
        side.runner = Runner(side.link, side.driver, _Pilot(self, True), True,
                             clock=lambda: self.t)
        _sync_clock(side.runner, self.t)
        if self.tls:
            cut = self.hosts[side.name].wire.cut
            self._tls_side(side, "charger")      # the host sees the MCU's link restart
            self.hosts[side.name].wire.cut = cut
        self.chg = ChargerApp(self, side, self.power, self.charger_cls, self.secc_config, self._pnc_seam())
        self.record("charger", ("restarted",))

    # ---- stepping ----------------------------------------------------------
    def step_to(self, t):
        self.t = t
        self.steps += 1
        for app in (self.chg, self.ev):
            if not app.alive:
                continue
            side = app.side
            evs = side.runner.step()
            for ev in evs:
                if ev[0] != "v2gtp":
                    self.trace.append((t, side.name, ev))
                app.link_event(ev, t)
            app.turn(t)
        for host in self.hosts.values():
            host.step(t)
        for side in (self.charger, self.vehicle):
            side.modem.poll(t)
        self.wire.poll(t)

    def next_time(self):
        """The next instant anything is due (at least 1 ms ahead)."""
        soon = self.t + 1
        best = None
        for app in (self.chg, self.ev):
            if not app.alive:
                continue
            side = app.side
            r = side.runner
            if r.txq or side.chip.irq:
                return soon
            for d in (self.t + r.idle_ms(), side.driver.next_deadline(),
                      side.chip._wq[0][0] if side.chip._wq else None):
                if d is not None and (best is None or d < best):
                    best = d
            s = app.secc if app is self.chg else (None if app.silent else app.evcc)
            d = s.next_deadline() if s is not None else None
            if d is not None and (best is None or d < best):
                best = d
        for host in self.hosts.values():
            if host.busy():
                return soon
            d = host.next_deadline()
            if best is None or d < best:
                best = d
        for d in (self.charger.modem.next_deadline(), self.vehicle.modem.next_deadline(),
                  self.wire.next_deadline()):
            if d is not None and (best is None or d < best):
                best = d
        if best is None or best < soon:
            return soon
        return best

    def advance(self):
        self.step_to(self.next_time())

    def run(self, until_t, stop=None):
        """Advance until `stop()` is true (checked after every step) or
        until_t; returns True if stop() became true."""
        while self.t < until_t:
            self.step_to(min(self.next_time(), until_t))
            if stop is not None and stop():
                return True
        return False

    # ---- observations ------------------------------------------------------
    def powered(self):
        p = self.power
        return p.closed or p.current != 0 or p.ac_w != 0

    def ev_done(self):
        r = self.ev.result
        return r is not None and r[0] == "done"
