"""AuthorizationSetup: the authorization services on offer.

Config "auth" lists them in order.  PnC is offered only on a TLS
connection and when the charger has a PnC verifier (research notes §6.1:
a contract certificate and its signature never go over plain TCP); then
the response carries PnC_ASResAuthorizationMode with a fresh 16-byte
GenChallenge from the session's random source (kept for the
AuthorizationReq) and the configured SupportedProviders; EIM may be
listed next to it (the schema's choice holds one mode element: PnC's, it
carries the challenge).  Without PnC: EIM_ASResAuthorizationMode, and EIM
is offered even if the config lists only PnC (a PnC-only charger on a
plain connection still lets the charger decide by EIM).
CertificateInstallationService is the config's "certificate_installation"
when PnC is offered, else False; when True the EV may send
CertificateInstallationReq next (secc/certificate_installation.py), before
or instead of AuthorizationReq.
"""
from .. import msg


def handle(s, name, body, now):
    ctx = s.ctx
    cfg = s.cfg
    pnc = ctx.tls and s.charger.pnc_enabled()
    offered = [a for a in cfg["auth"] if a == "EIM" or (a == "PnC" and pnc)]
    if not offered:
        offered = ["EIM"]
    ctx.auth_offered = tuple(offered)
    ctx.pnc_request = ctx.pnc_evidence = None
    ctx.install_request = ctx.install_evidence = ctx.install_since = None
    ctx.install_offered = False
    res = {"Header": s.hdr(), "ResponseCode": msg.OK, "AuthorizationServices": offered,
           "CertificateInstallationService": False}
    if "PnC" in offered:
        ctx.challenge = bytes(s.rng(16))
        mode = {"GenChallenge": ctx.challenge}
        if cfg["supported_providers"]:
            mode["SupportedProviders"] = {"ProviderID": list(cfg["supported_providers"])}
        ctx.install_offered = bool(cfg["certificate_installation"])
        res["CertificateInstallationService"] = ctx.install_offered
        res["PnC_ASResAuthorizationMode"] = mode
    else:
        ctx.challenge = None
        res["EIM_ASResAuthorizationMode"] = {}
    return res, ("offered_install" if ctx.install_offered else "offered")
