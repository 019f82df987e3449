# Every error path an EV (or the charger) can trigger in the -20 SECC, from the wire.
from micro15118.iso20 import msg, sap
from micro15118.iso20.secc import failed

from host.harness.scripted_ev import (R, T0, ScriptedEv, ac_prepare, authorize, cpd, dc_prepare, loop, loop_req,
                                      sap_and_setup, schedule, schedule_req, to_selection)

# one valid body for every request the SECC may see
REQUESTS = {
    "SessionSetupReq": {"EVCCID": "WMI"},
    "AuthorizationSetupReq": {},
    "AuthorizationReq": {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}},
    "ServiceDiscoveryReq": {},
    "ServiceDetailReq": {"ServiceID": 2},
    "ServiceSelectionReq": {"SelectedEnergyTransferService": {"ServiceID": 2, "ParameterSetID": 1}},
    "ScheduleExchangeReq": schedule_req(msg.SCHEDULED),
    "PowerDeliveryReq": {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.START},
    "SessionStopReq": {"ChargingSession": msg.TERMINATE},
    "MeteringConfirmationReq": {"SignedMeteringData": {
        "@Id": "s", "SessionID": b"\x00" * 8, "MeterInfo": {"MeterID": "M", "ChargedEnergyReadingWh": 1},
        "Dynamic_SMDTControlMode": {}}},
    "VehicleCheckInReq": {"EVCheckInStatus": "CheckIn", "ParkingMethod": "AutoParking"},
    "VehicleCheckOutReq": {"EVCheckOutStatus": "CheckOut", "CheckOutTime": 5},
    "AC_ChargeParameterDiscoveryReq": cpd(msg.SERVICE_AC)[1],
    "AC_ChargeLoopReq": loop_req(msg.SERVICE_AC, msg.SCHEDULED)[1],
    "DC_ChargeParameterDiscoveryReq": cpd(msg.SERVICE_DC)[1],
    "DC_CableCheckReq": {},
    "DC_PreChargeReq": {"EVProcessing": msg.ONGOING, "EVPresentVoltage": R(400), "EVTargetVoltage": R(400)},
    "DC_ChargeLoopReq": loop_req(msg.SERVICE_DC, msg.SCHEDULED)[1],
    "DC_WeldingDetectionReq": {"EVProcessing": msg.ONGOING},
}


def expect_fail(ev, name, body, code, res_name=None):
    n, b = ev.req(name, body)
    assert n == (res_name or name[:-3] + "Res"), (name, n)
    assert b["ResponseCode"] == code, (name, b)
    assert not ev.power.closed
    assert ev.closed_after(5000)
    # nothing more is answered while closing or after
    assert ev.raw(*msg.encode(name, dict(body, Header=msg.header(ev.sid, 1)))) == []
    assert ev.secc.dropped == 1
    assert ev.secc.errors == 0
    return b


# --- the stages at which to inject ----------------------------------------------------------

def at_setup(ev):
    ev.req("supportedAppProtocolReq", sap.evcc_request([sap.PROTOCOL_20_DC]))


def at_auth_setup(ev):
    sap_and_setup(ev)


def at_discovery(ev):
    sap_and_setup(ev)
    authorize(ev)


def at_cpd(ev):
    to_selection(ev, msg.SERVICE_DC, msg.SCHEDULED)


def at_cable_check(ev):
    at_cpd(ev)
    ev.ok(*cpd(msg.SERVICE_DC))
    schedule(ev, msg.SCHEDULED)


def at_dc_loop(ev):
    at_cpd(ev)
    dc_prepare(ev, msg.SERVICE_DC, msg.SCHEDULED)
    loop(ev, msg.SERVICE_DC, msg.SCHEDULED, n=1)


def at_ac_loop(ev):
    to_selection(ev, msg.SERVICE_AC, msg.DYNAMIC)
    ac_prepare(ev, msg.SERVICE_AC, msg.DYNAMIC)
    loop(ev, msg.SERVICE_AC, msg.DYNAMIC, n=1)


