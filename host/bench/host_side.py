"""The host PC of a simulated board, for TLS 1.3 over the MCU-host link.

    side = HostSide("charger", pki_dir, keylog=KeyLog("out/tls-keys.log"))
    # the firmware runs with --host-link side.path --tls 1 ...
    side.info()          # what result.json records: handshakes, link stats
    side.close()         # pulls the plug: the firmware sees its host link lost

Per firmware process one HostSide: a pty pair whose slave path the firmware
opens as its host-link port (drivers/hostport_unix.py), the host's end of
the link (host.hostlink.HostLink, in its own thread) on the master, and a
TLS 1.3 endpoint per TCP connection the MCU announces (TLS_EVENT OPEN):
host.tls.TlsServer for a charger, TlsClient for a vehicle.  The MCU's TCP
bytes arrive as TLS_RECORD and go back the same way; the plaintext V2GTP
travels as APP_DATA; TLS_EVENT ESTABLISHED (detail: the suite) lets the
MCU start its session, ERROR makes it reset TCP, CLOSE follows close_notify.

Where each key lives: the leaf's private key only in the board's SE050 (the
wire process's model); the host asks the MCU for the handshake signature
(SIGN_REQUEST, key object from the PKI's SE050 bundle) and for its
certificate chain (CERT_REQUEST), so it never holds a key of the board.
What the host holds is public: the trust roots (from the PKI: the root the
peer's chains lead to) and, on a charger, the OCSP staple for its leaf
(DIR/ocsp/<leaf>.der).

Plug-and-Charge (a charger's host, `pnc=Verifier`): the MCU sends the
evidence of each signed PnC AuthorizationReq (PNC_VERIFY_REQUEST); the host
decodes it, judges it with host.pnc.verify.Verifier (e.g. from_pki: the
PKI's roots, CRLs and OCSP responses) and answers the -20 ResponseCode with
the reasons.  `.pnc_log` keeps one record per request (code, reasons, eMAID,
verification time).  `hold_pnc=True` holds every request unanswered and
sets `.pnc_held` (the fault "host link lost while PnC is pending").
"""
import json
import os
import threading
import time

from cryptography import x509
from micro15118.hostlink import msg

from host.hostlink import HostLink, PtyPair
from host.pki import se050 as pki_se050
from host.pki.ca import Pki
from host.bench.tls_bridge import TlsBridge, chain_subjects
from host.tls import TlsClient, TlsServer

# the role's leaf in host/pki, and its SE050 bundle
LEAF = {"charger": ("secc_leaf", "charger"), "vehicle": ("vehicle_leaf", "vehicle")}


class KeyLog:
    """One NSS key log file for every endpoint of a run (both sides know the
    same secrets: each line is written once)."""

    def __init__(self, path):
        self.path = path
        self.lines = set()
        self.lock = threading.Lock()
        open(path, "w").close()

    def __call__(self, line):
        with self.lock:
            if line in self.lines:
                return
            self.lines.add(line)
            with open(self.path, "a") as f:
                f.write(line)


def split_der(data):
    """Concatenated DER certificates -> [bytes]."""
    out = []
    i = 0
    data = bytes(data)
    while i < len(data):
        if data[i] != 0x30 or i + 2 > len(data):
            raise ValueError("not a DER certificate at %d" % i)
        n = data[i + 1]
        if n < 0x80:
            head, length = 2, n
        else:
            k = n & 0x7F
            head, length = 2 + k, int.from_bytes(data[i + 2:i + 2 + k], "big")
        out.append(data[i:i + head + length])
        i += head + length
    return out


def chain_files(pki_dir, role):
    """The sub-CA certificate files of the role's leaf, leaf side first
    (what the firmware's --tls-chain adds after the leaf in its SE050)."""
    pki = Pki.open(pki_dir)
    leaf = LEAF[role][0]
    out = []
    issuer = pki.issuer_of(leaf)
    while issuer is not None and pki.issuer_of(issuer) is not None:
        out.append(pki.path("certs", issuer))
        issuer = pki.issuer_of(issuer)
    return out


