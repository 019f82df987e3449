"""DC_WeldingDetection: report the output voltage while it decays with the
contactor open.  EVProcessing=Ongoing: another DC_WeldingDetectionReq;
Finished: SessionStopReq next (V2G20-1630/1631)."""
from .. import msg


def handle(s, name, body, now):
    v = s.charger.present(now)[0]
    return ({"Header": s.hdr(), "ResponseCode": msg.OK, "EVSEPresentVoltage": msg.rational(v)},
            "ev_finished" if body["EVProcessing"] == msg.FINISHED else "ev_processing")
