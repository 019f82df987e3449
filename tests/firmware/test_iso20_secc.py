# The -20 SECC driven by the scripted EV (host/harness/scripted_ev.py): complete AC/DC/BPT
# sessions in both control modes, authorization, ongoing loops, pause/resume, renegotiation,
# the meter.
from micro15118.iso20 import msg, sap
from micro15118.iso20.charger import Charger
from micro15118.sim.power import PowerModel

from host.harness.scripted_ev import (R, V, ScriptedEv, ac_prepare, authorize, cpd, dc_prepare, family,
                                      full_session, loop, paused_session, power_start, sap_and_setup, schedule,
                                      schedule_req, select, stop, to_selection)

# --- tests ----------------------------------------------------------------------------------

def test_dc_scheduled_session():
    ev, res = full_session(msg.SERVICE_DC, msg.SCHEDULED, current=100)
    # 100 A at 400 V from the first loop request, 7 x 250 ms: 40 kW for 1.75 s = 19.4 Wh
    charged, discharged = ev.power.meter(ev.t)
    assert 19.0 < charged < 19.9, charged
    assert discharged == 0
    assert V(res[-1]["EVSEPresentCurrent"]) == 100
    assert res[-1]["MeterInfo"]["ChargedEnergyReadingWh"] == 19     # read before the last step
    states = [e[1] for e in ev.events("state")]
    assert states == ["SupportedAppProtocol", "SessionSetup", "AuthorizationSetup", "Authorization",
                      "ServiceDiscovery", "ServiceDetail", "ServiceSelection", "ChargeParameterDiscovery",
                      "ScheduleExchange", "CableCheck", "PreCharge", "ChargeLoop", "WeldingDetection",
                      "SessionStop"], states
    assert ("service", 2, 1, msg.SCHEDULED) in ev.secc.events
    assert ev.events("stopped") == [("stopped", "terminate")]


def test_dc_dynamic_session_follows_the_setpoint():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC, msg.DYNAMIC)
    dc_prepare(ev, msg.SERVICE_DC, msg.DYNAMIC)
    r = loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=2)
    # no setpoint: the EV's 50 kW limit at 400 V
    assert V(r[-1]["EVSEPresentCurrent"]) == 125
    ev.charger.set_setpoint(20000)
    r = loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=2)
    assert V(r[-1]["EVSEPresentCurrent"]) == 50
    assert "Dynamic_DC_CLResControlMode" in r[-1]
    # a discharge setpoint is not possible without BPT
    ev.charger.set_setpoint(-20000)
    r = loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=1)
    assert V(r[-1]["EVSEPresentCurrent"]) == 0
    stop(ev, msg.SERVICE_DC)
    assert ev.closed_after(5000)


def test_dc_bpt_scheduled_discharge():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC_BPT, msg.SCHEDULED)
    ev.ok(*cpd(msg.SERVICE_DC_BPT))
    b = schedule(ev, msg.SCHEDULED)
    tup = b["Scheduled_SEResControlMode"]["ScheduleTuple"][0]
    assert "AbsolutePriceSchedule" in tup["ChargingSchedule"]
    assert V(tup["DischargingSchedule"]["PowerSchedule"]["PowerScheduleEntries"]["PowerScheduleEntry"][0]["Power"]) \
        == -50000
    ev2 = ScriptedEv()
    to_selection(ev2, msg.SERVICE_DC_BPT, msg.SCHEDULED)
    dc_prepare(ev2, msg.SERVICE_DC_BPT, msg.SCHEDULED, channel="Discharge")
    r = loop(ev2, msg.SERVICE_DC_BPT, msg.SCHEDULED, current=-25, meter=True)
    assert V(r[-1]["EVSEPresentCurrent"]) == -25
    assert "BPT_Scheduled_DC_CLResControlMode" in r[-1]
    assert r[-1]["MeterInfo"]["BPT_DischargedEnergyReadingWh"] > 0
    charged, discharged = ev2.power.meter(ev2.t)
    assert charged == 0 and 4.7 < discharged < 5.0, (charged, discharged)   # 10 kW for 1.75 s
    # more than the EV's limits (30 A, 11 kW) is capped
    r = loop(ev2, msg.SERVICE_DC_BPT, msg.SCHEDULED, n=1, current=-80)
    assert V(r[-1]["EVSEPresentCurrent"]) == -27.5
    assert r[-1]["EVSECurrentLimitAchieved"] and r[-1]["EVSEPowerLimitAchieved"]
    stop(ev2, msg.SERVICE_DC_BPT)


