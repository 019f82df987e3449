"""Fuzz the host code that takes certificates from a peer (issue 12): the
PnC verifier (host/pnc/verify.py), the -20 profile checker
(host/pki/profile.py), TLS path validation (host/tls/validate.py) and the
TLS endpoints' Certificate handling (host/tls/endpoint.py).

Seeds: real PKIs made once per process in a temp dir with host/pki: the
"main" -20 PKI (secp521r1, with its bad-chain variants), "other" (a second
-20 PKI with the same names: certificates from the wrong PKI), and an iso2
(secp256r1) and an ed448 PKI.  A good PnC evidence is signed with the main
PKI's contract key (xmldsig.sign with hashlib and ``cryptography``: what
the EV's SE050 does).

Mutations of a certificate: structure-aware on its DER tree (a node's
content flipped, replaced, truncated or extended; INTEGER, OID, time,
string and BOOLEAN contents set to edge values; tags changed; nodes
deleted, duplicated, swapped or taken from another certificate; the
encapsulated DER inside OCTET and BIT STRINGs (extension values, the
signature) reached; enclosing lengths repaired, or one length field
corrupted: off by one, zero, indefinite, non-minimal, too many octets,
huge), then now and then byte-level ops (bit flips, truncation, random
bytes, splices); also truncation anywhere, random bytes, deep nesting,
PEM text, and unmutated certificates of every seed.  Mutations of a
chain: one or two certificates mutated, certificates swapped, dropped,
duplicated or added (the root, a foreign or random one), one or all from
the wrong PKI or profile, a variant chain (expired, revoked, unknown
root...).

der    one certificate: x509.load_der_x509_certificate, then
       profile.check_certificate in its role and the TLS validator's
       per-certificate checks (validate._check_path on [cert]).
       Accepted = checked (whatever the violations); rejected = the
       harness's load failing (ValueError, x509.InvalidVersion), a
       ValueError of a lazily parsed field, or ChainError.
chain  profile.check_chain (+ response_code) on a mutated chain, with the
       main PKI's roots, CRLs and OCSP responses (a variant's own).
       Rejected = the harness's load failing, violations, or a ValueError
       of a lazily parsed field; accepted = no violation.  Unexpected also:
       no violation for a chain with a certificate no main-PKI key signed
       (mutated, random, foreign) or with a leaf of a role of another
       profile (_genuine_path), or an unmutated variant without its
       expected violation.
pnc    Verifier.verify(evidence): certificates mutated inside the signed
       element with the digest redone and the old signature, or re-signed
       with the contract key (the chain check then runs on them); leaf,
       sub-CAs, signature, digest or challenge changed outside the element;
       fragment bytes mutated; the element with 0..4 sub-CAs or a foreign
       chain; variant chains signed with their own keys; evidence of the
       wrong shape; 30% of the well-shaped ones go through the host link's
       PNC_VERIFY codec first (encode_pnc_evidence, the TLV octets mutated
       in 40% of those, decode_pnc_evidence: what the charger's host
       decodes), where MsgError (BAD_REQUEST) is a rejection.
       Rejected = a -20 WARNING/FAILED code; accepted = OK.
       Unexpected: an exception out of verify(), a code outside the -20
       list, OK for anything but the genuine chain under our own
       signature, the pristine evidence not OK, an unmutated variant
       without its case.json code, and a GeneralPnCAuthorizationError the
       verifier made out of a TypeError, KeyError, AttributeError or
       IndexError while the evidence had the right shape (a bug it masks).
tls    validate.validate_chain: SECC chains as "server" and vehicle chains
       as "client", as DER, PEM or objects, with and without the -20
       profile check, against the V2G root (and the others).  Rejected =
       ChainError or the parser's ValueError; accepted = a path.
       Unexpected also: a path with a certificate that is not genuine, or
       whose leaf is not the chain's first certificate.  (validate_chain
       loads the octets itself: an x509.InvalidVersion out of it is
       unexpected, unlike in der and chain.)
peer   the endpoints' Certificate handling: a TLS 1.3 Certificate message
       (the server's, with the OCSP staple, to a TlsClient; the vehicle's
       to a TlsServer) is parsed by tlslite-ng as the connection does and
       handed to _tls_on_peer_certificate; the staple is mutated too.
       Rejected = what becomes an alert by design: PeerCertificateRejected,
       or tlslite's SyntaxError / BadCertificateError /
       TLSIllegalParameterException / TLSDecodeError on parse; the
       parser's ValueError (caught by the connection's guard: an
       internal_error alert) is counted apart.  Accepted = the hook
       returned.  Unexpected also: acceptance with a non-genuine path or,
       when OCSP is required, without a good staple.

Each target keeps a breakdown of its outcomes in ``tally.kinds``; the
command line prints it under the summary line.
"""
import atexit
import collections
import datetime as dt
import hashlib
import os
import shutil
import tempfile
import traceback
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from host.pki import ca, profile, variants
from micro15118 import exi
from micro15118.iso20 import xmldsig

from . import runner
from .mutate import BASIC, mutate

CM = "-20:CommonMessages"
PNC = "PnC_AReqAuthorizationMode"
LEAVES = ("contract_leaf", "secc_leaf", "vehicle_leaf", "cps_leaf", "oem_prov_leaf", "ocsp_signer")

# the -20 codes a verifier may answer (responseCodeType's PnC subset)
PNC_CODES = ("OK", "OK_CertificateExpiresSoon", "FAILED_SignatureError", "WARNING_ChallengeInvalid",
             "WARNING_GeneralPnCAuthorizationError", "WARNING_CertificateValidationError",
             "WARNING_eMSPUnknown", "WARNING_CertificateRevoked", "WARNING_CertificateExpired",
             "WARNING_CertificateNotYetValid")
MASKED = ("TypeError", "KeyError", "AttributeError", "IndexError")
# what x509.load_der_x509_certificate raises for octets it will not take:
# the harness's own loads count these as rejections (where the code under
# test loads, only what it turns into its own rejection counts)
LOAD_ERRORS = (ValueError, x509.InvalidVersion)


