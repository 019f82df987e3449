"""Our EVCC against our SECC, in process on a virtual clock: every energy
service x control mode (and discharging for BPT) completes; the SoC moves
the right way and the charger's meter (sim/power.py, the source of truth)
agrees with the energy the battery counted within 1 %."""
import pytest

from micro15118.iso20 import msg
from micro15118.iso20.charger import Charger
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.secc.session import Secc
from micro15118.sim.battery import Battery
from micro15118.sim.power import PowerModel
from micro15118.iso20.vehicle import Vehicle

CLOCK = lambda: 1735732800  # noqa: E731


def pair(service, control, direction='charge', loops=40, latency=20, soc=50.0, ev_cfg=None,
         charger_setup=None, vehicle_setup=None, max_ms=600000, tick=None, store=None, v=None,
         start=0, secc_cfg=None):
    power = PowerModel(start)
    charger = Charger(power, authorized=True)
    if charger_setup:
        charger_setup(charger)
    secc = Secc(secc_cfg or {}, charger, start, rng=lambda n: b'\x5a' * n, clock_s=CLOCK, store=store)
    ac = service.startswith('ac')
    if v is None:
        v = Vehicle(Battery(capacity_wh=60000, soc=soc, max_charge_power=11000 if ac else 150000))
    if vehicle_setup:
        vehicle_setup(v)
    cfg = {'service': service, 'control': control, 'direction': direction, 'loops': loops,
           'mac': b'\x02\x00\x00\x00\x00\x07'}
    cfg.update(ev_cfg or {})
    ev = Evcc(cfg, v, start, clock_s=CLOCK)
    now = start
    secc.connection_made(now)
    ev.start(now)
    wire = []                         # (arrival, to, ptype, data)
    trace = []
    while now < max_ms and not (ev.ended and not wire):
        for ptype, data in ev.out:
            wire.append((now + latency, 'secc', ptype, data))
        ev.out.clear()
        for ptype, data in secc.out:
            wire.append((now + latency, 'ev', ptype, data))
        secc.out.clear()
        times = [w[0] for w in wire]
        for t in (ev.next_deadline(), secc.next_deadline()):
            if t is not None:
                times.append(t)
        if not times:
            break
        now = max(now, min(times))
        wire.sort(key=lambda w: w[0])
        while wire and wire[0][0] <= now:
            _, to, ptype, data = wire.pop(0)
            trace.append((now, to, msg.decode(ptype, data)[0]))
            if to == 'secc':
                secc.handle(ptype, data, now)
            else:
                ev.handle(ptype, data, now)
        ev.poll(now)
        charger.update(now)     # the charger app's turn
        secc.poll(now)
        if tick:
            tick(ev, secc, charger, trace)
    return ev, secc, charger, v, now, trace


def meter(charger, now):
    charged, discharged = charger.meter(now)
    return charged - discharged


CASES = [(s, c, d) for s in ('ac', 'dc', 'ac_bpt', 'dc_bpt') for c in ('scheduled', 'dynamic')
         for d in (('charge', 'discharge') if s.endswith('bpt') else ('charge',))]


@pytest.mark.parametrize('service, control, direction', CASES)
def test_pair_session(service, control, direction):
    ev, secc, charger, v, now, trace = pair(service, control, direction)
    assert ev.result[0] == 'done', (ev.result, trace[-6:], secc.events[-6:])
    assert ('close',) in ev.events
    b = v.battery
    m = meter(charger, now)
    if direction == 'discharge':
        assert v.soc() < 50.0 and b.discharged_wh > 0 and b.charged_wh == 0
        assert m < 0
    else:
        assert v.soc() > 50.0 and b.charged_wh > 0 and b.discharged_wh == 0
        assert m > 0
    assert abs(b.net_wh() - m) <= 0.01 * abs(m), (b.net_wh(), m)
    assert any(e[0] == 'service' for e in secc.events)
    loops = [t for t in trace if t[2].endswith('ChargeLoopRes')]
    assert len(loops) == 40
    # the SECC ended its side too and will close
    assert not power_on(charger)


def power_on(charger):
    p = charger.power
    return p.closed or p.current != 0 or p.ac_w != 0


def test_pair_charges_to_target_soc():
    def small(v):
        v.battery.capacity_wh = 200.0
        v.battery.energy_wh = 200.0 * 0.795
    ev, secc, charger, v, now, trace = pair('dc', 'dynamic', loops=0, vehicle_setup=small)
    assert ev.result[0] == 'done' and 'target SoC' in ev.result[1], ev.result
    assert v.soc() >= 80


def _after_loops(n, action):
    def tick(ev, secc, charger, trace):
        if sum(1 for t in trace if t[2].endswith('ChargeLoopRes')) == n:
            action(charger)
    return tick


def test_pair_charger_stop_and_pause():
    ev, secc, charger, v, now, trace = pair('ac', 'dynamic', loops=0, tick=_after_loops(3, Charger.stop))
    assert ev.result == ('done', 'Terminate: EVSE notified Terminate'), ev.result
    assert sum(1 for t in trace if t[2] == 'AC_ChargeLoopRes') == 4
    ev, secc, charger, v, now, trace = pair('dc', 'scheduled', loops=0, tick=_after_loops(2, Charger.pause))
    assert ev.result[0] == 'done' and ev.paused, ev.result
    assert abs(v.battery.net_wh() - meter(charger, now)) <= 0.01 * meter(charger, now)