def test_dc_bpt_dynamic_charge_then_discharge():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC)
    dc_prepare(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC, channel="Charge")
    ev.charger.set_setpoint(8000)
    r = loop(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC, n=4)
    assert V(r[-1]["EVSEPresentCurrent"]) == 20
    # the Charge channel never discharges: switching needs PowerDelivery
    # Start with the Discharge channel
    ev.charger.set_setpoint(-8000)
    r = loop(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC, n=1)
    assert V(r[-1]["EVSEPresentCurrent"]) == 0
    power_start(ev, msg.DYNAMIC, channel="Discharge")
    r = loop(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC, n=4)
    assert V(r[-1]["EVSEPresentCurrent"]) == -20
    ev.charger.set_setpoint(-50000)       # the EV allows 11 kW / 30 A
    r = loop(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC, n=1)
    assert V(r[-1]["EVSEPresentCurrent"]) == -27.5
    m = r[-1]["BPT_Dynamic_DC_CLResControlMode"]
    assert V(m["EVSEMaximumDischargePower"]) == 50000
    charged, discharged = ev.power.meter(ev.t)
    # a new setpoint acts at once (not at the EV's next message), and the
    # first current after a pause counts at the 450 V the output may reach:
    # 7.1 kW for 0.25 s + 8 kW for 0.5 s charged
    assert 1.55 < charged < 1.65 and 2.05 < discharged < 2.15, (charged, discharged)
    stop(ev, msg.SERVICE_DC_BPT)
    powers = [e[1] for e in ev.events("power")]
    assert max(powers) == 8000 and min(powers) == -11000, powers


def test_discharge_sign_negative():
    ev = ScriptedEv({"discharge_sign": -1})
    to_selection(ev, msg.SERVICE_DC_BPT, msg.DYNAMIC)
    name, body = cpd(msg.SERVICE_DC_BPT)
    m = body["BPT_DC_CPDReqEnergyTransferMode"]
    for k in ("EVMaximumDischargePower", "EVMinimumDischargePower", "EVMaximumDischargeCurrent",
              "EVMinimumDischargeCurrent"):
        m[k] = R(-V(m[k]))
    b = ev.ok(name, body)
    assert V(b["BPT_DC_CPDResEnergyTransferMode"]["EVSEMaximumDischargePower"]) == -50000
    assert V(b["BPT_DC_CPDResEnergyTransferMode"]["EVSEMaximumDischargeCurrent"]) == -125
    # positive discharge limits are wrong under this convention
    ev2 = ScriptedEv({"discharge_sign": -1})
    to_selection(ev2, msg.SERVICE_DC_BPT, msg.DYNAMIC)
    n, b = ev2.req(*cpd(msg.SERVICE_DC_BPT))
    assert b["ResponseCode"] == msg.FAILED_WRONG_CHARGE_PARAMETER


def test_ac_scheduled_session():
    ev, res = full_session(msg.SERVICE_AC, msg.SCHEDULED)
    m = res[-1]["Scheduled_AC_CLResControlMode"]
    assert V(m["EVSETargetActivePower"]) == 11000       # the EV's maximum
    assert V(m["EVSEPresentActivePower"]) == 11000
    charged, _ = ev.power.meter(ev.t)
    assert 5.2 < charged < 5.5, charged                 # 11 kW for 1.75 s
    states = [e[1] for e in ev.events("state")]
    assert "CableCheck" not in states and states[-1] == "SessionStop"


