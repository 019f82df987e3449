"""TLS 1.3 on the host for the MCU (host/tls): our sans-socket TlsServer and
TlsClient against each other and against OpenSSL, and a loopback capture
decoded and decrypted by tshark.

What is checked: the -20 profile on the wire (TLS 1.3 only, suites
TLS_AES_256_GCM_SHA384 then TLS_CHACHA20_POLY1305_SHA256, groups secp521r1
and x448, ecdsa_secp521r1_sha512 (+ ed448), no middlebox ChangeCipherSpec),
mutual authentication with path validation, certificate_required for a
client without a certificate, OCSP stapling (good, revoked, forged, stale),
the NSS key log, and that the signer is called exactly once per handshake
per side with a 64-byte digest while the TLS objects never hold a private
key.  The PKI is generated per test module (host/tls/testpki.py).
"""
import datetime
import os
import random
import signal
import socket
import subprocess
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509.oid import ExtendedKeyUsageOID
from ecdsa.keys import SigningKey

# host.tls first: it imports tlslite quietly (asyncore DeprecationWarning)
from host.tls import (CLOSED, FAILED, OPEN, SIG_ALGS_ED448, SoftwareSigner,
                      TlsClient, TlsServer, bridge, validate_chain)
from host.tls.testpki import TestPki, issue, _name
from host.tls.validate import ChainError, OcspError, check_ocsp
from peerenv import require_tool
from tlslite.messages import ClientHello
from tlslite.utils.codec import Parser

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)

# V2GTP-like payloads (header: version, inverse, payload type, length)
def v2gtp(ptype, body):
    return bytes([1, 0xFE]) + ptype.to_bytes(2, "big") + \
        len(body).to_bytes(4, "big") + body


REQ = v2gtp(0x8002, b"SessionSetupReq" + bytes(range(40)))
RES = v2gtp(0x8002, b"SessionSetupRes" + bytes(range(60)))
BIG = v2gtp(0x8004, os.urandom(20000))   # > one 16 KiB record


@pytest.fixture(scope="module")
def pki():
    return TestPki()


@pytest.fixture(scope="module")
def files(pki, tmp_path_factory):
    return pki.write(str(tmp_path_factory.mktemp("pki")))


def records(stream):
    """(content type, legacy version, length) of each record in a stream."""
    out, i = [], 0
    while i + 5 <= len(stream):
        n = int.from_bytes(stream[i + 3:i + 5], "big")
        out.append((stream[i], stream[i + 1:i + 3], n))
        i += 5 + n
    assert i == len(stream), "stream does not end on a record boundary"
    return out


class Wire:
    """Connects two endpoints in memory; records every byte each side sent,
    optionally re-split into random pieces."""

    def __init__(self, client, server, split=None):
        self.c, self.s = client, server
        self.c2s, self.s2c = bytearray(), bytearray()
        self.split = split

    def _feed(self, ep, data):
        if not self.split:
            ep.feed_records(data)
            return
        i = 0
        while i < len(data):
            n = self.split()
            ep.feed_records(data[i:i + n])
            i += n

    def run(self, rounds=20):
        for _ in range(rounds):
            moved = False
            d = self.c.records_out()
            if d:
                self.c2s += d
                self._feed(self.s, d)
                moved = True
            d = self.s.records_out()
            if d:
                self.s2c += d
                self._feed(self.c, d)
                moved = True
            if not moved:
                return
        raise AssertionError("endpoints never went quiet")


def pair(pki, server_kw=None, client_kw=None, client_chain=True, **wire_kw):
    ss = SoftwareSigner(pki.secc.key)
    cs = SoftwareSigner(pki.vehicle.key)
    server = TlsServer(pki.secc_chain, ss, [pki.root.pem],
                       **dict(dict(ocsp_staple=pki.ocsp_response()),
                              **(server_kw or {})))
    client = TlsClient(pki.vehicle_chain if client_chain else None,
                       cs if client_chain else None, [pki.root.pem],
                       **(client_kw or {}))
    wire = Wire(client, server, **wire_kw)
    wire.run()
    return server, client, ss, cs, wire


