"""Power-electronics model of a simulated charger.

What the session commands through the charger API (iso20.charger) lands
here: the output contactor, the DC output (voltage and current targets) or
the AC output power, and the insulation test before a DC charge.  The meter
integrates the power actually delivered over the `now` it is given, so it
is the source of truth for energy, as a real meter is.

Numbers (documented choices, not from the standard):
* DC voltage slew 200 V/s: a 400 V pack pre-charges in 2 s and an 800 V
  pack in 4 s, well inside the EV's 10 s DC_PreCharge timeout (docs/standards-notes.md §5);
  the output discharges at the same rate after the contactor opens;
* insulation test 2 s (real chargers take 1 to 5 s);
* current and power are limited to the hardware maxima; a discharge is
  negative current / power; AC power is split evenly over the phases.
"""


class OutputStage:
    """What a simulated charger's power electronics can do: its maxima and
    the numbers above.  PowerModel here and the host's one-cable power path
    (host/bench/power_path.py) are both one."""

    def __init__(self, max_voltage=1000, max_current=500, max_power=150000, slew_v_per_s=200,
                 insulation_ms=2000, ac_phases=3, ac_voltage=230, ac_max_current=32):
        self.max_voltage = max_voltage
        self.max_current = max_current
        self.max_power = max_power
        self.slew = slew_v_per_s
        self.insulation_ms = insulation_ms
        self.ac_phases = ac_phases
        self.ac_voltage = ac_voltage
        self.ac_max_current = ac_max_current


class PowerModel(OutputStage):
    def __init__(self, now=0, meter_id="SIM-METER-1", **ratings):
        OutputStage.__init__(self, **ratings)
        self.meter_id = meter_id
        self.insulation_fault = False   # tests: make the insulation test fail
        self.contactor_fault = False    # tests: the contactor does not close
        self.closed = False
        self.voltage = 0.0              # present DC output voltage
        self.current = 0.0              # present DC current (+ into the EV)
        self.ac_w = 0.0                 # present AC active power (+ into the EV)
        self.target_v = 0.0
        self.target_i = 0.0
        self._iso_started = None
        self.charged_wh = 0.0
        self.discharged_wh = 0.0
        self.t = now

    # --- commands -------------------------------------------------------
    def contactor(self, closed, now):
        """Close or open the output contactor; False if it did not obey."""
        self.update(now)
        if closed and self.contactor_fault:
            return False
        self.closed = closed
        if not closed:
            self.current = 0.0
            self.ac_w = 0.0
            self.target_i = 0.0
            self.target_v = 0.0
            self._iso_started = None
        return True

    def dc_target(self, voltage, current, now):
        """Regulate the DC output: voltage ramps to `voltage` at the slew
        rate; `current` flows only with the contactor closed (the EV side
        is a battery at the output voltage)."""
        self.update(now)
        self.target_v = max(0.0, min(float(voltage), self.max_voltage))
        i = max(-self.max_current, min(float(current), self.max_current))
        v = self.voltage if self.voltage > 1 else self.target_v
        if v > 1 and abs(i) * v > self.max_power:
            i = self.max_power / v if i > 0 else -self.max_power / v
        self.target_i = i
        self.current = i if self.closed else 0.0

    def ac_power(self, power_w, now):
        """Set the AC active power (+ charge, - discharge), limited by the
        phase current."""
        self.update(now)
        limit = self.ac_phases * self.ac_voltage * self.ac_max_current
        p = max(-limit, min(float(power_w), limit))
        self.ac_w = p if self.closed else 0.0

    def insulation_check(self, now):
        """Run the DC insulation test: None while it runs, then True (ok)
        or False (fault).  Needs the contactor closed."""
        self.update(now)
        if not self.closed:
            return False
        if self._iso_started is None:
            self._iso_started = now
        if now - self._iso_started < self.insulation_ms:
            return None
        return not self.insulation_fault

    # --- measurements ---------------------------------------------------
    def present(self, now):
        """(voltage, current, active power W) at the output."""
        self.update(now)
        if self.ac_w:
            return self.ac_voltage, self.ac_w / (self.ac_voltage * self.ac_phases), self.ac_w
        return self.voltage, self.current, self.voltage * self.current

    def meter(self, now):
        """(charged Wh, discharged Wh), both growing."""
        self.update(now)
        return self.charged_wh, self.discharged_wh

    def update(self, now):
        """Advance the model to `now`: integrate energy at the power held
        since the last update, then slew the voltage."""
        dt = now - self.t
        if dt <= 0:
            return
        self.t = now
        p = self.ac_w if self.ac_w else self.voltage * self.current
        wh = p * dt / 3600000.0
        if wh > 0:
            self.charged_wh += wh
        else:
            self.discharged_wh -= wh
        step = self.slew * dt / 1000.0
        target = self.target_v if self.closed else 0.0
        if self.voltage < target:
            self.voltage = min(target, self.voltage + step)
        elif self.voltage > target:
            self.voltage = max(target, self.voltage - step)
