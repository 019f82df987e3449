"""A battery for simulated vehicles: capacity, SoC, power limits, voltage.

It integrates the power the charger delivers (+ charge, - discharge) over
the session clock `now` (ms): the power set at one call flows until the
next.  `charged_wh` / `discharged_wh` count what went through the inlet, so
they can be held against the charger's meter.
"""


class Battery:
    def __init__(self, capacity_wh=60000.0, soc=50.0, max_charge_power=150000.0,
                 max_discharge_power=11000.0, max_current=400.0, max_discharge_current=30.0,
                 min_soc=20.0, target_soc=80.0, v_empty=330.0, v_full=420.0,
                 departure_s=7200, now=0):
        self.capacity_wh = float(capacity_wh)
        self.energy_wh = self.capacity_wh * soc / 100.0
        self.max_charge_power = float(max_charge_power)
        self.max_discharge_power = float(max_discharge_power)
        self.max_current = float(max_current)
        self.max_discharge_current = float(max_discharge_current)
        self.min_soc = float(min_soc)
        self.target_soc = float(target_soc)
        self.v_empty = float(v_empty)
        self.v_full = float(v_full)
        self.departure_at = now + int(departure_s) * 1000
        self.power = 0.0          # W flowing now (+ into the battery)
        self.t = now
        self.charged_wh = 0.0
        self.discharged_wh = 0.0

    def soc(self):
        return 100.0 * self.energy_wh / self.capacity_wh

    def voltage(self):
        # linear open-circuit voltage: good enough for pre-charge and targets
        return self.v_empty + (self.v_full - self.v_empty) * self.soc() / 100.0

    def departure_time(self, now):
        """Seconds left until departure (0 once passed)."""
        left = (self.departure_at - now) // 1000
        return left if left > 0 else 0

    def update(self, now, power_w=None):
        """Integrate the present power up to `now`, then switch to power_w."""
        dt = now - self.t
        if dt > 0:
            e = self.power * dt / 3600000.0
            if e >= 0:
                self.charged_wh += e
            else:
                self.discharged_wh -= e
            self.energy_wh = min(self.capacity_wh, max(0.0, self.energy_wh + e))
            self.t = now
        if power_w is not None:
            self.power = float(power_w)

    def net_wh(self):
        return self.charged_wh - self.discharged_wh
