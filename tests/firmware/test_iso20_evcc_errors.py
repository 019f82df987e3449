# The -20 EVCC's error paths: timeouts, FAILED responses, malformed or
# unexpected responses, wrong SessionID, services or control modes not
# offered, Ongoing for too long.  Each must end in ('failed', reason) +
# ('close',) without an exception and with the power off.
from micro15118.iso20 import msg
from micro15118.iso20.evcc.session import Evcc
from host.harness.scripted_secc import CLOCK, SID, ScriptedSecc, names, run, session, vehicle


def failed(ev, text):
    assert ev.ended and ev.result[0] == 'failed', ev.result
    assert text in ev.result[1], (text, ev.result)
    assert ev.events[-2] == ev.result and ev.events[-1] == ('close',)
    assert ev.next_deadline() is None
    assert not ev.vehicle.closed and ev.vehicle.power == 0


def drop(name):
    return lambda rname, body: None if rname == name else body


def test_timeouts_per_message():
    # the SECC goes silent at one message: V2G_EVCC_Msg_Timeout (docs/standards-notes.md §5)
    for res, ms in (('SessionSetupRes', 2000), ('ServiceDetailRes', 5000),
                    ('DC_ChargeLoopRes', 500), ('PowerDeliveryRes', 2000),
                    ('DC_WeldingDetectionRes', 2000), ('SessionStopRes', 2000)):
        secc = ScriptedSecc(hook=drop(res))
        ev, v, secc, now = session('dc', 'scheduled', secc=secc)
        failed(ev, 'timeout waiting for ' + res)
    # measure one precisely: sent at t, failed at t + 500 ms
    ev = Evcc({'service': 'ac', 'loops': 0}, vehicle(), 0, CLOCK)
    secc = ScriptedSecc(hook=drop('AC_ChargeLoopRes'))
    ev.start(0)
    now = 0
    while not ev.ended:
        while ev.out:
            for r in secc.handle(*ev.out.pop(0)):
                ev.handle(r[0], r[1], now)
        if ev.state == 'ChargeLoop' and ev.deadline is not None:
            sent = now
            assert ev.next_deadline() == sent + 500
            ev.poll(sent + 499)
            assert not ev.ended
            ev.poll(sent + 500)
            break
        now = ev.next_deadline()
        ev.poll(now)
    failed(ev, 'timeout waiting for AC_ChargeLoopRes')


def test_timeouts_configurable():
    secc = ScriptedSecc(hook=drop('SessionStopRes'))
    ev, v, secc, now = session('ac', 'scheduled', secc=secc, timeouts={'SessionStop': 50})
    failed(ev, 'timeout')


def test_failed_response_codes():
    for res, code in (('SessionSetupRes', 'FAILED'), ('ServiceSelectionRes', 'FAILED_ServiceSelectionInvalid'),
                      ('DC_ChargeLoopRes', 'FAILED_SequenceError'), ('PowerDeliveryRes', 'FAILED_ContactorError'),
                      ('DC_PreChargeRes', 'FAILED_UnknownSession')):
        def hook(rname, body, res=res, code=code):
            if rname == res:
                body['ResponseCode'] = code
            return body
        ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(hook=hook))
        failed(ev, code)
        assert names(secc)[-1] == res[:-3] + 'Req'     # nothing sent after it


def test_sap_failure():
    def hook(rname, body):
        if rname == 'supportedAppProtocolRes':
            return {'ResponseCode': msg.SAP_FAILED}
        return body
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(hook=hook))
    failed(ev, 'Failed_NoNegotiation')


def test_malformed_and_unexpected_responses():
    ev = Evcc({'service': 'dc'}, vehicle(), 0, CLOCK)
    ev.start(0)
    ev.handle(msg.SAP, b'\x80\x40garbage', 5)
    failed(ev, 'malformed')
    # a valid message of the wrong kind
    ev = Evcc({'service': 'dc'}, vehicle(), 0, CLOCK)
    ev.start(0)
    ev.handle(*msg.encode('SessionStopRes', {'Header': msg.header(SID, 0), 'ResponseCode': 'OK'}), now=5)
    failed(ev, 'expected supportedAppProtocolRes')
    # unknown payload type
    ev = Evcc({'service': 'dc'}, vehicle(), 0, CLOCK)
    ev.start(0)
    ev.handle(0x9001, b'\x00' * 20, 5)
    failed(ev, 'malformed')
    # truncated in the charge loop
    def hook(rname, body):
        return body
    for cut in (1, 5, 20):
        secc = ScriptedSecc()
        orig = secc.handle

        def handle(ptype, data, now=0, orig=orig, cut=cut):
            out = orig(ptype, data, now)
            if out and msg.decode(*out[0])[0] == 'DC_ChargeLoopRes':
                out = [(out[0][0], out[0][1][:cut])]
            return out
        secc.handle = handle
        ev, v, secc, now = session('dc', 'scheduled', secc=secc)
        failed(ev, 'malformed DC_ChargeLoopRes')