# ---------------------------------------------------------------------------
# DER trees

class Node:
    """One TLV.  Constructed (and encapsulating OCTET/BIT STRING) nodes have
    kids (and `wrap`, the BIT STRING's unused-bits octet); primitive ones
    content.  `raw_len` overrides the length octets (a corrupted length);
    `raw` replaces the whole node by those octets."""
    __slots__ = ("tag", "content", "kids", "wrap", "raw_len", "raw")

    def __init__(self, tag, content=None, kids=None, wrap=b""):
        self.tag = tag
        self.content = content
        self.kids = kids
        self.wrap = wrap
        self.raw_len = None
        self.raw = None


def _parse(data, i, end, depth):
    out = []
    while i < end:
        tag = data[i]
        if tag & 0x1F == 0x1F or i + 1 >= end:
            raise ValueError("tag")
        n = data[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            if k == 0 or k > 3 or i + k > end:
                raise ValueError("length")
            n = int.from_bytes(data[i:i + k], "big")
            i += k
        if i + n > end:
            raise ValueError("overrun")
        if tag & 0x20:
            node = Node(tag, kids=_parse(data, i, i + n, depth + 1))
        else:
            node = None
            off = 1 if tag == 0x03 else 0
            if tag in (0x03, 0x04) and n > off + 1 and data[i + off] in (0x30, 0x31, 0x02, 0x03, 0x04, 0x06) \
                    and (off == 0 or data[i] == 0):
                try:
                    node = Node(tag, kids=_parse(data, i + off, i + n, depth + 1), wrap=bytes(data[i:i + off]))
                except ValueError:
                    node = None
            if node is None:
                node = Node(tag, content=bytes(data[i:i + n]))
        out.append(node)
        i += n
    return out


def parse_der(data):
    """The TLV tree of DER octets (a list of top-level nodes); ValueError if
    they are not TLVs all the way down."""
    return _parse(data, 0, len(data), 0)


def _len(n):
    if n < 0x80:
        return bytes((n,))
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(b),)) + b


def ser(node):
    if node.raw is not None:
        return node.raw
    body = node.content if node.kids is None else node.wrap + b"".join(ser(k) for k in node.kids)
    return bytes((node.tag,)) + (node.raw_len if node.raw_len is not None else _len(len(body))) + body


def flatten(nodes, out=None):
    """[(sibling list, index, node)] of every node, depth first."""
    out = [] if out is None else out
    for i, n in enumerate(nodes):
        out.append((nodes, i, n))
        if n.kids is not None and n.raw is None:
            flatten(n.kids, out)
    return out


def _oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for a in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        body += bytes(reversed(chunk))
    return bytes(body)


OIDS = [_oid(o) for o in (
    "1.3.132.0.35", "1.2.840.10045.3.1.7", "1.3.132.0.34", "1.3.132.0.10", "1.3.36.3.3.2.8.1.1.7",
    "1.3.101.113", "1.3.101.112", "1.3.101.111", "1.3.101.110", "1.2.840.10045.2.1", "1.2.840.113549.1.1.1",
    "1.2.840.10045.4.3.4", "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.1",
    "1.2.840.113549.1.1.13", "1.2.840.113549.1.1.10", "2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.14",
    "2.5.29.35", "2.5.29.17", "2.5.29.30", "2.5.29.36", "2.5.29.32", "2.5.29.31", "1.3.6.1.5.5.7.1.1",
    "1.3.6.1.5.5.7.1.24", "1.3.6.1.5.5.7.3.9", "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "2.5.29.37.0",
    "2.5.4.3", "2.5.4.10", "2.5.4.6", "0.9.2342.19200300.100.1.25", "1.2.3.4", "1.3.6.1.4.1.99999.1.2.3",
    "2.999.123456789012345678901234567890")]
OIDS += [b"", b"\x2a", b"\x2a\x86", b"\x80\x01", b"\x2a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", b"\xff" * 20]

