# The EV's safety envelope (firmware/micro15118/iso20/evcc/guard.py) against scripted
# chargers that misbehave: a present current or power against the direction
# the EV asked for, above the EV's limits, a present voltage above its
# maximum (also in pre-charge), an AC target above the charger's own
# schedule.  The EV books nothing in a direction that did not happen, and
# when it declines to go on after SessionSetup it says so on the wire:
# SessionStopReq(Terminate) before it closes.
from micro15118.iso20 import msg
from micro15118.sim.battery import Battery
from micro15118.iso20.vehicle import Vehicle
from host.harness.scripted_secc import ScriptedSecc, names, session, vehicle

R = msg.rational


def set_in(rname, **fields):
    """A hook that sets top-level or control-mode fields of one response."""
    def hook(name, body):
        if name == rname:
            for k in fields:
                if k.startswith('EVSEPresent') and k != 'EVSEPresentActivePower':
                    body[k] = R(fields[k])
                else:
                    for m in body:
                        if m.endswith('CLResControlMode'):
                            body[m][k] = R(fields[k])
        return body
    return hook


def stopped(ev, secc, text, in_loop=True):
    """Ended with ('failed', text...), power off, and said so on the wire."""
    assert ev.ended and ev.result[0] == 'failed', ev.result
    assert text in ev.result[1], (text, ev.result)
    assert ('stopping', ev.result[1]) in ev.events
    assert ev.events[-2] == ev.result and ev.events[-1] == ('close',)
    assert not ev.vehicle.closed and ev.vehicle.power == 0
    n = names(secc)
    assert n[-1] == 'SessionStopReq', n[-4:]
    assert secc.reqs[-1][1]['ChargingSession'] == 'Terminate'
    if in_loop:
        # no SECC takes SessionStopReq in its charge loop: PowerDelivery(Stop) first
        assert n[-2] == 'PowerDeliveryReq' and secc.reqs[-2][1]['ChargeProgress'] == 'Stop'
        assert n[-3].endswith('ChargeLoopReq')


def powers(ev):
    return [e[1] for e in ev.events if e[0] == 'power']


# -- wrong direction -----------------------------------------------------------

def test_dc_charger_that_never_discharges():
    # python-iso15118's charger: +1 A in every loop while the EV asked to discharge
    for control in ('scheduled', 'dynamic'):
        secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=1))
        ev, v, secc, now = session('dc_bpt', control, 'discharge', secc=secc)
        stopped(ev, secc, 'charger delivered +1.0 A while discharging was asked')
        assert ev.result[1] == 'charger delivered +1.0 A while discharging was asked'
        # nothing booked either way: the SoC did not move
        assert v.battery.charged_wh == 0 and v.battery.discharged_wh == 0
        assert v.soc() == 50.0
        assert names(secc).count('DC_ChargeLoopReq') == 1
        assert powers(ev) == []


def test_dc_negative_current_while_charging():
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=-20))
    ev, v, secc, now = session('dc', 'scheduled', secc=secc)
    stopped(ev, secc, 'charger delivered -20.0 A while charging was asked')
    assert v.battery.charged_wh == 0 and v.battery.discharged_wh == 0
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=-3))
    ev, v, secc, now = session('dc_bpt', 'dynamic', 'charge', secc=secc)
    stopped(ev, secc, 'charger delivered -3.0 A while charging was asked')


def test_ac_wrong_direction_target_and_present_power():
    # a charging target while discharging was asked
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSETargetActivePower=10))
    ev, v, secc, now = session('ac_bpt', 'scheduled', 'discharge', secc=secc)
    stopped(ev, secc, 'charger targets +10 W while discharging was asked')
    assert v.battery.charged_wh == 0 and v.battery.discharged_wh == 0
    # the measured power says charging while the target says discharging
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSEPresentActivePower=10))
    ev, v, secc, now = session('ac_bpt', 'dynamic', 'discharge', secc=secc)
    stopped(ev, secc, 'charger delivered +10 W while discharging was asked')
    assert v.battery.charged_wh == 0 and v.battery.discharged_wh == 0
    # and the other way round
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSEPresentActivePower=-500))
    ev, v, secc, now = session('ac', 'scheduled', secc=secc)
    stopped(ev, secc, 'charger delivered -500 W while charging was asked')
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSETargetActivePower=-2000))
    ev, v, secc, now = session('ac_bpt', 'dynamic', 'charge', secc=secc)
    stopped(ev, secc, 'charger targets -2000 W while charging was asked')