def test_wrong_session_id():
    def hook(rname, body):
        if rname == 'ServiceDiscoveryRes':
            body['Header']['SessionID'] = b'\x99' * 8
        return body
    ev, v, secc, now = session('ac', 'scheduled', secc=ScriptedSecc(hook=hook))
    failed(ev, 'wrong SessionID')
    # an all-zero SessionID from SessionSetup is no session
    ev, v, secc, now = session('ac', 'scheduled', secc=ScriptedSecc(sid=b'\x00' * 8))
    failed(ev, 'invalid SessionID')


def test_resume_refused_is_a_new_session():
    # the SECC does not know the old id: OK_NewSessionEstablished, go on
    ev, v, secc, now = session('dc', 'scheduled', session_id=b'\x01' * 8)
    assert ev.result[0] == 'done' and not ev.ctx.resumed


def test_service_or_control_not_offered():
    ev, v, secc, now = session('dc_bpt', 'scheduled', secc=ScriptedSecc(services=(1, 2)))
    failed(ev, 'service 6 not offered')
    ev, v, secc, now = session('ac', 'dynamic', secc=ScriptedSecc(controls=(1,)))
    failed(ev, 'no parameter set with dynamic control')
    def hook(rname, body):
        if rname == 'AuthorizationSetupRes':
            body['AuthorizationServices'] = ['PnC']
            del body['EIM_ASResAuthorizationMode']
            body['PnC_ASResAuthorizationMode'] = {'GenChallenge': b'\x00' * 16}
        return body
    ev, v, secc, now = session('ac', 'dynamic', secc=ScriptedSecc(hook=hook))
    failed(ev, 'EIM not offered')


def test_control_mode_mismatch_in_responses():
    # dynamic requested, the SECC answers with the scheduled variant
    def hook(rname, body):
        if rname == 'ScheduleExchangeRes':
            del body['Dynamic_SEResControlMode']
            body['Scheduled_SEResControlMode'] = {'ScheduleTuple': [{'ScheduleTupleID': 1, 'ChargingSchedule': {
                'PowerSchedule': {'TimeAnchor': 0, 'PowerScheduleEntries': {
                    'PowerScheduleEntry': [{'Duration': 60, 'Power': msg.rational(1000)}]}}}}]}
        return body
    ev, v, secc, now = session('dc', 'dynamic', secc=ScriptedSecc(hook=hook))
    failed(ev, 'no dynamic control mode')
    def hook2(rname, body):
        if rname == 'DC_ChargeLoopRes':
            body['Dynamic_DC_CLResControlMode'] = body.pop('Scheduled_DC_CLResControlMode')
            body['Dynamic_DC_CLResControlMode'].update({
                'EVSEMaximumChargePower': msg.rational(1), 'EVSEMinimumChargePower': msg.rational(0),
                'EVSEMaximumChargeCurrent': msg.rational(1), 'EVSEMaximumVoltage': msg.rational(1)})
        return body
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(hook=hook2))
    failed(ev, 'bad DC_ChargeLoopRes')


def test_discharge_needs_a_discharging_schedule():
    def hook(rname, body):
        if rname == 'ScheduleExchangeRes':
            for t in body['Scheduled_SEResControlMode']['ScheduleTuple']:
                t.pop('DischargingSchedule', None)
        return body
    ev, v, secc, now = session('dc_bpt', 'scheduled', 'discharge', secc=ScriptedSecc(hook=hook))
    failed(ev, 'no schedule for discharging')