def at_welding(ev):
    at_dc_loop(ev)
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STOP})


STAGES = ((at_setup, "SessionSetupReq"), (at_auth_setup, "AuthorizationSetupReq"),
          (at_discovery, "ServiceDiscoveryReq"), (at_cpd, "DC_ChargeParameterDiscoveryReq"),
          (at_cable_check, "DC_CableCheckReq"), (at_dc_loop, "DC_ChargeLoopReq"),
          (at_ac_loop, "AC_ChargeLoopReq"), (at_welding, "DC_WeldingDetectionReq"))


def test_every_request_out_of_sequence_gets_its_own_failed_response():
    n = 0
    for stage, _ in STAGES:
        probe = ScriptedEv()
        stage(probe)
        allowed = probe.secc.allowed
        for name, body in REQUESTS.items():
            if name in allowed or name == "MeteringConfirmationReq" and probe.secc.ctx.service:
                continue
            ev = ScriptedEv()
            stage(ev)
            b = expect_fail(ev, name, body, msg.FAILED_SEQUENCE_ERROR)
            if name in ("AC_ChargeLoopReq", "DC_ChargeLoopReq", "PowerDeliveryReq"):
                assert b["EVSEStatus"]["EVSENotification"] == "Terminate"
            n += 1
    assert n > 100, n


def test_wrong_session_id():
    for stage, _ in STAGES[1:]:
        ev = ScriptedEv()
        stage(ev)
        name = ev.secc.allowed[0]
        n, b = ev.req(name, REQUESTS[name], sid=b"\x99" * 8)
        assert n == name[:-3] + "Res" and b["ResponseCode"] == msg.FAILED_UNKNOWN_SESSION, (name, b)
        assert not ev.power.closed
        assert ev.closed_after(5000)


def test_malformed_exi_gets_a_failed_response_of_the_expected_type():
    for stage, expected in STAGES:
        for ptype, junk in ((msg.COMMON, b"\x80\xff\xff\xff"), (msg.DC, b""), (msg.AC, b"\x00"),
                            (0x8123, b"\x80\x00")):
            ev = ScriptedEv()
            stage(ev)
            res = ev.raw(ptype, junk)
            assert len(res) == 1
            n, b = res[0]
            assert n == expected[:-3] + "Res", (expected, n)
            assert b["ResponseCode"] == msg.FAILED
            assert not ev.power.closed
            assert ev.closed_after(5000)
    # before SAP: Failed_NoNegotiation
    ev = ScriptedEv()
    assert ev.raw(msg.SAP, b"\x80\x01") == [("supportedAppProtocolRes", {"ResponseCode": msg.SAP_FAILED})]
    assert ev.closed_after(5000)
    # a -20 message before SAP
    ev = ScriptedEv()
    assert ev.raw(*msg.encode("SessionSetupReq", {"Header": msg.header(b"\x00" * 8, 1), "EVCCID": "X"})) == \
        [("supportedAppProtocolRes", {"ResponseCode": msg.SAP_FAILED})]


