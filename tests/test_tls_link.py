"""The firmware's TLS mode in pieces (link/tls.py, hostend.py, SDP), sans-I/O:
the MCU's host Link talks to a host Link through memory."""
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from micro15118 import sdp, v2gtp
from micro15118.drivers.se050 import Se050
from micro15118.hostend import HostEnd, KeyServer
from micro15118.hostlink import msg
from micro15118.hostlink.link import Link
from micro15118.hostlink.port import UartPort
from micro15118.link.charger import ChargerLink
from micro15118.link.tls import TlsMode

from host.bench.hostsim import McuPort, SerialWire, shared_pki
from host.bench.se050_model import Se050Model
from host.bench.wire_server import se050_objects
from host.pki import se050 as pki_se050


class Conn:
    remote = (b"\xfe\x80" + bytes(14), 50000)

    def __init__(self):
        self.sent = bytearray()
        self.inbox = bytearray()
        self.aborted = self.closed = False

    def send(self, data):
        self.sent += data
        return len(data)

    def recv(self):
        data, self.inbox = bytes(self.inbox), bytearray()
        return data


def _pair():
    wire = SerialWire()
    mcu = Link(msg.ROLE_CHARGER, 0, 1)
    end = HostEnd(UartPort(McuPort(wire), mcu))
    host = Link(msg.ROLE_HOST, 0, 2)

    def step(t):
        evs = list(end.service(t))
        if wire.to_host:
            host.feed(bytes(wire.to_host), t)
            del wire.to_host[:]
        host.poll(t)
        if host.tx:
            wire.to_mcu += b"".join(host.tx)
            host.tx = []
        evs += list(end.service(t))
        hevs, host.events = host.events, []
        return evs, hevs
    for t in range(0, 40):
        step(t)
    assert mcu.up and host.up
    return mcu, host, step


def test_tls_stream_carries_records_and_plaintext_only_after_established():
    mcu, host, step = _pair()
    tls = TlsMode(mcu)
    conn = Conn()
    stream = tls.open(conn, v2gtp.V2gtpReader(), 50)
    _, hevs = step(51)
    assert ("tls_event", 1, msg.TLS_OPEN, 0, b"") in hevs
    conn.inbox += b"\x16\x03\x01client hello"
    assert stream.receive() == []
    _, hevs = step(52)
    assert ("tls_record", 1, b"\x16\x03\x01client hello") in hevs
    host.send_tls(1, b"\x16\x03\x03server hello")
    evs, _ = step(53)
    for ev in evs:
        tls.host_event(ev, 53)
    assert bytes(conn.sent) == b"\x16\x03\x03server hello"
    sap = v2gtp.encode(v2gtp.SAP, b"\x80\x00")
    host.send_app_data(1, sap)                  # before ESTABLISHED: dropped
    evs, _ = step(54)
    for ev in evs:
        tls.host_event(ev, 54)
    assert tls.events == []
    host.send_tls_event(1, msg.TLS_ESTABLISHED, 0, b"TLS_AES_256_GCM_SHA384")
    host.send_app_data(1, sap[:5])
    host.send_app_data(1, sap[5:])
    evs, _ = step(55)
    for ev in evs:
        tls.host_event(ev, 55)
    assert tls.events == [("connected", "TLS_AES_256_GCM_SHA384"), ("v2gtp", v2gtp.SAP, b"\x80\x00")]
    stream.queue(sap)                           # the session's answer goes to the host
    _, hevs = step(56)
    assert ("app_data", 1, sap) in hevs


def test_tls_error_aborts_and_a_dropped_stream_is_closed_at_the_host():
    mcu, host, step = _pair()
    tls = TlsMode(mcu)
    tls.open(Conn(), v2gtp.V2gtpReader(), 50)
    host.send_tls_event(1, msg.TLS_ERROR, 42, b"bad certificate")
    for ev in step(51)[0]:
        tls.host_event(ev, 51)
    assert tls.events == [("abort", "tls alert 42: bad certificate")]
    tls.events = []
    tls.open(Conn(), v2gtp.V2gtpReader(), 60)    # conn 2
    tls.sync(None)                               # the link dropped it
    _, hevs = step(61)
    assert ("tls_event", 2, msg.TLS_CLOSE, 0, b"") in hevs


def test_graceful_close_waits_for_the_host_then_gives_up():
    mcu, host, step = _pair()
    tls = TlsMode(mcu, close_wait_ms=300)
    stream = tls.open(Conn(), v2gtp.V2gtpReader(), 50)
    host.send_tls_event(1, msg.TLS_ESTABLISHED, 0, b"S")
    for ev in step(51)[0]:
        tls.host_event(ev, 51)
    tls.events = []
    assert tls.close(100) is True and tls.next_deadline() == 400
    _, hevs = step(101)
    assert ("tls_event", 1, msg.TLS_CLOSE, 0, b"") in hevs
    tls.poll(399)
    assert tls.events == []
    tls.poll(400)
    assert tls.events == [("close",)] and stream.host_closed


def test_host_link_lost_and_down():
    mcu, host, step = _pair()
    tls = TlsMode(mcu)
    tls.open(Conn(), v2gtp.V2gtpReader(), 50)
    mcu.drop("hangup", 60)                      # the host is gone (not stepped again)
    evs, mcu.events = mcu.events, []
    for ev in evs:
        tls.host_event(ev, 61)
    assert ("host_lost", "hangup") in tls.events
    assert tls.open(Conn(), v2gtp.V2gtpReader(), 62) is None   # down: no connection


def test_charger_sdp_announces_tls_in_tls_mode():
    link = ChargerLink(b"\x02\x00\x00\x00\x00\x01", rng=lambda n: bytes(n))
    for ask in (sdp.NO_TLS, sdp.TLS):
        assert sdp.parse_response(link.sdp.handle(sdp.encode_request(ask)))[2] == sdp.NO_TLS
    link.use_tls(TlsMode(Link(msg.ROLE_CHARGER, 0, 1)))
    for ask in (sdp.NO_TLS, sdp.TLS):
        ip, port, security, _ = sdp.parse_response(link.sdp.handle(sdp.encode_request(ask)))
        assert security == sdp.TLS and port == link.tcp_port


def test_key_server_signs_with_its_key_only():
    pki = shared_pki()
    chip = Se050Model()
    chip.load_bundle(se050_objects(pki_se050.bundle_path(pki, "charger")))
    se = Se050(chip, lambda ms: None)
    se.open()
    keys = KeyServer(se, (0x15118100,), b"chain")
    digest = bytes(range(64))
    status, fmt, sig = keys.sign(0x15118100, msg.ALG_ECDSA_P521_SHA512, msg.SIG_DER, digest)
    assert status == msg.OK and fmt == msg.SIG_DER
    pub = pki_se050.load_private_key(pki, "charger", "secc_leaf").public_key()
    pub.verify(sig, digest, ec.ECDSA(utils.Prehashed(hashes.SHA512())))
    assert keys.sign(0x15118280, msg.ALG_ECDSA_P521_SHA512, msg.SIG_DER, digest)[0] == msg.DENIED
    assert keys.sign(0x15118100, msg.ALG_ED448, msg.SIG_RAW, digest)[0] == msg.UNSUPPORTED
    assert keys.sign(0x15118100, msg.ALG_ECDSA_P521_SHA512, msg.SIG_DER, digest[:32])[0] == msg.BAD_REQUEST
    assert keys.signatures == 1 and keys.refused == 3
    assert keys.chain_bytes(msg.CHAIN_OWN) == b"chain" and keys.chain_bytes(msg.CHAIN_TRUST) is None
