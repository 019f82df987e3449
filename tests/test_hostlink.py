"""The host link on CPython over real byte pipes: two HostLink endpoints
over a pty pair (raw fds, and pyserial on the slave's /dev/pts path) and
over pyserial's socket://, exchanging every message type; one HostLink on
loop:// that hears itself; pulling the pty is a lost link on the other end
within the timeout (a pending signature ends then, it does not hang), and
the link comes back when the port is opened again; bytes corrupted on the
line cost frames, not the link."""
import random
import socket
import threading
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, utils

from micro15118.hostlink import msg
from host.hostlink import FdTransport, HostLink, HostLinkError, PtyPair, SerialTransport

KA = 50
LOST = 300
CHAIN = bytes((i * 13) & 0xFF for i in range(4500))        # three frames' worth
BIG = bytes((i * 7 + 1) & 0xFF for i in range(20000))      # a few TLS records' worth


class Mcu:
    """A HostLink playing the MCU: answers the host's requests from its
    event callback, as the firmware's app would, and records the rest."""

    def __init__(self, transport, keys=None, **kw):
        self.events = []
        self.keys = keys or {}          # key id -> private key: the secure element
        self.config = {b"max_current_a": b"32"}
        self.got = threading.Event()
        self.hl = HostLink(transport, role=msg.ROLE_CHARGER, fw=b"mcu-sim", keepalive_ms=KA,
                           lost_ms=LOST, on_event=self.on_event, **kw)

    def on_event(self, ev):
        hl = self.hl
        name = ev[0]
        if name == "sign_request":
            _, rid, key_id, alg, fmt, digest = ev
            if key_id == 0xDEAD:
                hl.respond_sign(rid, msg.UNKNOWN, fmt)
            elif key_id == 0xBEEF:
                pass                                    # a secure element that never answers
            elif key_id in self.keys:
                key = self.keys[key_id]
                if alg == msg.ALG_ED448:
                    sig = key.sign(digest)
                else:
                    sig = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA512())))
                hl.respond_sign(rid, msg.OK, fmt, sig)
            else:
                hl.respond_sign(rid, msg.OK, fmt, b"SIG:" + digest[:8])
        elif name == "cert_request":
            hl.serve_cert(ev[1], CHAIN if ev[2] == msg.CHAIN_OWN else None, ev[3], ev[4])
        elif name == "config_set":
            self.config[ev[2]] = ev[3]
            hl.respond_config(ev[1], msg.OK)
        elif name == "config_get":
            v = self.config.get(ev[2])
            hl.respond_config(ev[1], msg.UNKNOWN if v is None else msg.OK, v or b"")
        self.events.append(ev)
        self.got.set()

    def wait_for(self, pred, timeout=5):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.events):
                return True
            self.got.wait(0.05)
            self.got.clear()
        return pred(self.events)


def host_link(transport, **kw):
    return HostLink(transport, keepalive_ms=KA, lost_ms=LOST, **kw)


def collect(hl, until, timeout=5):
    """Events of hl until until(events) holds."""
    events = []
    end = time.monotonic() + timeout
    while not until(events) and time.monotonic() < end:
        ev = hl.get_event(0.05)
        if ev is not None:
            events.append(ev)
    assert until(events), events
    return events


def stream(events, name, conn):
    return b"".join(e[2] for e in events if e[0] == name and e[1] == conn)