def test_within_direction_tolerance_books_nothing_backwards():
    # +0.3 A while discharging: measurement noise, not a stop; booked as 0
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=0.3))
    ev, v, secc, now = session('dc_bpt', 'scheduled', 'discharge', secc=secc, loops=4)
    assert ev.result[0] == 'done', ev.result
    assert v.battery.charged_wh == 0 and v.battery.discharged_wh == 0
    assert powers(ev) == [0.0] * 4
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSEPresentActivePower=-3))
    ev, v, secc, now = session('ac', 'dynamic', secc=secc, loops=4)
    assert ev.result[0] == 'done', ev.result
    assert v.battery.charged_wh == 0 and v.battery.discharged_wh == 0
    # a present voltage a hair below 0 does not turn charging into discharging
    # (found by tools/fuzz_evcc.py); well below 0 it is a fault
    for direction in ('charge', 'discharge'):
        secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentVoltage=-1))
        ev, v, secc, now = session('dc_bpt', 'dynamic', direction, secc=secc, loops=3)
        assert ev.result[0] == 'done', ev.result
        assert v.battery.charged_wh == 0 and v.battery.discharged_wh == 0
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentVoltage=-50))
    ev, v, secc, now = session('dc', 'dynamic', secc=secc)
    stopped(ev, secc, 'charger reported a negative voltage -50.0 V')


def test_delivered_gets_the_signed_reported_power():
    seen = []

    class Spy(Vehicle):
        def delivered(self, now, p, u=None, i=None):
            seen.append((p, u, i))
            Vehicle.delivered(self, now, p, u, i)
    for direction in ('charge', 'discharge'):
        del seen[:]
        v = Spy(Battery(soc=50.0))
        ev, v, secc, now = session('dc_bpt', 'dynamic', direction, v=v, loops=3)
        assert ev.result[0] == 'done', ev.result
        loop = [s for s in seen if s[1] is not None]
        assert len(loop) == 3
        for p, u, i in loop:
            assert abs(p - u * i) < 1e-6
            assert (i < 0) == (direction == 'discharge') and i != 0


def test_magnitude_only_charger_is_a_config_option():
    # a charger that reports |current|: refused by default, accepted when configured
    def hook(name, body):
        if name == 'DC_ChargeLoopRes':
            body['EVSEPresentCurrent'] = R(abs(msg.value(body['EVSEPresentCurrent'])))
        return body
    ev, v, secc, now = session('dc_bpt', 'dynamic', 'discharge', secc=ScriptedSecc(hook=hook))
    stopped(ev, secc, 'while discharging was asked')
    ev, v, secc, now = session('dc_bpt', 'dynamic', 'discharge', secc=ScriptedSecc(hook=hook),
                               present_values='magnitude')
    assert ev.result[0] == 'done', ev.result
    assert v.battery.discharged_wh > 0 and v.battery.charged_wh == 0
    try:
        session('dc', 'scheduled', present_values='abs')
    except ValueError:
        pass
    else:
        raise AssertionError('accepted present_values=abs')


def test_bidirectional_dynamic_bpt():
    # the charger steers a Dynamic BPT session the other way: only if configured
    hook = set_in('DC_ChargeLoopRes', EVSEPresentCurrent=-20)
    ev, v, secc, now = session('dc_bpt', 'dynamic', 'charge', secc=ScriptedSecc(hook=hook))
    stopped(ev, secc, 'while charging was asked')
    ev, v, secc, now = session('dc_bpt', 'dynamic', 'charge', secc=ScriptedSecc(hook=hook),
                               bidirectional=True, loops=4)
    assert ev.result[0] == 'done', ev.result
    assert v.battery.discharged_wh > 0 and v.battery.charged_wh == 0
    # still within the EV's discharge limits (30 A)
    hook = set_in('DC_ChargeLoopRes', EVSEPresentCurrent=-40)
    ev, v, secc, now = session('dc_bpt', 'dynamic', 'charge', secc=ScriptedSecc(hook=hook),
                               bidirectional=True)
    stopped(ev, secc, "above the EV's maximum discharge current 30 A")
    # scheduled mode: the channel is the direction, whatever the option says
    ev, v, secc, now = session('dc_bpt', 'scheduled', 'charge', secc=ScriptedSecc(hook=hook),
                               bidirectional=True)
    stopped(ev, secc, 'while charging was asked')


