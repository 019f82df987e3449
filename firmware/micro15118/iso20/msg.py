"""ISO 15118-20 messages: payload types, schemas, encode/decode, helpers.

Messages are the exi codec's plain dicts (firmware/micro15118/exi/README.md); here a
message is a (name, body) pair, body being the root element's content:

    ptype, data = msg.encode("SessionSetupReq", {"Header": msg.header(sid, ts), "EVCCID": "X"})
    name, body = msg.decode(ptype, data)

The V2GTP payload type picks the grammar (docs/standards-notes.md §1): 0x8002 CommonMessages,
0x8003 AC, 0x8004 DC, 0x8001 SupportedAppProtocol.
"""
from .. import exi

from ..compat import const

# V2GTP payload types
SAP = const(0x8001)
COMMON = const(0x8002)
AC = const(0x8003)
DC = const(0x8004)

_SCHEMA = {SAP: "appProtocol", COMMON: "-20:CommonMessages", AC: "-20:AC", DC: "-20:DC"}
_PTYPE = {"appProtocol": SAP, "-20:CommonMessages": COMMON, "-20:AC": AC, "-20:DC": DC}

# Energy-transfer ServiceIDs (docs/standards-notes.md §3)
SERVICE_AC = const(1)
SERVICE_DC = const(2)
SERVICE_AC_BPT = const(5)
SERVICE_DC_BPT = const(6)
DC_SERVICES = (SERVICE_DC, SERVICE_DC_BPT)
BPT_SERVICES = (SERVICE_AC_BPT, SERVICE_DC_BPT)

# ControlMode parameter values
SCHEDULED = const(1)
DYNAMIC = const(2)

# Processing (EVSEProcessing / EVProcessing)
FINISHED = "Finished"
ONGOING = "Ongoing"
ONGOING_CUSTOMER = "Ongoing_WaitingForCustomerInteraction"

# ChargeProgress (PowerDeliveryReq)
START = "Start"
STOP = "Stop"
STANDBY = "Standby"
SCHEDULE_RENEGOTIATION = "ScheduleRenegotiation"

# ChargingSession (SessionStopReq)
TERMINATE = "Terminate"
PAUSE = "Pause"
SERVICE_RENEGOTIATION = "ServiceRenegotiation"

# Response codes used by the stack (responseCodeType has 40; all are strings)
OK = "OK"
OK_NEW_SESSION = "OK_NewSessionEstablished"
OK_OLD_SESSION = "OK_OldSessionJoined"
OK_POWER_TOLERANCE_CONFIRMED = "OK_PowerToleranceConfirmed"
OK_CERTIFICATE_EXPIRES_SOON = "OK_CertificateExpiresSoon"
WARNING_EIM_AUTHORIZATION_FAILURE = "WARNING_EIMAuthorizationFailure"
WARNING_AUTHORIZATION_SELECTION_INVALID = "WARNING_AuthorizationSelectionInvalid"
WARNING_STANDBY_NOT_ALLOWED = "WARNING_StandbyNotAllowed"
WARNING_SCHEDULE_RENEGOTIATION_FAILED = "WARNING_ScheduleRenegotiationFailed"
WARNING_CHALLENGE_INVALID = "WARNING_ChallengeInvalid"
WARNING_CERTIFICATE_EXPIRED = "WARNING_CertificateExpired"
WARNING_CERTIFICATE_NOT_YET_VALID = "WARNING_CertificateNotYetValid"
WARNING_CERTIFICATE_REVOKED = "WARNING_CertificateRevoked"
WARNING_CERTIFICATE_VALIDATION_ERROR = "WARNING_CertificateValidationError"
WARNING_EMSP_UNKNOWN = "WARNING_eMSPUnknown"
WARNING_GENERAL_PNC_AUTHORIZATION_ERROR = "WARNING_GeneralPnCAuthorizationError"
WARNING_NO_CERTIFICATE_AVAILABLE = "WARNING_NoCertificateAvailable"
WARNING_NO_CONTRACT_MATCHING_PCID_FOUND = "WARNING_NoContractMatchingPCIDFound"
FAILED = "FAILED"
FAILED_SEQUENCE_ERROR = "FAILED_SequenceError"
FAILED_UNKNOWN_SESSION = "FAILED_UnknownSession"
FAILED_SERVICE_ID_INVALID = "FAILED_ServiceIDInvalid"
FAILED_SERVICE_SELECTION_INVALID = "FAILED_ServiceSelectionInvalid"
FAILED_NO_ENERGY_TRANSFER_SERVICE_SELECTED = "FAILED_NoEnergyTransferServiceSelected"
FAILED_NO_SERVICE_RENEGOTIATION_SUPPORTED = "FAILED_NoServiceRenegotiationSupported"
FAILED_WRONG_CHARGE_PARAMETER = "FAILED_WrongChargeParameter"
FAILED_SCHEDULE_SELECTION_INVALID = "FAILED_ScheduleSelectionInvalid"
FAILED_CONTACTOR_ERROR = "FAILED_ContactorError"
FAILED_POWER_DELIVERY_NOT_APPLIED = "FAILED_PowerDeliveryNotApplied"
FAILED_PAUSE_NOT_ALLOWED = "FAILED_PauseNotAllowed"
FAILED_SIGNATURE_ERROR = "FAILED_SignatureError"

