"""Control pilot: states, duty table, PP coding, cable model, debounced
trackers, and the machine.* driver against a fake machine module."""
from micro15118 import pilot
from micro15118.drivers import pilot_hw
from micro15118.sim.cable import CableModel


# --- cp_state ---------------------------------------------------------------

def test_cp_state_nominal_levels_dc_and_pwm():
    for high, state in ((12000, 'A'), (9000, 'B'), (6000, 'C'), (3000, 'D')):
        assert pilot.cp_state(high, high) == state           # PWM off
        assert pilot.cp_state(high, -12000) == state         # PWM on, diode
        assert pilot.cp_state(high + 900, -12900) == state   # inside +-1 V
        assert pilot.cp_state(high - 900, -11100) == state
    assert pilot.cp_state(0, 0) == 'E'
    assert pilot.cp_state(-12000, -12000) == 'F'
    assert pilot.STATE_A == 'A' and pilot.STATE_F == 'F'


def test_cp_state_between_bands_is_none():
    for high in (10500, 7500, 4500, 1500, -1500, -10000, 14000):
        assert pilot.cp_state(high, high) is None, high
    assert pilot.cp_state(9000, -8800) is None   # PWM on, no diode
    assert pilot.cp_state(6000, -10500) is None  # low plateau off -12 V
    assert pilot.cp_state(0, -12000) is None
    assert pilot.cp_state(-12000, 0) is None


# --- duty cycle table ---------------------------------------------------------

def test_duty_to_current_table():
    cases = ((0, 0), (20, 0), (50, 0), (79, 0), (80, 6), (99, 6), (100, 6),
             (250, 15), (500, 30), (533, 31.98), (850, 51), (851, 52.75),
             (900, 65), (960, 80), (965, 80), (970, 80), (971, 0), (1000, 0))
    for permille, amps in cases:
        got = pilot.duty_to_current(permille)
        assert abs(got - amps) < 1e-9, (permille, got, amps)


def test_digital_band():
    assert pilot.DUTY_DIGITAL == 50
    for p in (45, 50, 55):
        assert pilot.is_digital(p) and pilot.duty_to_current(p) == 0
    for p in (44, 56, 100, 1000, 0):
        assert not pilot.is_digital(p)
    assert pilot.current_to_duty(pilot.DIGITAL) == 50


def test_current_to_duty_never_advertises_more():
    a = 6.0
    while a <= 90:
        d = pilot.current_to_duty(a)
        back = pilot.duty_to_current(d)
        assert back <= a + 1e-9, (a, d, back)
        assert back >= min(a, 80) - 1.6, (a, d, back)   # 51-52.5 A gap, rounding
        a += 0.25
    assert pilot.current_to_duty(6) == 100
    assert pilot.current_to_duty(32) == 533
    assert pilot.current_to_duty(51) == 850
    assert pilot.current_to_duty(52) == 850
    assert pilot.current_to_duty(63) == 892
    assert pilot.current_to_duty(80) == 960
    assert pilot.current_to_duty(500) == 960
    assert pilot.current_to_duty(5.9) == pilot.DUTY_OFF
    assert pilot.current_to_duty(0) == pilot.DUTY_OFF


def test_pp_current():
    cases = ((None, 0), (10000, 0), (2201, 0), (2200, 13), (1500, 13), (1000, 13),
             (999, 20), (680, 20), (330, 20), (329, 32), (220, 32), (150, 32),
             (149, 63), (100, 63), (75, 63), (74, -1), (0, -1))
    for ohms, amps in cases:
        assert pilot.pp_current(ohms) == amps, (ohms, pilot.pp_current(ohms))


# --- cable model ------------------------------------------------------------

