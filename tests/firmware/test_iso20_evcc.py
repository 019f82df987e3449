# The -20 EVCC against the scripted SECC (host/harness/scripted_secc.py):
# complete AC, DC, AC_BPT, DC_BPT sessions, scheduled and dynamic, charging
# and discharging; pre-charge, welding detection, pause/resume, renegotiation.
# Error paths are in test_iso20_evcc_errors.py.
from micro15118.iso20 import msg
from micro15118.iso20.evcc.session import Evcc

from host.harness.scripted_secc import CLOCK, SID, ScriptedSecc, names, run, session, vehicle



def states(ev):
    return [e[1] for e in ev.events if e[0] == 'state']


def check_complete(ev, v, secc, discharge=False):
    assert ev.result[0] == 'done', ev.result
    assert ev.events[-1] == ('close',)
    soc0 = 50.0
    if discharge:
        assert v.soc() < soc0, v.soc()
        assert v.battery.discharged_wh > 0 and v.battery.charged_wh == 0
    else:
        assert v.soc() > soc0, v.soc()
        assert v.battery.charged_wh > 0 and v.battery.discharged_wh == 0
    # the battery's energy agrees with the scripted meter
    assert abs(v.battery.net_wh() - secc.energy_wh) <= 0.01 * abs(secc.energy_wh), (
        v.battery.net_wh(), secc.energy_wh)
    assert names(secc)[-1] == 'SessionStopReq'
    assert secc.reqs[-1][1]['ChargingSession'] == 'Terminate'


DC_FLOW = ['SupportedAppProtocol', 'SessionSetup', 'AuthorizationSetup', 'Authorization',
           'ServiceDiscovery', 'ServiceDetail', 'ServiceSelection', 'ChargeParameterDiscovery',
           'ScheduleExchange', 'CableCheck', 'PreCharge', 'PowerDelivery', 'ChargeLoop',
           'PowerDelivery', 'WeldingDetection', 'SessionStop']
AC_FLOW = ['SupportedAppProtocol', 'SessionSetup', 'AuthorizationSetup', 'Authorization',
           'ServiceDiscovery', 'ServiceDetail', 'ServiceSelection', 'ChargeParameterDiscovery',
           'ScheduleExchange', 'PowerDelivery', 'ChargeLoop', 'PowerDelivery', 'SessionStop']


def test_dc_scheduled():
    ev, v, secc, now = session('dc', 'scheduled')
    check_complete(ev, v, secc)
    assert states(ev) == DC_FLOW
    assert names(secc).count('DC_ChargeLoopReq') == 8
    assert secc.reqs[0][1]['AppProtocol'][0]['ProtocolNamespace'] == msg.NS_DC
    setup = secc.reqs[1][1]
    assert setup['EVCCID'] == '021122334455'
    assert setup['Header']['SessionID'] == msg.NEW_SESSION_ID
    sel = [b for n, b in secc.reqs if n == 'ServiceSelectionReq'][0]
    assert sel['SelectedEnergyTransferService'] == {'ServiceID': 2, 'ParameterSetID': 1}
    pd = [b for n, b in secc.reqs if n == 'PowerDeliveryReq']
    assert pd[0]['ChargeProgress'] == 'Start' and pd[1]['ChargeProgress'] == 'Stop'
    assert pd[0]['EVPowerProfile']['Scheduled_EVPPTControlMode'] == {
        'SelectedScheduleTupleID': 7, 'PowerToleranceAcceptance': 'PowerToleranceConfirmed'}
    assert 'BPT_ChannelSelection' not in pd[0]
    # every request after SessionSetup carries the SECC's SessionID
    for n, b in secc.reqs[2:]:
        assert b['Header']['SessionID'] == SID
    assert ('session', SID) in ev.events


def test_dc_dynamic():
    ev, v, secc, now = session('dc', 'dynamic')
    check_complete(ev, v, secc)
    loop = [b for n, b in secc.reqs if n == 'DC_ChargeLoopReq'][0]
    assert 'Dynamic_DC_CLReqControlMode' in loop
    sel = [b for n, b in secc.reqs if n == 'ServiceSelectionReq'][0]
    assert sel['SelectedEnergyTransferService']['ParameterSetID'] == 2
    pd = [b for n, b in secc.reqs if n == 'PowerDeliveryReq'][0]
    assert pd['EVPowerProfile']['Dynamic_EVPPTControlMode'] == {}