def test_sap_failures():
    ev = ScriptedEv()
    n, b = ev.req("supportedAppProtocolReq", sap.evcc_request([("urn:din:70121:2012:MsgDef", 2, 0)]))
    assert b == {"ResponseCode": msg.SAP_FAILED}
    assert ev.closed_after(5000)
    # a second SAP request
    ev = ScriptedEv()
    at_setup(ev)
    n, b = ev.req("supportedAppProtocolReq", sap.evcc_request([sap.PROTOCOL_20_DC]))
    assert b == {"ResponseCode": msg.SAP_FAILED}
    assert ev.closed_after(5000)
    # SAP again in the middle of a charge: refused, and the power goes off
    ev = ScriptedEv()
    at_dc_loop(ev)
    n, b = ev.req("supportedAppProtocolReq", sap.evcc_request([sap.PROTOCOL_20_DC]))
    assert b == {"ResponseCode": msg.SAP_FAILED}
    assert not ev.power.closed and ev.power.current == 0
    assert ev.closed_after(5000)
    # an AC-only charger does not offer the -20:DC family
    ev = ScriptedEv({"services": (msg.SERVICE_AC, msg.SERVICE_AC_BPT)})
    n, b = ev.req("supportedAppProtocolReq", sap.evcc_request([sap.PROTOCOL_20_DC]))
    assert b == {"ResponseCode": msg.SAP_FAILED}
    ev = ScriptedEv({"services": (msg.SERVICE_AC,)})
    n, b = ev.req("supportedAppProtocolReq", sap.evcc_request([sap.PROTOCOL_20_DC, sap.PROTOCOL_20_AC]))
    assert b == {"ResponseCode": msg.SAP_OK, "SchemaID": 2}
    # only the -2 fallback hook offered: a -20 EV cannot negotiate
    ev = ScriptedEv({"protocols": (("urn:iso:15118:2:2013:MsgDef", 2, 0),)})
    n, b = ev.req("supportedAppProtocolReq", sap.evcc_request([sap.PROTOCOL_20_DC]))
    assert b == {"ResponseCode": msg.SAP_FAILED}


def test_unoffered_service_and_invalid_selections():
    ev = ScriptedEv({"services": (msg.SERVICE_DC,)})
    at_discovery(ev)
    b = ev.ok("ServiceDiscoveryReq")
    assert [s["ServiceID"] for s in b["EnergyTransferServiceList"]["Service"]] == [2]
    b = expect_fail(ev, "ServiceDetailReq", {"ServiceID": 1}, msg.FAILED_SERVICE_ID_INVALID)
    assert b["ServiceID"] == 1
    cases = (({"ServiceID": 2, "ParameterSetID": 9}, msg.FAILED_SERVICE_SELECTION_INVALID),
             ({"ServiceID": 1, "ParameterSetID": 1}, msg.FAILED_SERVICE_SELECTION_INVALID),
             ({"ServiceID": 65, "ParameterSetID": 1}, msg.FAILED_NO_ENERGY_TRANSFER_SERVICE_SELECTED))
    for sel, code in cases:
        ev = ScriptedEv({"services": (msg.SERVICE_DC,), "control_modes": (msg.DYNAMIC,)})
        at_discovery(ev)
        ev.ok("ServiceDiscoveryReq")
        ev.ok("ServiceDetailReq", {"ServiceID": 2})
        expect_fail(ev, "ServiceSelectionReq", {"SelectedEnergyTransferService": sel}, code)
    # scheduled mode not offered: parameter set 1 is invalid
    ev = ScriptedEv({"control_modes": (msg.DYNAMIC,)})
    at_discovery(ev)
    ev.ok("ServiceDiscoveryReq")
    ev.ok("ServiceDetailReq", {"ServiceID": 2})
    expect_fail(ev, "ServiceSelectionReq", {"SelectedEnergyTransferService": {"ServiceID": 2, "ParameterSetID": 1}},
                msg.FAILED_SERVICE_SELECTION_INVALID)
    # a VAS we do not offer
    ev = ScriptedEv()
    at_discovery(ev)
    ev.ok("ServiceDiscoveryReq")
    ev.ok("ServiceDetailReq", {"ServiceID": 2})
    expect_fail(ev, "ServiceSelectionReq", {"SelectedEnergyTransferService": {"ServiceID": 2, "ParameterSetID": 1},
                                            "SelectedVASList": {"SelectedService": [
                                                {"ServiceID": 65, "ParameterSetID": 1}]}},
                msg.FAILED_SERVICE_SELECTION_INVALID)


