"""ServiceDiscovery: list the configured energy-transfer services of the
family negotiated in SAP (DC or AC), narrowed to those the EV said it
supports when it sent a list; no value-added services."""
from .. import msg


def handle(s, name, body, now):
    # the SAP namespace says which family the EV speaks: -20:DC or -20:AC
    dc = s.ctx.protocol is not None and s.ctx.protocol[0] == msg.NS_DC
    offered = [sid for sid in s.cfg["services"] if (sid in msg.DC_SERVICES) == dc] or s.cfg["services"]
    ev = body.get("SupportedServiceIDs")
    if ev:
        mine = [sid for sid in offered if sid in ev["ServiceID"]]
        if mine:
            offered = mine
    s.ctx.offered = tuple(offered)
    free = bool(s.cfg["free_service"])
    return {"Header": s.hdr(), "ResponseCode": msg.OK,
            "ServiceRenegotiationSupported": bool(s.cfg["service_renegotiation"]),
            "EnergyTransferServiceList": {"Service": [{"ServiceID": sid, "FreeService": free}
                                                      for sid in offered]}}, "listed"
