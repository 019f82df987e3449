"""A scripted EV for the -20 SECC (firmware/micro15118/iso20/secc): it builds
requests with iso20.msg, feeds them to one Secc on a virtual clock and checks
the answers, so tests walk complete AC/DC/BPT sessions stage by stage.

    ev = ScriptedEv()
    to_selection(ev, msg.SERVICE_DC, msg.DYNAMIC)
    dc_prepare(ev, msg.SERVICE_DC, msg.DYNAMIC)
    loop(ev, msg.SERVICE_DC, msg.DYNAMIC, n=2)
    stop(ev, msg.SERVICE_DC)

Used by the tests in tests/firmware (also under MicroPython, so plain code
only) and by the SECC fuzzer (host/harness/fuzz/secc.py).
"""
from micro15118.iso20 import msg, sap
from micro15118.iso20.charger import Charger
from micro15118.iso20.secc.session import Secc
from micro15118.sim.power import PowerModel

R = msg.rational
V = msg.value
T0 = 1700000000


class BatteryPower(PowerModel):
    """The power model with the EV's battery across the output: once current
    flows, the battery holds the output at its voltage (the charger's voltage
    setpoint is the ceiling of its current regulation, not what the output
    shows)."""
    battery_v = 400.0

    def update(self, now):
        PowerModel.update(self, now)
        if self.closed and self.current and self.voltage > self.battery_v:
            self.voltage = self.battery_v


class ScriptedEv:
    """A scripted EV around one Secc, on a virtual clock (self.t, ms)."""

    def __init__(self, config=None, charger=None, store=None, authorized=True, power=None, **kw):
        self.t = 0
        self.power = power or BatteryPower(0)
        self.charger = charger or Charger(self.power, authorized=authorized, **kw)
        self.n = 0
        self.secc = Secc(config, self.charger, 0, rng=self._rng, clock_s=self._clock, store=store)
        self.sid = msg.NEW_SESSION_ID
        self.ts = 0

    def _rng(self, n):
        self.n += 1
        return bytes([self.n]) * n

    def _clock(self):
        return T0 + self.t // 1000

    def raw(self, ptype, data):
        """Feed bytes; the decoded responses (usually one)."""
        self.charger.update(self.t)        # the app's turn: the model integrates
        self.secc.handle(ptype, data, self.t)
        out = []
        while self.secc.out:
            p, d = self.secc.out.pop(0)
            out.append(msg.decode(p, d))
        return out

    def req(self, name, body=None, sid=None):
        """Send one request; returns (response name, body)."""
        body = dict(body or {})
        if name != "supportedAppProtocolReq":
            self.ts += 1
            body["Header"] = msg.header(self.sid if sid is None else sid, T0 + self.ts)
        res = self.raw(*msg.encode(name, body))
        assert len(res) == 1, res
        n, b = res[0]
        if n == "SessionSetupRes" and b["ResponseCode"].startswith("OK"):
            self.sid = b["Header"]["SessionID"]
        return n, b

    def ok(self, name, body=None):
        n, b = self.req(name, body)
        assert n == name[:-3] + "Res", (name, n)
        assert b["ResponseCode"].startswith("OK"), (name, b)
        return b

    def wait(self, ms):
        self.t += ms
        self.charger.update(self.t)
        self.secc.poll(self.t)

    def events(self, kind):
        return [e for e in self.secc.events if e[0] == kind]

    def closed_after(self, ms):
        """True if the SECC asks to close exactly `ms` from now (not before)."""
        self.wait(ms - 1)
        if self.events("close"):
            return False
        self.wait(1)
        return len(self.events("close")) == 1


# --- EV request bodies ----------------------------------------------------------------------

EV_DC = {"EVMaximumChargePower": R(150000), "EVMinimumChargePower": R(0),
         "EVMaximumChargeCurrent": R(400), "EVMinimumChargeCurrent": R(0),
         "EVMaximumVoltage": R(450), "EVMinimumVoltage": R(200)}
EV_DC_BPT = {"EVMaximumDischargePower": R(11000), "EVMinimumDischargePower": R(0),
             "EVMaximumDischargeCurrent": R(30), "EVMinimumDischargeCurrent": R(0)}
EV_AC = {"EVMaximumChargePower": R(11000), "EVMinimumChargePower": R(1400)}
EV_AC_BPT = {"EVMaximumDischargePower": R(7000), "EVMinimumDischargePower": R(1000)}


