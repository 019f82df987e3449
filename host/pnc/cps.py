"""The CertificateInstallation back end on the host: a stand-in for what
sits behind the charger (the CSMS, the eMSP/MO that issues contracts, the
CPS that signs the installation data).  CPython; needs ``cryptography``.

    cps = Cps.from_pki("DIR")                          # DIR: a micro15118 pki
    charger = Charger(power, pnc=verifier, cert_install=cps)
    code, fields = cps.certificate_installation(evidence, now)   # or None while pending
    cps.log[-1]                                        # (code, [reasons])
    cps.issued[-1]                                     # {"name", "emaid", "pcid", "cert"}

The SECC (firmware iso20/secc/certificate_installation.py) hands over the
evidence of a CertificateInstallationReq (format: iso20/charger.py).  Like
host/pnc/verify.py this trusts only the signed octets: it decodes the
SignedInfo and OEMProvisioningCertificateChain fragments itself and checks

1. SignedInfo (one Reference "#" + Id, SHA-512, ECDSA-SHA512), the
   DigestValue against SHA-512 of the element, the leaf and sub-CAs the
   SECC passed against the signed ones, and the SignatureValue with the
   OEM provisioning certificate's key: else FAILED_SignatureError;
2. the OEM provisioning chain with host.pki.profile.check_chain (role
   oem_prov_leaf) to a trusted OEM root: revoked WARNING_CertificateRevoked,
   expired WARNING_CertificateExpired, not yet valid
   WARNING_CertificateNotYetValid, anything else (an unknown root, a key
   that is not secp521r1, ...) WARNING_CertificateValidationError (the
   standard's NOTE 3/4 to [V2G20-2709], as transcribed: "a ResponseCode
   starting with WARNING_");
3. the MO: the PCID (the OEM provisioning certificate's CN) must have a
   contract (``contracts``: {PCID: eMAID}, or a function; default: every
   PCID gets the PKI's contract eMAID), else
   WARNING_NoContractMatchingPCIDFound;
4. a new contract: a fresh secp521r1 key, its certificate issued by MO
   Sub-CA 2 with ``Pki.issue(..., public_key=...)`` (recorded in pki.json
   as an external key, OCSP response written: a charger's Verifier made
   from the PKI afterwards knows it); the private key wrapped for the EV
   (wrap_key below; the crypto choices are iso20/evcc/contract_key.py's,
   written here independently with ``cryptography``: ConcatKDFHash over
   SHA-512, AESGCM), then dropped ([V2G20-2496] wants it destroyed: Python
   cannot zero it, the objects are only released);
5. the CPS: SignedInstallationData (Id "id1": the contract chain, ECDHCurve
   SECP521, DHPublicKey, SECP521_EncryptedPrivateKey) signed with the CPS
   leaf key (DIR/keys/cps_leaf.pem) through iso20/xmldsig.py, and the CPS
   chain (leaf, Sub-CA 2, Sub-CA 1).

``pending``: answer None (Ongoing) that many times first; ``remaining``:
RemainingContractCertificateChains.
"""
import hashlib
import os

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from micro15118.iso20 import xmldsig
from host.pki import profile as _profile
from host.pnc.verify import Refused, signed_element

SCHEMA = "-20:CommonMessages"
ELEMENT = "OEMProvisioningCertificateChain"

OK = "OK"
SIGNATURE_ERROR = "FAILED_SignatureError"
VALIDATION_ERROR = "WARNING_CertificateValidationError"
NO_CONTRACT = "WARNING_NoContractMatchingPCIDFound"
NO_CERTIFICATE = "WARNING_NoCertificateAvailable"
CHAIN_CODES = {"revoked": "WARNING_CertificateRevoked", "expired": "WARNING_CertificateExpired",
               "not_yet_valid": "WARNING_CertificateNotYetValid"}

# the key wrap (iso20/evcc/contract_key.py: what is read, what is inferred)
OTHER_INFO = b"\x01\x55\x56"
KEY_BYTES = 66


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def _point(public_key):
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def aad(pcid, ski):
    """[V2G20-2492] as iso20/evcc/contract_key.py reads it."""
    p = "".join(c for c in pcid.upper() if c not in "-* ")
    return p.encode("ascii") + ski.hex().upper().encode("ascii")


