"""One TLS 1.3 endpoint per TCP connection the MCU announces, between the
MCU-host link's TLS messages and host.tls: the part of a board's host that
the process-based sim (host_side.HostSide, HostLink in a thread) and the
virtual-clock one (hostsim.SimHost, a Link stepped in process) share.

    bridge = TlsBridge(link, make_endpoint)
    bridge.handle(ev)          # True for the events it takes: tls_event,
                               # tls_record, app_data, link_lost
    bridge.handshakes          # one record dict per connection

`link` has send_tls, send_app_data and send_tls_event (firmware Link or
HostLink); make_endpoint(conn) returns (TlsServer or TlsClient, extra
fields for the record), or raises: the MCU then gets TLS_ERROR.
"""
from cryptography import x509
from micro15118.hostlink import msg

from host.tls import CLOSED, FAILED, OPEN, TlsClient

VERSIONS = {(3, 4): "TLSv1.3", (3, 3): "TLSv1.2"}


def subject(cert):
    return cert.subject.rfc4514_string()


class TlsBridge:
    def __init__(self, link, make_endpoint):
        self.link = link
        self.make_endpoint = make_endpoint
        self.endpoints = {}         # conn -> (endpoint, record)
        self.handshakes = []

    def handle(self, ev):
        name = ev[0]
        if name == "tls_event":
            self._tls_event(ev[1], ev[2])
        elif name == "tls_record":
            if ev[1] in self.endpoints:
                self.endpoints[ev[1]][0].feed_records(ev[2])
                self._pump(ev[1])
        elif name == "app_data":
            ep = self.endpoints.get(ev[1])
            if ep is not None and ep[0].state == OPEN:
                ep[0].send_plaintext(ev[2])
                self._pump(ev[1])
        elif name == "link_lost":
            for conn in list(self.endpoints):
                self._end(conn, "host link lost")
        else:
            return False
        return True

    def _tls_event(self, conn, event):
        if event == msg.TLS_OPEN:
            if conn in self.endpoints:
                self._end(conn, "reopened")
            rec = {"conn": conn, "state": "handshake"}
            self.handshakes.append(rec)
            try:
                ep, extra = self.make_endpoint(conn)
            except Exception as e:  # noqa: BLE001 - no chain from the MCU, a bad one...
                rec.update(state="failed", error="%s: %s" % (type(e).__name__, e))
                self.link.send_tls_event(conn, msg.TLS_ERROR, 0, rec["error"][:200].encode())
                return
            rec["role"] = "client" if isinstance(ep, TlsClient) else "server"
            rec.update(extra)
            self.endpoints[conn] = (ep, rec)
            if isinstance(ep, TlsClient):
                ep.start()
            self._pump(conn)
        elif event == msg.TLS_CLOSE:
            ep = self.endpoints.get(conn)
            if ep is not None:
                ep[0].close()
                out = ep[0].records_out()
                if out:
                    self.link.send_tls(conn, out)
                self.link.send_tls_event(conn, msg.TLS_CLOSE)
                self._end(conn, None)
        elif event == msg.TLS_ERROR:
            self._end(conn, "the MCU reported an error")

    def _pump(self, conn):
        ep, rec = self.endpoints[conn]
        out = ep.records_out()
        if out:
            self.link.send_tls(conn, out)
        plain = ep.plaintext_out()
        if plain:
            self.link.send_app_data(conn, plain)
            rec["plaintext_in"] = rec.get("plaintext_in", 0) + len(plain)
        if ep.state == OPEN and rec["state"] == "handshake":
            rec.update(state="open", version=VERSIONS.get(tuple(ep._conn.version), str(ep._conn.version)),
                       suite=ep.cipher_suite, group=ep.group, signatures=ep.signatures,
                       peer_chain=[subject(c) for c in ep.peer_chain or ()])
            if isinstance(ep, TlsClient):
                if ep.ocsp is not None:
                    rec["ocsp"] = ep.ocsp.status
            else:
                rec["ocsp_stapled"] = ep.stapled
            self.link.send_tls_event(conn, msg.TLS_ESTABLISHED, 0, (ep.cipher_suite or "").encode())
        elif ep.state == FAILED:
            err = ep.error
            rec.update(state="failed", error=repr(err), signatures=ep.signatures)
            self.link.send_tls_event(conn, msg.TLS_ERROR, (err.alert or 0) if err else 0,
                                     str(err)[:200].encode())
            del self.endpoints[conn]
        elif ep.state == CLOSED:
            # the peer's close_notify: the MCU closes TCP
            self.link.send_tls_event(conn, msg.TLS_CLOSE)
            self._end(conn, None)

    def _end(self, conn, why):
        ep = self.endpoints.pop(conn, None)
        if ep is None:
            return
        rec = ep[1]
        if rec["state"] == "open":
            rec["state"] = "closed"
        if why:
            rec.setdefault("end", why)


def chain_subjects(ders):
    return [subject(x509.load_der_x509_certificate(d)) for d in ders]