def cpd(service):
    if service == msg.SERVICE_DC:
        return "DC_ChargeParameterDiscoveryReq", {"DC_CPDReqEnergyTransferMode": dict(EV_DC)}
    if service == msg.SERVICE_DC_BPT:
        m = dict(EV_DC)
        m.update(EV_DC_BPT)
        return "DC_ChargeParameterDiscoveryReq", {"BPT_DC_CPDReqEnergyTransferMode": m}
    if service == msg.SERVICE_AC:
        return "AC_ChargeParameterDiscoveryReq", {"AC_CPDReqEnergyTransferMode": dict(EV_AC)}
    m = dict(EV_AC)
    m.update(EV_AC_BPT)
    return "AC_ChargeParameterDiscoveryReq", {"BPT_AC_CPDReqEnergyTransferMode": m}


def schedule_req(mode):
    if mode == msg.SCHEDULED:
        return {"MaximumSupportingPoints": 12,
                "Scheduled_SEReqControlMode": {"DepartureTime": 7200, "EVTargetEnergyRequest": R(40000)}}
    return {"MaximumSupportingPoints": 12,
            "Dynamic_SEReqControlMode": {"DepartureTime": 7200, "MinimumSOC": 20, "TargetSOC": 80,
                                         "EVTargetEnergyRequest": R(40000),
                                         "EVMaximumEnergyRequest": R(50000),
                                         "EVMinimumEnergyRequest": R(-5000)}}


def loop_req(service, mode, current=100, voltage=400, meter=False, soc=50):
    dc = service in msg.DC_SERVICES
    bpt = service in msg.BPT_SERVICES
    pre = "BPT_" if bpt else ""
    body = {"DisplayParameters": {"PresentSOC": soc}, "MeterInfoRequested": meter}
    if dc:
        body["EVPresentVoltage"] = R(voltage)
        if mode == msg.SCHEDULED:
            e = {"EVTargetCurrent": R(current), "EVTargetVoltage": R(450)}
            if bpt:
                e["EVMaximumDischargePower"] = R(11000)
                e["EVMaximumDischargeCurrent"] = R(30)
            body[pre + "Scheduled_DC_CLReqControlMode"] = e
        else:
            e = {"EVTargetEnergyRequest": R(40000), "EVMaximumEnergyRequest": R(50000),
                 "EVMinimumEnergyRequest": R(-5000), "EVMaximumChargePower": R(50000),
                 "EVMinimumChargePower": R(0), "EVMaximumChargeCurrent": R(200),
                 "EVMaximumVoltage": R(450), "EVMinimumVoltage": R(200)}
            if bpt:
                e.update({"EVMaximumDischargePower": R(11000), "EVMinimumDischargePower": R(0),
                          "EVMaximumDischargeCurrent": R(30)})
            body[pre + "Dynamic_DC_CLReqControlMode"] = e
        return "DC_ChargeLoopReq", body
    if mode == msg.SCHEDULED:
        e = {"EVPresentActivePower": R(0)}
        body[pre + "Scheduled_AC_CLReqControlMode"] = e
    else:
        e = {"EVTargetEnergyRequest": R(40000), "EVMaximumEnergyRequest": R(50000),
             "EVMinimumEnergyRequest": R(-5000), "EVMaximumChargePower": R(11000),
             "EVMinimumChargePower": R(0), "EVPresentActivePower": R(0), "EVPresentReactivePower": R(0)}
        if bpt:
            e.update({"EVMaximumDischargePower": R(7000), "EVMinimumDischargePower": R(0)})
        body[pre + "Dynamic_AC_CLReqControlMode"] = e
    return "AC_ChargeLoopReq", body


# --- session stages -------------------------------------------------------------------------

def sap_and_setup(ev, protocols=(sap.PROTOCOL_20_DC,)):
    """SAP (the -20 DC family unless told) and a SessionSetup."""
    n, b = ev.req("supportedAppProtocolReq", sap.evcc_request(protocols))
    assert b["ResponseCode"] == msg.SAP_OK, b
    return ev.ok("SessionSetupReq", {"EVCCID": "WMIV1234567890ABC"})


def authorize(ev):
    ev.ok("AuthorizationSetupReq")
    return ev.ok("AuthorizationReq", {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}})


def select(ev, service, mode):
    ev.ok("ServiceDiscoveryReq")
    b = ev.ok("ServiceDetailReq", {"ServiceID": service})
    ids = [ps["ParameterSetID"] for ps in b["ServiceParameterList"]["ParameterSet"]
           if {"@Name": "ControlMode", "intValue": mode} in ps["Parameter"]]
    assert len(ids) == 1, b
    ev.ok("ServiceSelectionReq", {"SelectedEnergyTransferService": {"ServiceID": service, "ParameterSetID": ids[0]}})


