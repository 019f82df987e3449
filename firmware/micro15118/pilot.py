"""IEC 61851-1 control pilot (CP) and proximity pilot (PP), sans I/O.

The charger drives CP with +-12 V behind 1 kOhm, either DC (+12 V, "PWM off",
duty 1000 permille), constant -12 V (duty 0, state F) or a 1 kHz PWM whose
duty cycle advertises the current limit.  The vehicle loads CP through a diode
and 2.74 kOhm (R2), plus 1.3 kOhm (R3, state C) or 270 Ohm (state D) in
parallel.  Both ends measure the high and the low plateau of CP; the diode
keeps the low plateau at -12 V while a vehicle is connected.

Duty cycles are integers in permille (0..1000), voltages integers in mV.
"""

STATE_A = 'A'   # +12 V: no vehicle
STATE_B = 'B'   # +9 V: vehicle connected, not ready
STATE_C = 'C'   # +6 V: vehicle ready, charging
STATE_D = 'D'   # +3 V: charging with ventilation
STATE_E = 'E'   # 0 V: CP shorted to PE (EVSE, grid or cable fault)
STATE_F = 'F'   # -12 V: EVSE not available / error

DUTY_OFF = 1000       # PWM off: +12 V DC (states A1/B1/C1)
DUTY_F = 0            # constant -12 V: state F
DUTY_DIGITAL = 50     # 5 %: high-level (ISO 15118) communication required
DIGITAL = 'digital'   # marker accepted by current_to_duty() for 5 %

BAND_MV = 1000        # +-1 V around each nominal level
DEBOUNCE_MS = 50
DUTY_TOLERANCE = 4    # permille; smaller changes are measurement jitter

# (nominal high level in mV, state); low plateau -12 V if PWM is on.
_LEVELS = ((12000, STATE_A), (9000, STATE_B), (6000, STATE_C), (3000, STATE_D))


def _near(mv, nominal):
    return nominal - BAND_MV <= mv <= nominal + BAND_MV


def cp_state(high_mv, low_mv):
    """CP state from the measured plateaus, or None between bands.

    With PWM off the two plateaus are equal (DC); with PWM on, B, C and D also
    need the low plateau at -12 V, which proves the vehicle's diode is there
    (without it the low level sags towards 0 V and the reading is None).
    """
    if _near(high_mv, -12000):
        return STATE_F if _near(low_mv, -12000) else None
    if _near(high_mv, 0):
        return STATE_E if _near(low_mv, 0) else None
    dc = abs(high_mv - low_mv) <= BAND_MV
    for nominal, state in _LEVELS:
        if _near(high_mv, nominal):
            if dc or _near(low_mv, -12000):
                return state
            return None
    return None


def is_digital(permille):
    """True for the 5 % duty cycle (4.5 % to 5.5 %): digital communication required."""
    return 45 <= permille <= 55


def duty_to_current(permille):
    """Maximum current (A) the duty cycle advertises; 0 if it advertises none.

    0 is returned for 5 % (digital communication: the current limit comes over
    ISO 15118, see is_digital()), for PWM off (100 %), below 3 % (E/F) and for
    the duty cycles the table marks as errors (3-8 % except 5 %, 97-100 %).
    """
    if 80 <= permille < 100:
        return 6.0
    if 100 <= permille <= 850:
        return permille * 6 / 100            # D(%) x 0.6 A
    if 850 < permille <= 960:
        return (permille - 640) / 4          # (D(%) - 64) x 2.5 A
    if 960 < permille <= 970:
        return 80.0
    return 0


def current_to_duty(amps):
    """Duty cycle (permille) advertising at most `amps`.

    `DIGITAL` gives 5 %.  Below 6 A nothing can be advertised, so PWM goes
    off (1000).  Rounding is down, so duty_to_current() never exceeds `amps`;
    51-52.5 A falls into the gap between the two formulas and gives 51 A;
    80 A and more give 96 % (80 A).
    """
    if amps == DIGITAL:
        return DUTY_DIGITAL
    if amps < 6:
        return DUTY_OFF
    if amps <= 51:
        return int(amps * 100 / 6 + 1e-9)
    if amps < 52.5:
        return 850
    if amps >= 80:
        return 960
    return int(amps * 4 + 1e-9) + 640