def test_ongoing_timeouts():
    # Authorization Ongoing forever: V2G_EVCC_Ongoing_Timeout (60 s)
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(ongoing={'Authorization': 10 ** 6}))
    failed(ev, 'Authorization still Ongoing')
    assert 60000 <= now <= 60300, now
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(ongoing={'CableCheck': 10 ** 6}))
    failed(ev, 'CableCheck still Ongoing')
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(ongoing={'ScheduleExchange': 10 ** 6}),
                               timeouts={'ongoing': 1000})
    failed(ev, 'ScheduleExchange still Ongoing')
    assert now < 3000


def test_pre_charge_never_reaches_the_voltage():
    def hook(rname, body):
        if rname == 'DC_PreChargeRes':
            body['EVSEPresentVoltage'] = msg.rational(100)
        return body
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(hook=hook))
    failed(ev, 'pre-charge')
    assert 10000 <= now <= 10300, now
    assert 'PowerDeliveryReq' not in names(secc)


def test_welding_voltage_stays_high():
    def hook(rname, body):
        if rname == 'DC_WeldingDetectionRes':
            body['EVSEPresentVoltage'] = msg.rational(400)
        return body
    ev, v, secc, now = session('dc', 'scheduled', secc=ScriptedSecc(hook=hook))
    failed(ev, 'WeldingDetection still Ongoing')


def test_authorization_refused():
    def hook(rname, body):
        if rname == 'AuthorizationRes':
            body['ResponseCode'] = msg.WARNING_EIM_AUTHORIZATION_FAILURE
        return body
    ev, v, secc, now = session('ac', 'scheduled', secc=ScriptedSecc(hook=hook))
    failed(ev, 'WARNING_EIMAuthorizationFailure')
    assert names(secc)[-1] == 'SessionStopReq'       # ended politely
    assert 'ServiceDiscoveryReq' not in names(secc)


def test_setup_timeout_and_unsolicited():
    ev = Evcc({'service': 'dc'}, vehicle(), 0, CLOCK)
    # before start(): nothing outstanding, a message is dropped
    ev.handle(*msg.encode('SessionStopRes', {'Header': msg.header(SID, 0), 'ResponseCode': 'OK'}), now=1)
    assert ev.dropped == 1 and not ev.ended
    ev.start(0)
    ev.out.clear()
    # the SECC never answers the SAP request: the message timeout comes first
    ev.poll(1999)
    assert not ev.ended
    ev.poll(2000)
    failed(ev, 'timeout waiting for supportedAppProtocolRes')
    # after the end, everything is dropped and nothing is sent
    ev.handle(msg.SAP, b'\x80', 3000)
    ev.poll(100000)
    assert ev.dropped == 2 and not ev.out
    # slow but answering SECC: V2G_EVCC_CommunicationSetup_Timeout (20 s, here 3 s)
    ev = Evcc({'service': 'dc', 'timeouts': {'setup': 3000}}, vehicle(), 0, CLOCK)
    now = run(ev, ScriptedSecc(), latency=1900)
    failed(ev, 'no session set up')
    assert now == 3000 and ev.state == 'SessionSetup'


def test_connection_lost():
    ev = Evcc({'service': 'dc', 'loops': 0}, vehicle(), 0, CLOCK)
    secc = ScriptedSecc()
    ev.start(0)
    now = 0
    while ev.state != 'ChargeLoop' or names(secc).count('DC_ChargeLoopReq') < 3:
        while ev.out:
            for r in secc.handle(*ev.out.pop(0)):
                ev.handle(r[0], r[1], now)
        now = ev.next_deadline()
        ev.poll(now)
    assert ev.vehicle.closed and ev.vehicle.power > 0
    ev.connection_lost(now + 10)
    assert ev.result == ('failed', 'connection lost')
    assert not ev.vehicle.closed and ev.vehicle.power == 0
    assert ('close',) not in ev.events


def test_values_the_vehicle_cannot_encode():
    # a vehicle limit out of the RationalNumber range fails cleanly, not with an exception
    v = vehicle()
    v.max_charge_power = float('inf')
    ev, v, secc, now = session('dc', 'scheduled', v=v)
    failed(ev, 'cannot build DC_ChargeParameterDiscoveryReq')


def test_bad_config():
    for cfg in ({'service': 'wpt'}, {'control': 'smart'}):
        try:
            Evcc(cfg, vehicle(), 0, CLOCK)
        except ValueError:
            continue
        raise AssertionError('accepted %r' % cfg)
