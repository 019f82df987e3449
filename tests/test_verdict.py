"""host/bench/verdict.py judges a run from the decoded messages: the same checks
for every pairing, one-line reasons that name what went wrong."""
from host.bench import verdict


def R(x):
    """A RationalNumber as our codec decodes it (3 decimals)."""
    return {"Exponent": -3, "Value": int(round(x * 1000))} if abs(x) < 32 else \
        {"Exponent": 0, "Value": int(round(x))}


def dc_session(currents, voltage=400.0, ev_max_v=420.0, evse_max_v=920.0, ev_max_i=400.0,
               stop=True, bpt=True):
    t = 0.0
    msgs = []

    def add(sender, name, body):
        nonlocal t
        t += 0.25
        msgs.append({"t": t, "from": sender, "name": name, "body": body})

    pre = "BPT_" if bpt else ""
    add("EV", "DC_ChargeParameterDiscoveryReq", {pre + "DC_CPDReqEnergyTransferMode": {
        "EVMaximumVoltage": R(ev_max_v), "EVMaximumChargeCurrent": R(ev_max_i),
        "EVMaximumChargePower": R(150000), "EVMaximumDischargeCurrent": R(30),
        "EVMaximumDischargePower": R(11000)}})
    add("SECC", "DC_ChargeParameterDiscoveryRes", {"ResponseCode": "OK", pre + "DC_CPDResEnergyTransferMode": {
        "EVSEMaximumVoltage": R(evse_max_v), "EVSEMaximumChargeCurrent": R(400),
        "EVSEMaximumChargePower": R(150000), "EVSEMaximumDischargeCurrent": R(125),
        "EVSEMaximumDischargePower": R(50000)}})
    for i in currents:
        add("EV", "DC_ChargeLoopReq", {"DisplayParameters": {"PresentSOC": 50},
                                        "EVPresentVoltage": R(voltage)})
        add("SECC", "DC_ChargeLoopRes", {"ResponseCode": "OK", "EVSEPresentVoltage": R(voltage),
                                          "EVSEPresentCurrent": R(i)})
    if stop:
        add("EV", "SessionStopReq", {"ChargingSession": "Terminate"})
        add("SECC", "SessionStopRes", {"ResponseCode": "OK"})
    return msgs


JOSEV = "python-iso15118's charger"


def test_a_charger_that_never_discharged_fails_with_the_direction_named():
    r = verdict.judge(dc_session([1.0] * 20), "dc_bpt", "discharge", charger_name=JOSEV)
    assert r["verdict"] == "fail"
    assert "python-iso15118's charger never discharged: +1.0 A in all 20 loops" in r["reasons"]


def test_an_honest_discharge_passes_on_the_wire_alone():
    r = verdict.judge(dc_session([0.0] + [-25.0] * 19), "dc_bpt", "discharge", charger_name=JOSEV)
    assert r["verdict"] == "pass", r["reasons"]
    assert r["wire_wh"] < 0


def test_wrong_way_in_some_loops_fails():
    r = verdict.judge(dc_session([50.0] * 5 + [-3.0] + [50.0] * 4), "dc", "charge")
    assert r["verdict"] == "fail"
    assert r["reasons"] == ["the charger went the wrong way while charging: -3.0 A in 1 of 10 loops"]


def test_present_voltage_above_the_evs_maximum_fails():
    r = verdict.judge(dc_session([10.0] * 5, voltage=680.0, ev_max_v=400.0), "dc", "charge")
    assert r["verdict"] == "fail"
    assert any("680.0 V above the EV's maximum 400.0 V" in x for x in r["reasons"]), r["reasons"]


def test_current_above_the_smaller_limit_fails_and_a_small_excess_does_not():
    bad = verdict.judge(dc_session([120.0] * 3, ev_max_i=100.0), "dc", "charge")
    assert any("+120.0 A above the EV's maximum charge current 100.0 A" in x for x in bad["reasons"])
    ok = verdict.judge(dc_session([100.2] * 3, ev_max_i=100.0), "dc", "charge")
    assert ok["verdict"] == "pass", ok["reasons"]


def test_no_session_stop_fails():
    r = verdict.judge(dc_session([10.0] * 3, stop=False), "dc", "charge")
    assert r["reasons"][0] == "the session never reached SessionStop (last message: DC_ChargeLoopRes)"


def test_battery_meter_and_reports_are_checked_when_the_run_has_them():
    msgs = dc_session([10.0] * 3)
    w = verdict.judge(msgs, "dc", "charge")["wire_wh"]   # 3 x 0.5 s at 4 kW, the last until SessionStopRes
    assert w == round(4000 * 1.5 / 3600, 4)
    still = verdict.judge(msgs, "dc", "charge", battery={"soc_start": 50.0, "soc_end": 50.0, "net_wh": w},
                          meter_wh=w)
    assert still["reasons"] == ["SoC went from 50.000 to 50.000 % while charging"]
    apart = verdict.judge(msgs, "dc", "charge", battery={"soc_start": 50.0, "soc_end": 50.1, "net_wh": w},
                          meter_wh=w * 1.01)
    assert apart["reasons"] == ["meter %.3f Wh and battery %.3f Wh differ by more than 0.5 %%" % (w * 1.01, w)]
    close = verdict.judge(msgs, "dc", "charge", battery={"soc_start": 50.0, "soc_end": 50.1, "net_wh": w},
                          meter_wh=w * 1.004)
    assert close["verdict"] == "pass", close["reasons"]
    # a charger that reports current its meter never counted
    lies = verdict.judge(msgs, "dc", "charge", battery={"soc_start": 50.0, "soc_end": 50.001, "net_wh": 0.1},
                         meter_wh=0.1)
    assert lies["reasons"] == ["the charger's loop reports add up to +1.667 Wh but its meter counted +0.100 Wh"]


def test_ac_power_direction_from_present_or_target_power():
    msgs = [{"t": 1.0 + k, "from": "SECC", "name": "AC_ChargeLoopRes",
             "body": {"ResponseCode": "OK", "BPT_Scheduled_AC_CLResControlMode": {
                 "EVSETargetActivePower": R(10.0)}}} for k in range(4)]
    msgs += [{"t": 9.0, "from": "EV", "name": "SessionStopReq", "body": {}},
             {"t": 9.1, "from": "SECC", "name": "SessionStopRes", "body": {"ResponseCode": "OK"}}]
    r = verdict.judge(msgs, "ac_bpt", "discharge", charger_name=JOSEV)
    assert "python-iso15118's charger never discharged: +10.0 W in all 4 loops" in r["reasons"]