def test_ac_dynamic_session():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_AC, msg.DYNAMIC)
    ac_prepare(ev, msg.SERVICE_AC, msg.DYNAMIC)
    ev.charger.set_setpoint(7400)
    r = loop(ev, msg.SERVICE_AC, msg.DYNAMIC, n=4)
    assert V(r[-1]["Dynamic_AC_CLResControlMode"]["EVSETargetActivePower"]) == 7400
    ev.charger.set_limits(ac_max_charge_power=3680)
    r = loop(ev, msg.SERVICE_AC, msg.DYNAMIC, n=1)
    assert V(r[-1]["Dynamic_AC_CLResControlMode"]["EVSETargetActivePower"]) == 3680
    stop(ev, msg.SERVICE_AC)
    assert ev.closed_after(5000)


def test_ac_bpt_sessions():
    ev, res = full_session(msg.SERVICE_AC_BPT, msg.DYNAMIC, channel="Discharge")
    assert V(res[-1]["BPT_Dynamic_AC_CLResControlMode"]["EVSETargetActivePower"]) == -7000
    charged, discharged = ev.power.meter(ev.t)
    assert charged == 0 and 3.3 < discharged < 3.5, discharged    # 7 kW for 1.75 s
    ev, res = full_session(msg.SERVICE_AC_BPT, msg.SCHEDULED, channel="Charge")
    assert V(res[-1]["BPT_Scheduled_AC_CLResControlMode"]["EVSETargetActivePower"]) == 11000
    # the AC_BPT parameter sets carry the BPT parameters
    ev = ScriptedEv()
    sap_and_setup(ev, family(msg.SERVICE_AC))
    authorize(ev)
    b = ev.ok("ServiceDiscoveryReq")
    assert [x["ServiceID"] for x in b["EnergyTransferServiceList"]["Service"]] == [1, 5]
    b = ev.ok("ServiceDetailReq", {"ServiceID": msg.SERVICE_AC_BPT})
    names = [p["@Name"] for p in b["ServiceParameterList"]["ParameterSet"][0]["Parameter"]]
    assert "BPTChannel" in names and "GeneratorMode" in names and "Connector" in names


def test_sap_picks_the_highest_priority_entry():
    ev = ScriptedEv()
    req = sap.evcc_request([("urn:din:70121:2012:MsgDef", 2, 0), sap.PROTOCOL_20_AC, sap.PROTOCOL_20_DC])
    req["AppProtocol"][1]["Priority"] = 3       # AC now lowest
    req["AppProtocol"][2]["Priority"] = 2
    n, b = ev.req("supportedAppProtocolReq", req)
    assert b == {"ResponseCode": msg.SAP_OK, "SchemaID": 3}
    assert ("protocol", msg.NS_DC) in ev.secc.events
    res, p = sap.secc_negotiate({"AppProtocol": [{"ProtocolNamespace": msg.NS_AC, "VersionNumberMajor": 1,
                                                  "VersionNumberMinor": 2, "SchemaID": 7, "Priority": 1}]})
    assert res == {"ResponseCode": msg.SAP_OK_MINOR, "SchemaID": 7} and p == sap.PROTOCOL_20_AC
    res, p = sap.secc_negotiate({"AppProtocol": [{"ProtocolNamespace": msg.NS_AC, "VersionNumberMajor": 2,
                                                  "VersionNumberMinor": 0, "SchemaID": 7, "Priority": 1}]})
    assert res == {"ResponseCode": msg.SAP_FAILED} and p is None
    # the EV's side of the helpers
    protos = [sap.PROTOCOL_20_DC, sap.PROTOCOL_20_AC]
    assert sap.evcc_result({"ResponseCode": msg.SAP_OK, "SchemaID": 2}, protos) == sap.PROTOCOL_20_AC
    assert sap.evcc_result({"ResponseCode": msg.SAP_FAILED}, protos) is None
    assert sap.evcc_result({"ResponseCode": msg.SAP_OK, "SchemaID": 9}, protos) is None