def no_private_keys(obj, exclude):
    """Walk the object graph from ``obj``; fail on any private key."""
    seen, todo = set(), [obj]
    priv = (ec.EllipticCurvePrivateKey, ed448.Ed448PrivateKey, SigningKey)
    while todo:
        o = todo.pop()
        if id(o) in seen or o is exclude:
            continue
        seen.add(id(o))
        assert not isinstance(o, priv), "private key reachable: %r" % (o,)
        if isinstance(o, (str, bytes, bytearray, int, float, type(None))):
            continue
        if isinstance(o, dict):
            todo.extend(o.values())
        elif isinstance(o, (list, tuple, set)):
            todo.extend(o)
        elif hasattr(o, "__dict__") and not isinstance(o, type) and \
                type(o).__module__.split(".")[0] in ("host", "tlslite"):
            todo.extend(vars(o).values())
    return len(seen)


# --- our server <-> our client ------------------------------------------

def test_pair_exchanges_v2gtp_both_ways(pki):
    keylog = []
    server, client, ss, cs, wire = pair(
        pki, client_kw=dict(keylog=keylog.append, require_ocsp=True))
    assert server.state == client.state == OPEN, (server.error, client.error)
    assert client.cipher_suite == server.cipher_suite == \
        "TLS_AES_256_GCM_SHA384"
    assert client.group == server.group == "secp521r1"

    client.send_plaintext(REQ)
    wire.run()
    assert server.plaintext_out() == REQ
    server.send_plaintext(RES)
    server.send_plaintext(BIG)
    wire.run()
    assert client.plaintext_out() == RES + BIG
    client.send_plaintext(BIG)
    wire.run()
    assert server.plaintext_out() == BIG

    # who is who
    assert server.peer_leaf == pki.vehicle.cert
    assert server.peer_chain == [pki.vehicle.cert, pki.veh_sub2.cert,
                                 pki.veh_sub1.cert, pki.root.cert]
    assert client.peer_chain == [pki.secc.cert, pki.cpo_sub2.cert,
                                 pki.cpo_sub1.cert, pki.root.cert]
    assert len(server.peer_leaf_sha512) == 64
    assert server.stapled and client.ocsp.status == "good"
    assert client.ocsp.signer == "delegated"
    assert server.export_keying_material(b"EXPORTER-test", 32) == \
        client.export_keying_material(b"EXPORTER-test", 32)

    # one signature per side per handshake, over a 64-byte SHA-512 digest
    assert ss.calls == [("ecdsa_secp521r1_sha512", 64)]
    assert cs.calls == [("ecdsa_secp521r1_sha512", 64)]
    assert server.signatures == client.signatures == 1
    # and the TLS objects never hold a private key (the signer is outside)
    assert no_private_keys(server, exclude=ss) > 50
    assert no_private_keys(client, exclude=cs) > 50

    # NSS key log, client random from the ClientHello
    ch_random = wire.c2s[11:43].hex()
    labels = [l.split()[0] for l in keylog]
    assert labels == ["CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                      "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"]
    for line in keylog:
        _, rnd, secret = line.split()
        assert rnd == ch_random and len(secret) == 96   # SHA-384 secrets

    # no middlebox ChangeCipherSpec (content type 20), either direction
    for stream in (wire.c2s, wire.s2c):
        assert 20 not in [t for t, _, _ in records(stream)]

    client.close()
    wire.run()
    assert client.state == CLOSED and server.state == CLOSED
    assert server.plaintext_out() == b""


def test_records_split_anywhere(pki):
    rnd = random.Random(7)
    server, client, _, _, wire = pair(pki, split=lambda: rnd.randint(1, 9))
    assert server.state == client.state == OPEN
    client.send_plaintext(REQ)       # queued data goes out as well
    server.send_plaintext(BIG)
    wire.run(rounds=50)
    assert server.plaintext_out() == REQ
    assert client.plaintext_out() == BIG


def test_plaintext_queued_until_handshake_done(pki):
    ss = SoftwareSigner(pki.secc.key)
    cs = SoftwareSigner(pki.vehicle.key)
    server = TlsServer(pki.secc_chain, ss, [pki.root.pem])
    client = TlsClient(pki.vehicle_chain, cs, [pki.root.pem])
    client.send_plaintext(REQ)
    Wire(client, server).run()
    assert server.plaintext_out() == REQ
    assert client.ocsp is None    # no staple configured, none required


def test_transport_closed_mid_handshake(pki):
    server = TlsServer(pki.secc_chain, SoftwareSigner(pki.secc.key),
                       [pki.root.pem])
    client = TlsClient(pki.vehicle_chain, SoftwareSigner(pki.vehicle.key),
                       [pki.root.pem])
    hello = client.records_out()
    server.feed_records(hello[:40])
    assert server.state == "handshake" and server.records_out() == b""
    server.feed_eof()
    assert server.state == FAILED and server.error.alert is None
    assert server.peer_chain is None
    with pytest.raises(Exception):
        server.send_plaintext(b"x")


def test_client_hello_is_the_20_profile(pki):
    for sig_algs, want in ((None, [0x0603]),
                           (SIG_ALGS_ED448, [0x0603, 0x0808])):
        kw = dict(sig_algs=sig_algs) if sig_algs else {}
        client = TlsClient(pki.vehicle_chain, SoftwareSigner(pki.vehicle.key),
                           [pki.root.pem], **kw)
        data = client.records_out()
        (ctype, _, n), = records(data)
        assert ctype == 22
        body = data[5:]
        assert body[0] == 1   # client_hello
        ch = ClientHello().parse(Parser(bytearray(body[1:])))
        assert ch.cipher_suites == [0x1302, 0x1303]   # no SCSV, no TLS 1.2
        assert len(ch.session_id) == 0                 # no middlebox compat
        exts = {e.extType: e for e in ch.extensions}
        assert exts[43].versions == [(3, 4)]
        assert exts[10].groups == [25, 30]              # secp521r1, x448
        assert [e.group for e in exts[51].client_shares] == [25]
        assert [(a << 8) | b for a, b in exts[13].sigalgs] == want
        assert 5 in exts                                # status_request
        assert set(exts) == {43, 10, 13, 51, 5}
        assert client.signatures == 0


def test_no_client_certificate_gets_certificate_required(pki):
    server, client, ss, _, wire = pair(pki, client_chain=False)
    assert server.state == client.state == FAILED
    assert server.error.alert == 116 and server.error.sent
    assert client.error.alert == 116 and not client.error.sent
    assert server.peer_chain is None
    assert ss.calls == [("ecdsa_secp521r1_sha512", 64)]   # server signed
    # the alert went out encrypted (after the server's Finished)
    assert records(wire.s2c)[-1][0] == 23


def test_unknown_vehicle_ca_is_refused(pki):
    other = TestPki()
    server = TlsServer(pki.secc_chain, SoftwareSigner(pki.secc.key),
                       [pki.root.pem])
    cs = SoftwareSigner(other.vehicle.key)
    client = TlsClient(other.vehicle_chain, cs, [pki.root.pem])
    Wire(client, server).run()
    assert server.state == FAILED and server.error.alert == 48   # unknown_ca
    assert client.error.alert == 48 and cs.calls


def test_expired_and_profile_rejections(pki):
    # vehicle chain validated two years on: expired
    later = pki.now + 1500 * DAY
    server, client, _, _, _ = pair(pki, server_kw=dict(now=lambda: later))
    assert server.error.alert == 45, server.error      # certificate_expired

    # profile_check hook sees the validated path; a violation refuses it
    seen = []

    def profile(path):
        seen.append(path)
        return ["vehicle leaf: DC must be OEM (test)"]
    server, client, _, _, _ = pair(pki, server_kw=dict(profile_check=profile))
    assert seen and seen[0][0] == pki.vehicle.cert and \
        seen[0][-1] == pki.root.cert
    assert server.error.alert == 42 and "-20 profile" in str(server.error)

    # the client checks the SECC chain the same way
    server, client, ss, cs, _ = pair(
        pki, client_kw=dict(profile_check=lambda p: ["no"]))
    assert client.error.alert == 42 and server.error.alert == 42
    assert cs.calls == []            # refused before the client signs


def test_failing_signer_sends_internal_error(pki):
    def broken(digest, algorithm):
        raise OSError("SE050 link down")
    server = TlsServer(pki.secc_chain, broken, [pki.root.pem])
    client = TlsClient(pki.vehicle_chain, SoftwareSigner(pki.vehicle.key),
                       [pki.root.pem])
    Wire(client, server).run()
    assert server.error.alert == 80 and server.error.sent
    assert client.error.alert == 80 and not client.error.sent

    def garbage(digest, algorithm):
        return b"\x30\x06\x02\x01\x01\x02\x01\x01"
    server = TlsServer(pki.secc_chain, garbage, [pki.root.pem])
    client = TlsClient(pki.vehicle_chain, SoftwareSigner(pki.vehicle.key),
                       [pki.root.pem])
    Wire(client, server).run()
    assert server.state == client.state == FAILED


@pytest.mark.parametrize("case,alert", [
    ("revoked", 44), ("forged", 113), ("other_cert", 113), ("stale", 113),
    ("missing_required", 113)])
def test_ocsp_staple_failures(pki, case, alert):
    staple = {
        "revoked": lambda: pki.ocsp_response(status="revoked"),
        "forged": lambda: pki.ocsp_response(responder=TestPki().ocsp_signer),
        "other_cert": lambda: pki.ocsp_response(cert=pki.cpo_sub2,
                                                issuer=pki.cpo_sub1,
                                                delegated=False),
        "stale": lambda: pki.ocsp_response(
            this_update=pki.now - 3 * DAY, next_update=pki.now - 2 * DAY),
        "missing_required": lambda: None,
    }[case]()
    server, client, _, cs, _ = pair(
        pki, server_kw=dict(ocsp_staple=staple),
        client_kw=dict(require_ocsp=(case == "missing_required")))
    assert client.state == FAILED and client.error.sent
    assert client.error.alert == alert, client.error
    assert server.error.alert == alert
    assert cs.calls == []


def test_ocsp_signed_by_issuer_and_unknown():
    pki = TestPki()
    leaf, issuer = pki.secc.cert, pki.cpo_sub2.cert
    res = check_ocsp(pki.ocsp_response(delegated=False), leaf, issuer)
    assert (res.status, res.signer) == ("good", "issuer")
    res = check_ocsp(pki.ocsp_response(status="unknown"), leaf, issuer)
    assert res.status == "unknown"
    # a delegated signer without id-kp-OCSPSigning is not a responder
    bad = issue(_name("not an OCSP signer", "CPO"),
                ec.generate_private_key(ec.SECP521R1()), pki.cpo_sub2)
    with pytest.raises(OcspError, match="OCSPSigning"):
        check_ocsp(pki.ocsp_response(responder=bad), leaf, issuer)
    with pytest.raises(OcspError, match="parse"):
        check_ocsp(b"\x30\x03\x0a\x01\x00", leaf, issuer)


def test_path_validation_rules():
    pki = TestPki()
    roots = [pki.root.cert]
    ok = validate_chain(pki.vehicle_chain, roots, "client")
    assert ok[0] == pki.vehicle.cert and ok[-1] == pki.root.cert
    # chain order does not matter, extra certificates are ignored
    chain = [pki.vehicle.pem, pki.cpo_sub1.pem, pki.veh_sub1.pem,
             pki.veh_sub2.pem]
    assert validate_chain(chain, roots, "client") == ok
    # missing sub-CA
    with pytest.raises(ChainError) as e:
        validate_chain([pki.vehicle.pem, pki.veh_sub2.pem], roots, "client")
    assert e.value.alert == 48
    k = lambda: ec.generate_private_key(ec.SECP521R1())  # noqa: E731
    # pathLen 0 sub-CA issuing another sub-CA
    sub3 = issue(_name("Sub-CA 3", "OEM"), k(), pki.veh_sub2, ca=True)
    leaf3 = issue(_name("leaf", "OEM"), k(), sub3)
    with pytest.raises(ChainError, match="pathLen") as e:
        validate_chain([leaf3.pem, sub3.pem, pki.veh_sub2.pem,
                        pki.veh_sub1.pem], roots, "client")
    assert e.value.alert == 42
    # an end-entity certificate used as a CA
    ee = issue(_name("ee", "OEM"), k(), pki.veh_sub2)
    leaf_of_ee = issue(_name("leaf", "OEM"), k(), ee)
    with pytest.raises(ChainError, match="not a CA"):
        validate_chain([leaf_of_ee.pem, ee.pem, pki.veh_sub2.pem,
                        pki.veh_sub1.pem], roots, "client")
    # leaf without digitalSignature
    noku = issue(_name("leaf", "OEM"), k(), pki.veh_sub2,
                 key_usage=dict(key_agreement=True))
    with pytest.raises(ChainError, match="digitalSignature"):
        validate_chain([noku.pem, pki.veh_sub2.pem, pki.veh_sub1.pem],
                       roots, "client")
    # a P-256 key anywhere on the path is not -20
    p256 = issue(_name("leaf", "OEM"), ec.generate_private_key(ec.SECP256R1()),
                 pki.veh_sub2)
    with pytest.raises(ChainError, match="not allowed") as e:
        validate_chain([p256.pem, pki.veh_sub2.pem, pki.veh_sub1.pem],
                       roots, "client")
    assert e.value.alert == 43
    # not yet valid
    with pytest.raises(ChainError) as e:
        validate_chain(pki.vehicle_chain, roots, "client",
                       now=pki.now - 2 * DAY)
    assert e.value.alert == 45
    # EKU, when present, must fit the role
    srv_only = issue(_name("leaf", "OEM"), k(), pki.veh_sub2,
                     eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    chain = [srv_only.pem, pki.veh_sub2.pem, pki.veh_sub1.pem]
    validate_chain(chain, roots, "server")
    with pytest.raises(ChainError, match="extended key usage"):
        validate_chain(chain, roots, "client")


def test_ed448_profile_and_x448(pki):
    ed = TestPki("ed448")
    kw = dict(sig_algs=SIG_ALGS_ED448)
    for groups in (("secp521r1", "x448"), ("x448",)):
        server, client, ss, cs, wire = pair(
            ed, server_kw=kw, client_kw=dict(kw, groups=groups))
        assert server.state == client.state == OPEN, (server.error,
                                                     client.error)
        assert client.group == groups[0]
        # pure EdDSA: the signer gets the whole CertificateVerify content
        assert ss.calls == cs.calls == [("ed448", 146)]
        assert client.ocsp.status == "good"
    # an ECDSA-only server refuses Ed448 vehicles
    server = TlsServer(pki.secc_chain, SoftwareSigner(pki.secc.key),
                       [pki.root.pem, ed.root.pem])
    client = TlsClient(ed.vehicle_chain, SoftwareSigner(ed.vehicle.key),
                       [pki.root.pem], **kw)
    Wire(client, server).run()
    assert server.state == FAILED


# --- OpenSSL and tshark --------------------------------------------------

def serve_once(make_server, reply=True):
    """Our TlsServer behind a real localhost listener (one connection), in a
    thread.  Echoes 'RES:' + data once, then closes."""
    ls = bridge.listen()
    result = {}

    def run():
        conn, _ = ls.accept()
        ls.close()
        server = make_server()
        result["server"] = server
        result["sent"] = sent = bytearray()
        records_out = server.records_out

        def recording():
            data = records_out()
            sent.extend(data)
            return data
        server.records_out = recording
        got = bytearray()

        def on_plain(ep, data):
            got.extend(data)
            if reply and b"\n" in got:
                ep.send_plaintext(b"RES:" + bytes(got))
                ep.close()
        try:
            bridge.pump(server, conn, on_plaintext=on_plain, timeout=10)
        finally:
            result["got"] = bytes(got)
            conn.close()
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return ls.getsockname()[1], th, result


def s_client(port, files, *args, data=b"HELLO\n"):
    cmd = [require_tool("openssl", "openssl"), "s_client", "-connect",
           "127.0.0.1:%d" % port, "-ign_eof", "-CAfile", files["root.pem"],
           *args]
    return subprocess.run(cmd, input=data, capture_output=True, timeout=30)


def our_server(pki, **kw):
    return lambda: TlsServer(pki.secc_chain, SoftwareSigner(pki.secc.key),
                             [pki.root.pem],
                             ocsp_staple=pki.ocsp_response(), **kw)


def test_openssl_client_mutual_auth_with_ocsp_staple(pki, files):
    port, th, res = serve_once(our_server(pki))
    p = s_client(port, files, "-tls1_3", "-groups", "secp521r1", "-sigalgs",
                 "ecdsa_secp521r1_sha512", "-cert", files["vehicle.pem"],
                 "-cert_chain", files["vehicle_chain.pem"], "-key",
                 files["vehicle.key"], "-status", "-verify_return_error")
    th.join(10)
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    assert "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" in out
    assert "Verify return code: 0 (ok)" in out
    assert "OCSP Response Status: successful" in out
    assert "Cert Status: good" in out
    assert "Server Temp Key: ECDH, secp521r1" in out
    assert "Peer signature type: ECDSA" in out and "digest: SHA512" in out
    assert "RES:HELLO" in out
    server = res["server"]
    assert res["got"] == b"HELLO\n"
    assert server.stapled and server.signatures == 1
    assert server.peer_leaf == pki.vehicle.cert
    assert 20 not in [t for t, _, _ in records(bytes(res["sent"]))]


def test_openssl_client_hello_retry(pki, files):
    # x25519 key share first: our server asks again (HelloRetryRequest)
    port, th, res = serve_once(our_server(pki))
    p = s_client(port, files, "-tls1_3", "-groups", "X25519:X448",
                 "-cert", files["vehicle.pem"], "-cert_chain",
                 files["vehicle_chain.pem"], "-key", files["vehicle.key"])
    th.join(10)
    assert p.returncode == 0, p.stderr.decode()
    assert "Server Temp Key: X448" in p.stdout.decode()
    assert res["server"].group == "x448"
    # the ClientHello had a session id (OpenSSL's compatibility mode), and
    # still no ChangeCipherSpec after the HelloRetryRequest or ServerHello
    kinds = [t for t, _, _ in records(bytes(res["sent"]))]
    assert kinds[:2] == [22, 22] and 20 not in kinds


def test_openssl_tls12_is_refused(pki, files):
    port, th, res = serve_once(our_server(pki))
    p = s_client(port, files, "-tls1_2", "-cert", files["vehicle.pem"],
                 "-key", files["vehicle.key"])
    th.join(10)
    assert p.returncode != 0
    assert "alert protocol version" in p.stderr.decode()
    err = res["server"].error
    assert err.alert == 70 and err.sent


def test_openssl_client_without_certificate_is_refused(pki, files):
    port, th, res = serve_once(our_server(pki))
    p = s_client(port, files, "-tls1_3")
    th.join(10)
    assert "alert certificate required" in p.stderr.decode()
    assert "SSL alert number 116" in p.stderr.decode()
    assert res["server"].error.alert == 116
    assert res["got"] == b""


def test_openssl_server_accepts_our_client(pki, files):
    openssl = require_tool("openssl", "openssl")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = subprocess.Popen(
        [openssl, "s_server", "-accept", "127.0.0.1:%d" % port, "-naccept",
         "1", "-tls1_3", "-Verify", "1", "-verify_return_error",
         "-cert", files["secc.pem"], "-cert_chain", files["secc_chain.pem"],
         "-key", files["secc.key"], "-CAfile", files["root.pem"],
         "-status_file", files["secc_ocsp.der"], "-groups", "secp521r1:X448",
         ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        while True:
            line = proc.stdout.readline()
            assert line, "s_server did not start"
            if line.startswith(b"ACCEPT"):
                break
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        cs = SoftwareSigner(pki.vehicle.key)
        client = TlsClient(pki.vehicle_chain, cs, [pki.root.pem],
                           require_ocsp=True)
        assert bridge.handshake(client, sock), client.error
        assert client.cipher_suite == "TLS_AES_256_GCM_SHA384"
        assert client.ocsp.status == "good"
        assert cs.calls == [("ecdsa_secp521r1_sha512", 64)]
        client.send_plaintext(b"ev-req\n")
        bridge.pump(client, sock, until=lambda ep: True)
        proc.stdin.write(b"secc-res\n")
        proc.stdin.flush()
        got = bytearray()
        bridge.pump(client, sock, timeout=10, until=lambda ep: (
            got.extend(ep.plaintext_out()) or b"secc-res\n" in got))
        client.close()
        sock.sendall(client.records_out())
        sock.close()
        out = proc.communicate(timeout=10)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "ev-req" in out
    assert "CIPHER is TLS_AES_256_GCM_SHA384" in out
    assert "subject=CN = WMIVIN12345678901" in out   # our vehicle cert
    assert "Peer signature type: ECDSA" in out


def test_tshark_decrypts_a_capture(pki, tmp_path):
    tshark = require_tool("tshark", "tshark")
    keylog = str(tmp_path / "keys.log")
    pcap = str(tmp_path / "tls.pcapng")
    ls = bridge.listen()
    port = ls.getsockname()[1]
    cap = subprocess.Popen([tshark, "-i", "lo", "-f", "tcp port %d" % port,
                            "-w", pcap], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    try:
        while True:
            line = cap.stderr.readline()
            assert line, "tshark could not capture on lo (root needed)"
            if b"Capturing on" in line:
                break
        time.sleep(1.0)     # dumpcap is running but not yet reading
        result = {}

        def serve():
            conn, _ = ls.accept()
            server = our_server(pki)()

            def on_plain(ep, data):
                ep.send_plaintext(RES)
            bridge.pump(server, conn, on_plaintext=on_plain, timeout=10)
            result["server"] = server
            conn.close()
        th = threading.Thread(target=serve, daemon=True)
        th.start()
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        client = TlsClient(pki.vehicle_chain, SoftwareSigner(pki.vehicle.key),
                           [pki.root.pem], keylog=keylog)
        assert bridge.handshake(client, sock)
        client.send_plaintext(REQ)
        got = bytearray()
        bridge.pump(client, sock, timeout=10, until=lambda ep: (
            got.extend(ep.plaintext_out()) or len(got) >= len(RES)))
        assert bytes(got) == RES
        client.close()
        sock.sendall(client.records_out())
        sock.close()
        th.join(10)
        time.sleep(0.3)
    finally:
        cap.send_signal(signal.SIGINT)
        try:
            cap.wait(10)
        except subprocess.TimeoutExpired:
            cap.kill()
            cap.wait()
        ls.close()

    def fields(*names, keys=True):
        cmd = [tshark, "-r", pcap, "-d", "tcp.port==%d,tls" % port]
        if keys:
            cmd += ["-o", "tls.keylog_file:" + keylog]
        cmd += ["-T", "fields", "-E", "separator=|", "-E", "aggregator=,"]
        for n in names:
            cmd += ["-e", n]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return [l.split("|") for l in p.stdout.splitlines()]

    rows = fields("tls.record.version", "tls.record.content_type",
                  "tls.handshake.type", "tls.handshake.ciphersuite",
                  "tls.handshake.extensions_supported_group",
                  "tls.handshake.extensions.supported_version",
                  "data.data", "tls.alert_message.desc")
    ctypes = [t for r in rows for t in r[1].split(",") if t]
    htypes = [t for r in rows for t in r[2].split(",") if t]
    assert "20" not in ctypes                    # no ChangeCipherSpec
    assert "22" in ctypes and "23" in ctypes and "21" in ctypes
    # ClientHello, ServerHello, EncryptedExtensions, CertificateRequest,
    # Certificate, CertificateVerify, Finished (x2): decrypted
    for h in ("1", "2", "8", "13", "11", "15", "20"):
        assert h in htypes, (h, htypes)
    assert htypes.count("11") == 2 and htypes.count("20") == 2
    hello = next(r for r in rows if r[2] == "1")
    assert hello[3] == "0x1302,0x1303"
    assert hello[4] == "0x0019,0x001e"
    assert hello[5] == "0x0304"
    data = [bytes.fromhex(r[6]) for r in rows if r[6]]
    assert REQ in data and RES in data
    alerts = [r[7] for r in rows if r[7]]
    assert alerts and set(alerts) == {"0"}       # close_notify only
    # without the key log nothing decrypts
    rows = fields("tls.handshake.type", "data.data", keys=False)
    assert [r for r in rows if r[1]] == []
    assert {t for r in rows for t in r[0].split(",") if t} == {"1", "2"}