def test_ac_scheduled_and_dynamic():
    for control in ('scheduled', 'dynamic'):
        ev, v, secc, now = session('ac', control)
        check_complete(ev, v, secc)
        assert states(ev) == AC_FLOW
        assert secc.reqs[0][1]['AppProtocol'][0]['ProtocolNamespace'] == msg.NS_AC
        loops = [b for n, b in secc.reqs if n == 'AC_ChargeLoopReq']
        assert len(loops) == 8
        # the EV reports the power it draws, learnt from the first response
        mode = ('Dynamic' if control == 'dynamic' else 'Scheduled') + '_AC_CLReqControlMode'
        assert msg.value(loops[0][mode]['EVPresentActivePower']) == 0
        assert msg.value(loops[1][mode]['EVPresentActivePower']) == 11000
        assert ('power', 11000.0) in ev.events


def test_bpt_charge_and_discharge():
    for service in ('dc_bpt', 'ac_bpt'):
        for control in ('scheduled', 'dynamic'):
            for direction in ('charge', 'discharge'):
                ev, v, secc, now = session(service, control, direction)
                check_complete(ev, v, secc, direction == 'discharge')
                pd = [b for n, b in secc.reqs if n == 'PowerDeliveryReq'][0]
                want = 'Discharge' if direction == 'discharge' else 'Charge'
                assert pd['BPT_ChannelSelection'] == want
                p = msg.value(pd['EVPowerProfile']['EVPowerProfileEntries']['EVPowerProfileEntry'][0]['Power'])
                assert (p < 0) == (direction == 'discharge'), p
                cpd = [b for n, b in secc.reqs if n.endswith('ChargeParameterDiscoveryReq')][0]
                m = cpd['BPT_' + service[:2].upper() + '_CPDReqEnergyTransferMode']
                assert msg.value(m['EVMaximumDischargePower']) > 0     # positive by default
                powers = [e[1] for e in ev.events if e[0] == 'power']
                if direction == 'discharge':
                    assert max(powers) < 0
                else:
                    assert min(powers) > 0


def test_scheduled_discharge_follows_schedule():
    # the DischargingSchedule allows 7 kW; the EV could give 11 kW
    ev, v, secc, now = session('dc_bpt', 'scheduled', 'discharge')
    loops = [b for n, b in secc.reqs if n == 'DC_ChargeLoopReq']
    m = loops[0]['BPT_Scheduled_DC_CLReqControlMode']
    i = msg.value(m['EVTargetCurrent'])
    assert i < 0 and abs(i * v.present_voltage()) <= 7000 * 1.01


def test_negative_discharge_sign():
    ev, v, secc, now = session('dc_bpt', 'dynamic', 'discharge', discharge_sign=-1)
    check_complete(ev, v, secc, True)
    cpd = [b for n, b in secc.reqs if n == 'DC_ChargeParameterDiscoveryReq'][0]
    m = cpd['BPT_DC_CPDReqEnergyTransferMode']
    assert msg.value(m['EVMaximumDischargePower']) < 0
    assert msg.value(m['EVMaximumDischargeCurrent']) < 0


def test_charges_to_target_soc():
    v = vehicle(soc=79.9, capacity_wh=1000)
    ev, v, secc, now = session('dc', 'scheduled', v=v, loops=0)
    assert ev.result[0] == 'done' and 'target SoC' in ev.result[1], ev.result
    assert v.soc() >= 80
    loops = [b for n, b in secc.reqs if n == 'DC_ChargeLoopReq']
    assert loops[0]['DisplayParameters']['ChargingComplete'] is False
    assert 2 <= len(loops) < 20


def test_discharges_to_min_soc():
    v = vehicle(soc=20.2, capacity_wh=1000)
    ev, v, secc, now = session('ac_bpt', 'dynamic', 'discharge', v=v, loops=0)
    assert ev.result[0] == 'done' and 'minimum SoC' in ev.result[1], ev.result
    assert v.soc() <= 20