def test_eim_authorization_ongoing_then_granted():
    ev = ScriptedEv(authorized=None)
    sap_and_setup(ev)
    ev.ok("AuthorizationSetupReq")
    areq = {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}}
    for _ in range(3):
        assert ev.ok("AuthorizationReq", areq)["EVSEProcessing"] == msg.ONGOING
        ev.wait(1000)
    assert len(ev.events("auth_request")) == 1
    ev.charger.authorize(True)
    assert ev.ok("AuthorizationReq", areq)["EVSEProcessing"] == msg.FINISHED
    assert ev.events("authorized") == [("authorized", True)]
    select(ev, msg.SERVICE_DC, msg.SCHEDULED)


def test_eim_refused_is_a_warning():
    ev = ScriptedEv(authorized=False)
    sap_and_setup(ev)
    ev.ok("AuthorizationSetupReq")
    n, b = ev.req("AuthorizationReq", {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}})
    assert b["ResponseCode"] == msg.WARNING_EIM_AUTHORIZATION_FAILURE
    assert b["EVSEProcessing"] == msg.FINISHED
    assert ev.events("authorized") == [("authorized", False)]
    # the session goes on: the EV may stop it
    ev.ok("SessionStopReq", {"ChargingSession": msg.TERMINATE})
    assert ev.closed_after(5000)


def test_eim_ongoing_limit():
    ev = ScriptedEv({"timers": {"eim_ongoing": 10000}}, authorized=None)
    sap_and_setup(ev)
    ev.ok("AuthorizationSetupReq")
    areq = {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}}
    for _ in range(6):
        ev.ok("AuthorizationReq", areq)
        ev.wait(2000)
    n, b = ev.req("AuthorizationReq", areq)
    assert b["ResponseCode"] == msg.FAILED
    assert ev.closed_after(5000)


def test_schedule_exchange_ongoing_until_the_charger_has_a_schedule():
    ev = ScriptedEv(schedule_ready=False)
    to_selection(ev, msg.SERVICE_AC, msg.SCHEDULED)
    ev.ok(*cpd(msg.SERVICE_AC))
    for _ in range(3):
        assert ev.ok("ScheduleExchangeReq", schedule_req(msg.SCHEDULED))["EVSEProcessing"] == msg.ONGOING
        ev.wait(1000)
    ev.charger.set_schedule([(1800, 7000), (1800, 3000)])
    b = ev.ok("ScheduleExchangeReq", schedule_req(msg.SCHEDULED))
    assert b["EVSEProcessing"] == msg.FINISHED
    entries = b["Scheduled_SEResControlMode"]["ScheduleTuple"][0]["ChargingSchedule"]["PowerSchedule"][
        "PowerScheduleEntries"]["PowerScheduleEntry"]
    assert [(e["Duration"], V(e["Power"])) for e in entries] == [(1800, 7000), (1800, 3000)]
    power_start(ev, msg.SCHEDULED)
    r = loop(ev, msg.SERVICE_AC, msg.SCHEDULED, n=1)
    assert V(r[0]["Scheduled_AC_CLResControlMode"]["EVSETargetActivePower"]) == 7000
    # past 55 s of Ongoing the answer is FAILED
    ev = ScriptedEv(schedule_ready=False)
    to_selection(ev, msg.SERVICE_DC, msg.DYNAMIC)
    ev.ok(*cpd(msg.SERVICE_DC))
    for _ in range(12):
        ev.ok("ScheduleExchangeReq", schedule_req(msg.DYNAMIC))
        ev.wait(5000)
    n, b = ev.req("ScheduleExchangeReq", schedule_req(msg.DYNAMIC))
    assert b["ResponseCode"] == msg.FAILED


def test_pause_and_resume_with_the_old_session_id():
    ev = paused_session(msg.SERVICE_DC, msg.DYNAMIC)
    assert ev.closed_after(5000)
    assert ev.events("stopped") == [("stopped", "pause")]
    old = ev.sid
    assert len(ev.secc.store) == 1
    # a new TCP connection, the same SECC
    ev.secc.connection_made(ev.t)
    ev.secc.events[:] = []
    b = sap_and_setup(ev)
    assert b["ResponseCode"] == msg.OK_OLD_SESSION and ev.sid == old
    assert ev.events("session") == [("session", old, True)]
    # straight to ChargeParameterDiscovery (libiso15118's way)
    dc_prepare(ev, msg.SERVICE_DC, msg.DYNAMIC)
    loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=2)
    stop(ev, msg.SERVICE_DC)
    assert ev.closed_after(5000)
    assert len(ev.secc.store) == 0


