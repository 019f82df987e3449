"""ServiceDetail: the parameter sets of an offered service, one per control
mode: ParameterSetID 1 = Scheduled, 2 = Dynamic (docs/standards-notes.md §3)."""
from .. import msg


def _param(name, v):
    return {"@Name": name, "intValue": v}


def parameter_sets(s, sid):
    """[(set id, control mode, [Parameter])] of service `sid`."""
    cfg = s.cfg
    dc = sid in msg.DC_SERVICES
    out = []
    for mode in cfg["control_modes"]:
        ps = [_param("Connector", cfg["dc_connector"] if dc else cfg["ac_connector"]),
              _param("ControlMode", mode),
              _param("EVSENominalVoltage", cfg["dc_nominal_voltage"] if dc else cfg["ac_nominal_voltage"]),
              _param("MobilityNeedsMode", cfg["mobility_needs_mode"] if mode == msg.DYNAMIC else 1),
              _param("Pricing", cfg["pricing"])]
        if sid in msg.BPT_SERVICES:
            ps.append(_param("BPTChannel", cfg["bpt_channel"]))
            ps.append(_param("GeneratorMode", cfg["generator_mode"]))
            if not dc:
                ps.append(_param(cfg["islanding_parameter"], 1))
        out.append((mode, mode, ps))
    return out


def handle(s, name, body, now):
    sid = body["ServiceID"]
    if sid not in s.ctx.offered:
        res = s.fail_body("ServiceDetailRes", msg.FAILED_SERVICE_ID_INVALID)
        res["ServiceID"] = sid
        return res, None
    sets = parameter_sets(s, sid)
    s.ctx.sets[sid] = {}
    for set_id, mode, _ in sets:
        s.ctx.sets[sid][set_id] = mode
    return {"Header": s.hdr(), "ResponseCode": msg.OK, "ServiceID": sid,
            "ServiceParameterList": {"ParameterSet": [{"ParameterSetID": i, "Parameter": ps}
                                                      for i, _, ps in sets]}}, "detailed"