def exchange_everything(host, mcu):
    """Every message type, both ways where the protocol has both."""
    assert host.wait_up(5) and mcu.hl.wait_up(5)
    up = host.get_event(1)
    assert up[:2] == ("link_up", msg.ROLE_CHARGER) and up[3] == b"mcu-sim"
    hl = mcu.hl
    # TLS_EVENT, TLS_RECORD, APP_DATA: a TLS connection as the MCU opens it
    assert hl.send_tls_event(1, msg.TLS_OPEN, 0, b"fe80::1 50000")
    assert hl.send_tls(1, BIG)
    host_events = collect(host, lambda ev: len(stream(ev, "tls_record", 1)) >= len(BIG))
    assert ("tls_event", 1, msg.TLS_OPEN, 0, b"fe80::1 50000") in host_events
    assert stream(host_events, "tls_record", 1) == BIG
    assert host.send_tls(1, BIG[::-1])
    assert host.send_tls_event(1, msg.TLS_ESTABLISHED, 0, b"TLS_AES_256_GCM_SHA384")
    assert host.send_app_data(1, BIG[:9000])
    assert mcu.wait_for(lambda ev: len(stream(ev, "app_data", 1)) >= 9000)
    assert stream(mcu.events, "tls_record", 1) == BIG[::-1]
    assert stream(mcu.events, "app_data", 1) == BIG[:9000]
    assert ("tls_event", 1, msg.TLS_ESTABLISHED, 0, b"TLS_AES_256_GCM_SHA384") in mcu.events
    assert hl.send_app_data(1, b"\x01\xfe\x80\x02\x00\x00\x00\x03abc")
    # OCPP_EVENT both ways, ERROR
    assert hl.send_ocpp(b'{"event":"session_start","evse":1}')
    assert host.send_ocpp(b'{"idTokenInfo":{"status":"Accepted"}}')
    assert host.send_error(msg.ERR_UNKNOWN_CONN, msg.APP_DATA, 7, b"conn 9?")
    host_events = collect(host, lambda ev: any(e[0] == "ocpp_event" for e in ev))
    assert ("app_data", 1, b"\x01\xfe\x80\x02\x00\x00\x00\x03abc") in host_events
    assert ("ocpp_event", b'{"event":"session_start","evse":1}') in host_events
    assert mcu.wait_for(lambda ev: any(e[0] == "error" for e in ev))
    assert ("ocpp_event", b'{"idTokenInfo":{"status":"Accepted"}}') in mcu.events
    assert ("error", msg.ERR_UNKNOWN_CONN, msg.APP_DATA, 7, b"conn 9?") in mcu.events
    # SIGN, CERT, CONFIG: blocking requests of the host
    assert host.sign(0x7FFF0201, msg.ALG_ECDSA_P521_SHA512, b"\x5a" * 64, msg.SIG_RAW) == \
        (msg.OK, msg.SIG_RAW, b"SIG:" + b"\x5a" * 8)
    assert host.sign(0xDEAD, msg.ALG_ED448, b"message")[0] == msg.UNKNOWN
    assert host.cert_chain(msg.CHAIN_OWN) == CHAIN
    with pytest.raises(HostLinkError) as err:
        host.cert_chain(msg.CHAIN_CONTRACT)
    assert err.value.status == msg.UNKNOWN
    assert host.config_set(b"evse_id", b"DE*ABC*E1") == msg.OK
    assert host.config_get(b"evse_id") == (msg.OK, b"DE*ABC*E1")
    assert host.config_get(b"max_current_a") == (msg.OK, b"32")
    assert host.config_get(b"nope")[0] == msg.UNKNOWN
    # a request the MCU never answers ends by the request timeout, not a hang
    t0 = time.monotonic()
    assert host.sign(0xBEEF, msg.ALG_ECDSA_P256_SHA256, b"\x00" * 32, timeout_ms=200)[0] == msg.TIMEOUT
    assert 0.15 < time.monotonic() - t0 < 1.5
    # non-blocking requests come back as events
    rid = host.request_config_get(b"max_current_a")
    ev = collect(host, lambda ev: any(e[0] == "config_result" for e in ev))
    assert ("config_result", rid, msg.OK, b"32") in ev
    # PING/PONG ran all along; nothing was lost or damaged
    time.sleep(3 * KA / 1000)
    # (an end that answered the other's PING with PONG within KA needs no PING of its own)
    assert host.stats()["pings"] + hl.stats()["pings"] > 0
    for s in (host.stats(), hl.stats()):
        assert s["dropped"] == 0 and s["seq_gaps"] == 0, s
        assert s["rx_crc"] == s["rx_truncated"] == s["rx_too_long"] == 0, s
    assert host.up and hl.up


def test_pty_pair_every_message_type():
    pair = PtyPair()
    mcu = Mcu(pair.slave)
    host = host_link(pair.master)
    try:
        exchange_everything(host, mcu)
    finally:
        host.close()
        mcu.hl.close()


def test_pty_slave_opened_by_pyserial():
    pair = PtyPair()
    mcu = Mcu(SerialTransport(pair.slave_path))     # the MCU side sees a serial device
    pair.slave.close()
    host = host_link(pair.master)
    try:
        exchange_everything(host, mcu)
    finally:
        host.close()
        mcu.hl.close()


def test_pyserial_socket_url_every_message_type():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    host = host_link(SerialTransport("socket://127.0.0.1:%d" % port))
    conn, _ = server.accept()
    server.close()
    mcu = Mcu(FdTransport(conn))
    try:
        exchange_everything(host, mcu)
        # the socket's other end closes: link lost within the timeout
        t0 = time.monotonic()
        mcu.hl.close()
        ev = collect(host, lambda ev: ("link_lost", "timeout") in ev, timeout=3)
        assert time.monotonic() - t0 < (LOST + 4 * KA) / 1000 + 0.2, ev
    finally:
        host.close()
        mcu.hl.close()


