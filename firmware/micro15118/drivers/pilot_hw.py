"""Control pilot and proximity pilot on real pins (machine.PWM/ADC/Pin).

Configured from a board dict (boards/<board>/board.json, keys documented in
boards/README.md).  `machine` can be passed in so tests run with a fake one.

The CP reaches the ADC through a divider / level shifter, so every board
gives a linear calibration: mV on CP = offset_mv + count * mv_per_count,
count from ADC.read_u16().  read() samples the ADC many times across a few
PWM periods and takes the median of the upper and of the lower group as the
high and low plateau; the fraction of samples in the upper group estimates
the duty cycle, to 1/cp_samples; a vehicle board with a comparator on CP
(`cp_pulse_pin`) measures it with machine.time_pulse_us instead.  Samples
are taken back to back, so the high plateau of a 5 % PWM (50 us) gets only
a few of them: boards need an ADC fast against that, or more samples.
"""
from .. import pilot

CP_SAMPLES = 64
SPLIT_MV = 1500     # plateaus closer than this are one DC level


def _machine(m):
    if m is None:
        import machine as m
    return m


def _median(values):
    values.sort()
    return values[len(values) // 2]


def plateaus(samples_mv):
    """(high_mv, low_mv, duty_permille) from CP samples (a list, reordered)."""
    hi = max(samples_mv)
    lo = min(samples_mv)
    if hi - lo < SPLIT_MV:
        m = _median(samples_mv)
        return m, m, pilot.DUTY_OFF if m > 0 else pilot.DUTY_F
    mid = (hi + lo) // 2
    upper = [v for v in samples_mv if v > mid]
    lower = [v for v in samples_mv if v <= mid]
    duty = len(upper) * 1000 // len(samples_mv)
    return _median(upper), _median(lower), duty


class _Cp:
    def __init__(self, board, machine):
        self.m = _machine(machine)
        self.samples = board.get('cp_samples', CP_SAMPLES)
        self.mv_per_count = board['cp_adc_mv_per_count']
        self.offset_mv = board['cp_adc_offset_mv']
        self.adc = self.m.ADC(self.m.Pin(board['cp_adc_pin']))
        atten = board.get('cp_adc_atten')
        if atten is not None and hasattr(self.adc, 'atten'):
            self.adc.atten(atten)
        self._buf = [0] * self.samples

    def sample(self):
        buf = self._buf
        read = self.adc.read_u16
        for i in range(self.samples):
            buf[i] = read()
        k = self.mv_per_count
        off = self.offset_mv
        for i in range(self.samples):
            buf[i] = int(off + buf[i] * k)
        return plateaus(buf)


class ChargerPilotHw:
    """Charger: drives CP (PWM), reads CP and PP.

    set_duty(permille): 1000 = +12 V DC, 0 = -12 V (F), else 1 kHz PWM.
    read() -> (high_mv, low_mv, duty) with the duty the charger drives.
    read_pp() -> Rc in Ohm, or None if open (no cable).
    """

    def __init__(self, board, machine=None):
        self._cp = _Cp(board, machine)
        m = self._cp.m
        self.invert = board.get('cp_pwm_invert', False)
        self.pwm = m.PWM(m.Pin(board['cp_pwm_pin']))
        self.pwm.freq(board.get('cp_pwm_freq', 1000))
        self.duty = pilot.DUTY_OFF
        self._pp_adc = None
        if board.get('pp_adc_pin') is not None:
            self._pp_adc = m.ADC(m.Pin(board['pp_adc_pin']))
            self.pp_pullup = board['pp_pullup_ohms']
            self.pp_vref = board['pp_vref_mv']
            self.pp_k = board['pp_adc_mv_per_count']
            self.pp_off = board.get('pp_adc_offset_mv', 0)
        self.set_duty(pilot.DUTY_OFF)

    def set_duty(self, permille):
        permille = max(0, min(1000, int(permille)))
        self.duty = permille
        u16 = permille * 65535 // 1000
        if self.invert:     # a transistor stage between pin and CP op-amp
            u16 = 65535 - u16
        self.pwm.duty_u16(u16)

    def read(self):
        high, low, _ = self._cp.sample()
        return high, low, self.duty

    def read_pp(self):
        if self._pp_adc is None:
            return None
        mv = self.pp_off + self._pp_adc.read_u16() * self.pp_k
        # Rc to PE below a pull-up to vref: mv = vref * Rc / (Rc + pullup).
        if mv >= self.pp_vref * 0.98:
            return None
        if mv <= 0:
            return 0
        return int(self.pp_pullup * mv / (self.pp_vref - mv))


class VehiclePilotHw:
    """Vehicle: switches R3 with S2 (and an optional state-D switch), reads CP.

    set_state('B'|'C'|'D'): B opens S2 (R2 only), C closes S2, D closes the
    D switch (s2_d_pin) if the board has one, else raises ValueError.
    read() -> (high_mv, low_mv, measured duty permille).
    """

    def __init__(self, board, machine=None):
        self._cp = _Cp(board, machine)
        m = self._cp.m
        # A comparator output on CP lets time_pulse_us measure the duty to
        # 0.1 %; the ADC estimate (1/cp_samples) cannot tell 5 % reliably.
        self.pulse = None
        if board.get('cp_pulse_pin') is not None:
            self.pulse = m.Pin(board['cp_pulse_pin'], m.Pin.IN)
        self.active = 1 if board.get('s2_active_high', True) else 0
        self.s2 = m.Pin(board['s2_pin'], m.Pin.OUT, value=1 - self.active)
        self.s2_d = None
        if board.get('s2_d_pin') is not None:
            self.s2_d = m.Pin(board['s2_d_pin'], m.Pin.OUT, value=1 - self.active)
        self.state = pilot.STATE_B

    def set_state(self, state):
        if state == pilot.STATE_D and self.s2_d is None:
            raise ValueError('board has no state D switch')
        if state not in (pilot.STATE_B, pilot.STATE_C, pilot.STATE_D):
            raise ValueError('state must be B, C or D')
        self.s2.value(self.active if state == pilot.STATE_C else 1 - self.active)
        if self.s2_d is not None:
            self.s2_d.value(self.active if state == pilot.STATE_D else 1 - self.active)
        self.state = state

    def read(self):
        high, low, duty = self._cp.sample()
        if self.pulse is not None and pilot.DUTY_F < duty < pilot.DUTY_OFF:
            duty = self._pulse_duty(duty)
        return high, low, duty

    def _pulse_duty(self, fallback):
        tp = self._cp.m.time_pulse_us
        # Timing starts at once if the pin is already at the level, so the
        # first call only waits for a rising edge; the next two are whole.
        tp(self.pulse, 0, 2000)
        hi = tp(self.pulse, 1, 2000)
        lo = tp(self.pulse, 0, 2000)
        if hi <= 0 or lo <= 0:      # timeout (negative) or no edge
            return fallback
        return (hi * 1000 + (hi + lo) // 2) // (hi + lo)
