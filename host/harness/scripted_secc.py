"""A scripted SECC for the -20 EVCC (firmware/micro15118/iso20/evcc): it answers
every request the way a well-behaved charger would, from msg.encode
responses and a simple power stage, and `run()` drives an Evcc against it on
a virtual clock.

    ev, v, secc, now = session("dc", "dynamic")
    assert ev.result[0] == "done" and names(secc)[-1] == "SessionStopReq"

Used by the tests in tests/firmware (also under MicroPython, so plain code
only) and by the EVCC fuzzer (host/harness/fuzz/evcc.py).
"""
from micro15118.iso20 import msg
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.vehicle import Vehicle
from micro15118.sim.battery import Battery

CLOCK = lambda: 1735732800  # noqa: E731  (the app's wall clock, s)

R = msg.rational
SID = b'\x11\x22\x33\x44\x55\x66\x77\x88'


class ScriptedSecc:
    """Answers every request the way a well-behaved -20 SECC would, with a
    simple power stage; `ongoing` makes some states answer Ongoing n times;
    `hook(name, body)` may rewrite a response (or return None to drop it)."""

    def __init__(self, services=(1, 2, 5, 6), controls=(1, 2), ongoing=None, hook=None,
                 renegotiation=True, notify=None, sid=SID):
        self.services = services
        self.controls = controls
        self.ongoing = dict(ongoing or {})
        self.hook = hook
        self.renegotiation = renegotiation
        self.notify = notify       # (loop number, EVSENotification)
        self.sid = sid
        self.paused = None
        self.voltage = 0.0         # DC output
        self.reqs = []             # (name, body) of every request
        self.loops = 0
        self.channel = 'Charge'
        self.energy_wh = 0.0       # the meter: power x time between loop requests
        self.p = 0.0
        self.t = None
        self.schedule = (50000.0, -7000.0)   # ChargingSchedule, DischargingSchedule (W)

    def _meter(self, now):
        if self.t is not None:
            self.energy_wh += self.p * (now - self.t) / 3600000.0
        self.t = now

    def _processing(self, state):
        n = self.ongoing.get(state, 0)
        if n:
            self.ongoing[state] = n - 1
            return 'Ongoing'
        return 'Finished'

    def handle(self, ptype, data, now=0):
        name, body = msg.decode(ptype, data)
        self.reqs.append((name, body))
        fn = getattr(self, 'r_' + name[:-3])
        rname, rbody = fn(body, now)
        if rname != 'supportedAppProtocolRes':
            hdr = {'SessionID': self.sid, 'TimeStamp': 1735732800}
            rbody2 = {'Header': hdr}
            if 'ResponseCode' not in rbody:
                rbody2['ResponseCode'] = 'OK'
            rbody2.update(rbody)
            rbody = rbody2
        if self.hook is not None:
            rbody = self.hook(rname, rbody)
            if rbody is None:
                return []
        return [msg.encode(rname, rbody)]

    # -- one method per request ------------------------------------------
    def r_supportedAppProtocol(self, b, now):
        return 'supportedAppProtocolRes', {'ResponseCode': msg.SAP_OK,
                                           'SchemaID': b['AppProtocol'][0]['SchemaID']}

    def r_SessionSetup(self, b, now):
        if self.paused is not None and b['Header']['SessionID'] == self.paused:
            return 'SessionSetupRes', {'ResponseCode': msg.OK_OLD_SESSION, 'EVSEID': 'DE*PNX*E1'}
        return 'SessionSetupRes', {'ResponseCode': msg.OK_NEW_SESSION, 'EVSEID': 'DE*PNX*E1'}

    def r_AuthorizationSetup(self, b, now):
        return 'AuthorizationSetupRes', {'AuthorizationServices': ['EIM'],
                                         'CertificateInstallationService': False,
                                         'EIM_ASResAuthorizationMode': {}}

    def r_Authorization(self, b, now):
        return 'AuthorizationRes', {'EVSEProcessing': self._processing('Authorization')}

    def r_ServiceDiscovery(self, b, now):
        return 'ServiceDiscoveryRes', {
            'ServiceRenegotiationSupported': self.renegotiation,
            'EnergyTransferServiceList': {'Service': [{'ServiceID': s, 'FreeService': True}
                                                      for s in self.services]}}

    def r_ServiceDetail(self, b, now):
        sets = []
        for i, c in enumerate(self.controls):
            sets.append({'ParameterSetID': i + 1, 'Parameter': [
                {'@Name': 'Connector', 'intValue': 1}, {'@Name': 'ControlMode', 'intValue': c},
                {'@Name': 'MobilityNeedsMode', 'intValue': 1}, {'@Name': 'Pricing', 'intValue': 0}]})
        return 'ServiceDetailRes', {'ServiceID': b['ServiceID'],
                                    'ServiceParameterList': {'ParameterSet': sets}}

    def r_ServiceSelection(self, b, now):
        self.service = b['SelectedEnergyTransferService']['ServiceID']
        return 'ServiceSelectionRes', {}

    def r_DC_ChargeParameterDiscovery(self, b, now):
        m = {'EVSEMaximumChargePower': R(100000), 'EVSEMinimumChargePower': R(0),
             'EVSEMaximumChargeCurrent': R(250), 'EVSEMinimumChargeCurrent': R(0),
             'EVSEMaximumVoltage': R(920), 'EVSEMinimumVoltage': R(150)}
        if 'BPT_DC_CPDReqEnergyTransferMode' in b:
            m.update({'EVSEMaximumDischargePower': R(20000), 'EVSEMinimumDischargePower': R(0),
                      'EVSEMaximumDischargeCurrent': R(50), 'EVSEMinimumDischargeCurrent': R(0)})
            return 'DC_ChargeParameterDiscoveryRes', {'BPT_DC_CPDResEnergyTransferMode': m}
        return 'DC_ChargeParameterDiscoveryRes', {'DC_CPDResEnergyTransferMode': m}

    def r_AC_ChargeParameterDiscovery(self, b, now):
        m = {'EVSEMaximumChargePower': R(22000), 'EVSEMinimumChargePower': R(1400),
             'EVSENominalFrequency': R(50)}
        if 'BPT_AC_CPDReqEnergyTransferMode' in b:
            m.update({'EVSEMaximumDischargePower': R(11000), 'EVSEMinimumDischargePower': R(1400)})
            return 'AC_ChargeParameterDiscoveryRes', {'BPT_AC_CPDResEnergyTransferMode': m}
        return 'AC_ChargeParameterDiscoveryRes', {'AC_CPDResEnergyTransferMode': m}

    def r_ScheduleExchange(self, b, now):
        proc = self._processing('ScheduleExchange')
        if 'Dynamic_SEReqControlMode' in b:
            return 'ScheduleExchangeRes', {'EVSEProcessing': proc, 'Dynamic_SEResControlMode': {}}

        def sched(p):
            return {'PowerSchedule': {'TimeAnchor': 1735732800, 'PowerScheduleEntries': {
                'PowerScheduleEntry': [{'Duration': 86400, 'Power': R(p)}]}}}
        t = {'ScheduleTupleID': 7, 'ChargingSchedule': sched(self.schedule[0])}
        if self.services != (1, 2) and self.service in (5, 6):
            t['DischargingSchedule'] = sched(self.schedule[1])
        return 'ScheduleExchangeRes', {'EVSEProcessing': proc,
                                       'Scheduled_SEResControlMode': {'ScheduleTuple': [t]}}

    def r_DC_CableCheck(self, b, now):
        return 'DC_CableCheckRes', {'EVSEProcessing': self._processing('CableCheck')}

    def r_DC_PreCharge(self, b, now):
        target = msg.value(b['EVTargetVoltage'])
        step = 150.0      # the output ramps towards the target
        if abs(target - self.voltage) <= step:
            self.voltage = target
        else:
            self.voltage += step if target > self.voltage else -step
        return 'DC_PreChargeRes', {'EVSEPresentVoltage': R(self.voltage)}

    def r_PowerDelivery(self, b, now):
        if b['ChargeProgress'] == 'Start':
            self.channel = b.get('BPT_ChannelSelection', 'Charge')
        else:
            self._meter(now)
            self.p = 0.0
        return 'PowerDeliveryRes', {}

    def _status(self):
        self.loops += 1
        if self.notify is not None and self.notify[0] == self.loops:
            return {'EVSEStatus': {'NotificationMaxDelay': 0, 'EVSENotification': self.notify[1]}}
        return {}

    def r_DC_ChargeLoop(self, b, now):
        self._meter(now)
        u = msg.value(b['EVPresentVoltage'])
        for k in b:
            if k.endswith('CLReqControlMode'):
                mode = k
                m = b[k]
        if 'EVTargetCurrent' in m:
            i = msg.value(m['EVTargetCurrent'])
        elif self.channel == 'Discharge':
            i = -min(50.0, abs(msg.value(m['EVMaximumDischargeCurrent'])),
                     abs(msg.value(m['EVMaximumDischargePower'])) / u)
        else:
            i = min(250.0, msg.value(m['EVMaximumChargeCurrent']),
                    msg.value(m['EVMaximumChargePower']) / u)
        self.p = u * i
        self.voltage = u
        res = self._status()
        res.update({'EVSEPresentCurrent': R(i), 'EVSEPresentVoltage': R(u),
                    'EVSEPowerLimitAchieved': False, 'EVSECurrentLimitAchieved': False,
                    'EVSEVoltageLimitAchieved': False})
        rm = {}
        if mode.startswith('Dynamic') or mode.startswith('BPT_Dynamic'):
            rm = {'EVSEMaximumChargePower': R(100000), 'EVSEMinimumChargePower': R(0),
                  'EVSEMaximumChargeCurrent': R(250), 'EVSEMaximumVoltage': R(920)}
            if mode.startswith('BPT'):
                rm.update({'EVSEMaximumDischargePower': R(20000), 'EVSEMinimumDischargePower': R(0),
                           'EVSEMaximumDischargeCurrent': R(50), 'EVSEMinimumVoltage': R(150)})
        res[mode.replace('Req', 'Res')] = rm
        return 'DC_ChargeLoopRes', res

    def r_AC_ChargeLoop(self, b, now):
        self._meter(now)
        for k in b:
            if k.endswith('CLReqControlMode'):
                mode = k
                m = b[k]
        scheduled = 'Scheduled' in mode
        if self.channel == 'Discharge':
            p = -min(11000.0, abs(msg.value(m['EVMaximumDischargePower'])),
                     -self.schedule[1] if scheduled else 1e9)
        else:
            p = min(22000.0, msg.value(m['EVMaximumChargePower']), self.schedule[0] if scheduled else 1e9)
        self.p = p
        res = self._status()
        res[mode.replace('Req', 'Res')] = {'EVSETargetActivePower': R(p)}
        return 'AC_ChargeLoopRes', res

    def r_DC_WeldingDetection(self, b, now):
        self.voltage = max(0.0, self.voltage - 200.0)
        return 'DC_WeldingDetectionRes', {'EVSEPresentVoltage': R(self.voltage)}

    def r_SessionStop(self, b, now):
        if b['ChargingSession'] == 'Pause':
            self.paused = b['Header']['SessionID']
        return 'SessionStopRes', {}