def contract_source(pki_dir, case=None):
    """Where the vehicle's contract comes from: the PKI directory itself,
    or with case (a DIR/variants/contract_* name, with or without the
    prefix) that variant's folder."""
    if not case:
        return pki_dir
    name = case if case.startswith("contract_") else "contract_" + case
    d = os.path.join(pki_dir, "variants", name)
    if not os.path.exists(os.path.join(d, "case.json")):
        have = sorted(n for n in os.listdir(os.path.join(pki_dir, "variants"))
                      if n.startswith("contract_")) if os.path.isdir(os.path.join(pki_dir, "variants")) else []
        raise ValueError("no contract variant %r in %s (%s)" % (case, pki_dir, ", ".join(have) or "none"))
    return d


def read_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        return json.load(f)


def vehicle_bundle(pki_dir, case_dir=None):
    """The vehicle's SE050 provisioning bundle (parsed): the PKI's
    (DIR/se050/vehicle.json: vehicle leaf, OEM provisioning leaf, contract
    leaf), with a variant's contract entry (its se050/vehicle.json: the
    variant's contract key and certificate, same object IDs) in place of
    the PKI's contract."""
    bundle = pki_se050.read_bundle(pki_se050.bundle_path(pki_dir, "vehicle"))
    if case_dir and os.path.abspath(case_dir) != os.path.abspath(pki_dir):
        variant = pki_se050.read_bundle(pki_se050.bundle_path(case_dir, "vehicle"))
        names = {e["name"] for e in variant["entries"]}
        bundle = dict(bundle, entries=[e for e in bundle["entries"] if e["name"] not in names]
                      + variant["entries"])
    return bundle


def contract_refs(pki_dir, case_dir=None, name="contract_leaf"):
    """(key object ID, [leaf certificate object ID, sub-CA certificate
    files...]) of the contract the vehicle presents: host/pki's SE050 map
    for the key and the leaf, the issuing sub-CAs' files leaf side first
    (the PKI's certs/, or the variant's case.json sub_cas)."""
    source = case_dir or pki_dir
    entry = pki_se050.entry(source, "vehicle", name)
    if case_dir and os.path.abspath(case_dir) != os.path.abspath(pki_dir):
        subs = [os.path.join(case_dir, p) for p in read_case(case_dir)["sub_cas"]]
    else:
        pki = Pki.open(pki_dir)
        subs = []
        issuer = pki.issuer_of(name)
        while issuer is not None and pki.issuer_of(issuer) is not None:
            subs.append(pki.path("certs", issuer))
            issuer = pki.issuer_of(issuer)
    return int(entry["key"]["object_id"], 16), [int(entry["cert"]["object_id"], 16)] + subs


def key_id(pki_dir, role):
    """The SE050 object ID of the role's leaf key (host/pki's bundle)."""
    leaf, device = LEAF[role]
    return int(pki_se050.entry(pki_dir, device, leaf)["key"]["object_id"], 16)


def trust_roots(pki_dir, role):
    """The root the peer's chain leads to: the SECC's for a vehicle, the
    vehicle certificates' (pki.json vehicle_root) for a charger."""
    pki = Pki.open(pki_dir)
    peer_leaf = LEAF["vehicle" if role == "charger" else "charger"][0]
    return [pki.cert(pki.root_of(peer_leaf))]


def emaid_of(leaf_der):
    """The eMAID of a contract certificate (its subject CN), or None."""
    from host.pki.profile import common_name
    try:
        return common_name(x509.load_der_x509_certificate(bytes(leaf_der)).subject)
    except (ValueError, TypeError):
        return None


def judge_pnc(verifier, blob):
    """(status, code, detail, record) for a pnc_verify_request's evidence:
    decoded (BAD_REQUEST if it does not), judged by verifier (UNSUPPORTED
    without one); the record is what result.json's "auth" shows."""
    rec = {"bytes": len(blob)}
    if verifier is None:
        rec.update(code=None, reasons=["this host has no PnC verifier"])
        return msg.UNSUPPORTED, b"", b"no verifier", rec
    try:
        ev = msg.decode_pnc_evidence(blob)
    except msg.MsgError as e:
        rec.update(code=None, reasons=["evidence does not decode: %s" % e.reason])
        return msg.BAD_REQUEST, b"", e.reason.encode(), rec
    rec.update(emaid=emaid_of(ev["leaf"]), evccid=ev.get("evccid"), sub_cas=len(ev["sub_cas"]))
    t0 = time.perf_counter()
    code, reasons = verifier.check(ev)
    log = getattr(verifier, "log", None)
    if log is not None:
        log.append((code, reasons))
    rec.update(code=code, reasons=list(reasons), ms=round((time.perf_counter() - t0) * 1000, 2))
    return msg.OK, code.encode(), "; ".join(reasons).encode(), rec


