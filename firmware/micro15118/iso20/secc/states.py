"""The SECC's -20 state machine on one screen.

A state is what the SECC waits for.  A request handler (one module per
request, HANDLERS in session.py) returns its response and an outcome; the
pair (request, outcome) picks the row below: the state the SECC waits in
next and the requests it accepts there.  An outcome of None keeps both (a
WARNING, an answer that changes nothing, a FAILED: the shell closes then).
Any request not accepted gets FAILED_SequenceError (session.py);
MeteringConfirmationReq is accepted in every state once a service is
selected and changes nothing.  '*' stands for AC_ or DC_ by the selected
service.
"""

from ..state_names import (SESSION_SETUP, AUTH_SETUP, AUTH, DISCOVERY, DETAIL, SELECTION, CPD,
                           SCHEDULE, CABLE_CHECK, PRE_CHARGE, POWER_DELIVERY, LOOP, WELDING,
                           SESSION_STOP)

SAME = None                     # stay in the present state

STOP = "SessionStopReq"
PD = "PowerDeliveryReq"
CPD_REQ = "*ChargeParameterDiscoveryReq"
INSTALL = "CertificateInstallationReq"
LOOP_REQ = "*ChargeLoopReq"

# (request, outcome)                      -> (next state, requests accepted there)
TRANSITIONS = {
    ("supportedAppProtocolReq", "agreed"):     (SESSION_SETUP, ("SessionSetupReq",)),
    ("SessionSetupReq", "new"):                (AUTH_SETUP, ("AuthorizationSetupReq", STOP)),
    # python-iso15118 resumes with AuthorizationSetup, libiso15118 with
    # ChargeParameterDiscovery: accept both
    ("SessionSetupReq", "resumed"):            (AUTH_SETUP, ("AuthorizationSetupReq", STOP, CPD_REQ)),
    ("AuthorizationSetupReq", "offered"):      (AUTH, ("AuthorizationReq", STOP)),
    # PnC with CertificateInstallationService: the EV may get a contract
    # first (python-iso15118 takes CertificateInstallationReq here too)
    ("AuthorizationSetupReq", "offered_install"): (AUTH, ("AuthorizationReq", INSTALL, STOP)),
    # while Ongoing only the same request again ([V2G20-1582] as for Authorization)
    (INSTALL, "ongoing"):                      (AUTH, (INSTALL, STOP)),
    # installed: PnC with it next, or another contract (RemainingContractCertificateChains)
    (INSTALL, "installed"):                    (AUTH, ("AuthorizationReq", INSTALL, STOP)),
    # refused (a WARNING): EIM if offered, or stop; no second try at once
    (INSTALL, "refused"):                      (AUTH, ("AuthorizationReq", STOP)),
    ("AuthorizationReq", "authorized"):        (DISCOVERY, ("ServiceDiscoveryReq", STOP)),
    ("ServiceDiscoveryReq", "listed"):         (DETAIL, ("ServiceDetailReq", STOP)),
    ("ServiceDetailReq", "detailed"):          (SELECTION, ("ServiceDetailReq", "ServiceSelectionReq", STOP)),
    ("ServiceSelectionReq", "selected"):       (CPD, (CPD_REQ, STOP)),
    (CPD_REQ, "limits"):                       (SCHEDULE, ("ScheduleExchangeReq", STOP)),
    ("ScheduleExchangeReq", "ongoing"):        (SCHEDULE, ("ScheduleExchangeReq", STOP)),
    ("ScheduleExchangeReq", "dc_first"):       (CABLE_CHECK, ("DC_CableCheckReq", STOP)),
    ("ScheduleExchangeReq", "scheduled"):      (POWER_DELIVERY, (PD, STOP)),
    ("DC_CableCheckReq", "ongoing"):           (CABLE_CHECK, ("DC_CableCheckReq", STOP)),
    ("DC_CableCheckReq", "insulated"):         (PRE_CHARGE, ("DC_PreChargeReq", STOP)),
    # after EVProcessing=Ongoing only another DC_PreChargeReq (V2G20-2005/2006)
    ("DC_PreChargeReq", "ev_processing"):      (PRE_CHARGE, ("DC_PreChargeReq", STOP)),
    ("DC_PreChargeReq", "ev_finished"):        (PRE_CHARGE, ("DC_PreChargeReq", PD, STOP)),
    ("PowerDeliveryReq", "ev_processing"):     (SAME, (PD, STOP)),
    ("PowerDeliveryReq", "ev_processing_under_power"): (SAME, (PD,)),
    ("PowerDeliveryReq", "started"):           (LOOP, (LOOP_REQ, PD)),
    ("PowerDeliveryReq", "standby"):           (LOOP, (LOOP_REQ, PD)),
    ("PowerDeliveryReq", "renegotiate"):       (SCHEDULE, ("ScheduleExchangeReq",)),
    ("PowerDeliveryReq", "stopped_dc"):        (WELDING, ("DC_WeldingDetectionReq", STOP)),
    ("PowerDeliveryReq", "stopped_ac"):        (SESSION_STOP, (STOP,)),   # V2G20-1623
    ("DC_WeldingDetectionReq", "ev_processing"): (WELDING, ("DC_WeldingDetectionReq",)),
    ("DC_WeldingDetectionReq", "ev_finished"): (SESSION_STOP, (STOP,)),   # V2G20-1630/1631
    ("SessionStopReq", "renegotiate"):         (DISCOVERY, ("ServiceDiscoveryReq", STOP)),
    ("SessionStopReq", "ended"):               (SESSION_STOP, ()),
}

# The request each state waits for first: the response type of a FAILED
# answer to EXI that does not decode.
EXPECTED = {
    SESSION_SETUP: "SessionSetupReq", AUTH_SETUP: "AuthorizationSetupReq",
    AUTH: "AuthorizationReq", DISCOVERY: "ServiceDiscoveryReq",
    DETAIL: "ServiceDetailReq", SELECTION: "ServiceSelectionReq",
    CPD: CPD_REQ, SCHEDULE: "ScheduleExchangeReq",
    CABLE_CHECK: "DC_CableCheckReq", PRE_CHARGE: "DC_PreChargeReq",
    POWER_DELIVERY: PD, LOOP: LOOP_REQ,
    WELDING: "DC_WeldingDetectionReq", SESSION_STOP: STOP,
}


def family(name, dc):
    """'*X' -> 'DC_X' or 'AC_X'; other names unchanged."""
    if name[0] == "*":
        return ("DC_" if dc else "AC_") + name[1:]
    return name


def generic(name):
    """'DC_X' / 'AC_X' -> '*X' where the table has the family form."""
    if name[:3] in ("DC_", "AC_") and ("*" + name[3:]) in (CPD_REQ, LOOP_REQ):
        return "*" + name[3:]
    return name


def after(request, outcome, dc):
    """(next state or SAME, accepted request names) for a handled request."""
    state, accepts = TRANSITIONS[(generic(request), outcome)]
    return state, tuple(family(n, dc) for n in accepts)
