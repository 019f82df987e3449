"""The MCU-host link and TLS 1.3 on the virtual clock of host/bench/sessionsim.py.

    host = attach(sim, side, "charger", pki_dir)   # side: a LinkSim Side
    host.step(t)            # each simulation step, after the firmware's
    host.wire.cut = True    # the fault "host link lost": bytes vanish both ways

What the firmware processes of `micro15118 sim --tls` have, in one process:
the board's end is the firmware's own (hostend.HostEnd over a UartPort, the
Link, link/tls.py's TlsMode on the V2G link, the KeyServer with the SE050
driver on an in-process Se050Model provisioned from the PKI's bundle); the
host's end is a host Link with a TLS endpoint per connection (TlsServer on
a charger, TlsClient on a vehicle).  The serial line is a pair of byte
buffers.  The host's handshake signature is a real SIGN_REQUEST: the
endpoint's signer pumps both ends of the link (no simulated time passes)
until the MCU's SE050 answers.  The host reads its chain and roots from the
PKI (the firmware sim asks the MCU for its chain; both hold the same).

Plug-and-Charge: a charger's host with `pnc` (a host.pnc.verify.Verifier)
judges the MCU's PNC_VERIFY_REQUESTs as host_side.HostSide does
(`.pnc_log`); `hold_pnc` leaves them unanswered.  `attach` gives the board
end as `.end`, so the charger's HostVerifier can sit on it.
"""
import collections
import os
import tempfile

from micro15118 import boardsetup
from micro15118.drivers.se050 import Se050
from micro15118.hostend import HostEnd, KeyServer
from micro15118.hostlink import msg
from micro15118.hostlink.link import Link
from micro15118.hostlink.port import UartPort
from micro15118.link.tls import TlsMode

from host.bench.host_side import LEAF, chain_files, judge_pnc, key_id, trust_roots
from host.bench.se050_model import Se050Model
from host.bench.wire_server import se050_objects
from host.pki import se050 as pki_se050
from host.bench.tls_bridge import TlsBridge
from host.tls import TlsClient, TlsServer

_PKI = {}


def shared_pki():
    """One PKI per process for the simulations (made once, ~0.3 s)."""
    if "dir" not in _PKI:
        from host.bench.sim import ensure_pki
        _PKI["dir"] = ensure_pki(os.path.join(tempfile.mkdtemp(prefix="micro15118-pki-"), "pki"))
    return _PKI["dir"]


class SerialWire:
    """The serial line: bytes each way; `cut` drops everything (pulled)."""

    def __init__(self):
        self.to_mcu = bytearray()
        self.to_host = bytearray()
        self.cut = False


class McuPort:
    """The MCU's UART on the wire (machine.UART's timeout=0 interface)."""

    def __init__(self, wire):
        self.wire = wire

    def readinto(self, buf):
        data = self.wire.to_mcu
        n = min(len(buf), len(data))
        if not n:
            return None
        buf[0:n] = data[:n]
        del data[:n]
        return n

    def write(self, data):
        if not self.wire.cut:
            self.wire.to_host += data
        return len(data)