def test_wrong_charge_parameters():
    def dc(**changes):
        name, body = cpd(msg.SERVICE_DC)
        for k, v in changes.items():
            body["DC_CPDReqEnergyTransferMode"][k] = R(v)
        return name, body
    for name, body in (dc(EVMaximumVoltage=100, EVMinimumVoltage=50),      # below the charger's 150 V
                       dc(EVMinimumVoltage=950, EVMaximumVoltage=990),     # above its 920 V
                       dc(EVMinimumChargePower=200000),                    # more than 150 kW minimum
                       dc(EVMaximumChargeCurrent=-5),
                       cpd(msg.SERVICE_DC_BPT)):                            # BPT form for plain DC
        ev = ScriptedEv()
        at_cpd(ev)
        expect_fail(ev, name, body, msg.FAILED_WRONG_CHARGE_PARAMETER)
    # the plain form for a BPT service, and AC
    for service, other in ((msg.SERVICE_DC_BPT, msg.SERVICE_DC), (msg.SERVICE_AC_BPT, msg.SERVICE_AC),
                           (msg.SERVICE_AC, msg.SERVICE_AC_BPT)):
        ev = ScriptedEv()
        to_selection(ev, service, msg.DYNAMIC)
        expect_fail(ev, *cpd(other), code=msg.FAILED_WRONG_CHARGE_PARAMETER)
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_AC, msg.DYNAMIC)
    name, body = cpd(msg.SERVICE_AC)
    body["AC_CPDReqEnergyTransferMode"]["EVMinimumChargePower"] = R(30000)
    expect_fail(ev, name, body, msg.FAILED_WRONG_CHARGE_PARAMETER)
    # pre-charge above the charger's maximum voltage
    ev = ScriptedEv()
    at_cable_check(ev)
    while ev.ok("DC_CableCheckReq")["EVSEProcessing"] == msg.ONGOING:
        ev.wait(500)
    # a pre-charge target above our 920 V is clamped (python-iso15118's EV
    # asks for 20 kV), a negative one refused
    b = ev.ok("DC_PreChargeReq", {"EVProcessing": msg.ONGOING, "EVPresentVoltage": R(400),
                                  "EVTargetVoltage": R(960)})
    assert msg.value(b["EVSEPresentVoltage"]) <= 920
    assert any(e[0] == "warning" and e[1] == "precharge_target_clamped" for e in ev.secc.events)
    expect_fail(ev, "DC_PreChargeReq", {"EVProcessing": msg.ONGOING, "EVPresentVoltage": R(400),
                                        "EVTargetVoltage": R(-5)}, msg.FAILED_WRONG_CHARGE_PARAMETER)
    # a loop request in the wrong control mode
    ev = ScriptedEv()
    at_dc_loop(ev)
    expect_fail(ev, *loop_req(msg.SERVICE_DC, msg.DYNAMIC), code=msg.FAILED_WRONG_CHARGE_PARAMETER)


def test_schedule_selection_and_processing_rules():
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_AC, msg.SCHEDULED)
    ev.ok(*cpd(msg.SERVICE_AC))
    schedule(ev, msg.SCHEDULED)
    body = {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.START,
            "EVPowerProfile": {"TimeAnchor": T0, "Scheduled_EVPPTControlMode": {"SelectedScheduleTupleID": 7},
                               "EVPowerProfileEntries": {"EVPowerProfileEntry": [{"Duration": 60, "Power": R(1)}]}}}
    expect_fail(ev, "PowerDeliveryReq", body, msg.FAILED_SCHEDULE_SELECTION_INVALID)
    # a ScheduleExchangeReq in the other control mode
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_AC, msg.SCHEDULED)
    ev.ok(*cpd(msg.SERVICE_AC))
    expect_fail(ev, "ScheduleExchangeReq", schedule_req(msg.DYNAMIC), msg.FAILED)
    # after DC_PreChargeReq with EVProcessing=Ongoing only another DC_PreChargeReq may follow
    ev = ScriptedEv()
    at_cable_check(ev)
    while ev.ok("DC_CableCheckReq")["EVSEProcessing"] == msg.ONGOING:
        ev.wait(500)
    ev.ok("DC_PreChargeReq", REQUESTS["DC_PreChargeReq"])
    expect_fail(ev, "PowerDeliveryReq", REQUESTS["PowerDeliveryReq"], msg.FAILED_SEQUENCE_ERROR)
    # after DC_WeldingDetectionReq with EVProcessing=Ongoing only another one may follow
    ev = ScriptedEv()
    at_welding(ev)
    ev.ok("DC_WeldingDetectionReq", {"EVProcessing": msg.ONGOING})
    expect_fail(ev, "SessionStopReq", REQUESTS["SessionStopReq"], msg.FAILED_SEQUENCE_ERROR)
    # SessionStop while energy flows
    ev = ScriptedEv()
    at_dc_loop(ev)
    assert ev.power.current > 0
    expect_fail(ev, "SessionStopReq", REQUESTS["SessionStopReq"], msg.FAILED_SEQUENCE_ERROR)
    assert ev.power.current == 0


