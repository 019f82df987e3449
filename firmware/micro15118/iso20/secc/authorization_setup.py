"""AuthorizationSetup: offer EIM.  Plug-and-Charge (PnC_ASResAuthorizationMode
with a GenChallenge) comes with the security issue: this is its seam."""
from .. import msg


def handle(s, name, body, now):
    return {"Header": s.hdr(), "ResponseCode": msg.OK,
            "AuthorizationServices": ["EIM"],
            "CertificateInstallationService": False,
            "EIM_ASResAuthorizationMode": {}}, "offered"
