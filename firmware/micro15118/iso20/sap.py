"""SupportedAppProtocol negotiation ([V2G20-167]; docs/standards-notes.md §2), both roles.

A protocol is a tuple (namespace, major, minor).  The SECC offers a list of
them (the -20 DC and AC families by default; adding ISO 15118-2 or DIN here
is the hook for a later fallback) and picks the EV's highest-priority entry
(Priority 1 = highest) whose namespace and major version it offers.
"""
from . import msg

PROTOCOL_20_DC = (msg.NS_DC, 1, 0)
PROTOCOL_20_AC = (msg.NS_AC, 1, 0)
SECC_DEFAULT = (PROTOCOL_20_DC, PROTOCOL_20_AC)


def secc_negotiate(req_body, offered=SECC_DEFAULT):
    """supportedAppProtocolReq body -> (supportedAppProtocolRes body,
    the chosen protocol from `offered` or None)."""
    best = None
    for entry in req_body.get("AppProtocol", ()):
        for p in offered:
            if entry["ProtocolNamespace"] == p[0] and entry["VersionNumberMajor"] == p[1]:
                if best is None or entry["Priority"] < best[0]["Priority"]:
                    best = (entry, p)
                break
    if best is None:
        return {"ResponseCode": msg.SAP_FAILED}, None
    entry, p = best
    code = msg.SAP_OK if entry["VersionNumberMinor"] == p[2] else msg.SAP_OK_MINOR
    return {"ResponseCode": code, "SchemaID": entry["SchemaID"]}, p


def evcc_request(protocols):
    """The EV's request for `protocols`, in priority order; SchemaID i+1."""
    entries = []
    for i, p in enumerate(protocols):
        entries.append({"ProtocolNamespace": p[0], "VersionNumberMajor": p[1],
                        "VersionNumberMinor": p[2], "SchemaID": i + 1, "Priority": i + 1})
    return {"AppProtocol": entries}


def evcc_result(res_body, protocols):
    """The protocol the SECC chose (from the list given to evcc_request),
    or None when negotiation failed or the answer makes no sense."""
    if not res_body.get("ResponseCode", "").startswith("OK"):
        return None
    i = res_body.get("SchemaID", 0) - 1
    if 0 <= i < len(protocols):
        return protocols[i]
    return None