def test_cable_model_levels_match_states():
    cable = CableModel()
    for duty in (1000, 50, 533):
        cable.set_charger(duty)
        for ev in ('A', 'B', 'C', 'D'):
            cable.set_vehicle(ev)
            high, low, d = cable.read()
            assert d == duty
            assert pilot.cp_state(high, low) == ev, (duty, ev, high, low)
            if duty != 1000:
                assert low == -12000
    cable.set_vehicle('B')
    assert abs(cable.read()[0] - 9000) < 100       # diode drop gives the nominal 9 V
    cable.set_vehicle('C')
    assert abs(cable.read()[0] - 6000) < 100
    cable.set_vehicle('D')
    assert abs(cable.read()[0] - 3000) < 100


def test_cable_model_f_e_and_missing_diode():
    cable = CableModel()
    cable.set_vehicle('C')
    cable.set_charger(0)
    assert cable.read() == (-12000, -12000, 0)
    assert pilot.cp_state(*cable.read()[:2]) == 'F'
    cable.set_charger(50)
    cable.set_vehicle('E')
    assert pilot.cp_state(*cable.read()[:2]) == 'E'
    nodiode = CableModel(diode=False)
    nodiode.set_vehicle('B')
    nodiode.set_charger(50)
    high, low, _ = nodiode.read()
    assert -9500 < low < -8000                      # 12 V x 2.74 / 3.74
    assert pilot.cp_state(high, low) is None
    try:
        cable.set_vehicle('X')
    except ValueError:
        pass
    else:
        assert False, 'bad state accepted'


def test_cable_model_pp():
    cable = CableModel(pp_ohms=680)
    assert cable.pp() is None                       # unplugged
    cable.set_vehicle('B')
    assert cable.pp() == 680 and pilot.pp_current(cable.pp()) == 20


# --- trackers ---------------------------------------------------------------

def feed(tracker, cable, t0, t1, step=10):
    out = []
    t = t0
    while t <= t1:
        high, low, duty = cable.read()
        out.extend(tracker.update(high, low, duty, t))
        t += step
    return out


def test_charger_pilot_debounces_state_changes():
    cable = CableModel()
    cp = pilot.ChargerPilot(now=0)
    assert feed(cp, cable, 0, 40) == []            # not yet 50 ms
    assert feed(cp, cable, 50, 50) == [('cp', None, 'A')]
    assert cp.state == 'A'
    cable.set_vehicle('B')
    ev = feed(cp, cable, 100, 200)
    assert ev == [('cp', 'A', 'B')], ev
    # a 30 ms glitch to C is ignored
    cable.set_vehicle('C')
    assert feed(cp, cable, 210, 240) == []
    cable.set_vehicle('B')
    assert feed(cp, cable, 250, 400) == []
    assert cp.state == 'B'
    assert cp.events == [('cp', None, 'A'), ('cp', 'A', 'B')]


def test_charger_pilot_duty_and_full_session():
    cable = CableModel()
    cp = pilot.ChargerPilot(now=0, debounce_ms=20)
    feed(cp, cable, 0, 100)
    cable.set_vehicle('B')
    feed(cp, cable, 110, 200)
    cp.set_duty(pilot.DUTY_DIGITAL)
    cable.set_charger(cp.duty)
    cp.set_duty(pilot.DUTY_DIGITAL)                # unchanged: no event
    cable.set_vehicle('C')
    feed(cp, cable, 210, 300)
    cp.set_duty(0)
    cable.set_charger(0)
    feed(cp, cable, 310, 400)
    assert cp.events == [('cp', None, 'A'), ('cp', 'A', 'B'), ('duty', 50),
                         ('cp', 'B', 'C'), ('duty', 0), ('cp', 'C', 'F')], cp.events


def test_persistent_bad_pilot_reports_none():
    cp = pilot.ChargerPilot(now=0)
    for t in range(0, 200, 10):
        cp.update(9000, 9000, 1000, t)
    cp.events = []
    for t in range(200, 300, 10):
        cp.update(9000, -8800, 50, t)               # diode gone
    assert cp.events == [('cp', 'B', None)] and cp.state is None


