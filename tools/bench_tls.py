"""Benchmark the host's TLS 1.3 (host/tls) and print figures.

    python tools/bench_tls.py [--runs N] [--json] [--skip memory,tcp,openssl,bulk,aead]

Every handshake is the -20 one: TLS_AES_256_GCM_SHA384, secp521r1, mutual
authentication with P-521/ECDSA-SHA512 chains (leaf + 2 sub-CAs), the
signature made through the signer callback (a software key standing in for
the SE050, so the SE050's own signing time is not included), path
validation on both sides and, for ours, the OCSP staple checked.

1. memory: our TlsServer <-> our TlsClient in one thread, no sockets;
   CPU time of each side;
2. tcp: the same over 127.0.0.1 (server in a thread);
3. openssl: OpenSSL 3 (through Python's ssl module) as the peer: OpenSSL
   client -> our server, our client -> OpenSSL server, and OpenSSL <->
   OpenSSL for reference (no OCSP staple on the OpenSSL-only path);
4. bulk: 1 MiB of application data each way through an open connection;
5. aead: one 16 KiB record sealed with tlslite's pure-Python AES-GCM
   against the cryptography AEAD the record layer uses.

Handshake figures are medians of N (wall clock, loopback, noisy on a busy
machine).  With --json the last line is one JSON object.
"""
import argparse
import json
import os
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time

from host.tls import OPEN, SoftwareSigner, TlsClient, TlsServer, bridge
from host.tls.testpki import TestPki

MIB = 1 << 20


def ms(values):
    return round(statistics.median(values) * 1000, 2) if values else None


def spread(values):
    if not values:
        return "n/a"
    v = sorted(values)
    return "min %.1f / median %.1f / max %.1f ms (n=%d)" % (
        v[0] * 1000, statistics.median(v) * 1000, v[-1] * 1000, len(v))


class Timed:
    """Wraps an endpoint; accumulates the time spent in its calls."""

    def __init__(self, ep):
        self.ep = ep
        self.t = 0.0

    def __getattr__(self, name):
        f = getattr(self.ep, name)
        if not callable(f):
            return f

        def call(*a, **kw):
            t0 = time.perf_counter()
            try:
                return f(*a, **kw)
            finally:
                self.t += time.perf_counter() - t0
        return call


def new_pair(pki, staple):
    server = TlsServer(pki.secc_chain, SoftwareSigner(pki.secc.key),
                       [pki.root.pem], ocsp_staple=staple)
    client = TlsClient(pki.vehicle_chain, SoftwareSigner(pki.vehicle.key),
                       [pki.root.pem], require_ocsp=True)
    return server, client


def shuttle(client, server):
    for _ in range(20):
        moved = False
        d = client.records_out()
        if d:
            server.feed_records(d)
            moved = True
        d = server.records_out()
        if d:
            client.feed_records(d)
            moved = True
        if not moved:
            return


def bench_memory(pki, staple, runs):
    total, srv_t, cli_t = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        s, c = new_pair(pki, staple)
        s, c = Timed(s), Timed(c)
        shuttle(c, s)
        total.append(time.perf_counter() - t0)
        assert s.ep.state == c.ep.state == OPEN, (s.ep.error, c.ep.error)
        srv_t.append(s.t)
        cli_t.append(c.t)
    return {"total_ms": ms(total), "server_ms": ms(srv_t),
            "client_ms": ms(cli_t)}, (total, srv_t, cli_t)


def serve_ours(pki, staple, n, ready):
    ls = bridge.listen()
    ready.append(ls.getsockname()[1])

    def run():
        for _ in range(n):
            conn, _ = ls.accept()
            server = TlsServer(pki.secc_chain, SoftwareSigner(pki.secc.key),
                               [pki.root.pem], ocsp_staple=staple)
            try:
                bridge.pump(server, conn, timeout=10)
            except TimeoutError:
                pass
            conn.close()
        ls.close()
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def serve_openssl(ctx, n, ready):
    ls = bridge.listen()
    ready.append(ls.getsockname()[1])

    def run():
        for _ in range(n):
            conn, _ = ls.accept()
            try:
                tls = ctx.wrap_socket(conn, server_side=True)
                tls.recv(1)          # until the client closes
                tls.close()
            except (ssl.SSLError, OSError):
                conn.close()
        ls.close()
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def client_ours(pki, port):
    t0 = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = TlsClient(pki.vehicle_chain, SoftwareSigner(pki.vehicle.key),
                       [pki.root.pem])
    ok = bridge.handshake(client, sock)
    dt = time.perf_counter() - t0
    assert ok, client.error
    client.close()
    sock.sendall(client.records_out())
    sock.close()
    return dt


def client_openssl(ctx, port):
    t0 = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = ctx.wrap_socket(sock)     # handshake on connect
    dt = time.perf_counter() - t0
    tls.close()
    return dt


def openssl_contexts(files):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.minimum_version = sctx.maximum_version = ssl.TLSVersion.TLSv1_3
    sctx.load_cert_chain(files["secc_fullchain.pem"], files["secc.key"])
    sctx.load_verify_locations(files["root.pem"])
    sctx.verify_mode = ssl.CERT_REQUIRED
    sctx.set_ecdh_curve("secp521r1")
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.minimum_version = cctx.maximum_version = ssl.TLSVersion.TLSv1_3
    cctx.check_hostname = False
    cctx.load_cert_chain(files["vehicle_fullchain.pem"], files["vehicle.key"])
    cctx.load_verify_locations(files["root.pem"])
    cctx.set_ecdh_curve("secp521r1")
    return sctx, cctx


