"""SupportedAppProtocol: offer the -20 family of the configured service
(major 1, minor 0; docs/standards-notes.md §2).  The -2/DIN fallback would be more entries."""
from .. import msg

REQ = 'supportedAppProtocolReq'
RES = 'supportedAppProtocolRes'
SCHEMA_ID = 1


def request(ev, now):
    ns = msg.NS_DC if ev.ctx.dc else msg.NS_AC
    return {'AppProtocol': [{'ProtocolNamespace': ns, 'VersionNumberMajor': 1,
                             'VersionNumberMinor': 0, 'SchemaID': SCHEMA_ID, 'Priority': 1}]}


def response(ev, res, now):
    code = res['ResponseCode']
    if code not in (msg.SAP_OK, msg.SAP_OK_MINOR):
        return ev.fail('SupportedAppProtocol: ' + code, now)
    if res.get('SchemaID') != SCHEMA_ID:
        return ev.fail('SupportedAppProtocol: SchemaID %r not offered' % res.get('SchemaID'), now)
    return 'agreed'