def test_vehicle_pilot_duty_events():
    cable = CableModel()
    cable.set_vehicle('B')
    ev = pilot.VehiclePilot(now=0)
    feed(ev, cable, 0, 100)
    assert ev.events == [('cp', None, 'B'), ('duty', 1000, 0)], ev.events
    assert not ev.digital
    cable.set_charger(50)
    feed(ev, cable, 110, 300)
    assert ev.events[-1] == ('duty', 50, 0) and ev.digital
    ev.events = []
    # jitter of a few permille is not a change
    for i, t in enumerate(range(310, 600, 10)):
        ev.update(9000, -12000, 50 + (i % 3) - 1, t)
    assert ev.events == []
    cable.set_charger(pilot.current_to_duty(16))
    feed(ev, cable, 600, 700)
    assert ev.events == [('duty', 266, 15.96)], ev.events
    assert not ev.digital and abs(ev.amps - 15.96) < 1e-9


# --- driver with a fake machine ------------------------------------------------

class FakePin:
    OUT = 1
    IN = 0

    def __init__(self, pin, mode=None, value=None):
        self.pin = pin
        self.mode = mode
        self.v = value

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class FakeMachine:
    """machine.Pin/PWM/ADC; the CP ADC plays a waveform from a CableModel."""

    def __init__(self, board, cable):
        self.board = board
        self.cable = cable
        self.pins = {}
        self.pwm = None
        self.phase = 0
        fake = self

        class Pin(FakePin):
            def __init__(self, pin, mode=None, value=None):
                FakePin.__init__(self, pin, mode, value)
                fake.pins[pin] = self

        class PWM:
            def __init__(self, pin):
                self.pin = pin
                self.f = None
                self.d = None
                fake.pwm = self

            def freq(self, f):
                self.f = f

            def duty_u16(self, d):
                self.d = d

        class ADC:
            def __init__(self, pin):
                self.pin = pin.pin

            def read_u16(self):
                return fake.adc(self.pin)

        self.Pin = Pin
        self.PWM = PWM
        self.ADC = ADC

    def adc(self, pin):
        b = self.board
        if pin == b['cp_adc_pin']:
            high, low, duty = self.cable.read()
            # 64 samples spread evenly over one period (steps of 1/64).
            self.phase = (self.phase + 1) % 64
            mv = high if self.phase * 1000 < duty * 64 else low
            count = int((mv - b['cp_adc_offset_mv']) / b['cp_adc_mv_per_count'] + 0.5)
        else:
            ohms = self.cable.pp()
            if ohms is None:
                mv = b['pp_vref_mv']
            else:
                mv = b['pp_vref_mv'] * ohms / (ohms + b['pp_pullup_ohms'])
            count = int(mv / b['pp_adc_mv_per_count'] + 0.5)
        return max(0, min(65535, count))


BOARD = {
    'cp_pwm_pin': 4, 'cp_adc_pin': 1, 'cp_adc_mv_per_count': 30000 / 65535,
    'cp_adc_offset_mv': -15000, 'pp_adc_pin': 2, 'pp_pullup_ohms': 1000,
    'pp_vref_mv': 3300, 'pp_adc_mv_per_count': 3300 / 65535, 's2_pin': 16,
}


def test_plateaus_reject_edge_samples():
    samples = [9000] * 30 + [-12000] * 30 + [1000, -3000, 5000, 100]
    high, low, duty = pilot_hw.plateaus(samples)
    assert high == 9000 and low == -12000 and 450 < duty < 550
    assert pilot_hw.plateaus([6010, 5990, 6000]) == (6000, 6000, 1000)
    assert pilot_hw.plateaus([-12000] * 5) == (-12000, -12000, 0)


