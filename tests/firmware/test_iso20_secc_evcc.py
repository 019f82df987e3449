# Our SECC against our EVCC (firmware/micro15118/iso20/evcc), in process on a virtual clock: every service
# and control mode completes, and the charger's meter matches the battery within 1 %.
from micro15118.iso20.charger import Charger
from micro15118.iso20.evcc.session import Evcc
from micro15118.iso20.secc.session import Secc
from micro15118.sim.battery import Battery
from micro15118.sim.power import PowerModel
from micro15118.iso20.vehicle import Vehicle

T0 = 1700000000


def pair(secc, evcc, t, limit=20000):
    """Exchange until the EV is done or failed; returns (final event, t)."""
    for _ in range(limit):
        while evcc.out or secc.out:
            while evcc.out:
                secc.handle(*evcc.out.pop(0), now=t)
            while secc.out:
                evcc.handle(*secc.out.pop(0), now=t)
        for e in evcc.events:
            if e[0] in ("done", "failed"):
                return e, t
        ds = [d for d in (evcc.next_deadline(), secc.next_deadline()) if d is not None]
        t = max(t + 1, min(ds)) if ds else t + 10
        evcc.poll(t)
        secc.poll(t)
    raise AssertionError("no end")


def session(service, control, direction="charge", loops=12, **evcfg):
    clock = [0]
    power = PowerModel(0)
    secc = Secc({}, Charger(power, authorized=True), 0, lambda n: b"\x5a" * n, lambda: T0 + clock[0] // 1000)
    battery = Battery(now=0)
    cfg = {"service": service, "control": control, "direction": direction, "loops": loops}
    cfg.update(evcfg)
    evcc = Evcc(cfg, Vehicle(battery), 0, clock_s=lambda: T0 + clock[0] // 1000)
    evcc.start(0)
    end, t = pair(secc, evcc, 0)
    return end, t, secc, power, battery


def close(a, b):
    return abs(a - b) <= 0.01 * max(abs(a), abs(b))


def test_every_service_and_control_mode():
    for service in ("dc", "dc_bpt", "ac", "ac_bpt"):
        for control in ("scheduled", "dynamic"):
            end, t, secc, power, battery = session(service, control)
            assert end[0] == "done", (service, control, end)
            assert secc.errors == 0 and secc.state == "SessionStop"
            charged, discharged = power.meter(t)
            assert charged > 0 and discharged == 0
            assert close(charged, battery.charged_wh), (charged, battery.charged_wh)


def test_discharge_with_bpt():
    for service in ("dc_bpt", "ac_bpt"):
        for control in ("scheduled", "dynamic"):
            end, t, secc, power, battery = session(service, control, "discharge")
            assert end[0] == "done", (service, control, end)
            charged, discharged = power.meter(t)
            assert charged == 0 and discharged > 0
            assert close(discharged, battery.discharged_wh), (discharged, battery.discharged_wh)


def test_pause_and_resume():
    end, t, secc, power, battery = session("dc", "dynamic", loops=4, stop="Pause")
    assert end[0] == "done"
    sid = secc.ctx.session_id
    t += 6000
    secc.poll(t)
    secc.connection_made(t)
    evcc = Evcc({"service": "dc", "control": "dynamic", "loops": 4, "session_id": sid},
                Vehicle(battery), t, clock_s=lambda: T0)
    evcc.start(t)
    end, t = pair(secc, evcc, t)
    assert end[0] == "done"
    assert ("session", sid, True) in secc.events
