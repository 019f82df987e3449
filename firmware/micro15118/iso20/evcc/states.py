"""The EVCC's -20 state machine on one screen.

A state is the request the EVCC sends and whose response it waits for.  A
state module's response() reads the response and returns an outcome (or
None once it has ended or declined the session: session.py); the pair
(state, outcome) picks the row below: the next state and when its request
goes out.  decline() and fail() in session.py are the two ways out of any
state.
"""

from ..state_names import (SAP, SESSION_SETUP, AUTH_SETUP, AUTH, DISCOVERY, DETAIL, SELECTION, CPD,
                           SCHEDULE, CABLE_CHECK, PRE_CHARGE, POWER_DELIVERY, LOOP, WELDING,
                           SESSION_STOP)

# when the next request goes out
NOW = "now"
ONGOING = "ongoing"     # after ctx.ongoing_delay, within the state's Ongoing limit
PAUSE = "pause"         # after ctx.ongoing_delay
INTERVAL = "interval"   # after ctx.loop_interval
AWAIT = "await"         # nothing to send: the state's resume() after ctx.ongoing_delay,
                        # within AWAIT_LIMIT

# (state, outcome)                  -> (next state, when)
TRANSITIONS = {
    (SAP, "agreed"):                   (SESSION_SETUP, NOW),
    (SESSION_SETUP, "new"):            (AUTH_SETUP, NOW),
    # the stacks disagree on what follows a resume (docs/standards-notes.md §6):
    # configurable as ctx.resume_to
    (SESSION_SETUP, "resumed_at_" + AUTH_SETUP): (AUTH_SETUP, NOW),
    (SESSION_SETUP, "resumed_at_" + CPD): (CPD, NOW),
    (AUTH_SETUP, "eim_offered"):       (AUTH, NOW),
    (AUTH_SETUP, "pnc_offered"):       (AUTH, NOW),
    # no contract yet: CertificateInstallationReq from the Authorization
    # state (authorization.py / certificate_installation.py), then PnC
    (AUTH_SETUP, "install"):           (AUTH, NOW),
    (AUTH, "install_ongoing"):         (AUTH, ONGOING),
    (AUTH, "verifying"):               (AUTH, AWAIT),         # the vehicle's CPS verifier
    (AUTH, "installed"):               (AUTH, NOW),
    (AUTH, "ongoing"):                 (AUTH, ONGOING),       # [V2G20-1582]
    (AUTH, "eim_fallback"):            (AUTH, NOW),           # PnC refused: EIM
    (AUTH, "authorized"):              (DISCOVERY, NOW),
    (DISCOVERY, "offered"):            (DETAIL, NOW),
    (DETAIL, "found"):                 (SELECTION, NOW),
    (SELECTION, "selected"):           (CPD, NOW),
    (CPD, "limits"):                   (SCHEDULE, NOW),
    (SCHEDULE, "ongoing"):             (SCHEDULE, ONGOING),
    (SCHEDULE, "dc_first"):            (CABLE_CHECK, NOW),
    (SCHEDULE, "scheduled"):           (POWER_DELIVERY, NOW),
    (CABLE_CHECK, "ongoing"):          (CABLE_CHECK, ONGOING),
    (CABLE_CHECK, "insulated"):        (PRE_CHARGE, NOW),
    (PRE_CHARGE, "ramping"):           (PRE_CHARGE, PAUSE),   # bounded by pre_charge.py
    (PRE_CHARGE, "at_voltage"):        (POWER_DELIVERY, NOW),  # [V2G20-2005/2006]
    (POWER_DELIVERY, "started"):       (LOOP, NOW),
    (POWER_DELIVERY, "renegotiation_refused"): (LOOP, NOW),
    (POWER_DELIVERY, "renegotiate"):   (SCHEDULE, NOW),
    (POWER_DELIVERY, "stopped_dc"):    (WELDING, NOW),
    (POWER_DELIVERY, "stopped_ac"):    (SESSION_STOP, NOW),
    (LOOP, "again"):                   (LOOP, INTERVAL),
    (LOOP, "renegotiate"):             (POWER_DELIVERY, NOW),
    (LOOP, "stop"):                    (POWER_DELIVERY, NOW),
    (WELDING, "below_threshold"):      (WELDING, NOW),         # [V2G20-1630/1631]
    (WELDING, "ongoing"):              (WELDING, ONGOING),
    (WELDING, "finished"):             (SESSION_STOP, NOW),
    (SESSION_STOP, "renegotiate"):     (DISCOVERY, NOW),
}

# The ctx.timeouts key bounding each state's Ongoing answers.
ONGOING_LIMIT = {AUTH: "ongoing", SCHEDULE: "ongoing", CABLE_CHECK: "cable_check",
                 WELDING: "ongoing"}
# ... and its AWAIT waits
AWAIT_LIMIT = {AUTH: "install_verify"}