class HostSide:
    def __init__(self, role, pki_dir, keylog=None, lost_ms=None, pnc=None, hold_pnc=False):
        if role not in LEAF:
            raise ValueError("role: charger or vehicle")
        self.role = role
        self.pki_dir = pki_dir
        self.keylog = keylog
        self.key_id = key_id(pki_dir, role)
        self.roots = trust_roots(pki_dir, role)
        self.ocsp = None
        if role == "charger":
            with open(Pki.open(pki_dir).path("ocsp", LEAF[role][0]), "rb") as f:
                self.ocsp = f.read()
        self.pair = PtyPair()
        self.path = self.pair.slave_path
        self.events = []            # (event name, detail) of the link
        self.chain = None           # the MCU's chain (DER list), fetched once per link-up
        self.errors = []
        self.pnc = pnc              # the PnC verifier (a charger's host), or None
        self.hold_pnc = hold_pnc
        self.pnc_held = threading.Event()
        self.pnc_log = []           # one record per PNC_VERIFY_REQUEST
        kw = {} if lost_ms is None else {"lost_ms": lost_ms}
        self.hl = None
        self.bridge = None
        hl = HostLink(self.pair.master, on_event=self._on_event, start=False, **kw)
        self.bridge = TlsBridge(hl, self._endpoint)
        self.handshakes = self.bridge.handshakes    # one dict per TLS connection
        self.hl = hl
        hl.start()

    # -- the link's events (in the HostLink thread) ------------------------------

    def _on_event(self, ev):
        name = ev[0]
        try:
            if name == "link_up":
                self.events.append(("link_up", ev[3].decode(errors="replace")))
                self.chain = None
            elif name == "link_lost":
                self.events.append(("link_lost", ev[1]))
                self.bridge.handle(ev)
            elif self.bridge.handle(ev):
                pass
            elif name == "pnc_verify_request":
                self._pnc_request(ev[1], ev[2])
            elif name == "error":
                self.events.append(("peer_error", ev[1:4]))
        except Exception as e:  # noqa: BLE001 - kept for the report; the link goes on
            self.errors.append("%s: %s: %s" % (name, type(e).__name__, e))
            raise

    def _pnc_request(self, rid, blob):
        if self.hold_pnc:
            rec = {"bytes": len(blob), "held": True, "code": None}
            try:
                rec["emaid"] = emaid_of(msg.decode_pnc_evidence(blob)["leaf"])
            except msg.MsgError:
                pass
            self.pnc_log.append(rec)
            self.pnc_held.set()
            return
        status, code, detail, rec = judge_pnc(self.pnc, blob)
        self.pnc_log.append(rec)
        self.hl.respond_pnc_verify(rid, status, code, detail)

    def _own_chain(self):
        if self.chain is None:
            self.chain = split_der(self.hl.cert_chain(msg.CHAIN_OWN))
        return self.chain

    def _endpoint(self, conn):
        """The TLS endpoint of a connection the MCU opened: its chain from the
        MCU, its signature by the MCU's SE050."""
        chain = self._own_chain()
        signer = self.hl.signer(self.key_id)
        if self.role == "charger":
            ep = TlsServer(chain, signer, self.roots, ocsp_staple=self.ocsp, keylog=self.keylog)
        else:
            ep = TlsClient(chain, signer, self.roots, keylog=self.keylog)
        return ep, {"own_chain": chain_subjects(chain)}

    # -- control ---------------------------------------------------------------

    def info(self):
        s = self.hl.stats()
        return {"pty": self.path, "key_id": "0x%08X" % self.key_id, "handshakes": list(self.handshakes),
                "pnc": list(self.pnc_log),
                "link_events": [list(e) for e in self.events], "errors": list(self.errors),
                "link": {k: s[k] for k in ("tx", "rx", "tx_bytes", "rx_bytes", "dropped", "rtt_ms")}}

    def close(self):
        """Stops the host: closes the pty master (the firmware's port hangs up)."""
        self.hl.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self.pair.slave.close()