def test_resume_through_authorization_and_in_a_new_secc():
    ev = paused_session(msg.SERVICE_AC, msg.SCHEDULED)
    old = ev.sid
    ev2 = ScriptedEv(store=ev.secc.store)
    ev2.sid = old
    b = sap_and_setup(ev2, family(msg.SERVICE_AC))
    assert b["ResponseCode"] == msg.OK_OLD_SESSION
    authorize(ev2)      # python-iso15118's way
    select(ev2, msg.SERVICE_AC, msg.SCHEDULED)
    ac_prepare(ev2, msg.SERVICE_AC, msg.SCHEDULED)
    loop(ev2, msg.SERVICE_AC, msg.SCHEDULED, n=2)
    # an unknown non-zero SessionID starts a new session
    ev3 = ScriptedEv(store=ev.secc.store)
    ev3.sid = b"\x42" * 8
    assert sap_and_setup(ev3)["ResponseCode"] == msg.OK_NEW_SESSION
    assert ev3.sid != b"\x42" * 8


def test_service_renegotiation():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_AC, msg.DYNAMIC)
    ac_prepare(ev, msg.SERVICE_AC, msg.DYNAMIC)
    loop(ev, msg.SERVICE_AC, msg.DYNAMIC, n=2)
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STOP})
    ev.ok("SessionStopReq", {"ChargingSession": msg.SERVICE_RENEGOTIATION})
    ev.wait(6000)
    assert not ev.events("close")
    select(ev, msg.SERVICE_AC_BPT, msg.DYNAMIC)
    ac_prepare(ev, msg.SERVICE_AC_BPT, msg.DYNAMIC, channel="Charge")
    loop(ev, msg.SERVICE_AC_BPT, msg.DYNAMIC, n=2)
    stop(ev, msg.SERVICE_AC_BPT)
    assert ev.closed_after(5000)
    # not offered: FAILED
    ev = ScriptedEv({"service_renegotiation": False})
    to_selection(ev, msg.SERVICE_AC, msg.DYNAMIC)
    n, b = ev.req("SessionStopReq", {"ChargingSession": msg.SERVICE_RENEGOTIATION})
    assert b["ResponseCode"] == msg.FAILED_NO_SERVICE_RENEGOTIATION_SUPPORTED
    assert ev.closed_after(5000)


def test_standby_and_schedule_renegotiation():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC, msg.SCHEDULED)
    dc_prepare(ev, msg.SERVICE_DC, msg.SCHEDULED)
    loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=1)
    n, b = ev.req("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STANDBY})
    assert b["ResponseCode"] == msg.WARNING_STANDBY_NOT_ALLOWED
    r = loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=1)       # still charging
    assert V(r[0]["EVSEPresentCurrent"]) == 100
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.SCHEDULE_RENEGOTIATION})
    assert ev.secc.state == "ScheduleExchange"
    assert ev.power.current == 0
    schedule(ev, msg.SCHEDULED)
    power_start(ev, msg.SCHEDULED)                          # no cable check again
    r = loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=1)
    assert V(r[0]["EVSEPresentCurrent"]) == 100
    stop(ev, msg.SERVICE_DC)
    # standby allowed by configuration: zero power, loop goes on
    ev = ScriptedEv({"standby_allowed": True})
    to_selection(ev, msg.SERVICE_DC, msg.SCHEDULED)
    dc_prepare(ev, msg.SERVICE_DC, msg.SCHEDULED)
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STANDBY})
    r = loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=1)
    assert V(r[0]["EVSEPresentCurrent"]) == 0
    power_start(ev, msg.SCHEDULED)
    r = loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=1)
    assert V(r[0]["EVSEPresentCurrent"]) == 100