INTS = (b"", b"\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"\x00\x01", b"\x00\x80", b"\xff\x80", b"\x00" * 9,
        b"\x01" + bytes(20), b"\x7f" + b"\xff" * 20, b"\x01" + bytes(65), b"\x01" * 300,
        bytes.fromhex("01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                      "fffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"))
TIMES = (b"", b"Z", b"000101000000Z", b"491231235959Z", b"500101000000Z", b"991231235959Z", b"250230000000Z",
         b"2501010000Z", b"250101000000+0100", b"250101000000", b"2501010000001Z", b"ZZZZZZZZZZZZZ",
         b"20500101000000Z", b"99991231235959Z", b"00000101000000Z", b"20250101000000.5Z", b"2025010100Z",
         b"\x00" * 13, b"991399999999Z")
STRINGS = (b"", b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"A" * 2000, b"=,+;\"\\<>#", b"\x00A\x00B",
           b"DEM15C12345678J", b"DE-M15-C12345678-J", b"DEM15C12345678X", b"MO", b"CPO", b"V2G", b"OEM")
TAGS = (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x16, 0x17, 0x18, 0x1E, 0x30, 0x31, 0x80, 0x81,
        0x82, 0x83, 0xA0, 0xA1, 0xA3, 0xFF, 0x1F)
LENGTHS = (b"\x00", b"\x80", b"\x81", b"\x82\x00", b"\x84\xff\xff\xff\xff", b"\x88" + b"\xff" * 8, b"\xff",
           b"\x89" + bytes(9), b"\x81\x01", b"\x82\x00\x05", b"\x83\x00\x00\x10")


def _t_content(rnd, node, donors):
    if node.kids is not None:
        node.kids = None
        node.content = rnd.randbytes(rnd.randrange(0, 40))
        return
    c = bytearray(node.content or b"")
    tag = node.tag
    r = rnd.random()
    if tag == 0x02 and r < 0.6:
        c = rnd.choice(INTS)
    elif tag == 0x06 and r < 0.6:
        c = rnd.choice(OIDS)
    elif tag in (0x17, 0x18) and r < 0.6:
        c = rnd.choice(TIMES)
    elif tag in (0x0C, 0x13, 0x16, 0x14, 0x1E) and r < 0.6:
        c = rnd.choice(STRINGS)
    elif tag == 0x01 and r < 0.6:
        c = rnd.choice((b"", b"\x00", b"\x01", b"\xff", b"\x00\x00"))
    elif tag == 0x03 and r < 0.4:
        c = bytes((rnd.choice((1, 7, 8, 0xFF)),)) + bytes(c[1:])
    elif r < 0.75 and c:
        for _ in range(rnd.randrange(1, 4)):
            c[rnd.randrange(len(c))] ^= 1 << rnd.randrange(8)
    elif r < 0.85:
        del c[rnd.randrange(len(c) + 1):]
    elif r < 0.92:
        c += rnd.randbytes(rnd.randrange(1, 9))
    else:
        c = rnd.randbytes(rnd.randrange(0, max(2, 2 * len(c))))
    node.content = bytes(c)


def _t_tag(rnd, node, donors):
    node.tag = rnd.choice(TAGS) if rnd.random() < 0.8 else rnd.randrange(256)


def _t_length(rnd, node, donors):
    n = len(ser(node)) - 2          # a rough body size; exactness does not matter
    choices = LENGTHS + (_len(max(0, n - 1)), _len(n + 1), _len(n + 100))
    node.raw_len = rnd.choice(choices)


def _t_delete(rnd, nodes, i):
    del nodes[i]


def _t_duplicate(rnd, nodes, i):
    nodes.insert(i, nodes[i])


def _t_swap(rnd, nodes, i):
    j = rnd.randrange(len(nodes))
    nodes[i], nodes[j] = nodes[j], nodes[i]


def _t_donor(rnd, nodes, i, donors):
    n = Node(0)
    n.raw = rnd.choice(donors)
    if rnd.random() < 0.5:
        nodes[i] = n
    else:
        nodes.insert(i, n)


def _t_deep(rnd, nodes, i):
    depth = rnd.choice((50, 200, 1000, 3000))
    inner = b"\x05\x00"
    for _ in range(depth):
        inner = b"\x30" + _len(len(inner)) + inner
    n = Node(0)
    n.raw = inner
    nodes[i] = n


def mutate_tree(rnd, der, donors):
    """DER octets with one to three structural edits (see the module
    docstring); the input back, byte-mutated, if it is not a TLV tree."""
    try:
        tree = parse_der(der)
    except ValueError:
        return mutate(rnd, der, [der], BASIC)
    for _ in range(rnd.choice((1, 1, 1, 2, 3))):
        nodes = flatten(tree)
        if not nodes:
            break
        r = rnd.random()
        if r < 0.45:
            # a value: most edits that keep the structure reach the checks
            prims = [x for x in nodes if x[2].kids is None and x[2].raw is None]
            sibs, i, node = rnd.choice(prims or nodes)
            _t_content(rnd, node, donors)
            continue
        sibs, i, node = rnd.choice(nodes)
        if r < 0.5:
            _t_content(rnd, node, donors)
        elif r < 0.55:
            _t_tag(rnd, node, donors)
        elif r < 0.67:
            _t_length(rnd, node, donors)
        elif r < 0.74:
            _t_delete(rnd, sibs, i)
        elif r < 0.79:
            _t_duplicate(rnd, sibs, i)
        elif r < 0.84:
            _t_swap(rnd, sibs, i)
        elif r < 0.98:
            _t_donor(rnd, sibs, i, donors)
        else:
            _t_deep(rnd, sibs, i)
    return b"".join(ser(n) for n in tree)


def mutate_der(rnd, der, pool, donors):
    """One mutated certificate (or OCSP response) from `der`."""
    r = rnd.random()
    if r < 0.62:
        out = mutate_tree(rnd, der, donors)
        if rnd.random() < 0.12:
            out = mutate(rnd, out, pool, BASIC)
        return out
    if r < 0.84:
        return mutate(rnd, der, pool, BASIC)
    if r < 0.88:
        return der[:rnd.randrange(len(der) + 1)]
    if r < 0.92:
        head = b"\x30\x82" + len(der).to_bytes(2, "big") if rnd.random() < 0.5 else b""
        return head + rnd.randbytes(rnd.randrange(0, 1200))
    if r < 0.96:
        return rnd.choice(pool)
    if r < 0.98:
        return rnd.choice((b"", b"\x30", b"\x30\x00", b"\x30\x80\x00\x00", b"\x30\x84\xff\xff\xff\xff",
                           b"\x30\x82\x02\xda", b"\x00" * 700, b"\xff" * 700))
    # a TBSCertificate alone, or the certificate twice
    try:
        tree = parse_der(der)
        return ser(tree[0].kids[0]) if rnd.random() < 0.5 else der + der
    except (ValueError, IndexError, TypeError):
        return der + der


# ---------------------------------------------------------------------------
# seeds

class _SoftSeam:
    """xmldsig's crypto seam with a private key in software (what the EV's SE050 does)."""

    def __init__(self, key):
        self.key = key

    def sha512(self, data):
        return hashlib.sha512(bytes(data)).digest()

    def sign_sha512(self, ref, digest):
        return self.key.sign(bytes(digest), ec.ECDSA(utils.Prehashed(hashes.SHA512())))


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


class Seeds:
    """The PKIs, chains and evidence every target starts from (made once)."""

    def __init__(self, directory):
        self.dir = directory
        main = ca.Pki.create(os.path.join(directory, "main"))
        variants.make_variants(main)
        other = ca.Pki.create(os.path.join(directory, "other"))
        iso2 = ca.Pki.create(os.path.join(directory, "iso2"), profile="iso2")
        ed448 = ca.Pki.create(os.path.join(directory, "ed448"), profile="ed448")
        self.main = main
        self.pkis = {"main": main, "other": other, "iso2": iso2, "ed448": ed448}
        self.genuine = {}                    # DER -> name, every certificate a main-PKI key signed
        self.genuine_role = {}               # DER -> role, of those that are leaves
        self.role_of = {}                    # DER -> role name, every seed certificate
        self.by_name = {}                    # (pki, name) -> DER
        for pname, p in self.pkis.items():
            for name in p.names():
                d = _der(p.cert(name))
                self.by_name[(pname, name)] = d
                self.role_of[d] = p.entry(name)["role"]
                if pname == "main":
                    self.genuine[d] = name
                    self.genuine_role[d] = p.entry(name)["role"]
        self.chains = {}                     # (pki, leaf) -> [DER, ...] leaf first, no root
        for pname, p in self.pkis.items():
            for leaf in LEAVES:
                self.chains[(pname, leaf)] = [_der(c) for c in p.chain(leaf)]
        self.roots = main.roots()
        self.root_ders = [_der(r) for r in self.roots]
        self.crls = main.crls()
        self.ocsp = main.ocsp_responses()
        with open(main.path("ocsp", "secc_leaf"), "rb") as f:
            self.staple = f.read()
        # the variants: (case doc, [leaf, sub-CA DERs], trust, crls, ocsp, the leaf's key or None)
        self.cases = []
        vdir = os.path.join(main.dir, "variants")
        for case in sorted(os.listdir(vdir)):
            doc, leaf, subs, trust, crls, resps = variants.load_case(os.path.join(vdir, case))
            ders = [_der(leaf)] + [_der(c) for c in subs]
            for d in ders:
                self.role_of.setdefault(d, doc["role"] if d == ders[0] else "")
            key = None
            bundle = os.path.join(vdir, case, "se050", "vehicle.json")
            if doc["chain"] == "contract" and os.path.exists(bundle):
                from host.pnc.vehicle import SoftCrypto
                soft = SoftCrypto.from_bundle(bundle)
                key = next(iter(soft.keys.values()))
            self.cases.append((doc, ders, trust, crls, resps, key))
        # a variant certificate signed by a main-PKI key (revoked, expired,
        # wrong curve, Sub-CA 1 re-issued by another root...) is genuine too:
        # path validation may take it (revocation and the profile are
        # checked elsewhere); one under a foreign root or tampered is not
        main_certs = [main.cert(n) for n in main.names()]
        for doc, ders, trust, crls, resps, key in self.cases:
            for d in ders:
                c = x509.load_der_x509_certificate(d)
                if d not in self.genuine and any(profile.issued_by(c, m) for m in main_certs):
                    self.genuine[d] = "%s:%s" % (doc["case"], profile.common_name(c.subject))
                    if d == ders[0]:
                        self.genuine_role[d] = doc["role"]
        self.pool = list(self.role_of)       # every seed certificate's DER
        self.ocsp_ders = []
        for name in main.names():
            path = main.path("ocsp", name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.ocsp_ders.append(f.read())
        # donors for splices: every subtree of every seed certificate, as octets
        donors = set()
        for d in self.pool[:40] + self.ocsp_ders[:4]:
            for sibs, i, n in flatten(parse_der(d)):
                s = ser(n)
                if len(s) < 400:
                    donors.add(s)
        self.donors = sorted(donors)
        # for each leaf role, the genuine chains (of any leaf, with and
        # without the root) the profile checker passes: the only chains a
        # role may accept; anything else with no violation is a finding
        self.ok_chains = {}
        for role in LEAVES:
            ok = set()
            for leaf in LEAVES:
                chain = self.chains[("main", leaf)]
                root = self.by_name[("main", main.root_of(leaf))]
                for c in (chain, chain + [root]):
                    certs = load_all(c)
                    if not profile.check_chain(certs[0], certs[1:], self.roots, role, crls=self.crls,
                                               ocsp_responses=self.ocsp):
                        ok.add(tuple(c))
            self.ok_chains[role] = ok
        # the leaf roles whose genuine chains a role passes (vehicle_leaf: the
        # OEM provisioning leaf too, same profile)
        self.ok_leaf_roles = {role: {self.genuine_role[c[0]] for c in ok} for role, ok in self.ok_chains.items()}
        self.contract_key = main.key("contract_leaf")
        self.good_chain = self.chains[("main", "contract_leaf")]
        self.challenge = bytes(range(16))
        self.good_evidence = self.evidence(self.good_chain, self.challenge, self.contract_key)

    # -- PnC evidence ------------------------------------------------------
    def mode(self, chain, challenge, id_="id1"):
        return {"@Id": id_, "GenChallenge": challenge,
                "ContractCertificateChain": {"Certificate": chain[0],
                                             "SubCertificates": {"Certificate": list(chain[1:])}}}

    def evidence(self, chain, challenge, key, id_="id1"):
        """The evidence the SECC hands its verifier for a request whose
        element carries `chain`, signed with `key` (ValueError/ExiError if
        the element cannot be encoded)."""
        mode = self.mode(chain, challenge, id_)
        sig = xmldsig.sign(_SoftSeam(key), None, CM, [(PNC, mode)])
        return self._evidence(mode, sig)

    def unsigned_evidence(self, chain, challenge, signature):
        """The same with SignedInfo and digest redone for `chain` but an old
        SignatureValue (no signing: the certificates are parsed, then the
        signature fails)."""
        mode = self.mode(chain, challenge)
        frag = xmldsig.fragment(CM, PNC, mode)
        si = xmldsig.signed_info([xmldsig.reference("id1", hashlib.sha512(frag).digest())])
        return self._evidence(mode, {"SignedInfo": si, "SignatureValue": {"#text": signature}})

    @staticmethod
    def _evidence(mode, sig):
        ev = xmldsig.evidence(CM, PNC, mode, sig)
        chain = mode["ContractCertificateChain"]
        ev.update(leaf=chain["Certificate"], sub_cas=list(chain["SubCertificates"]["Certificate"]),
                  challenge=mode["GenChallenge"], evccid="WMIV1234567890ABC")
        return ev


_SEEDS = {}


def seeds():
    """The process's Seeds (made on first use, removed at exit)."""
    if "s" not in _SEEDS:
        d = tempfile.mkdtemp(prefix="fuzz_cert_")
        atexit.register(shutil.rmtree, d, True)
        _SEEDS["s"] = Seeds(d)
    return _SEEDS["s"]


# ---------------------------------------------------------------------------
# chains

def mutate_chain(rnd, S, chain, pname="main", leaf="contract_leaf"):
    """(new chain as DER list, what was done)."""
    chain = list(chain)
    r = rnd.random()
    if r < 0.50:
        i = rnd.randrange(len(chain))
        chain[i] = mutate_der(rnd, chain[i], S.pool, S.donors)
        return chain, "mutated[%d]" % i
    if r < 0.58:
        for i in rnd.sample(range(len(chain)), min(2, len(chain))):
            chain[i] = mutate_der(rnd, chain[i], S.pool, S.donors)
        return chain, "mutated2"
    if r < 0.63:
        rnd.shuffle(chain)
        return chain, "shuffled"
    if r < 0.68:
        if len(chain) > 1:
            del chain[rnd.randrange(1, len(chain))]
        return chain, "dropped"
    if r < 0.72:
        return chain[:1], "leaf_only"
    if r < 0.77:
        chain.insert(rnd.randrange(len(chain) + 1), rnd.choice(chain))
        return chain, "duplicated"
    if r < 0.82:
        extra = rnd.choice(S.root_ders + S.pool + [rnd.randbytes(rnd.randrange(1, 300))])
        chain.insert(rnd.randrange(1, len(chain) + 1), extra)
        return chain, "extra"
    if r < 0.88:
        other = rnd.choice(("other", "iso2", "ed448"))
        theirs = S.chains[(other, leaf)]
        i = rnd.randrange(len(chain))
        if i < len(theirs):
            chain[i] = theirs[i]
        return chain, "foreign[%d]" % i
    if r < 0.91:
        return list(S.chains[(rnd.choice(("other", "iso2", "ed448")), leaf)]), "foreign_chain"
    if r < 0.94:
        return list(S.chains[("main", rnd.choice(LEAVES))]), "other_role_chain"
    if r < 0.96:
        return [chain[0]] + [rnd.choice(S.pool) for _ in range(rnd.randrange(3, 9))], "long"
    if r < 0.98:
        return [rnd.choice(S.root_ders)] + chain[1:], "root_as_leaf"
    return [rnd.randbytes(rnd.randrange(0, 800)) for _ in range(rnd.randrange(1, 4))], "random"


def load_all(ders):
    return [x509.load_der_x509_certificate(d) for d in ders]


def _quiet(target):
    """Runs a target with cryptography's UserWarnings (odd attribute
    lengths in names, say) silenced: they are about the input."""
    def run(tally, rnd, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return target(tally, rnd, **kw)
    run.__name__ = target.__name__
    run.__doc__ = target.__doc__
    return run


def _kind(tally, k):
    kinds = getattr(tally, "kinds", None)
    if kinds is None:
        kinds = tally.kinds = collections.Counter()
    kinds[k] += 1


# the checkout, stripped from paths in the grouping keys
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def where(exc):
    """'Class @ the raising frame [via our innermost frame]' of an exception:
    the key the unexpected are grouped by."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__

    def short(f):
        path = f.filename
        for mark in ("site-packages" + os.sep, _REPO + os.sep, os.sep + "micro15118" + os.sep):
            if mark in path:
                path = path.split(mark, 1)[1]
                break
        return "%s:%d" % (path, f.lineno)
    ours = [f for f in frames if "site-packages" not in f.filename and "harness/fuzz" not in f.filename]
    out = "%s @ %s" % (type(exc).__name__, short(frames[-1]))
    if ours and ours[-1] is not frames[-1]:
        out += " via " + short(ours[-1])
    return out


def _fail(tally, exc, text):
    """An unexpected outcome: booked, and grouped in tally.kinds."""
    if isinstance(exc, runner.Unexpected):
        _kind(tally, "UNEXPECTED " + str(exc).split(" (", 1)[0][:90])
    else:
        _kind(tally, "UNEXPECTED " + where(exc))
    tally.fail("%s | %s" % (runner.describe(exc), text))


def _genuine_path(S, ders, leaf_role):
    """May the checker pass `ders` for a `leaf_role` leaf?  Only a chain made
    of certificates a main-PKI key signed (S.genuine: the PKI's own and the
    variants issued by its CAs, such as a second contract leaf) whose leaf
    was issued for a role of the same profile (S.ok_leaf_roles, found by
    checking the genuine chains: vehicle_leaf passes the OEM provisioning
    leaf too).  Whether such a chain is valid (time, revocation, order) is
    the checker's to say; a certificate that was mutated, random or
    foreign in a passed chain is a finding."""
    if tuple(ders) in S.ok_chains.get(leaf_role, ()):
        return True
    if not ders or any(bytes(d) not in S.genuine for d in ders):
        return False
    return S.genuine_role.get(bytes(ders[0])) in S.ok_leaf_roles.get(leaf_role, ())


# ---------------------------------------------------------------------------
# der

@_quiet
def fuzz_der(tally, rnd):
    from host.tls import validate
    S = seeds()
    now = dt.datetime.now(dt.timezone.utc)
    seed_list = [d for d in S.pool if S.role_of.get(d)]

    while tally.more():
        seed = rnd.choice(seed_list)
        role = S.role_of[seed]
        data = mutate_der(rnd, seed, S.pool, S.donors) if rnd.random() < 0.97 else seed
        try:
            try:
                cert = x509.load_der_x509_certificate(data)
            except LOAD_ERRORS:
                _kind(tally, "load error")
                tally.count(False)
                continue
            try:
                profile.check_certificate(cert, role, rnd.choice(("iso20", "iso2")))
                profile.check_validity(cert, now, "cert")
                validate._check_path([cert], rnd.choice(("server", "client")), now,
                                     rnd.choice((None, ("ecdsa_secp521r1_sha512",), tuple(validate.ALGORITHMS))))
            except validate.ChainError:
                _kind(tally, "ChainError")
                tally.count(False)
                continue
            except ValueError:
                _kind(tally, "lazy ValueError")
                tally.count(False)
                continue
            _kind(tally, "checked")
            tally.count(True)
        except Exception as e:  # noqa: BLE001 - what we hunt for
            _fail(tally, e, "role %s | der %s" % (role, runner.show(data)))


# ---------------------------------------------------------------------------
# chain

@_quiet
def fuzz_chain(tally, rnd):
    S = seeds()
    while tally.more():
        r = rnd.random()
        case = None
        anchors, crls, resps = S.roots, S.crls, S.ocsp
        if r < 0.1:
            case = rnd.choice(S.cases)
            doc, ders, anchors, crls, resps, _ = case
            role = doc["role"]
            if rnd.random() < 0.3:
                how = "variant"
            else:
                ders, how = mutate_chain(rnd, S, ders, leaf=role)
                case = None
        else:
            role = "contract_leaf" if r < 0.7 else rnd.choice(LEAVES)
            good = S.chains[("main", role)]
            if rnd.random() < 0.03:
                ders, how = list(good), "genuine"
            else:
                ders, how = mutate_chain(rnd, S, good, leaf=role)
        try:
            try:
                certs = load_all(ders)
            except LOAD_ERRORS:
                _kind(tally, "load error")
                tally.count(False)
                continue
            if not certs:
                tally.count(False)
                continue
            try:
                vs = profile.check_chain(certs[0], certs[1:], anchors, role, crls=crls, ocsp_responses=resps)
            except ValueError:
                _kind(tally, "check ValueError")
                tally.count(False)
                continue
            code = profile.response_code(vs)
            profile.response_code(vs, iso2=True)
            [str(v) for v in vs]
            if code not in PNC_CODES:
                raise runner.Unexpected("response code %r" % code)
            if case is not None:
                want = case[0]["expected_violation"]
                if want not in {v.code for v in vs}:
                    raise runner.Unexpected("variant %s: %r, not %s" % (case[0]["case"], vs, want))
            if vs:
                _kind(tally, "violations")
                tally.count(False)
                continue
            if not _genuine_path(S, ders, role):
                raise runner.Unexpected("no violation for a chain that is not the genuine one (%s)" % how)
            _kind(tally, "OK")
            tally.count(True)
        except Exception as e:  # noqa: BLE001
            _fail(tally, e, "%s %s | chain %s" % (role, how, " ".join(runner.show(d) for d in ders)))


# ---------------------------------------------------------------------------
# pnc

class PncCase:
    """One verifier input and what may come of it."""

    def __init__(self, evidence, how, ok_allowed=False, want=None, shaped=True, case=None):
        self.evidence = evidence
        self.how = how
        self.ok_allowed = ok_allowed    # the genuine chain under our own signature
        self.want = want                # the exact code it must get (None: any -20 code)
        self.shaped = shaped            # the evidence has the right keys and types
        self.case = case                # a variant's folder: judged with its trust store


def _pnc_chain(rnd, chain):
    """A chain as the element carries it: at most 5 certificates of at most
    1600 octets (the grammar's limits) most of the time."""
    if rnd.random() < 0.9:
        chain = [bytes(c[:1600]) for c in chain[:5]]
    return chain


def make_pnc(rnd, S):
    """A PncCase, or None when the mutated element cannot be encoded."""
    good = S.good_evidence
    r = rnd.random()
    if r < 0.03:
        return PncCase(dict(good), "pristine", ok_allowed=True, want="OK")
    if r < 0.60:
        chain, how = mutate_chain(rnd, S, S.good_chain)
        chain = _pnc_chain(rnd, chain)
        if not chain:
            return None
        try:
            if r < 0.35:
                # the old signature is good only over the old element
                return PncCase(S.unsigned_evidence(chain, S.challenge, good["signature"]), "unsigned " + how,
                               ok_allowed=chain == S.good_chain)
            ev = S.evidence(chain, S.challenge, S.contract_key)
        except (ValueError, exi.ExiError):
            return None
        return PncCase(ev, "signed " + how, ok_allowed=_genuine_path(S, chain, "contract_leaf"))
    if r < 0.75:
        ev = dict(good)
        field = rnd.choice(("leaf", "sub_cas", "signature", "signature", "digest", "challenge"))
        if field == "leaf":
            ev["leaf"] = mutate_der(rnd, good["leaf"], S.pool, S.donors)
        elif field == "sub_cas":
            ev["sub_cas"], _ = mutate_chain(rnd, S, good["sub_cas"])
        elif field == "signature":
            sig = good["signature"]
            ev["signature"] = rnd.choice((
                mutate(rnd, sig, [sig], BASIC), bytes(132), b"\xff" * 132, sig[66:] + sig[:66],
                bytes(65) + b"\x01" + sig[66:], sig[:66] + bytes(65) + b"\x01", sig[:-1], sig + b"\x00", b""))
        elif field == "digest":
            ev["digest"] = mutate(rnd, good["digest"], [good["digest"]], BASIC)
        else:
            ev["challenge"] = mutate(rnd, good["challenge"], [good["challenge"]], BASIC)
        same = ev[field] == good[field]
        return PncCase(ev, "field " + field, ok_allowed=same, want="OK" if same else None)
    if r < 0.87:
        ev = dict(good)
        field = rnd.choice(("element", "signed_info"))
        ev[field] = mutate(rnd, good[field], [good["element"], good["signed_info"]], BASIC)
        same = ev[field] == good[field]
        return PncCase(ev, "fragment " + field, ok_allowed=same, want="OK" if same else None)
    if r < 0.95:
        doc, ders, trust, crls, resps, key = rnd.choice([c for c in S.cases if c[5] is not None])
        want = doc["response_code"]
        how = "variant " + doc["case"]
        if rnd.random() < 0.5:
            ders, what = mutate_chain(rnd, S, ders)
            ders = _pnc_chain(rnd, ders)
            how += " " + what
            want = None
        try:
            ev = S.evidence(ders or [b""], S.challenge, key)
        except (ValueError, exi.ExiError):
            return None
        return PncCase(ev, how, want=want, case=os.path.join(S.main.dir, "variants", doc["case"]))
    # the wrong shape
    ev = dict(good)
    k = rnd.choice(sorted(ev))
    gone = rnd.random() < 0.3
    if gone:
        del ev[k]
    else:
        ev[k] = rnd.choice((None, 0, 1.5, "text", [], {}, [b"x"], b"", object()))
    # fields the verifier does not read, or optional ones (digest, challenge
    # and sub_cas are checked against the signed element when present)
    unread = k in ("id", "method", "evccid") or (k in ("digest", "challenge") and (gone or ev[k] is None)) \
        or (k == "sub_cas" and gone)
    return PncCase(ev, "shape %s" % k, shaped=False, ok_allowed=unread)


SIGNED = ("element", "signed_info", "signature", "leaf", "sub_cas")


def _over_the_link(rnd, case, tally):
    """The case as the charger's host gets it: the evidence through the
    host link's PNC_VERIFY codec (micro15118.hostlink.msg), the TLV octets
    mutated now and then (their lengths among the edits).  None when the
    MCU would not send it (encode refuses) or the host refuses it
    (MsgError: BAD_REQUEST), booked here."""
    from micro15118.hostlink import msg as hl
    try:
        blob = hl.encode_pnc_evidence(case.evidence)
    except ValueError:
        return None
    if rnd.random() < 0.4:
        blob = mutate(rnd, blob, [blob], BASIC + (_tlv_length,))
    try:
        ev = hl.decode_pnc_evidence(blob)
    except hl.MsgError:
        _kind(tally, "link BAD_REQUEST")
        tally.count(False)
        return None
    except Exception as e:  # noqa: BLE001
        _fail(tally, e, "decode_pnc_evidence | %s | blob %s" % (case.how, runner.show(blob)))
        return None
    old = case.evidence
    same = all(ev.get(k) == old.get(k) for k in SIGNED) and ev.get("challenge") in (old.get("challenge"), None) \
        and ev.get("digest") in (old.get("digest"), None)
    return PncCase(ev, "link " + case.how, ok_allowed=case.ok_allowed and same,
                   want=case.want if ev == {k: v for k, v in old.items() if v is not None} else None, case=case.case)


def _tlv_length(rnd, data, seeds):
    """A TLV's u16 length (tag u8, length u16, value) set to an edge value."""
    i, n = 0, len(data)
    starts = []
    while i + 3 <= n:
        starts.append(i)
        i += 3 + int.from_bytes(data[i + 1:i + 3], "big")
    if starts:
        j = rnd.choice(starts) + 1
        data[j:j + 2] = rnd.choice((0, 1, 0x7FFF, 0xFFFF, rnd.randrange(0x10000))).to_bytes(2, "big")
    return data


@_quiet
def fuzz_pnc(tally, rnd, verifier=None):
    from host.pnc.verify import GENERAL_ERROR, Verifier
    S = seeds()
    main_v = verifier or Verifier.from_pki(S.main.dir)
    by_case = {}
    while tally.more():
        case = make_pnc(rnd, S)
        if case is None:
            continue
        if case.shaped and rnd.random() < 0.3:
            case = _over_the_link(rnd, case, tally)
            if case is None:
                continue
        v = main_v
        if case.case is not None:
            v = by_case.get(case.case)
            if v is None:
                v = by_case[case.case] = Verifier.from_case(case.case)
        try:
            code, why = v.check(case.evidence)
            if code not in PNC_CODES:
                raise runner.Unexpected("code %r" % (code,))
            if case.want is not None and code != case.want:
                raise runner.Unexpected("%s, not %s (%s)" % (code, case.want, why))
            if code.startswith("OK") and not case.ok_allowed:
                raise runner.Unexpected("%s for %s" % (code, case.how))
            if code == GENERAL_ERROR and case.shaped and why and why[0].startswith("evidence not well formed"):
                cls = why[0].split(": ", 1)[1].split("(", 1)[0]
                if cls in MASKED:
                    raise runner.Unexpected("a %s masked as %s: %s" % (cls, code, why[0]))
            _kind(tally, code)
            tally.count(code.startswith("OK"))
        except Exception as e:  # noqa: BLE001
            ev = case.evidence
            leaf = ev.get("leaf")
            subs = ev.get("sub_cas")
            _fail(tally, e, "%s | leaf %s | sub_cas %s" % (
                case.how, runner.show(leaf) if isinstance(leaf, bytes) else repr(leaf)[:80],
                " ".join(runner.show(c) for c in subs if isinstance(c, bytes)) if isinstance(subs, list)
                else repr(subs)[:80]))


# ---------------------------------------------------------------------------
# tls

def _as_items(rnd, ders):
    r = rnd.random()
    if r < 0.6:
        return list(ders)
    if r < 0.8:
        pem = b"".join(b"-----BEGIN CERTIFICATE-----\n" + __import__("base64").encodebytes(d) +
                       b"-----END CERTIFICATE-----\n" for d in ders)
        return [pem] if rnd.random() < 0.5 else [pem.decode("latin-1")]
    return [bytearray(d) for d in ders]


@_quiet
def fuzz_tls(tally, rnd):
    from host.tls import validate
    S = seeds()
    roots_v2g = [S.main.cert("v2g_root")]
    while tally.more():
        leaf = rnd.choice(("secc_leaf", "vehicle_leaf"))
        purpose = "server" if leaf == "secc_leaf" else "client"
        good = S.chains[("main", leaf)]
        ders, how = (list(good), "genuine") if rnd.random() < 0.03 else mutate_chain(rnd, S, good, leaf=leaf)
        roots = roots_v2g if rnd.random() < 0.7 else S.roots
        check = profile.path_checker(leaf) if rnd.random() < 0.5 else None
        algs = ("ecdsa_secp521r1_sha512",) if rnd.random() < 0.8 else tuple(validate.ALGORITHMS)
        try:
            try:
                path = validate.validate_chain(_as_items(rnd, ders), roots, purpose, None, algs, check)
            except validate.ChainError as e:
                _kind(tally, "ChainError %d" % e.alert)
                tally.count(False)
                continue
            except ValueError:
                _kind(tally, "ValueError")
                tally.count(False)
                continue
            pd = [_der(c) for c in path]
            if any(d not in S.genuine for d in pd):
                raise runner.Unexpected("a path with a certificate that is not genuine (%s)" % how)
            if not ders or pd[0] != bytes(ders[0]):
                raise runner.Unexpected("the path's leaf is not the chain's first certificate (%s)" % how)
            _kind(tally, "path")
            tally.count(True)
        except Exception as e:  # noqa: BLE001
            _fail(tally, e, "%s %s | chain %s" % (leaf, how, " ".join(runner.show(d) for d in ders)))


# ---------------------------------------------------------------------------
# peer

def certificate_message(ders, staple):
    """The body of a TLS 1.3 Certificate handshake message (after its type
    octet): empty context, the entries, a status_request extension with the
    staple on the first."""
    entries = b""
    for i, d in enumerate(ders):
        ext = b""
        if i == 0 and staple is not None:
            status = b"\x01" + len(staple).to_bytes(3, "big") + staple
            ext = b"\x00\x05" + len(status).to_bytes(2, "big") + status
        entries += len(d).to_bytes(3, "big") + d + len(ext).to_bytes(2, "big") + ext
    body = b"\x00" + len(entries).to_bytes(3, "big") + entries
    return len(body).to_bytes(3, "big") + body


@_quiet
def fuzz_peer(tally, rnd):
    from tlslite.constants import CertificateType
    from tlslite.errors import TLSDecodeError, TLSIllegalParameterException
    from tlslite.utils.codec import BadCertificateError
    from tlslite.messages import Certificate
    from tlslite.utils.codec import Parser

    from host.tls import SoftwareSigner, TlsClient, TlsServer, _tlslite
    S = seeds()
    m = S.main
    v2g = [m.cert("v2g_root")]
    expected = (SyntaxError, BadCertificateError, TLSIllegalParameterException, TLSDecodeError)
    eps = {}
    for leaf, cls in (("secc_leaf", TlsServer), ("vehicle_leaf", TlsClient)):
        chain = [m.cert(n) for n in [leaf] + [_n for _n in _issuers(m, leaf)]]
        kw = {"ocsp_staple": S.staple} if cls is TlsServer else {"require_ocsp": False}
        eps[leaf] = cls(chain, SoftwareSigner(m.key(leaf)), v2g, **kw)
    strict = TlsClient([m.cert("vehicle_leaf")] + [m.cert(n) for n in _issuers(m, "vehicle_leaf")],
                       SoftwareSigner(m.key("vehicle_leaf")), v2g, require_ocsp=True)
    while tally.more():
        peer_leaf = rnd.choice(("secc_leaf", "vehicle_leaf"))
        if peer_leaf == "secc_leaf":
            ep = strict if rnd.random() < 0.5 else eps["vehicle_leaf"]
        else:
            ep = eps["secc_leaf"]
        good = S.chains[("main", peer_leaf)]
        r = rnd.random()
        staple = S.staple if peer_leaf == "secc_leaf" and rnd.random() < 0.8 else None
        if r < 0.03:
            ders, how = list(good), "genuine"
        elif r < 0.25 and staple is not None:
            ders, how = list(good), "staple"
            staple = mutate_der(rnd, staple, S.ocsp_ders, S.donors)
        else:
            ders, how = mutate_chain(rnd, S, good, leaf=peer_leaf)
        ders = [d[:0xFFFFFF] for d in ders]
        raw = certificate_message(ders, staple)
        if rnd.random() < 0.05:
            raw = mutate(rnd, raw, [raw], BASIC)
        try:
            try:
                msg = Certificate(CertificateType.x509, (3, 4)).parse(Parser(bytearray(raw)))
            except expected as e:
                _kind(tally, "tlslite " + type(e).__name__)
                tally.count(False)
                continue
            ep._validated_path = None
            ep.ocsp = None
            try:
                ep._tls_on_peer_certificate(msg)
            except _tlslite.PeerCertificateRejected as e:
                _kind(tally, "rejected alert %d" % e.alert)
                tally.count(False)
                continue
            except ValueError:
                _kind(tally, "ValueError (internal_error alert)")
                tally.count(False)
                continue
            path = [_der(c) for c in ep._validated_path]
            sent = [bytes(e.certificate.writeBytes()) for e in msg.certificate_list]
            if any(d not in S.genuine for d in path) or path[0] != sent[0]:
                raise runner.Unexpected("accepted a path with a certificate that is not genuine (%s)" % how)
            if ep is strict and (ep.ocsp is None or ep.ocsp.status != "good"):
                raise runner.Unexpected("accepted without a good OCSP staple (%s): %r" % (how, ep.ocsp))
            _kind(tally, "accepted")
            tally.count(True)
        except Exception as e:  # noqa: BLE001
            _fail(tally, e, "%s %s | staple %s | chain %s" % (
                peer_leaf, how, runner.show(staple) if staple else "-",
                " ".join(runner.show(d) for d in ders)))


def _issuers(pki, name):
    out = []
    issuer = pki.issuer_of(name)
    while issuer is not None and pki.issuer_of(issuer) is not None:
        out.append(issuer)
        issuer = pki.issuer_of(issuer)
    return out


TARGETS = {"der": fuzz_der, "chain": fuzz_chain, "pnc": fuzz_pnc, "tls": fuzz_tls, "peer": fuzz_peer}


def main(argv=None):
    """runner.main's command line, plus each target's outcome breakdown."""
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    ap.add_argument("--runs", type=int, default=1000000, help="inputs per target")
    ap.add_argument("--seconds", type=float, help="stop each target after this long")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", choices=sorted(TARGETS) + ["all"], default="all")
    args = ap.parse_args(argv)
    names = list(TARGETS) if args.target == "all" else [args.target]
    unexpected = 0
    for name in names:
        tally = runner.run(TARGETS, name, args.runs, args.seed, args.seconds)
        print(tally.summary(), flush=True)
        kinds = getattr(tally, "kinds", {})
        print("  outcomes: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items(), key=lambda kv: -kv[1])),
              flush=True)
        for text in tally.failures[:5]:
            print("UNEXPECTED " + text[:800], flush=True)
        unexpected += tally.unexpected
    return 1 if unexpected else 0
