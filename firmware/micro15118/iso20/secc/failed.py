"""Minimal valid bodies of every -20 response, for FAILED_* answers.

A FAILED response must still carry the response's mandatory elements, so
each type gets neutral values here (zeros, Finished, the Scheduled control
mode whose elements are all optional).
"""
from .. import msg

_ZERO = {"Exponent": 0, "Value": 0}

# response name -> mandatory elements after Header and ResponseCode
_REST = {
    "SessionSetupRes": (("EVSEID", "ZZ00000"),),
    "AuthorizationSetupRes": (("AuthorizationServices", ["EIM"]),
                              ("CertificateInstallationService", False),
                              ("EIM_ASResAuthorizationMode", {})),
    "AuthorizationRes": (("EVSEProcessing", msg.FINISHED),),
    "ServiceDiscoveryRes": (("ServiceRenegotiationSupported", False),
                            ("EnergyTransferServiceList", {"Service": [{"ServiceID": 2, "FreeService": False}]})),
    "ServiceDetailRes": (("ServiceID", 0),
                         ("ServiceParameterList", {"ParameterSet": [
                             {"ParameterSetID": 0, "Parameter": [{"@Name": "ControlMode", "intValue": 1}]}]})),
    "ServiceSelectionRes": (),
    "ScheduleExchangeRes": (("EVSEProcessing", msg.FINISHED),
                            ("Dynamic_SEResControlMode", {})),
    "PowerDeliveryRes": (),
    "MeteringConfirmationRes": (),
    "SessionStopRes": (),
    "CertificateInstallationRes": (
        ("EVSEProcessing", msg.FINISHED),
        ("CPSCertificateChain", {"Certificate": b"\x00"}),
        ("SignedInstallationData", {"@Id": "id0",
                                    "ContractCertificateChain": {"Certificate": b"\x00",
                                                                 "SubCertificates": {"Certificate": [b"\x00"]}},
                                    "ECDHCurve": "SECP521", "DHPublicKey": b"\x00" * 133,
                                    "SECP521_EncryptedPrivateKey": b"\x00" * 94}),
        ("RemainingContractCertificateChains", 0)),
    "VehicleCheckInRes": (),
    "VehicleCheckOutRes": (("EVSECheckOutStatus", "Scheduled"),),
    "AC_ChargeParameterDiscoveryRes": (("AC_CPDResEnergyTransferMode", {
        "EVSEMaximumChargePower": _ZERO, "EVSEMinimumChargePower": _ZERO, "EVSENominalFrequency": _ZERO}),),
    "AC_ChargeLoopRes": (("Scheduled_AC_CLResControlMode", {}),),
    "DC_ChargeParameterDiscoveryRes": (("DC_CPDResEnergyTransferMode", {
        "EVSEMaximumChargePower": _ZERO, "EVSEMinimumChargePower": _ZERO,
        "EVSEMaximumChargeCurrent": _ZERO, "EVSEMinimumChargeCurrent": _ZERO,
        "EVSEMaximumVoltage": _ZERO, "EVSEMinimumVoltage": _ZERO}),),
    "DC_CableCheckRes": (("EVSEProcessing", msg.FINISHED),),
    "DC_PreChargeRes": (("EVSEPresentVoltage", _ZERO),),
    "DC_ChargeLoopRes": (("EVSEPresentCurrent", _ZERO), ("EVSEPresentVoltage", _ZERO),
                         ("EVSEPowerLimitAchieved", False), ("EVSECurrentLimitAchieved", False),
                         ("EVSEVoltageLimitAchieved", False), ("Scheduled_DC_CLResControlMode", {})),
    "DC_WeldingDetectionRes": (("EVSEPresentVoltage", _ZERO),),
}


def response_of(req_name):
    """The response name for a request name, or None if we have none."""
    if not req_name.endswith("Req"):
        return None
    res = req_name[:-3] + "Res"
    return res if res in _REST else None


def body(res_name, code, hdr, evse_id=None):
    """A valid body of `res_name` with ResponseCode `code`."""
    b = {"Header": hdr, "ResponseCode": code}
    for k, v in _REST[res_name]:
        b[k] = v
    if evse_id and res_name == "SessionSetupRes":
        b["EVSEID"] = evse_id
    if res_name in ("AC_ChargeLoopRes", "DC_ChargeLoopRes", "PowerDeliveryRes"):
        # tell the EV to stop (V2G20: EVSENotification Terminate, no delay)
        b["EVSEStatus"] = {"NotificationMaxDelay": 0, "EVSENotification": "Terminate"}
    return b
