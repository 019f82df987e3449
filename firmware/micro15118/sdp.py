"""SDP, the SECC Discovery Protocol (ISO 15118-2/-20, DIN 70121).

The vehicle multicasts a request (V2GTP type 0x9000: security, transport) to
ff02::1 UDP port 15118; the charger answers (0x9001) with the IPv6 address,
TCP port and security of its V2G server.  UDP payloads only: the owner does
the sockets (or the IPv6/UDP stack).
"""
import struct

from . import v2gtp

from .compat import const

PORT = const(15118)
SECURITY_TLS = const(0x00)
SECURITY_NO_TLS = const(0x10)
TRANSPORT_TCP = const(0x00)
TRANSPORT_UDP = const(0x10)      # reserved; V2G messages only go over TCP
TLS = SECURITY_TLS
NO_TLS = SECURITY_NO_TLS

REQ_LEN = const(2)
RES_LEN = const(20)
INTERVAL_MS = const(250)         # python-iso15118's SDP_REQ timeout
MAX_REQUESTS = const(50)         # and its SDP_MAX_REQUEST_COUNTER


class SdpError(ValueError):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _payload(data, ptype, length):
    try:
        got, n = v2gtp.parse_header(data, length, (ptype,))
    except v2gtp.V2gtpError as e:
        raise SdpError(e.reason)
    if n != length or len(data) != v2gtp.HEADER_LEN + length:
        raise SdpError('bad length')
    return memoryview(data)[v2gtp.HEADER_LEN:]


def _check_security(security):
    if security != SECURITY_TLS and security != SECURITY_NO_TLS:
        raise SdpError('bad security')


def encode_request(security=SECURITY_NO_TLS, transport=TRANSPORT_TCP):
    return v2gtp.encode(v2gtp.SDP_REQ, bytes((security, transport)))


def parse_request(data):
    """(security, transport) of an SDP request datagram; raises SdpError."""
    p = _payload(data, v2gtp.SDP_REQ, REQ_LEN)
    _check_security(p[0])
    return p[0], p[1]


def encode_response(ip16, port, security, transport=TRANSPORT_TCP):
    if len(ip16) != 16:
        raise ValueError('IPv6 address must be 16 bytes')
    return v2gtp.encode(v2gtp.SDP_RES, bytes(ip16) + struct.pack('>HBB', port, security, transport))


def parse_response(data):
    """(ip16, port, security, transport) of an SDP response; raises SdpError."""
    p = _payload(data, v2gtp.SDP_RES, RES_LEN)
    port, security, transport = struct.unpack_from('>HBB', p, 16)
    _check_security(security)
    return bytes(p[:16]), port, security, transport


class SdpServer:
    """Charger side: answers SDP requests.

    policy: 'accept' announces what the vehicle asked for if that server
    exists (else the other one, as EVerest's EvseV2G falls back);
    'enforce_tls' / 'enforce_no_tls' always announce that one.  tcp_port is
    the plain server (None if there is none), tls_port the TLS server.
    """

    POLICIES = ('accept', 'enforce_tls', 'enforce_no_tls')

    def __init__(self, ip16, tcp_port, tls_port=None, policy='accept'):
        if policy not in self.POLICIES:
            raise ValueError('policy')
        if tcp_port is None and tls_port is None:
            raise ValueError('no server port')
        if policy == 'enforce_tls' and tls_port is None:
            raise ValueError('enforce_tls needs tls_port')
        if policy == 'enforce_no_tls' and tcp_port is None:
            raise ValueError('enforce_no_tls needs tcp_port')
        self.ip16 = bytes(ip16)
        self.tcp_port = tcp_port
        self.tls_port = tls_port
        self.policy = policy
        self.dropped = 0
        self.answered = 0

    def choose(self, requested):
        """(security, port) announced to a vehicle that asked for `requested`."""
        if self.policy == 'enforce_tls':
            want_tls = True
        elif self.policy == 'enforce_no_tls':
            want_tls = False
        else:
            want_tls = requested == SECURITY_TLS
        if want_tls and self.tls_port is None:
            want_tls = False
        if not want_tls and self.tcp_port is None:
            want_tls = True
        if want_tls:
            return SECURITY_TLS, self.tls_port
        return SECURITY_NO_TLS, self.tcp_port

    def handle(self, udp_payload):
        """The reply datagram for a request, or None (dropped)."""
        try:
            security, transport = parse_request(udp_payload)
        except (SdpError, TypeError):
            self.dropped += 1
            return None
        if transport != TRANSPORT_TCP:
            self.dropped += 1
            return None
        security, port = self.choose(security)
        self.answered += 1
        return encode_response(self.ip16, port, security)


class SdpClient:
    """Vehicle side: sends requests until a charger answers.

    poll(now) queues request datagrams in .tx (every interval_ms, at most
    max_requests); the owner sends them to ff02::1 port 15118.  Events:
    ('secc', ip16, port, security) on the first valid answer, after which it
    stops; ('sdp_failed',) when the last request went unanswered for one
    interval.  restart(now) begins a new cycle.
    """

    def __init__(self, security=SECURITY_NO_TLS, now=0, interval_ms=INTERVAL_MS,
                 max_requests=MAX_REQUESTS):
        _check_security(security)
        self.security = security
        self.interval_ms = interval_ms
        self.max_requests = max_requests
        self.tx = []
        self.events = []
        self.dropped = 0
        self.restart(now)

    def restart(self, now):
        self.sent = 0
        self.done = False
        self.result = None
        self._next = now

    def next_deadline(self):
        return None if self.done else self._next

    def poll(self, now):
        if self.done or now < self._next:
            return
        if self.sent >= self.max_requests:
            self.done = True
            self.events.append(('sdp_failed',))
            return
        self.tx.append(encode_request(self.security, TRANSPORT_TCP))
        self.sent += 1
        self._next = now + self.interval_ms

    def handle(self, udp_payload, now):
        """The ('secc', ...) event for a valid answer (also queued), else None."""
        if self.done:
            self.dropped += 1
            return None
        try:
            ip16, port, security, transport = parse_response(udp_payload)
        except (SdpError, TypeError):
            self.dropped += 1
            return None
        if transport != TRANSPORT_TCP or port == 0:
            self.dropped += 1
            return None
        self.done = True
        self.result = (ip16, port, security)
        ev = ('secc', ip16, port, security)
        self.events.append(ev)
        return ev