def test_loop_url_hears_itself():
    # On loop:// an endpoint reads what it writes: its HELLO comes back, it
    # answers with HELLO+ACK, which brings it up: the handshake needs nothing
    # but a working line.  Then every request reaches itself.
    hl = host_link(SerialTransport("loop://"))
    try:
        assert hl.wait_up(2)
        up = hl.get_event(1)
        assert up == ("link_up", msg.ROLE_HOST, msg.MINOR, hl.link.fw, hl.link.boot_id)
        assert hl.send_tls(3, BIG[:5000]) and hl.send_ocpp(b"{}")
        ev = collect(hl, lambda ev: ("ocpp_event", b"{}") in ev)
        assert stream(ev, "tls_record", 3) == BIG[:5000]
        rid = hl.request_sign(1, msg.ALG_ECDSA_P256_SHA256, b"\x11" * 32)
        ev = collect(hl, lambda ev: any(e[0] == "sign_request" for e in ev))
        assert ev[-1] == ("sign_request", rid, 1, msg.ALG_ECDSA_P256_SHA256, msg.SIG_DER, b"\x11" * 32)
        hl.respond_sign(rid, msg.OK, msg.SIG_DER, b"0E")
        assert collect(hl, lambda ev: ev)[-1] == ("sign_response", rid, msg.OK, msg.SIG_DER, b"0E")
        assert hl.stats()["rx_crc"] == 0
    finally:
        hl.close()


def test_pulling_the_pty_is_a_lost_link_and_ends_a_pending_signature():
    pair = PtyPair()
    mcu = Mcu(pair.slave)
    host = host_link(pair.master, request_ms=10000)     # only the loss can end the request
    try:
        assert host.wait_up(5) and mcu.hl.wait_up(5)
        assert host.get_event(1)[0] == "link_up"
        result = []
        signer = threading.Thread(target=lambda: result.append(
            host.sign(0xBEEF, msg.ALG_ECDSA_P256_SHA256, b"\x01" * 32)))
        signer.start()
        assert mcu.wait_for(lambda ev: any(e[0] == "sign_request" for e in ev))
        t0 = time.monotonic()
        mcu.hl.close()                                  # the plug is pulled
        ev = collect(host, lambda ev: ev, timeout=3)
        lost_after = time.monotonic() - t0
        assert ev == [("link_lost", "timeout")]
        assert LOST / 1000 - 0.05 < lost_after < (LOST + 4 * KA) / 1000 + 0.2
        signer.join(2)
        assert result == [(msg.LINK_LOST, msg.SIG_DER, b"")]
        assert not host.up
        assert host.sign(1, msg.ALG_ECDSA_P256_SHA256, b"\x01" * 32)[0] == msg.LINK_LOST
        assert host.stats()["hangup"]                   # the master saw the slave go
        # plugged in again: the port is opened anew and the link comes back
        mcu2 = Mcu(SerialTransport(pair.slave_path))
        try:
            assert collect(host, lambda ev: ev, timeout=3)[0][0] == "link_up"
            assert host.sign(7, msg.ALG_ECDSA_P256_SHA256, b"\x02" * 32) == \
                (msg.OK, msg.SIG_DER, b"SIG:" + b"\x02" * 8)
        finally:
            mcu2.hl.close()
    finally:
        host.close()
        mcu.hl.close()


class Noisy:
    """A transport whose writes are damaged now and then on the way out:
    bit flips, dropped bytes, injected garbage (with and without zeros)."""

    def __init__(self, inner, rnd, rate):
        self.inner = inner
        self.rnd = rnd
        self.rate = rate
        self.damaged = 0
        self.on = True

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def write(self, data):
        rnd = self.rnd
        if self.on and rnd.random() < self.rate:
            data = bytearray(data)
            self.damaged += 1
            op = rnd.randrange(4)
            i = rnd.randrange(len(data))
            if op == 0:
                data[i] ^= 1 << rnd.randrange(8)
            elif op == 1:
                del data[i:i + rnd.randrange(1, 30)]
            elif op == 2:
                data[i:i] = rnd.randbytes(rnd.randrange(1, 40))
            else:
                data[i:i] = bytes(rnd.randrange(1, 256) for _ in range(rnd.randrange(1, 40)))
        return self.inner.write(bytes(data))


