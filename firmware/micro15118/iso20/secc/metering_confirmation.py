"""MeteringConfirmation: the EV confirms a meter reading (signed; checking
the signature comes with the security issue).  Accepted in any state once
a service is selected; it does not change the state."""
from .. import msg


def handle(s, name, body, now):
    smd = body["SignedMeteringData"]
    s.events.append(("metering_confirmed", smd["MeterInfo"]))
    return {"Header": s.hdr(), "ResponseCode": msg.OK}, None
