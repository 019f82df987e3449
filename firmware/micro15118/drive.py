"""The one loop every app runs, and what the apps share.

An app (charger_app.ChargerApp, vehicle_app.VehicleApp) takes the link's
events ('connected', 'v2gtp', 'ev_cp', and the ends: 'disconnected',
'unplugged', 'link_lost'), feeds its session, sends the session's messages,
and hands every event to `report(who, event, now)` (the firmware's mains
print them, the host's in-process simulation records them).  `run()` is the
loop of every app: secc_main, evcc_main and link_main (whose echo apps only
need link_event/turn/next_deadline/result); the simulation
(host/bench/sessionsim.py) steps the same session apps on its own virtual
clock.
"""

LINK_ENDS = ("disconnected", "unplugged", "link_lost")


def quiet(who, event, now):
    pass


def pump(session, link, now, on_event):
    """A session's messages onto the link, then its events to on_event."""
    if session.out:
        out = session.out
        session.out = []
        for ptype, payload in out:
            link.send(ptype, payload, now)
    if session.events:
        evs = session.events
        session.events = []
        for ev in evs:
            on_event(ev, now)


def run(runner, app, sleep_ms, timeout_ms, heap=None):
    """Step the link and the app until the app has a result or timeout_ms
    (0: none) has passed; nap 1 ms whenever nothing is due.  Returns the
    runner's time at the end; app.result stays None on a timeout."""
    while True:
        events = runner.step()
        now = runner.now_ms
        if heap is not None:
            heap.sample(now)
        for ev in events:
            app.link_event(ev, now)
        app.turn(now)
        if app.result is not None or (timeout_ms and now > timeout_ms):
            return now
        wait = runner.idle_ms()
        d = app.next_deadline()
        if d is not None and d - now < wait:
            wait = max(0, d - now)
        if wait:
            sleep_ms(1)
