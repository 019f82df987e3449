"""Authorization: EIM or Plug-and-Charge, whichever AuthorizationSetup
offered (another, or a mode element that does not match the selected
service: WARNING_AuthorizationSelectionInvalid).

EIM: EVSEProcessing=Ongoing until the charger decides (Charger.authorize);
a refusal is WARNING_EIMAuthorizationFailure and the EV may ask again or
stop.

PnC (PnC_AReqAuthorizationMode, signed in the Header):
1. the GenChallenge must be the one of our AuthorizationSetupRes, else
   WARNING_ChallengeInvalid;
2. the Signature must be one over this element (one Reference "#" + Id,
   canonical EXI, SHA-512, ECDSA-SHA512 or Ed448, sizes): else
   FAILED_SignatureError (iso20/xmldsig.py evidence());
3. the evidence goes to `charger.pnc_authorize(evidence, now)` (format in
   iso20/charger.py), which checks the digest, the signature, the
   contract chain, validity and revocation: None keeps us at
   EVSEProcessing=Ongoing (the EV repeats its request unchanged but for
   the timestamp, [V2G20-1582]; the same evidence object is asked again)
   up to the "pnc_ongoing" limit, then WARNING_GeneralPnCAuthorizationError;
   an OK code authorizes; a WARNING refuses; FAILED_SignatureError or
   FAILED end the session.  A code outside that list counts as
   WARNING_GeneralPnCAuthorizationError (fail closed).
Any PnC verdict spends the challenge: one PnC attempt per
AuthorizationSetup, so a signed request cannot be replayed; after a
refusal the EV may send AuthorizationReq with EIM if EIM was offered,
or SessionStopReq.  Nothing before an OK leaves the Authorization state:
no service, no power.
"""
from .. import msg
from .. import xmldsig

SCHEMA = "-20:CommonMessages"
PNC = "PnC_AReqAuthorizationMode"

VERDICTS = (msg.OK, msg.OK_CERTIFICATE_EXPIRES_SOON,
            msg.WARNING_CERTIFICATE_EXPIRED, msg.WARNING_CERTIFICATE_NOT_YET_VALID,
            msg.WARNING_CERTIFICATE_REVOKED, msg.WARNING_CERTIFICATE_VALIDATION_ERROR,
            msg.WARNING_EMSP_UNKNOWN, msg.WARNING_GENERAL_PNC_AUTHORIZATION_ERROR,
            msg.WARNING_CHALLENGE_INVALID, msg.FAILED_SIGNATURE_ERROR, msg.FAILED)


def handle(s, name, body, now):
    res = {"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEProcessing": msg.FINISHED}
    sel = body["SelectedAuthorizationService"]
    mode = "EIM_AReqAuthorizationMode" if sel == "EIM" else PNC
    if sel not in s.ctx.auth_offered or mode not in body:
        res["ResponseCode"] = msg.WARNING_AUTHORIZATION_SELECTION_INVALID
        return res, None
    if sel == "PnC":
        return _pnc(s, body, res, now)
    ok = s.charger.auth
    if ok is None:
        first = s.ctx.ongoing_since is None
        if s.ongoing_expired(now, "eim_ongoing"):
            res["ResponseCode"] = msg.FAILED
            return res, None
        if first:
            s.events.append(("auth_request", s.ctx.evccid))
        res["EVSEProcessing"] = msg.ONGOING
        return res, None
    s.ctx.ongoing_since = None
    s.events.append(("authorized", bool(ok)))
    if not ok:
        res["ResponseCode"] = msg.WARNING_EIM_AUTHORIZATION_FAILURE
        return res, None
    s.ctx.auth_service = "EIM"
    return res, "authorized"


def _pnc(s, body, res, now):
    ctx = s.ctx
    mode = body[PNC]
    sig = body["Header"].get("Signature")
    pending = ctx.pnc_request
    if pending is not None and pending[0] == mode and pending[1] == sig:
        evidence = ctx.pnc_evidence     # the EV repeats its request while Ongoing
    else:
        ctx.pnc_request = ctx.pnc_evidence = None
        if ctx.challenge is None or mode["GenChallenge"] != ctx.challenge:
            return _verdict(s, res, msg.WARNING_CHALLENGE_INVALID)
        try:
            evidence = xmldsig.evidence(SCHEMA, PNC, mode, sig)
        except ValueError:
            return _verdict(s, res, msg.FAILED_SIGNATURE_ERROR)
        chain = mode["ContractCertificateChain"]
        evidence["leaf"] = chain["Certificate"]
        evidence["sub_cas"] = list(chain["SubCertificates"]["Certificate"])
        evidence["challenge"] = ctx.challenge
        evidence["evccid"] = ctx.evccid
        ctx.pnc_request = (mode, sig)
        ctx.pnc_evidence = evidence
    code = s.charger.pnc_authorize(evidence, now)
    if code is None:
        if s.ongoing_expired(now, "pnc_ongoing"):
            return _verdict(s, res, msg.WARNING_GENERAL_PNC_AUTHORIZATION_ERROR)
        res["EVSEProcessing"] = msg.ONGOING
        return res, None
    return _verdict(s, res, code)


def _verdict(s, res, code):
    ctx = s.ctx
    ctx.ongoing_since = None
    ctx.challenge = None            # spent
    ctx.pnc_request = ctx.pnc_evidence = None
    if code not in VERDICTS:
        code = msg.WARNING_GENERAL_PNC_AUTHORIZATION_ERROR
    ok = code.startswith("OK")
    s.events.append(("pnc", code))
    s.events.append(("authorized", ok))
    res["ResponseCode"] = code
    if not ok:
        return res, None
    ctx.auth_service = "PnC"
    return res, "authorized"