def test_charger_pause_and_stop_notifications():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC, msg.DYNAMIC)
    dc_prepare(ev, msg.SERVICE_DC, msg.DYNAMIC)
    loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=1)
    ev.charger.pause()
    r = loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=1)
    assert r[0]["EVSEStatus"] == {"NotificationMaxDelay": 60, "EVSENotification": "Pause"}
    assert V(r[0]["EVSEPresentCurrent"]) == 0
    stop(ev, msg.SERVICE_DC, how=msg.PAUSE)
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_AC, msg.SCHEDULED)
    ac_prepare(ev, msg.SERVICE_AC, msg.SCHEDULED)
    ev.charger.stop()
    r = loop(ev, msg.SERVICE_AC, msg.SCHEDULED, n=1)
    assert r[0]["EVSEStatus"] == {"NotificationMaxDelay": 0, "EVSENotification": "Terminate"}
    assert V(r[0]["Scheduled_AC_CLResControlMode"]["EVSETargetActivePower"]) == 0
    stop(ev, msg.SERVICE_AC)


def test_metering_confirmation_is_accepted():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC, msg.SCHEDULED)
    dc_prepare(ev, msg.SERVICE_DC, msg.SCHEDULED)
    r = loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=2, meter=True)
    mi = r[-1]["MeterInfo"]
    b = ev.ok("MeteringConfirmationReq", {"SignedMeteringData": {"@Id": "smd1", "SessionID": ev.sid,
                                                                 "MeterInfo": mi,
                                                                 "Scheduled_SMDTControlMode": {
                                                                     "SelectedScheduleTupleID": 1}}})
    assert b["ResponseCode"] == msg.OK
    assert ev.events("metering_confirmed") == [("metering_confirmed", mi)]
    loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=1)       # the loop goes on


def test_energy_flows_only_between_start_and_stop():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC, msg.SCHEDULED)
    ev.ok(*cpd(msg.SERVICE_DC))
    schedule(ev, msg.SCHEDULED)
    while ev.ok("DC_CableCheckReq")["EVSEProcessing"] == msg.ONGOING:
        ev.wait(250)
    for _ in range(20):
        ev.ok("DC_PreChargeReq", {"EVProcessing": msg.ONGOING, "EVPresentVoltage": R(400),
                                  "EVTargetVoltage": R(400)})
        ev.wait(250)
    ev.ok("DC_PreChargeReq", {"EVProcessing": msg.FINISHED, "EVPresentVoltage": R(400), "EVTargetVoltage": R(400)})
    assert ev.power.meter(ev.t) == (0, 0)
    power_start(ev, msg.SCHEDULED)
    loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=4)
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STOP})
    e = ev.power.meter(ev.t)
    ev.wait(10000)
    assert ev.power.meter(ev.t) == e and e[0] > 0
    # the output discharges after the contactor opened (welding detection sees it)
    b = ev.ok("DC_WeldingDetectionReq", {"EVProcessing": msg.FINISHED})
    assert V(b["EVSEPresentVoltage"]) == 0
    assert ev.events("energy") == [("energy", True), ("energy", False)]


def test_power_model():
    p = PowerModel(0, slew_v_per_s=200)
    assert p.contactor(True, 0)
    p.dc_target(400, 0, 0)
    p.update(1000)
    assert p.voltage == 200
    p.update(3000)
    assert p.voltage == 400
    p.dc_target(400, 1000, 3000)            # limited to 500 A, then 150 kW
    assert p.current == 375
    p.update(3000 + 3600)                   # 150 kW for 3.6 s = 150 Wh
    assert abs(p.charged_wh - 150) < 1e-6
    p.dc_target(400, -100, 6600)
    p.update(6600 + 36000)
    assert abs(p.discharged_wh - 400) < 1e-6
    assert p.contactor(False, 42600) and p.current == 0
    p.ac_power(5000, 42600)
    assert p.present(42600)[2] == 0         # contactor open: nothing flows
    p.contactor(True, 42600)
    p.ac_power(100000, 42600)               # 3 x 230 V x 32 A
    assert p.present(42600)[2] == 22080
    p.contactor_fault = True
    p.contactor(False, 42600)
    assert not p.contactor(True, 42600)
    try:
        Charger(p).certificates()
    except NotImplementedError:
        pass
    else:
        assert False