def test_pair_pause_and_resume():
    # the EV pauses; a new connection resumes the session with its SessionID
    from micro15118.iso20.secc.context import PauseStore
    store = PauseStore()
    ev, secc, charger, v, now, trace = pair('dc', 'dynamic', loops=3, ev_cfg={'stop': 'Pause'}, store=store)
    assert ev.result[0] == 'done' and ev.paused, ev.result
    sid = ev.session_id
    soc = v.soc()
    ev2, secc2, charger2, v, now2, trace2 = pair('dc', 'dynamic', loops=3, store=store, v=v,
                                                 ev_cfg={'session_id': sid}, start=now + 1000)
    assert ev2.result[0] == 'done' and not ev2.paused, (ev2.result, trace2[-4:])
    assert ev2.ctx.resumed and ev2.session_id == sid
    assert ('session', sid) in ev2.events
    assert v.soc() > soc
    # libiso15118's way: straight to ChargeParameterDiscovery after the resume
    ev3 = pair('dc', 'dynamic', loops=3, ev_cfg={'stop': 'Pause'}, store=store, v=v, start=now2 + 1000)[0]
    ev4, secc4, charger4, v, now4, trace4 = pair(
        'dc', 'dynamic', loops=3, store=store, v=v, start=now2 + 100000,
        ev_cfg={'session_id': ev3.session_id, 'resume_to': 'ChargeParameterDiscovery'})
    assert ev4.result[0] == 'done' and ev4.ctx.resumed, (ev4.result, trace4[-4:])
    sent = [t[2] for t in trace4 if t[1] == 'secc']
    assert sent[:3] == ['supportedAppProtocolReq', 'SessionSetupReq', 'DC_ChargeParameterDiscoveryReq']


def test_pair_service_renegotiation():
    def tick(ev, secc, charger, trace):
        if sum(1 for t in trace if t[2] == 'DC_ChargeLoopRes') == 2:
            ev.vehicle.request_renegotiation()
    ev, secc, charger, v, now, trace = pair('dc_bpt', 'scheduled', loops=5, tick=tick)
    assert ev.result[0] == 'done', (ev.result, trace[-4:])
    names = [t[2] for t in trace if t[1] == 'secc']
    assert names.count('ServiceDiscoveryReq') == 2
    assert names.count('SessionStopReq') == 2


def test_pair_negative_discharge_sign():
    # both sides configured for negative discharge limits on the wire
    for service in ('dc_bpt', 'ac_bpt'):
        ev, secc, charger, v, now, trace = pair(service, 'dynamic', 'discharge', loops=10,
                                                ev_cfg={'discharge_sign': -1},
                                                secc_cfg={'discharge_sign': -1})
        assert ev.result[0] == 'done', ev.result
        assert v.soc() < 50
    # a mismatch is refused by the SECC, and the EV stops cleanly
    ev, secc, charger, v, now, trace = pair('dc_bpt', 'dynamic', 'discharge', loops=10,
                                            ev_cfg={'discharge_sign': -1})
    assert ev.result == ('failed', 'FAILED_WrongChargeParameter'), ev.result


def test_pair_ev_stops_a_charger_beyond_its_limits():
    # The EV's limit drops while a DC_ChargeLoopReq is on the wire: the
    # charger's answer delivers more current than the EV now takes.  The EV
    # opens its contactor at once, books nothing more, and ends the session
    # on the wire (PowerDelivery Stop, SessionStop Terminate); our SECC
    # switches its output off.
    def tick(ev, secc, charger, trace):
        if sum(1 for t in trace if t[2] == 'DC_ChargeLoopReq') == 3 and ev.vehicle.max_charge_current > 10:
            ev.vehicle.set_limits(max_charge_current=10)
    ev, secc, charger, v, now, trace = pair('dc', 'scheduled', loops=0, tick=tick)
    assert ev.result[0] == 'failed', ev.result
    assert "above the EV's maximum charge current 10 A" in ev.result[1], ev.result
    assert ('stopping', ev.result[1]) in ev.events
    sent = [t[2] for t in trace if t[1] == 'secc']
    assert sent[-3:] == ['DC_ChargeLoopReq', 'PowerDeliveryReq', 'SessionStopReq'], sent[-5:]
    assert [t[2] for t in trace if t[1] == 'ev'][-1] == 'SessionStopRes'
    assert not v.closed and v.power == 0
    assert not power_on(charger)
    assert sum(1 for t in trace if t[2] == 'DC_ChargeLoopRes') == 3
    m = meter(charger, now)
    # the charger's output ran a few message latencies (20 ms) longer than the EV booked:
    # from its PowerDeliveryRes(Start) and until PowerDeliveryReq(Stop) reached it
    p = max(e[1] for e in ev.events if e[0] == 'power')
    assert 0 < v.battery.net_wh() <= m <= v.battery.net_wh() + p * 0.080 / 3600, (v.battery.net_wh(), m, p)