def session_key(z):
    """NIST SP 800-56A concatenation KDF, SHA-512, 256 bits (inferred)."""
    return ConcatKDFHash(algorithm=hashes.SHA512(), length=32, otherinfo=OTHER_INFO).derive(z)


def wrap_key(private_key, recipient, pcid, ski, rng=os.urandom):
    """(DHPublicKey, SECP521_EncryptedPrivateKey) of ``private_key`` for the
    holder of ``recipient`` (the OEM provisioning certificate's public key):
    an ephemeral P-521 key, ECDH, the session key, AES-256-GCM with a random
    96-bit IV: IV || ciphertext (66) || tag (16)."""
    eph = ec.generate_private_key(ec.SECP521R1())
    k = session_key(eph.exchange(ec.ECDH(), recipient))
    d = private_key.private_numbers().private_value.to_bytes(KEY_BYTES, "big")   # 7 leading zero bits
    iv = rng(12)
    wrapped = iv + AESGCM(k).encrypt(iv, d, aad(pcid, ski))
    return _point(eph.public_key()), wrapped


def unwrap_key(private_key, dh_public, wrapped, pcid, ski):
    """The inverse (for tests): the contract key from the recipient's key."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(), bytes(dh_public))
    k = session_key(private_key.exchange(ec.ECDH(), peer))
    d = AESGCM(k).decrypt(bytes(wrapped[:12]), bytes(wrapped[12:]), aad(pcid, ski))
    return ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP521R1())


class _KeyCrypto:
    """xmldsig's crypto seam over one private key in memory (the CPS leaf's)."""

    def __init__(self, key):
        self.key = key

    def sha512(self, data):
        return hashlib.sha512(bytes(data)).digest()

    def sign_sha512(self, key_ref, digest):
        return self.key.sign(bytes(digest), ec.ECDSA(utils.Prehashed(hashes.SHA512())))


class Cps:
    """The Charger's ``cert_install`` back end (module docstring)."""

    def __init__(self, pki, anchors=None, contracts=None, clock=None, pending=0, remaining=0,
                 crls=(), ocsp_responses=(), rng=os.urandom):
        from host.pki.ca import Pki
        from host.pnc.verify import _load_certs, _load_crls, _load_ocsp
        self.pki = pki if isinstance(pki, Pki) else Pki.open(pki)
        roots = [self.pki.cert(n) for n in self.pki.names("oem_root")]
        self.anchors = _load_certs(anchors) if anchors is not None else roots
        self.crls = _load_crls(crls)
        self.ocsp_responses = _load_ocsp(ocsp_responses)
        self.contracts = contracts
        self.clock = clock or _profile.now_utc
        self.pending = pending
        self.remaining = remaining
        self.rng = rng
        self.log = []               # (code, [reasons])
        self.issued = []            # {"name", "emaid", "pcid", "cert"}
        self.calls = 0

    @classmethod
    def from_pki(cls, directory, **kw):
        return cls(directory, **kw)

    # -- the Charger seam -------------------------------------------------------------
    def certificate_installation(self, evidence, now):
        self.calls += 1
        if self.pending > 0:
            self.pending -= 1
            return None
        try:
            fields = self._install(evidence)
            code, why = OK, []
        except Refused as e:
            code, why, fields = e.code, [str(e)], None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            code, why, fields = NO_CERTIFICATE, ["evidence not well formed: %r" % (e,)], None
        except Exception as e:  # noqa: BLE001 - a malformed certificate, parsed lazily (verify.check)
            code, why, fields = VALIDATION_ERROR, ["malformed certificate: %s: %s" % (type(e).__name__, e)], None
        self.log.append((code, why))
        return code, fields

    # -- the checks and the contract --------------------------------------------------------
    def _signed(self, ev):
        """Step 1: (leaf, sub-CAs) of a correctly signed request."""
        chain, mine = signed_element(ev, ELEMENT)
        octets = mine["signed_info"]
        leaf_der = chain["Certificate"]
        subs_der = chain.get("SubCertificates", {}).get("Certificate", [])
        if bytes(ev["leaf"]) != leaf_der or [bytes(c) for c in ev.get("sub_cas", subs_der)] != subs_der:
            raise Refused(SIGNATURE_ERROR, "certificates are not the signed ones")
        try:
            leaf = x509.load_der_x509_certificate(leaf_der)
            subs = [x509.load_der_x509_certificate(c) for c in subs_der]
        except ValueError as e:
            raise Refused(VALIDATION_ERROR, "OEM provisioning chain does not parse: %s" % e) from None
        key = leaf.public_key()
        if mine["method"] != xmldsig.ECDSA_SHA512 or not isinstance(key, ec.EllipticCurvePublicKey):
            raise Refused(VALIDATION_ERROR, "%s with a %s key: not the SECP521 we serve"
                          % (mine["method"], _profile.key_kind(key)))
        try:
            key.verify(xmldsig.raw_to_der(mine["signature"]), octets, ec.ECDSA(hashes.SHA512()))
        except (InvalidSignature, ValueError):
            raise Refused(SIGNATURE_ERROR, "SignatureValue does not verify with the OEM provisioning key") from None
        return leaf, subs

    def _chain(self, leaf, subs):
        """Step 2."""
        violations = _profile.check_chain(leaf, subs, self.anchors, "oem_prov_leaf", profile=self.pki.profile,
                                          at=self.clock(), crls=self.crls, ocsp_responses=self.ocsp_responses)
        if not violations:
            if not isinstance(leaf.public_key().curve, ec.SECP521R1):
                raise Refused(VALIDATION_ERROR, "OEM provisioning key is not secp521r1")
            return
        codes = {v.code for v in violations}
        code = next((CHAIN_CODES[c] for c in ("revoked", "expired", "not_yet_valid") if c in codes),
                    VALIDATION_ERROR)
        if codes & {"unknown_root", "signature", "issuer_mismatch", "root_mismatch", "chain_length"}:
            code = VALIDATION_ERROR     # an untrusted chain says nothing about the rest
        raise Refused(code, "; ".join(str(v) for v in violations))

    def _emaid(self, pcid):
        """Step 3: the MO's contract for this PCID."""
        c = self.contracts
        if c is None:
            name = self.pki.names("contract_leaf")[0]
            return self.pki.entry(name).get("emaid") or _profile.common_name(self.pki.cert(name).subject)
        return c(pcid) if callable(c) else c.get(pcid)

    def _install(self, ev):
        leaf, subs = self._signed(ev)
        self._chain(leaf, subs)
        pcid = _profile.common_name(leaf.subject)
        emaid = self._emaid(pcid)
        if not emaid:
            raise Refused(NO_CONTRACT, "no contract for PCID %s" % pcid)
        # step 4: the MO issues a contract for a key it makes, and wraps the key
        key = ec.generate_private_key(ec.SECP521R1())
        stem = "contract_" + "".join(ch for ch in pcid if ch.isalnum())
        n = 1
        while stem + "_%d" % n in self.pki.state["certs"]:
            n += 1
        name = stem + "_%d" % n
        cert = self.pki.issue(name, "contract_leaf", cn=emaid, public_key=key.public_key())
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        dh_public, wrapped = wrap_key(key, leaf.public_key(), pcid, ski, self.rng)
        del key                     # [V2G20-2496]: the MO keeps no copy (Python cannot zero it)
        contract = self.pki.chain(name)
        data = {"@Id": "id1",
                "ContractCertificateChain": {"Certificate": _der(contract[0]),
                                             "SubCertificates": {"Certificate": [_der(c) for c in contract[1:]]}},
                "ECDHCurve": "SECP521", "DHPublicKey": dh_public, "SECP521_EncryptedPrivateKey": wrapped}
        # step 5: the CPS signs it
        cps = self.pki.chain("cps_leaf")
        signature = xmldsig.sign(_KeyCrypto(self.pki.key("cps_leaf")), "cps_leaf", SCHEMA,
                                 [("SignedInstallationData", data)])
        self.issued.append({"name": name, "emaid": emaid, "pcid": pcid, "cert": contract[0]})
        return {"CPSCertificateChain": {"Certificate": _der(cps[0]),
                                        "SubCertificates": {"Certificate": [_der(c) for c in cps[1:]]}},
                "SignedInstallationData": data,
                "RemainingContractCertificateChains": self.remaining,
                "Signature": signature}