# -- over the EV's limits ---------------------------------------------------

def test_dc_over_current_power_voltage():
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=420))
    ev, v, secc, now = session('dc', 'dynamic', secc=secc)
    stopped(ev, secc, "charger delivered +420.0 A, above the EV's maximum charge current 400 A")
    assert v.battery.charged_wh == 0
    # within the measurement tolerance (2 %): goes on
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=405))
    ev, v, secc, now = session('dc', 'dynamic', secc=secc, v=vehicle(max_charge_power=200000), loops=2)
    assert ev.result[0] == 'done', ev.result
    # 200 A x 375 V = 75 kW against a 50 kW EV
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=200))
    ev, v, secc, now = session('dc', 'scheduled', secc=secc, v=vehicle(max_charge_power=50000))
    stopped(ev, secc, "charger delivered +75000 W, above the EV's maximum charge power 50000 W")
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentCurrent=-35))
    ev, v, secc, now = session('dc_bpt', 'scheduled', 'discharge', secc=secc)
    stopped(ev, secc, "charger delivered -35.0 A, above the EV's maximum discharge current 30 A")
    assert v.battery.discharged_wh == 0
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentVoltage=440))
    ev, v, secc, now = session('dc', 'scheduled', secc=secc)
    stopped(ev, secc, "charger's present voltage 440.0 V is above the EV's maximum voltage 420 V")
    secc = ScriptedSecc(hook=set_in('DC_ChargeLoopRes', EVSEPresentVoltage=424))
    ev, v, secc, now = session('dc', 'scheduled', secc=secc, loops=2)
    assert ev.result[0] == 'done', ev.result


def test_ac_over_power():
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSEPresentActivePower=12000))
    ev, v, secc, now = session('ac', 'dynamic', secc=secc)
    stopped(ev, secc, "charger delivered +12000 W, above the EV's maximum charge power 11000 W")
    assert v.battery.charged_wh == 0
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSEPresentActivePower=-12000))
    ev, v, secc, now = session('ac_bpt', 'dynamic', 'discharge', secc=secc)
    stopped(ev, secc, "above the EV's maximum discharge power 11000 W")
    # a target above the EV's limit is not a fault: the EV draws its maximum
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSETargetActivePower=22000))
    ev, v, secc, now = session('ac', 'dynamic', secc=secc, loops=3)
    assert ev.result[0] == 'done' and powers(ev) == [11000.0] * 3, (ev.result, powers(ev))


def test_pre_charge_voltage_above_the_maximum():
    def hook(name, body):
        if name == 'DC_PreChargeRes':
            body['EVSEPresentVoltage'] = R(500)
        return body
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(hook=hook))
    stopped(ev, secc, "pre-charge: charger's present voltage 500.0 V is above the EV's maximum voltage 420 V",
            in_loop=False)
    n = names(secc)
    assert n[-2] == 'DC_PreChargeReq' and 'PowerDeliveryReq' not in n
    assert not v.closed


# -- AC: the lower of the schedule and the target ---------------------------

def test_ac_follows_the_lower_of_schedule_and_target():
    # the charger's own schedule says 3 kW, its target says 11 kW (and its meter agrees
    # with the target): the EV draws 3 kW and books no more
    for present in (False, True):
        secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSETargetActivePower=11000,
                                    **({'EVSEPresentActivePower': 11000} if present else {})))
        secc.schedule = (3000.0, -7000.0)
        ev, v, secc, now = session('ac', 'scheduled', secc=secc, loops=4)
        assert ev.result[0] == 'done', ev.result
        assert powers(ev) == [3000.0] * 4, powers(ev)
        loops = [b['Scheduled_AC_CLReqControlMode'] for n, b in secc.reqs if n == 'AC_ChargeLoopReq']
        assert [msg.value(m['EVPresentActivePower']) for m in loops] == [0, 3000, 3000, 3000]
    # a 0 W schedule: nothing flows, whatever the target says
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSETargetActivePower=11000))
    secc.schedule = (0.0, -7000.0)
    ev, v, secc, now = session('ac', 'scheduled', secc=secc, loops=3)
    assert powers(ev) == [0.0] * 3 and v.battery.charged_wh == 0, powers(ev)
    # discharging: the 7 kW DischargingSchedule below an 11 kW target
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSETargetActivePower=-11000))
    ev, v, secc, now = session('ac_bpt', 'scheduled', 'discharge', secc=secc, loops=3)
    assert powers(ev) == [-7000.0] * 3, powers(ev)
    # a target below the schedule: the target
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSETargetActivePower=2000))
    ev, v, secc, now = session('ac', 'scheduled', secc=secc, loops=3)
    assert powers(ev) == [2000.0] * 3, powers(ev)
    # the charger measures less than the EV would draw: what it measured
    secc = ScriptedSecc(hook=set_in('AC_ChargeLoopRes', EVSEPresentActivePower=1500))
    ev, v, secc, now = session('ac', 'dynamic', secc=secc, loops=3)
    assert powers(ev) == [1500.0] * 3, powers(ev)