def pp_current(ohms):
    """Cable rating (A) from the PP resistor Rc; 0 = no cable, -1 = error.

    None (open circuit) counts as no cable.
    """
    if ohms is None or ohms > 2200:
        return 0
    if ohms < 75:
        return -1
    if ohms < 150:
        return 63
    if ohms < 330:
        return 32
    if ohms < 1000:
        return 20
    return 13


class _Tracker:
    # A reading must stay the same for debounce_ms before it is believed.
    # 50 ms rides over resistor switching, PWM edges caught by the ADC and
    # 50 PWM periods of noise, and is short against the reaction times
    # IEC 61851-1 gives (for example about 100 ms to cut power after C->B;
    # figure not checked against the text here).  None (between bands) is
    # tracked like a state, so a persistent bad pilot shows up as ('cp', x, None).

    def __init__(self, now=0, debounce_ms=DEBOUNCE_MS):
        self.debounce_ms = debounce_ms
        self.state = None       # debounced; None until the first reading settles
        self.events = []
        self._started = False
        self._cand = None
        self._since = now

    def _track_state(self, high_mv, low_mv, now, out):
        s = cp_state(high_mv, low_mv)
        if s == self.state and self._started:
            self._cand = s
            self._since = now
            return
        if s != self._cand:
            self._cand = s
            self._since = now
        if now - self._since >= self.debounce_ms:
            old = self.state
            self.state = s
            self._started = True
            if old != s:
                out.append(('cp', old, s))

    def _emit(self, out):
        self.events.extend(out)
        return out


class ChargerPilot(_Tracker):
    """Charger side: debounced CP state plus the duty cycle it drives.

    update() returns the events this sample produced; they are also queued
    on .events.  The `duty` argument is ignored (the charger knows its own,
    set with set_duty()); it is there so both sides take the same samples.
    """

    def __init__(self, now=0, debounce_ms=DEBOUNCE_MS, duty=DUTY_OFF):
        super().__init__(now, debounce_ms)
        self.duty = duty

    def set_duty(self, permille):
        permille = max(0, min(1000, int(permille)))
        if permille != self.duty:
            self.duty = permille
            self.events.append(('duty', permille))

    def update(self, high_mv, low_mv, duty, now):
        out = []
        self._track_state(high_mv, low_mv, now, out)
        return self._emit(out)


class VehiclePilot(_Tracker):
    """Vehicle side: debounced CP state and the measured duty cycle.

    Events: ('cp', old, new) and ('duty', permille, amps); amps is
    duty_to_current(permille), and .digital tells whether the charger asks
    for digital communication (5 %).
    """

    def __init__(self, now=0, debounce_ms=DEBOUNCE_MS):
        super().__init__(now, debounce_ms)
        self.duty = None
        self._dcand = None
        self._dsince = now

    @property
    def digital(self):
        return self.duty is not None and is_digital(self.duty)

    @property
    def amps(self):
        return 0 if self.duty is None else duty_to_current(self.duty)

    def update(self, high_mv, low_mv, duty, now):
        out = []
        self._track_state(high_mv, low_mv, now, out)
        if self.duty is not None and abs(duty - self.duty) <= DUTY_TOLERANCE:
            self._dcand = None
        else:
            if self._dcand is None or abs(duty - self._dcand) > DUTY_TOLERANCE:
                self._dcand = duty
                self._dsince = now
            if now - self._dsince >= self.debounce_ms:
                self.duty = duty
                self._dcand = None
                out.append(('duty', duty, duty_to_current(duty)))
        return self._emit(out)
