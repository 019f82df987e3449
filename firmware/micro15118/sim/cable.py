"""Electrical model of the control pilot (and PP) between a charger and a
vehicle, for simulated boards and tests (never part of a board image)."""
from ..pilot import DUTY_F, DUTY_OFF, STATE_A, STATE_B, STATE_C, STATE_D, STATE_E


class CableModel:
    """Electrical model of CP (and PP) between a charger and a vehicle.

    The vehicle's diode is modelled with a 0.7 V forward drop, which puts the
    high plateau on the nominal 9/6/3 V.  `diode=False` models a vehicle (or a
    fault) without it; set_vehicle('E') shorts CP to PE.
    """

    R1 = 1000.0      # EVSE source resistance
    R2 = 2740.0      # EV: always present once connected
    R3_C = 1300.0    # EV: switched in for state C
    R3_D = 270.0     # EV: switched in for state D
    DIODE_MV = 700.0

    def __init__(self, pp_ohms=220, diode=True):
        self.duty = DUTY_OFF
        self.vehicle = STATE_A
        self.pp_ohms = pp_ohms
        self.diode = diode

    def set_charger(self, duty_permille):
        self.duty = max(0, min(1000, int(duty_permille)))

    def set_vehicle(self, state):
        if state not in (STATE_A, STATE_B, STATE_C, STATE_D, STATE_E):
            raise ValueError('vehicle state must be A, B, C, D or E')
        self.vehicle = state

    def _load(self):
        # Vehicle-side resistance to PE in Ohm, None if open.
        if self.vehicle == STATE_B:
            return self.R2
        if self.vehicle == STATE_C:
            return self.R2 * self.R3_C / (self.R2 + self.R3_C)
        if self.vehicle == STATE_D:
            return self.R2 * self.R3_D / (self.R2 + self.R3_D)
        return None

    def _level(self, source_mv):
        # CP voltage while the charger drives source_mv.
        if self.vehicle == STATE_E:
            return 0
        r = self._load()
        if r is None:
            return int(source_mv)
        if source_mv > 0:
            drop = self.DIODE_MV if self.diode else 0.0
            if source_mv <= drop:
                return int(source_mv)
            i = (source_mv - drop) / (self.R1 + r)
            return int(round(source_mv - i * self.R1))
        if self.diode:
            return int(source_mv)        # diode blocks the negative half
        return int(round(source_mv * r / (self.R1 + r)))

    def read(self):
        """(high_mv, low_mv, duty_permille) as both ends measure them."""
        if self.duty >= DUTY_OFF:
            v = self._level(12000)
            return v, v, DUTY_OFF
        if self.duty <= DUTY_F:
            v = self._level(-12000)
            return v, v, DUTY_F
        return self._level(12000), self._level(-12000), self.duty

    def pp(self):
        """PP resistance in Ohm as the charger measures it, None if open."""
        if self.vehicle == STATE_A:
            return None
        return self.pp_ohms