def test_corruption_on_the_line_costs_frames_not_the_link():
    pair = PtyPair()
    noisy = Noisy(pair.slave, random.Random(5), 0.15)
    mcu = Mcu(noisy)
    host = host_link(pair.master)
    try:
        assert host.wait_up(5) and mcu.hl.wait_up(5)
        host.get_event(1)
        # numbered records, each its own frame: what arrives must be whole and in order
        for i in range(300):
            mcu.hl.send_tls(2, i.to_bytes(2, "big") * 50)
            time.sleep(0.001)
        time.sleep(0.3)
        noisy.on = False
        mcu.hl.send_tls(2, b"\xff\xff" * 50)              # the end marker, undamaged
        ev = collect(host, lambda ev: any(e[0] == "tls_record" and e[2] == b"\xff\xff" * 50 for e in ev))
        got = [int.from_bytes(e[2][:2], "big") for e in ev if e[0] == "tls_record"][:-1]
        assert got == sorted(set(got))                    # in order, none twice
        assert all(e[2] == e[2][:2] * 50 for e in ev if e[0] == "tls_record")
        s = host.stats()
        errors = s["rx_crc"] + s["rx_truncated"] + s["rx_too_long"] + s["rx_length"]
        assert noisy.damaged > 20 and errors > 20, (noisy.damaged, s)
        assert 300 - 3 * noisy.damaged <= len(got) < 300
        # the link may have dropped and come back under this much noise; it is up now
        assert host.wait_up(2)
        assert host.sign(1, msg.ALG_ECDSA_P256_SHA256, b"\x03" * 32)[0] == msg.OK
    finally:
        host.close()
        mcu.hl.close()


def test_signer_for_host_tls_from_the_loop_thread():
    # host.tls calls signer(digest, scheme) synchronously while it is fed
    # TLS bytes: here from on_event, in the HostLink's own loop thread.  The
    # signature comes over the link, and events arriving meanwhile are
    # handed on after the callback returns, in order.
    p521 = ec.generate_private_key(ec.SECP521R1())
    e448 = ed448.Ed448PrivateKey.generate()
    pair = PtyPair()
    mcu = Mcu(pair.slave, keys={0x7FFF0201: p521, 0x7FFF0202: e448})
    seen = []
    done = threading.Event()
    digest = bytes(range(64))
    message = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + bytes(48)

    def on_event(ev):
        seen.append(ev[:3])
        if ev[0] == "tls_record" and ev[2] == b"sign now":
            sig = host.signer(0x7FFF0201)(digest, "ecdsa_secp521r1_sha512")
            p521.public_key().verify(sig, digest, ec.ECDSA(utils.Prehashed(hashes.SHA512())))
            sig = host.signer(0x7FFF0202)(message, "ed448")
            e448.public_key().verify(sig, message)
            assert len(sig) == 114
            with pytest.raises(HostLinkError):
                host.signer(0xDEAD)(digest, "ecdsa_secp521r1_sha512")
            with pytest.raises(HostLinkError):
                host.signer(0x7FFF0201)(digest, "rsa_pss_rsae_sha256")
            seen.append(("signed",))
        if ev[0] == "tls_record" and ev[2] == b"last":
            done.set()

    host = host_link(pair.master, on_event=on_event)
    try:
        assert host.wait_up(5) and mcu.hl.wait_up(5)
        for data in (b"sign now", b"after 1", b"after 2", b"last"):
            mcu.hl.send_tls(4, data)
        assert done.wait(5)
        assert seen[1:] == [("tls_record", 4, b"sign now"), ("signed",), ("tls_record", 4, b"after 1"),
                            ("tls_record", 4, b"after 2"), ("tls_record", 4, b"last")]
        assert host.errors == []
    finally:
        host.close()
        mcu.hl.close()


def test_poll_mode_without_a_thread():
    pair = PtyPair()
    mcu = Mcu(pair.slave)
    host = host_link(pair.master, start=False)          # the owner's loop steps it
    try:
        assert host.wait_up(5)
        assert host.get_event(1)[0] == "link_up"
        assert host.config_get(b"max_current_a") == (msg.OK, b"32")
        mcu.hl.send_ocpp(b"[2]")
        assert host.get_event(2) == ("ocpp_event", b"[2]")
        assert host.get_event(0.2) is None
        assert host.up
    finally:
        host.close()
        mcu.hl.close()