def test_hardware_faults():
    ev = ScriptedEv()
    at_cable_check(ev)
    ev.power.insulation_fault = True
    while True:
        n, b = ev.req("DC_CableCheckReq")
        if b["EVSEProcessing"] == msg.FINISHED:
            break
        ev.wait(500)
    assert b["ResponseCode"] == msg.FAILED and not ev.power.closed
    assert ev.closed_after(5000)
    ev = ScriptedEv()
    at_cable_check(ev)
    ev.power.contactor_fault = True
    expect_fail(ev, "DC_CableCheckReq", {}, msg.FAILED_CONTACTOR_ERROR)
    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_AC, msg.SCHEDULED)
    ev.ok(*cpd(msg.SERVICE_AC))
    schedule(ev, msg.SCHEDULED)
    ev.power.contactor_fault = True
    n, b = ev.req("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.START})
    assert b["ResponseCode"] == msg.FAILED_CONTACTOR_ERROR
    # cable check that never ends: FAILED after 40 s
    ev = ScriptedEv()
    ev.power.insulation_ms = 10 ** 9
    at_cable_check(ev)
    for _ in range(9):
        ev.ok("DC_CableCheckReq")
        ev.wait(5000)
    n, b = ev.req("DC_CableCheckReq")
    assert b["ResponseCode"] == msg.FAILED


def test_session_stop_closes_after_5_s():
    for how in (msg.TERMINATE, msg.PAUSE):
        ev = ScriptedEv()
        at_discovery(ev)
        ev.ok("SessionStopReq", {"ChargingSession": how})
        assert ev.secc.next_deadline() == ev.t + 5000
        assert ev.closed_after(5000)
        assert ev.events("close") == [("close", "session_stop")]


def test_ev_silent_stops_power_and_closes():
    for stage in (at_dc_loop, at_ac_loop):
        ev = ScriptedEv()
        stage(ev)
        assert ev.power.closed and ev.power.present(ev.t)[2] > 0
        assert ev.secc.next_deadline() == ev.t + 60000
        ev.wait(59999)
        assert ev.power.closed and not ev.events("close")
        ev.wait(1)
        assert not ev.power.closed and ev.power.present(ev.t)[2] == 0
        assert ev.events("stopped")[-1] == ("stopped", "sequence_timeout")
        assert ev.events("close") == [("close", "sequence_timeout")]
        assert ev.secc.next_deadline() is None
    # an EV that never sends SessionSetupReq: 18 s
    ev = ScriptedEv()
    at_setup(ev)
    ev.wait(17999)
    assert not ev.events("close")
    ev.wait(1)
    assert ev.events("close") == [("close", "communication_setup_timeout")]
    # a FAILED answer late in the setup time still closes 5 s later
    ev = ScriptedEv()
    ev.wait(17000)
    ev.req("supportedAppProtocolReq", sap.evcc_request([("urn:din:70121:2012:MsgDef", 2, 0)]))
    assert ev.closed_after(5000)
    assert ev.events("close") == [("close", "no_negotiation")]
    # the sequence timer does not run before SAP; the 18 s one does
    ev = ScriptedEv()
    assert ev.secc.next_deadline() == 18000


def test_ev_gone_mid_charge_loop():
    ev = ScriptedEv()
    at_dc_loop(ev)
    ev.secc.connection_lost(ev.t)
    assert not ev.power.closed and ev.power.present(ev.t)[2] == 0
    assert ("stopped", "connection_lost") in ev.secc.events
    assert ev.secc.next_deadline() is None
    # the session was kept as paused: the EV may come back
    old = ev.sid
    ev.secc.connection_made(ev.t)
    assert sap_and_setup(ev)["ResponseCode"] == msg.OK_OLD_SESSION and ev.sid == old


def test_emergency_stop():
    ev = ScriptedEv()
    at_dc_loop(ev)
    ev.charger.emergency_stop()
    # the contactor is open at once, before any message
    assert not ev.power.closed and ev.power.present(ev.t)[2] == 0
    ev.wait(10)
    assert ("stopped", "emergency_stop") in ev.secc.events
    n, b = ev.req(*loop_req(msg.SERVICE_DC, msg.SCHEDULED))
    assert b["ResponseCode"] == msg.FAILED
    assert b["EVSEStatus"] == {"NotificationMaxDelay": 0, "EVSENotification": "Terminate"}
    assert ev.closed_after(5000)
    ev = ScriptedEv()
    at_ac_loop(ev)
    ev.charger.emergency_stop()
    assert ev.power.present(ev.t)[2] == 0
    n, b = ev.req(*loop_req(msg.SERVICE_AC, msg.DYNAMIC))
    assert n == "AC_ChargeLoopRes" and b["ResponseCode"] == msg.FAILED
    # before charging: the next request fails
    ev = ScriptedEv()
    at_discovery(ev)
    ev.charger.emergency_stop()
    expect_fail(ev, "ServiceDiscoveryReq", {}, msg.FAILED)


def test_non_request_messages():
    # a response, or an element that is no message, from the EV
    ev = ScriptedEv()
    at_discovery(ev)
    n = ev.raw(*msg.encode("SessionStopRes", {"Header": msg.header(ev.sid, 1), "ResponseCode": "OK"}))
    assert n[0][0] == "ServiceDiscoveryRes" and n[0][1]["ResponseCode"] == msg.FAILED
    for req in ("CertificateInstallationReq", "VehicleCheckInReq", "VehicleCheckOutReq"):
        assert failed.response_of(req)
    ev = ScriptedEv()
    at_discovery(ev)
    expect_fail(ev, "VehicleCheckOutReq", REQUESTS["VehicleCheckOutReq"], msg.FAILED_SEQUENCE_ERROR)


def test_failed_bodies_encode():
    h = msg.header(b"\x01" * 8, T0)
    for name in REQUESTS:
        res = failed.response_of(name)
        p, d = msg.encode(res, failed.body(res, msg.FAILED, h))
        assert msg.decode(p, d)[0] == res
    res = failed.response_of("CertificateInstallationReq")
    msg.encode(res, failed.body(res, msg.FAILED, h))


def test_internal_errors_are_answered_and_counted():
    ev = ScriptedEv()
    at_discovery(ev)
    ev.secc.charger.limits = None       # any handler that reads limits now fails
    ev.ok("ServiceDiscoveryReq")
    ev.ok("ServiceDetailReq", {"ServiceID": 2})
    ev.ok("ServiceSelectionReq", {"SelectedEnergyTransferService": {"ServiceID": 2, "ParameterSetID": 1}})
    n, b = ev.req(*cpd(msg.SERVICE_DC))
    assert b["ResponseCode"] == msg.FAILED and ev.secc.errors == 1
    assert ev.closed_after(5000)
