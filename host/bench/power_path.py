"""One simulated power path: the charger's output stage, the cable, the
EV's contactor and its battery pack.

The wire process (host/bench/wire_server.py) keeps one per cable.  The charger's
power-electronics seam drives it (output contactor, DC voltage and current
targets, AC power, insulation test); the vehicle's battery seam declares its
pack and switches its contactor.  Both sides then read it: the charger its
output (voltage, current, power) and its meter, the vehicle its pack (SoC,
voltage, current).  Energy is counted once, where it flows, so the meter and
the battery agree because the same current went through both, not because
each side believed the other.

Physics (documented choices, not from the standard):
* DC: with the EV's contactor open the output capacitor follows the voltage
  target at 200 V/s (pre-charge; a 400 V pack in 2 s) and no current flows;
  with both contactors closed the pack holds the voltage and the converter
  delivers its current target, except that it cannot push charge current
  into a pack above its voltage target (the target is a ceiling).  Closing
  the EV's contactor onto an output more than 20 V off the pack is counted
  as an inrush fault (a real pack would weld its contactor).
* Insulation test: 2 s with the charger's contactor closed; a fault flag
  makes it fail.
* AC: the active power flows while both contactors are closed (the EV's
  closes in CP state C), limited by the phase current.
* The output discharges at the slew rate once the charger's contactor
  opens; current stops at once when either contactor opens or the cable is
  unplugged (counted if it happens under load).
* No losses: the meter and the pack see the same energy.
"""

from micro15118.sim.battery import Battery
from micro15118.sim.power import OutputStage, PowerModel

INRUSH_V = 20.0


class Pack(Battery):
    """The EV's traction battery on the cable: energy booked where it flows."""

    def __init__(self, capacity_wh=60000.0, soc=50.0, v_empty=330.0, v_full=420.0):
        Battery.__init__(self, capacity_wh=capacity_wh, soc=soc, v_empty=v_empty, v_full=v_full)
        self.soc_start = float(soc)

    def book(self, wh):
        if wh >= 0:
            self.charged_wh += wh
        else:
            self.discharged_wh -= wh
        self.energy_wh = min(self.capacity_wh, max(0.0, self.energy_wh + wh))