def test_pre_charge_and_welding_sequences():
    ev, v, secc, now = session('dc', 'scheduled')
    pre = [b for n, b in secc.reqs if n == 'DC_PreChargeReq']
    procs = [b['EVProcessing'] for b in pre]
    # the output ramps 150 V per request to ~365 V: Ongoing until within tolerance, then one Finished
    assert procs[:-1] == ['Ongoing'] * (len(procs) - 1) and procs[-1] == 'Finished', procs
    assert len(procs) >= 3
    n = names(secc)
    assert n[n.index('DC_PreChargeReq') + len(procs)] == 'PowerDeliveryReq'
    weld = [b['EVProcessing'] for nm, b in secc.reqs if nm == 'DC_WeldingDetectionReq']
    assert weld[-1] == 'Finished' and weld[0] == 'Ongoing', weld
    assert n[n.index('DC_WeldingDetectionReq') + len(weld)] == 'SessionStopReq'


def test_ongoing_loops():
    secc = ScriptedSecc(ongoing={'Authorization': 3, 'ScheduleExchange': 2, 'CableCheck': 4})
    ev, v, secc, now = session('dc', 'scheduled', secc=secc)
    check_complete(ev, v, secc)
    n = names(secc)
    assert n.count('AuthorizationReq') == 4
    assert n.count('ScheduleExchangeReq') == 3
    assert n.count('DC_CableCheckReq') == 5
    auth = [b for nm, b in secc.reqs if nm == 'AuthorizationReq']
    assert all(b['SelectedAuthorizationService'] == 'EIM' for b in auth)


def test_evse_notifications_end_the_loop():
    secc = ScriptedSecc(notify=(3, 'Terminate'))
    ev, v, secc, now = session('dc', 'dynamic', secc=secc, loops=0)
    assert ev.result == ('done', 'Terminate: EVSE notified Terminate'), ev.result
    assert names(secc).count('DC_ChargeLoopReq') == 3
    secc = ScriptedSecc(notify=(2, 'Pause'))
    ev, v, secc, now = session('ac', 'scheduled', secc=secc, loops=0)
    assert ev.result[0] == 'done' and ev.paused
    assert secc.reqs[-1][1]['ChargingSession'] == 'Pause'


def test_schedule_renegotiation():
    for service in ('dc', 'ac'):
        secc = ScriptedSecc(notify=(2, 'ScheduleRenegotiation'))
        ev, v, secc, now = session(service, 'scheduled', secc=secc, loops=5)
        check_complete(ev, v, secc)
        n = names(secc)
        pd = [b['ChargeProgress'] for nm, b in secc.reqs if nm == 'PowerDeliveryReq']
        assert pd == ['Start', 'ScheduleRenegotiation', 'Start', 'Stop'], pd
        assert n.count('ScheduleExchangeReq') == 2
        # no second cable check or pre-charge: the output is live already
        assert n.count('DC_CableCheckReq') == (1 if service == 'dc' else 0)
        i = n.index('PowerDeliveryReq')
        j = n.index('ScheduleExchangeReq', i)
        assert n[j + 1] == 'PowerDeliveryReq'
        assert n.count(service.upper() + '_ChargeLoopReq') == 5
    # refused by the SECC: the loop simply goes on
    seen = [0]          # (function attributes do not exist on MicroPython)

    def hook(rname, body):
        if rname == 'PowerDeliveryRes' and seen[0] == 1:
            body['ResponseCode'] = msg.WARNING_SCHEDULE_RENEGOTIATION_FAILED
        if rname == 'PowerDeliveryRes':
            seen[0] += 1
        return body
    secc = ScriptedSecc(notify=(2, 'ScheduleRenegotiation'), hook=hook)
    ev, v, secc, now = session('ac', 'dynamic', secc=secc, loops=5)
    assert ev.result[0] == 'done', ev.result
    assert names(secc).count('ScheduleExchangeReq') == 1