def bench_tcp(pki, staple, runs, files, which):
    out = {}
    sctx, cctx = openssl_contexts(files)
    plans = {
        "ours_ours": (lambda r: serve_ours(pki, staple, runs, r),
                      lambda p: client_ours(pki, p)),
        "openssl_client_ours_server": (
            lambda r: serve_ours(pki, staple, runs, r),
            lambda p: client_openssl(cctx, p)),
        "ours_client_openssl_server": (
            lambda r: serve_openssl(sctx, runs, r),
            lambda p: client_ours(pki, p)),
        "openssl_openssl": (lambda r: serve_openssl(sctx, runs, r),
                            lambda p: client_openssl(cctx, p)),
    }
    for name in which:
        serve, connect = plans[name]
        ready = []
        th = serve(ready)
        times = [connect(ready[0]) for _ in range(runs)]
        th.join(10)
        out[name] = times
    return out


def bench_bulk(pki, staple):
    s, c = new_pair(pki, staple)
    shuttle(c, s)
    chunk = os.urandom(16384)
    t0 = time.perf_counter()
    for _ in range(MIB // len(chunk)):
        c.send_plaintext(chunk)
        s.feed_records(c.records_out())
        s.plaintext_out()
        s.send_plaintext(chunk)
        c.feed_records(s.records_out())
        c.plaintext_out()
    dt = time.perf_counter() - t0
    return round(2 * MIB / dt / 1e6, 1)


def bench_aead():
    from tlslite.utils import python_aesgcm
    from host.tls._tlslite import _aes_gcm
    key, nonce, aad = os.urandom(32), os.urandom(12), os.urandom(5)
    data = bytearray(os.urandom(16384))
    res = {}
    for name, ctx in (("tlslite_python", python_aesgcm.new(bytearray(key))),
                      ("cryptography", _aes_gcm(key))):
        n, t0 = 0, time.perf_counter()
        while True:
            ctx.seal(bytearray(nonce), data, bytearray(aad))
            n += 1
            dt = time.perf_counter() - t0
            if dt > 0.3:
                break
        res[name] = round(dt / n * 1000, 3)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", action="store_true",
                    help="one JSON object on the last line")
    ap.add_argument("--skip", default="",
                    help="comma list of: memory,tcp,openssl,bulk,aead")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    pki = TestPki()
    staple = pki.ocsp_response()
    with tempfile.TemporaryDirectory(prefix="bench_tls_") as tmp:
        return run(args, skip, pki, staple, pki.write(tmp))


def run(args, skip, pki, staple, files):
    result = {"runs": args.runs}

    print("TLS 1.3, TLS_AES_256_GCM_SHA384, secp521r1, mutual P-521 "
          "(median of %d)" % args.runs)
    if "memory" not in skip:
        bench_memory(pki, staple, 3)    # warm-up
        res, (total, srv, cli) = bench_memory(pki, staple, args.runs)
        result["memory"] = res
        print("1. ours <-> ours, in memory (both sides, one thread)")
        print("   handshake          ", spread(total))
        print("   server side (CPU)  ", spread(srv))
        print("   client side (CPU)  ", spread(cli))
    which = []
    if "tcp" not in skip:
        which.append("ours_ours")
    if "openssl" not in skip:
        which += ["openssl_client_ours_server", "ours_client_openssl_server",
                  "openssl_openssl"]
    if which:
        tcp = bench_tcp(pki, staple, args.runs, files, which)
        result["tcp"] = {k: ms(v) for k, v in tcp.items()}
        print("2./3. over 127.0.0.1 (connect + handshake, client's view)")
        labels = {"ours_ours": "ours client -> ours server      ",
                  "openssl_client_ours_server": "OpenSSL client -> ours server   ",
                  "ours_client_openssl_server": "ours client -> OpenSSL server   ",
                  "openssl_openssl": "OpenSSL client -> OpenSSL server"}
        for k, v in tcp.items():
            print("   %s %s" % (labels[k], spread(v)))
        if "ours_ours" in tcp and "openssl_openssl" in tcp:
            r = statistics.median(tcp["ours_ours"]) / \
                statistics.median(tcp["openssl_openssl"])
            result["tcp"]["ours_vs_openssl_ratio"] = round(r, 2)
            print("   ours/ours vs OpenSSL/OpenSSL: x%.1f" % r)
    if "bulk" not in skip:
        result["bulk_mb_s"] = bench_bulk(pki, staple)
        print("4. bulk, 1 MiB each way in 16 KiB writes: %.1f MB/s"
              % result["bulk_mb_s"])
    if "aead" not in skip:
        result["aead_ms_per_16k_record"] = bench_aead()
        a = result["aead_ms_per_16k_record"]
        print("5. seal one 16 KiB record: tlslite pure-Python AES-GCM %.2f ms,"
              " cryptography %.3f ms" % (a["tlslite_python"],
                                         a["cryptography"]))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
