"""ServiceDiscovery: list the configured energy-transfer services (those
the EV said it supports, when it sent a list); no value-added services."""
from iso20 import msg


def handle(s, name, body, now):
    offered = s.cfg["services"]
    ev = body.get("SupportedServiceIDs")
    if ev:
        mine = [sid for sid in offered if sid in ev["ServiceID"]]
        if mine:
            offered = mine
    s.ctx.offered = tuple(offered)
    free = bool(s.cfg["free_service"])
    s.goto("ServiceDetail", ("ServiceDetailReq", "SessionStopReq"))
    return {"Header": s.hdr(), "ResponseCode": msg.OK,
            "ServiceRenegotiationSupported": bool(s.cfg["service_renegotiation"]),
            "EnergyTransferServiceList": {"Service": [{"ServiceID": sid, "FreeService": free}
                                                      for sid in offered]}}