def family(service):
    return (sap.PROTOCOL_20_DC,) if service in msg.DC_SERVICES else (sap.PROTOCOL_20_AC,)


def to_selection(ev, service, mode):
    sap_and_setup(ev, family(service))
    authorize(ev)
    select(ev, service, mode)


def schedule(ev, mode):
    while True:
        b = ev.ok("ScheduleExchangeReq", schedule_req(mode))
        if b["EVSEProcessing"] == msg.FINISHED:
            return b
        ev.wait(1000)


def dc_prepare(ev, service, mode, channel=None):
    """ChargeParameterDiscovery .. PowerDelivery(Start) for a DC service."""
    ev.ok(*cpd(service))
    schedule(ev, mode)
    n = 0
    while ev.ok("DC_CableCheckReq")["EVSEProcessing"] != msg.FINISHED:
        ev.wait(250)
        n += 1
    assert n > 0        # the insulation test takes time
    while True:
        b = ev.ok("DC_PreChargeReq", {"EVProcessing": msg.ONGOING, "EVPresentVoltage": R(400),
                                      "EVTargetVoltage": R(400)})
        if abs(V(b["EVSEPresentVoltage"]) - 400) < 20:
            break
        ev.wait(250)
    ev.ok("DC_PreChargeReq", {"EVProcessing": msg.FINISHED, "EVPresentVoltage": R(400), "EVTargetVoltage": R(400)})
    return power_start(ev, mode, channel)


def power_start(ev, mode, channel=None):
    body = {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.START}
    if mode == msg.SCHEDULED:
        body["EVPowerProfile"] = {"TimeAnchor": T0, "Scheduled_EVPPTControlMode": {"SelectedScheduleTupleID": 1},
                                  "EVPowerProfileEntries": {"EVPowerProfileEntry": [
                                      {"Duration": 3600, "Power": R(50000)}]}}
    else:
        body["EVPowerProfile"] = {"TimeAnchor": T0, "Dynamic_EVPPTControlMode": {},
                                  "EVPowerProfileEntries": {"EVPowerProfileEntry": [
                                      {"Duration": 3600, "Power": R(50000)}]}}
    if channel:
        body["BPT_ChannelSelection"] = channel
    return ev.ok("PowerDeliveryReq", body)


def ac_prepare(ev, service, mode, channel=None):
    ev.ok(*cpd(service))
    schedule(ev, mode)
    return power_start(ev, mode, channel)


def prepare(ev, service, mode, channel=None):
    """ChargeParameterDiscovery .. PowerDelivery(Start), DC or AC by the service."""
    if service in msg.DC_SERVICES:
        return dc_prepare(ev, service, mode, channel)
    return ac_prepare(ev, service, mode, channel)


def loop(ev, service, mode, n=8, step=250, **kw):
    out = []
    for _ in range(n):
        ev.wait(step)
        out.append(ev.ok(*loop_req(service, mode, **kw)))
    return out


def stop(ev, service, how=msg.TERMINATE):
    ev.ok("PowerDeliveryReq", {"EVProcessing": msg.FINISHED, "ChargeProgress": msg.STOP})
    assert not ev.power.closed
    if service in msg.DC_SERVICES:
        ev.ok("DC_WeldingDetectionReq", {"EVProcessing": msg.ONGOING})
        ev.wait(500)
        ev.ok("DC_WeldingDetectionReq", {"EVProcessing": msg.FINISHED})
    return ev.ok("SessionStopReq", {"ChargingSession": how})


def full_session(service, mode, channel=None, config=None, **kw):
    ev = ScriptedEv(config)
    to_selection(ev, service, mode)
    prepare(ev, service, mode, channel)
    assert ev.power.closed
    res = loop(ev, service, mode, meter=True, **kw)
    stop(ev, service)
    assert ev.closed_after(5000)
    assert ev.secc.errors == 0
    return ev, res


def paused_session(service, mode, **kw):
    """A ScriptedEv that charged for two loops, then paused (SessionStop(Pause))."""
    ev = ScriptedEv(**kw)
    to_selection(ev, service, mode)
    prepare(ev, service, mode)
    loop(ev, service, mode, n=2)
    stop(ev, service, how=msg.PAUSE)
    return ev