class PowerPath(OutputStage):
    def __init__(self, now_ms=0, **ratings):
        OutputStage.__init__(self, **ratings)
        self.t = now_ms
        # the charger's side
        self.closed = False            # output contactor
        self.target_v = 0.0
        self.target_i = 0.0
        self.ac_target_w = 0.0
        self.output_v = 0.0            # DC output capacitor
        self.mode = None               # 'dc' or 'ac': what the charger drives
        self._iso_started = None
        self.insulation_fault = False  # tests: the insulation test fails
        self.contactor_fault = False   # tests: the output contactor does not close
        self.charged_wh = 0.0          # the charger's meter
        self.discharged_wh = 0.0
        # the EV's side
        self.pack = Pack()
        self.pack_declared = False     # a vehicle board described its pack
        self.ev_closed = False
        self.connected = True          # the cable is plugged in
        self.events = []               # (t_ms, what): contactor moves, faults

    # -- what flows now ----------------------------------------------------
    def _ev_contactor(self):
        if not self.pack_declared:
            return self._peer_contactor()
        return self.ev_closed

    def _peer_contactor(self):
        """A peer EV has no battery seam on our cable, and what it reports
        of its pack cannot be trusted (python-iso15118's EV says 20 kV and
        ends its pre-charge wherever the output happens to be).  Its
        contactor closes once the charger first commands current (after
        PowerDelivery Start, so the EV said its pre-charge was done), and
        its pack is taken at the output voltage of that moment, flat."""
        if self.ev_closed:
            return self.closed
        if not self.closed:
            return False
        if self.mode == "ac":
            return True
        if self.target_i and self.output_v > 1:
            self.pack.v_empty = self.pack.v_full = self.output_v
            self.ev_closed = True
            self._event("peer EV contactor closed at %.0f V" % self.output_v)
            return True
        return False

    def flowing(self):
        """(voltage at the inlet, current into the EV, power into the EV)."""
        if not (self.connected and self.closed and self._ev_contactor()):
            return self.output_v if self.connected else 0.0, 0.0, 0.0
        if self.mode == "ac":
            limit = self.ac_phases * self.ac_voltage * self.ac_max_current
            p = max(-limit, min(self.ac_target_w, limit))
            return self.ac_voltage, p / (self.ac_voltage * self.ac_phases), p
        v = self.pack.voltage()
        i = self.target_i
        if i > 0 and self.target_v < v:
            i = 0.0                    # the voltage ceiling is below the pack
        return v, i, v * i

    @property
    def current(self):
        """DC current flowing now (observers; no time step)."""
        return 0.0 if self.mode == "ac" else self.flowing()[1]

    @property
    def ac_w(self):
        """AC active power flowing now (observers; no time step)."""
        return self.flowing()[2] if self.mode == "ac" else 0.0

    # -- time ----------------------------------------------------------------
    def update(self, now_ms):
        dt = now_ms - self.t
        if dt <= 0:
            return
        self.t = now_ms
        p = self.flowing()[2]
        wh = p * dt / 3600000.0
        if wh >= 0:
            self.charged_wh += wh
        else:
            self.discharged_wh -= wh
        self.pack.book(wh)
        if self.mode == "dc" and self.closed and self._ev_contactor():
            self.output_v = self.pack.voltage()
            return
        target = self.target_v if self.closed else 0.0
        step = self.slew * dt / 1000.0
        if self.output_v < target:
            self.output_v = min(target, self.output_v + step)
        elif self.output_v > target:
            self.output_v = max(target, self.output_v - step)

    def _event(self, what):
        self.events.append((self.t, what))

    # -- the charger's power-electronics seam --------------------------------
    def contactor(self, closed, now_ms):
        """Close or open the output contactor; False if it did not obey."""
        self.update(now_ms)
        if closed and self.contactor_fault:
            return False
        if closed != self.closed:
            self._event("charger contactor " + ("closed" if closed else "open"))
        if not closed and not self.pack_declared:
            self.ev_closed = False          # a peer EV opens with the charger
        self.closed = bool(closed)
        if not closed:
            self.target_i = self.target_v = self.ac_target_w = 0.0
            self._iso_started = None
        return True

    def dc_target(self, voltage, current, now_ms):
        self.update(now_ms)
        self.mode = "dc"
        self.target_v = max(0.0, min(float(voltage), self.max_voltage))
        i = max(-self.max_current, min(float(current), self.max_current))
        v = max(self.output_v, self.target_v, 1.0)
        if abs(i) * v > self.max_power:
            i = self.max_power / v if i > 0 else -self.max_power / v
        self.target_i = i

    def ac_power(self, power_w, now_ms):
        self.update(now_ms)
        self.mode = "ac"
        self.ac_target_w = float(power_w) if self.closed else 0.0

    # the same insulation test as the in-process model (None while it runs,
    # then True or False; needs the output contactor closed)
    insulation_check = PowerModel.insulation_check

    def present(self, now_ms):
        """(voltage, current, power) at the charger's output."""
        self.update(now_ms)
        return self.flowing()

    def meter(self, now_ms):
        self.update(now_ms)
        return self.charged_wh, self.discharged_wh

    # -- the vehicle's battery seam -------------------------------------------
    def declare_pack(self, capacity_wh, soc, v_empty, v_full, now_ms):
        self.update(now_ms)
        self.pack = Pack(capacity_wh, soc, v_empty, v_full)
        self.pack_declared = True

    def ev_contactor(self, closed, now_ms):
        self.update(now_ms)
        closed = bool(closed)
        if closed and not self.ev_closed and self.closed and self.mode == "dc" \
                and abs(self.output_v - self.pack.voltage()) > INRUSH_V:
            self._event("inrush: EV contactor closed at %.0f V onto a %.0f V pack" % (
                self.output_v, self.pack.voltage()))
        if closed != self.ev_closed:
            self._event("EV contactor " + ("closed" if closed else "open"))
        if not closed and self.flowing()[1]:
            self._event("EV contactor opened under load (%.1f A)" % self.flowing()[1])
        self.ev_closed = closed

    def pack_reading(self, now_ms):
        """(SoC %, pack voltage, current into the pack, charged Wh, discharged Wh)."""
        self.update(now_ms)
        _, i, _ = self.flowing()
        p = self.pack
        return p.soc(), p.voltage(), i, p.charged_wh, p.discharged_wh

    # -- the cable -------------------------------------------------------------
    def plug(self, connected, now_ms):
        self.update(now_ms)
        if not connected and self.flowing()[1]:
            self._event("unplugged under load (%.1f A)" % self.flowing()[1])
        self.connected = bool(connected)
        if not connected:
            self.ev_closed = False

    def snapshot(self, now_ms):
        self.update(now_ms)
        v, i, p = self.flowing()
        return {"voltage": round(v, 3), "current": round(i, 3), "power": round(p, 3),
                "charger_contactor": self.closed, "ev_contactor": self._ev_contactor(),
                "meter_charged_wh": round(self.charged_wh, 6),
                "meter_discharged_wh": round(self.discharged_wh, 6),
                "pack_soc_start": self.pack.soc_start, "pack_soc": round(self.pack.soc(), 6),
                "pack_declared": self.pack_declared,
                "pack_net_wh": round(self.pack.charged_wh - self.pack.discharged_wh, 6),
                "events": ["%d ms %s" % e for e in self.events]}