def test_charger_hw_with_fake_machine():
    cable = CableModel(pp_ohms=220)
    fm = FakeMachine(BOARD, cable)
    hw = pilot_hw.ChargerPilotHw(BOARD, machine=fm)
    assert fm.pwm.f == 1000 and fm.pwm.d == 65535       # PWM off = +12 V
    assert pilot.cp_state(*hw.read()[:2]) == 'A'
    assert hw.read_pp() is None
    cable.set_vehicle('B')
    hw.set_duty(50)
    cable.set_charger(50)
    assert fm.pwm.d == 50 * 65535 // 1000
    high, low, duty = hw.read()
    assert duty == 50 and pilot.cp_state(high, low) == 'B', (high, low)
    assert abs(hw.read_pp() - 220) <= 3
    assert pilot.pp_current(hw.read_pp()) == 32
    inv = dict(BOARD, cp_pwm_invert=True)
    hw2 = pilot_hw.ChargerPilotHw(inv, machine=FakeMachine(inv, cable))
    hw2.set_duty(250)
    assert hw2.pwm.d == 65535 - 250 * 65535 // 1000


def test_vehicle_hw_with_fake_machine():
    cable = CableModel()
    cable.set_vehicle('B')
    cable.set_charger(533)
    fm = FakeMachine(BOARD, cable)
    hw = pilot_hw.VehiclePilotHw(BOARD, machine=fm)
    assert fm.pins[16].v == 0                   # S2 open
    high, low, duty = hw.read()
    assert pilot.cp_state(high, low) == 'B'
    assert abs(duty - 533) <= 16, duty          # 1/64 resolution
    hw.set_state('C')
    assert fm.pins[16].v == 1
    try:
        hw.set_state('D')
    except ValueError:
        pass
    else:
        assert False, 'state D without a D switch'
    board = dict(BOARD, s2_d_pin=17, s2_active_high=False)
    fm = FakeMachine(board, cable)
    hw = pilot_hw.VehiclePilotHw(board, machine=fm)
    assert fm.pins[16].v == 1 and fm.pins[17].v == 1
    hw.set_state('D')
    assert fm.pins[16].v == 1 and fm.pins[17].v == 0


def test_board_files_configure_the_driver():
    import json
    for name in ('esp32s3-qca7000', 'rp2040-qca7000'):
        with open(_repo() + '/boards/' + name + '/board.json') as f:
            board = json.load(f)
        cable = CableModel(pp_ohms=680)
        cable.set_vehicle('C')
        cable.set_charger(250)
        hw = pilot_hw.ChargerPilotHw(board, machine=FakeMachine(board, cable))
        hw.set_duty(250)
        assert pilot.cp_state(*hw.read()[:2]) == 'C'
        assert pilot.pp_current(hw.read_pp()) == 20
        assert board['spi_baudrate'] == 8000000
        assert board['spi_polarity'] == 1 and board['spi_phase'] == 1
    with open(_repo() + '/boards/sim/board.json') as f:
        sim = json.load(f)
    assert sim['kind'] == 'sim' and sim['simboard_port'] == 15200
    assert len(sim['macs']['evse']) == 17 and sim['macs']['pev'] != sim['macs']['evse']


def _repo():
    # this file is <repo>/tests/firmware/test_pilot.py
    path = __file__
    for _ in range(3):
        path = path[:path.rfind('/')]
    return path or '.'


def test_vehicle_hw_times_the_duty_with_a_comparator_pin():
    cable = CableModel()
    cable.set_vehicle('B')
    cable.set_charger(50)
    board = dict(BOARD, cp_pulse_pin=5)
    fm = FakeMachine(board, cable)
    calls = []

    def time_pulse_us(pin, level, timeout):
        calls.append((pin.pin, level))
        if len(calls) % 3 == 1:
            return 10          # partial pulse, must be ignored
        return 50 if level else 950

    fm.time_pulse_us = time_pulse_us
    hw = pilot_hw.VehiclePilotHw(board, machine=fm)
    high, low, duty = hw.read()
    assert duty == 50 and pilot.is_digital(duty), duty
    assert calls == [(5, 0), (5, 1), (5, 0)]
    fm.time_pulse_us = lambda pin, level, timeout: -2     # timeout: ADC estimate
    assert abs(hw.read()[2] - 50) <= 16
    cable.set_charger(1000)                               # DC: no pulses timed
    fm.time_pulse_us = None
    assert hw.read()[2] == 1000