def test_pause_and_resume():
    v = vehicle()
    v.request_pause()      # honoured at the first charge loop
    ev, v, secc, now = session('dc', 'scheduled', v=v, loops=0)
    assert ev.result[0] == 'done' and ev.paused
    assert ev.session_id == SID
    assert ('close',) in ev.events
    # later: a new TCP connection, the old SessionID
    ev2 = Evcc({'service': 'dc', 'session_id': ev.session_id, 'loops': 3}, v, now, CLOCK)
    run(ev2, secc, now)
    setups = [b for n, b in secc.reqs if n == 'SessionSetupReq']
    assert setups[-1]['Header']['SessionID'] == SID
    assert ev2.ctx.resumed
    assert ev2.result[0] == 'done' and not ev2.paused


def test_service_renegotiation():
    v = vehicle()
    v.request_renegotiation()
    ev, v, secc, now = session('dc', 'scheduled', v=v, loops=4)
    assert ev.result[0] == 'done', ev.result
    kinds = [b['ChargingSession'] for n, b in secc.reqs if n == 'SessionStopReq']
    assert kinds == ['ServiceRenegotiation', 'Terminate']
    assert names(secc).count('ServiceDiscoveryReq') == 2
    # not announced by the SECC: the EV terminates instead
    v = vehicle()
    v.request_renegotiation()
    ev, v, secc, now = session('dc', 'scheduled', v=v, loops=4, secc=ScriptedSecc(renegotiation=False))
    kinds = [b['ChargingSession'] for n, b in secc.reqs if n == 'SessionStopReq']
    assert kinds == ['Terminate']


def test_vehicle_stop_request():
    v = vehicle()
    ev = Evcc({'service': 'ac', 'loops': 0}, v, 0, CLOCK)
    secc = ScriptedSecc()
    ev.start(0)
    now = 0
    # run a few loops by hand, then the driver asks to stop
    for _ in range(200):
        while ev.out:
            for r in secc.handle(*ev.out.pop(0)):
                ev.handle(r[0], r[1], now)
        if names(secc).count('AC_ChargeLoopReq') == 5:
            v.request_stop()
        now = ev.next_deadline() or now
        ev.poll(now)
        if ev.ended:
            break
    assert ev.result[0] == 'done' and 'vehicle requested Terminate' in ev.result[1], ev.result
    # honoured at the next response
    assert names(secc).count('AC_ChargeLoopReq') == 6


def test_evccid_configured():
    ev, v, secc, now = session('ac', 'scheduled', evccid='WMIV1234567890ABC')
    assert secc.reqs[1][1]['EVCCID'] == 'WMIV1234567890ABC'


def test_loop_interval_and_timestamps():
    ev, v, secc, now = session('dc', 'scheduled', loop_interval_ms=1000, loops=5)
    # 5 loops a second apart: the battery saw ~4-5 s of power
    assert now > 4000
    assert all(b['Header']['TimeStamp'] == 1735732800 for n, b in secc.reqs[1:])


def test_vehicle_api():
    v = vehicle()
    v.set_limits(max_charge_power=7400, max_discharge_current=16)
    assert v.max_charge_power == 7400 and v.max_discharge_current == 16
    for bad in ({'battery': 1}, {'power': 3}, {'max_chargepower': 1}):
        try:
            v.set_limits(**bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    v.set_targets(target_soc=90, min_soc=30, departure_s=600, now=1000)
    assert v.target_soc() == 90 and v.min_soc() == 30
    assert v.departure_time(1000) == 600 and v.departure_time(700000) == 0
    target, most, least = v.energy_requests()
    assert target == 60000 * 0.4 and most == 30000 and least == 0
    most, least = v.v2x_requests()
    assert most == 30000 and least == -12000
    # the battery integrates what was delivered, at the power held since the last call
    b = v.battery
    v.delivered(0, 36000)
    v.delivered(1000, -36000)       # 1 s at 36 kW = 10 Wh in
    v.delivered(1500, 0)            # 0.5 s at -36 kW = 5 Wh out
    assert abs(b.charged_wh - 10) < 1e-9 and abs(b.discharged_wh - 5) < 1e-9
    assert abs(b.energy_wh - 30005) < 1e-9
    assert b.voltage() > b.v_empty
    v.contactor(True, 2000)
    v.delivered(2000, 3600)
    v.contactor(False, 3000)        # opening stops the flow
    v.delivered(10000, 0)
    assert abs(b.charged_wh - 11) < 1e-9 and v.power == 0 and not v.closed