class SimHost:
    def __init__(self, sim, role, pki, wire, mcu_service, t, pnc=None):
        self.sim = sim
        self.role = role
        self.wire = wire
        self.mcu_service = mcu_service      # steps the board's end (for the signature)
        self.link = Link(msg.ROLE_HOST, t, sim.rand.randrange(1 << 32), b"micro15118 host sim")
        self.key_id = key_id(pki, role)
        leaf = LEAF[role][0]
        with open(os.path.join(pki, "chains", leaf + ".pem"), "rb") as f:
            self.chain = f.read()
        self.roots = trust_roots(pki, role)
        self.ocsp = None
        if role == "charger":
            with open(os.path.join(pki, "ocsp", leaf + ".der"), "rb") as f:
                self.ocsp = f.read()
        self.bridge = TlsBridge(self.link, self._endpoint)
        self.handshakes = self.bridge.handshakes
        self.backlog = collections.deque()
        self.t = t
        self.pnc = pnc
        self.hold_pnc = False
        self.pnc_log = []

    # -- bytes ------------------------------------------------------------------
    def _io(self):
        w = self.wire
        if w.to_host:
            data = bytes(w.to_host)
            del w.to_host[:]
            if not w.cut:
                self.link.feed(data, self.t)
        if self.link.tx:
            frames = self.link.tx
            self.link.tx = []
            if not w.cut:
                w.to_mcu += b"".join(frames)

    def busy(self):
        return bool(self.wire.to_mcu or self.wire.to_host or self.link.tx or self.backlog)

    def next_deadline(self):
        return self.link.next_deadline()

    def step(self, t):
        self.t = t
        self._io()
        self.link.poll(t)
        self._io()
        self.backlog.extend(self.link.events)
        self.link.events = []
        while self.backlog:
            self._handle(self.backlog.popleft())
            self._io()

    # -- the signature: a real round trip over the link ----------------------------
    def _signer(self):
        alg = msg.ALG_ECDSA_P521_SHA512

        def sign(digest, algorithm):
            if algorithm != "ecdsa_secp521r1_sha512":
                raise ValueError("no %s on this link" % algorithm)
            rid = self.link.request_sign(self.key_id, alg, bytes(digest), self.t)
            for _ in range(64):
                self._io()
                self.mcu_service()
                self._io()
                evs = self.link.events
                self.link.events = []
                for ev in evs:
                    if ev[0] == "sign_response" and ev[1] == rid:
                        if ev[2] != msg.OK:
                            raise RuntimeError("SE050 signature: status 0x%02x" % ev[2])
                        rest = [e for e in evs if e is not ev]
                        self.backlog.extend(rest)
                        return ev[4]
                self.backlog.extend(evs)
            raise RuntimeError("no signature from the MCU")
        return sign

    # -- events -------------------------------------------------------------------
    def _endpoint(self, conn):
        if self.role == "charger":
            return TlsServer(self.chain, self._signer(), self.roots, ocsp_staple=self.ocsp), {}
        return TlsClient(self.chain, self._signer(), self.roots), {}

    def _handle(self, ev):
        if ev[0] == "pnc_verify_request":
            if self.hold_pnc:
                self.pnc_log.append({"bytes": len(ev[2]), "held": True, "code": None})
                return
            status, code, detail, rec = judge_pnc(self.pnc, ev[2])
            self.pnc_log.append(rec)
            self.link.respond_pnc_verify(ev[1], status, code, detail)
        else:
            self.bridge.handle(ev)


def attach(sim, side, role, pki=None, pnc=None, bundle=None):
    """Give a LinkSim Side (its link and runner) a host link in TLS mode, an
    SE050 model with the role's keys (bundle: another provisioning bundle
    than the PKI's for the role), and a SimHost at the other end (pnc: its
    PnC verifier).  The host's .end is the board's HostEnd, .se the board's
    SE050 driver."""
    pki = pki or shared_pki()
    leaf, device = LEAF[role]
    chip = Se050Model(clock=lambda: sim.t / 1000.0)
    chip.load_bundle(se050_objects(bundle or pki_se050.bundle_path(pki, device)))
    se = Se050(chip, lambda ms: None)
    se.open()
    entry = pki_se050.entry(pki, device, leaf)
    cert = "0x%08X" % int(entry["cert"]["object_id"], 16)
    keys = KeyServer(se, (int(entry["key"]["object_id"], 16),),
                     boardsetup.load_chain([cert] + chain_files(pki, role), se))
    wire = SerialWire()
    mcu_link = Link(msg.ROLE_CHARGER if role == "charger" else msg.ROLE_VEHICLE, sim.t,
                    sim.rand.randrange(1 << 32), b"micro15118 " + role.encode())
    end = HostEnd(UartPort(McuPort(wire), mcu_link), keys)
    side.runner.host = end
    side.link.use_tls(TlsMode(mcu_link))

    def mcu_service():
        for ev in end.service(sim.t):
            side.link.host_event(ev, sim.t)
    host = SimHost(sim, role, pki, wire, mcu_service, sim.t, pnc=pnc)
    host.se050 = chip
    host.end = end
    host.se = se
    return host