def vehicle(soc=50.0, **kw):
    b = Battery(capacity_wh=kw.pop('capacity_wh', 60000), soc=soc,
                target_soc=kw.pop('target_soc', 80), min_soc=kw.pop('min_soc', 20))
    return Vehicle(b, **kw)


def run(ev, secc, now=0, latency=5, limit_ms=600000):
    """Drive ev against secc on a virtual clock until the EV ends; returns now."""
    if ev.state is None:
        ev.start(now)
    pending = []
    end = now + limit_ms
    while not ev.ended and now < end:
        while ev.out:
            ptype, data = ev.out.pop(0)
            for r in secc.handle(ptype, data, now):
                pending.append((now + latency, r))
        times = [t for t, _ in pending]
        nd = ev.next_deadline()
        if nd is not None:
            times.append(nd)
        if not times:
            break
        now = max(now, min(times))
        if pending and pending[0][0] <= now:
            _, (ptype, data) = pending.pop(0)
            ev.handle(ptype, data, now)
        ev.poll(now)
    return now


def session(service, control, direction='charge', secc=None, v=None, **cfg):
    cfg.update({'service': service, 'control': control, 'direction': direction,
                'mac': b'\x02\x11\x22\x33\x44\x55'})
    cfg.setdefault('loops', 8)
    if v is None:
        v = vehicle(max_charge_power=11000) if service.startswith('ac') else vehicle()
    secc = secc or ScriptedSecc()
    ev = Evcc(cfg, v, 0, CLOCK)
    now = run(ev, secc)
    return ev, v, secc, now



def names(secc):
    return [n for n, _ in secc.reqs]