# -- declining: SessionStopReq(Terminate) on the wire ------------------------

def test_no_discharging_schedule_ends_with_session_stop():
    def hook(rname, body):
        if rname == 'ScheduleExchangeRes':
            for t in body['Scheduled_SEResControlMode']['ScheduleTuple']:
                t.pop('DischargingSchedule', None)
        return body
    for service in ('dc_bpt', 'ac_bpt'):
        ev, v, secc, now = session(service, 'scheduled', 'discharge', secc=ScriptedSecc(hook=hook))
        stopped(ev, secc, 'ScheduleExchange: no schedule for discharging', in_loop=False)
        assert names(secc)[-2:] == ['ScheduleExchangeReq', 'SessionStopReq']
        # the decoded request as it went over the wire
        stop = secc.reqs[-1][1]
        assert stop['ChargingSession'] == 'Terminate' and stop['Header']['SessionID'] == secc.sid


def test_decline_without_session_stop_res():
    # the SECC never answers SessionStopReq: close after its (short) timeout
    def hook(rname, body):
        if rname == 'DC_ChargeLoopRes':
            body['EVSEPresentCurrent'] = R(1)
        if rname == 'SessionStopRes':
            return None
        return body
    ev, v, secc, now = session('dc_bpt', 'scheduled', 'discharge', secc=ScriptedSecc(hook=hook))
    assert ev.result == ('failed', 'charger delivered +1.0 A while discharging was asked'
                                   ' (no SessionStopRes)'), ev.result
    assert ev.events[-1] == ('close',)
    assert names(secc)[-1] == 'SessionStopReq'
    # a FAILED answer to PowerDelivery(Stop): no SessionStop, close at once
    seen = [0]          # (function attributes do not exist on MicroPython)

    def hook2(rname, body):
        if rname == 'DC_ChargeLoopRes':
            body['EVSEPresentCurrent'] = R(1)
        if rname == 'PowerDeliveryRes':
            seen[0] += 1
            if seen[0] == 2:
                body['ResponseCode'] = msg.FAILED
        return body
    ev, v, secc, now = session('dc_bpt', 'scheduled', 'discharge', secc=ScriptedSecc(hook=hook2))
    assert ev.result == ('failed', 'charger delivered +1.0 A while discharging was asked'), ev.result
    assert names(secc)[-1] == 'PowerDeliveryReq'


def test_unusable_value_after_setup_ends_with_session_stop():
    def hook(rname, body):
        if rname == 'ServiceDetailRes':
            for pset in body['ServiceParameterList']['ParameterSet']:
                for p in pset['Parameter']:
                    if p['@Name'] == 'ControlMode':
                        p['intValue'] = 9
        return body
    ev, v, secc, now = session('ac', 'scheduled', secc=ScriptedSecc(hook=hook))
    stopped(ev, secc, 'no parameter set with scheduled control', in_loop=False)
    # pointless to talk: a wrong SessionID closes at once
    def hook2(rname, body):
        if rname == 'DC_ChargeLoopRes':
            body['Header']['SessionID'] = b'\x99' * 8
        return body
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(hook=hook2))
    assert ev.result[0] == 'failed' and 'wrong SessionID' in ev.result[1]
    assert names(secc)[-1] == 'DC_ChargeLoopReq'
    assert not any(e[0] == 'stopping' for e in ev.events)