# SAP response codes
SAP_OK = "OK_SuccessfulNegotiation"
SAP_OK_MINOR = "OK_SuccessfulNegotiationWithMinorDeviation"
SAP_FAILED = "Failed_NoNegotiation"

# SAP namespaces of the -20 energy families (docs/standards-notes.md §2)
NS_DC = "urn:iso:std:iso:15118:-20:DC"
NS_AC = "urn:iso:std:iso:15118:-20:AC"

NEW_SESSION_ID = b"\x00" * 8


def failed(code):
    """True for a response code that ends the session."""
    return code.startswith("FAILED")


def schema_of(name):
    """The exi schema name of a message (root element) name."""
    if name.startswith("supportedAppProtocol"):
        return "appProtocol"
    if name.startswith("AC_"):
        return "-20:AC"
    if name.startswith("DC_"):
        return "-20:DC"
    return "-20:CommonMessages"


def ptype_of(name):
    return _PTYPE[schema_of(name)]


def encode(name, body):
    """(name, body) -> (payload type, EXI bytes); raises ValueError."""
    schema = schema_of(name)
    return _PTYPE[schema], exi.encode(schema, {name: body})


def decode(ptype, payload):
    """(payload type, EXI bytes) -> (name, body); raises ValueError (an
    unknown payload type, or exi.ExiError for anything wrong in the EXI)."""
    schema = _SCHEMA.get(ptype)
    if schema is None:
        raise ValueError("payload type 0x%04x is not a -20 message" % ptype)
    for name, body in exi.decode(schema, bytes(payload)).items():
        return name, body
    raise ValueError("empty message")


def header(session_id, timestamp):
    return {"SessionID": session_id, "TimeStamp": int(timestamp)}


def _round_div10(v):
    # integer division by 10, rounding half away from zero
    q, r = divmod(-v if v < 0 else v, 10)
    if r >= 5:
        q += 1
    return -q if v < 0 else q


def rational(x):
    """A number -> RationalNumber {'Exponent': e, 'Value': v} with v an
    int16 and the smallest |e| that represents x exactly (or, for fractions,
    to three decimals; large values lose low digits)."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    if isinstance(x, float) and x != int(x):
        best = None
        for e in (0, -1, -2, -3):
            v = int(round(x * 10 ** -e))
            if v > 32767 or v < -32768:
                break
            best = (e, v)
            if abs(v / 10 ** -e - x) <= 1e-9 * (abs(x) + 1):
                break
        if best is not None:
            return {"Exponent": best[0], "Value": best[1]}
        x = int(round(x))
    v = int(x)
    e = 0
    while v > 32767 or v < -32768:
        v = _round_div10(v)
        e += 1
    if e > 127:
        raise ValueError("out of range")
    return {"Exponent": e, "Value": v}


def value(r):
    """RationalNumber -> float."""
    e = r["Exponent"]
    if e >= 0:
        return float(r["Value"] * 10 ** e)
    return r["Value"] / 10 ** -e
