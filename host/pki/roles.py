"""The roles of the ISO 15118-20 test PKI: who issues whom, and each role's
certificate profile (subject DC, key usage, basic constraints, validity).

Source: our research digest of the -20 security facts (section 6.2 "PKI
hierarchy and certificate profiles").  The digest read the test PKIs of
python-iso15118 (``iso15118/shared/pki/configs/*.cnf``, ``create_certs.sh``)
and EVerest libiso15118 (``test/iso15118/io/pki/configs/vehicle*.cnf``,
``pki.sh``); the standard's Annex B profiles were not available to it.  So
the values below are what those open stacks use, not checked against the
standard, and where the sources disagree we say which we took:

* V2G root -> CPO Sub-CA 1 (pathlen 1) -> CPO Sub-CA 2 (pathlen 0) -> SECC
  leaf (DC=CPO; EVerest's CSRs say CSO, so the checker accepts both).
* V2G root -> CPS Sub-CA 1 -> CPS Sub-CA 2 -> CPS leaf, all DC=CPS.
* MO root -> MO Sub-CA 1 -> MO Sub-CA 2 -> contract leaf, all DC=MO, the
  leaf's CN an eMAID, OCSP URL in the AIA.
* OEM root -> OEM Sub-CA 1 -> OEM Sub-CA 2 -> OEM provisioning leaf, DC=OEM.
* Vehicle Sub-CA 1 -> Vehicle Sub-CA 2 -> vehicle leaf (TLS 1.3 client
  certificate, new in -20), DC=OEM.  The digest finds Vehicle Sub-CA 1
  issued by the **V2G root** in EVerest's test PKI (one implementation; which
  root issues it is listed as still open), so that is the default here;
  ``vehicle_root="oem_root"`` hangs it off the OEM root instead.
* Root and sub-CA key usage keyCertSign + cRLSign, basic constraints
  critical; root without a path length (as in python-iso15118).
* Validity in days as the test PKIs give them: roots 3650; CPO Sub-CA 1
  1460, Sub-CA 2 365, SECC leaf 60; CPS Sub-CA 1 1460, Sub-CA 2 730, leaf
  90; MO subs 1460, contract leaf 730; OEM subs and leaf 1460; vehicle 1460.
* DC of the V2G root and of the CPO sub-CAs: python-iso15118's configs say
  V2G; the digest gives no DC rule for the CPO sub-CAs, so the checker does
  not enforce one there.

Not in any source the digest found: an OCSP signer profile and -20 EKUs.
Our ``ocsp_signer`` is an RFC 6960 delegated responder of MO Sub-CA 2 (the
contract certificates' issuer, whose OCSP the CSMS asks for PnC), with the
OCSPSigning EKU and id-pkix-ocsp-nocheck that RFC 6960 section 4.2.2.2
requires of a delegated responder; 90 days is our choice.  No other role
carries an EKU.
"""

CA_KEY_USAGE = frozenset({"key_cert_sign", "crl_sign"})

# DC value sets the checker accepts (None: not checked).  The generator writes
# the first element of the tuple.


class Role:
    __slots__ = ("name", "issuer", "kind", "dc", "cn", "days", "key_usage",
                 "path_length", "eku_ocsp", "device", "chain", "aia_ocsp")

    def __init__(self, name, issuer, kind, dc, cn, days, key_usage, path_length=None,
                 eku_ocsp=False, device=None, chain=None, aia_ocsp=False):
        self.name = name
        self.issuer = issuer        # role name of the issuing CA (None: self-signed root)
        self.kind = kind            # "root", "sub1", "sub2", "leaf"
        self.dc = dc                # tuple of accepted DC values, first is written; None: no DC rule
        self.cn = cn                # default common name
        self.days = days            # validity period in days
        self.key_usage = frozenset(key_usage)
        self.path_length = path_length
        self.eku_ocsp = eku_ocsp
        self.device = device        # "charger"/"vehicle": private key lives in that device's SE050
        self.chain = chain          # "cpo", "cps", "mo", "oem", "vehicle"
        self.aia_ocsp = aia_ocsp

    @property
    def is_ca(self):
        return self.kind != "leaf"

    def __repr__(self):
        return "Role(%s)" % self.name


_LEAF_TLS = ("digital_signature", "key_agreement")

ROLES = {r.name: r for r in (
    Role("v2g_root", None, "root", ("V2G",), "V2G Root CA", 3650, CA_KEY_USAGE, chain="v2g"),
    Role("cpo_sub1", "v2g_root", "sub1", None, "CPO Sub-CA 1", 1460, CA_KEY_USAGE, 1, chain="cpo"),
    Role("cpo_sub2", "cpo_sub1", "sub2", None, "CPO Sub-CA 2", 365, CA_KEY_USAGE, 0, chain="cpo"),
    Role("secc_leaf", "cpo_sub2", "leaf", ("CPO", "CSO"), "DE*M15*E0001", 60, _LEAF_TLS,
         device="charger", chain="cpo"),
    Role("cps_sub1", "v2g_root", "sub1", ("CPS",), "CPS Sub-CA 1", 1460, CA_KEY_USAGE, 1, chain="cps"),
    Role("cps_sub2", "cps_sub1", "sub2", ("CPS",), "CPS Sub-CA 2", 730, CA_KEY_USAGE, 0, chain="cps"),
    Role("cps_leaf", "cps_sub2", "leaf", ("CPS",), "CPS Leaf", 90, ("digital_signature",), chain="cps"),
    Role("mo_root", None, "root", ("MO",), "MO Root CA", 3650, CA_KEY_USAGE, chain="mo"),
    Role("mo_sub1", "mo_root", "sub1", ("MO",), "MO Sub-CA 1", 1460, CA_KEY_USAGE, 1, chain="mo",
         aia_ocsp=True),
    Role("mo_sub2", "mo_sub1", "sub2", ("MO",), "MO Sub-CA 2", 1460, CA_KEY_USAGE, 0, chain="mo",
         aia_ocsp=True),
    Role("contract_leaf", "mo_sub2", "leaf", ("MO",), None, 730,
         ("digital_signature", "content_commitment", "key_encipherment", "key_agreement"),
         device="vehicle", chain="mo", aia_ocsp=True),
    Role("ocsp_signer", "mo_sub2", "leaf", ("MO",), "MO OCSP Signer", 90, ("digital_signature",),
         eku_ocsp=True, chain="mo"),
    Role("oem_root", None, "root", ("OEM",), "OEM Root CA", 3650, CA_KEY_USAGE, chain="oem"),
    Role("oem_sub1", "oem_root", "sub1", ("OEM",), "OEM Sub-CA 1", 1460, CA_KEY_USAGE, 1, chain="oem"),
    Role("oem_sub2", "oem_sub1", "sub2", ("OEM",), "OEM Sub-CA 2", 1460, CA_KEY_USAGE, 0, chain="oem"),
    Role("oem_prov_leaf", "oem_sub2", "leaf", ("OEM",), "M15PCID0000000001", 1460, _LEAF_TLS,
         device="vehicle", chain="oem"),
    Role("vehicle_sub1", "v2g_root", "sub1", ("OEM",), "Vehicle Sub-CA 1", 1460, CA_KEY_USAGE, 1,
         chain="vehicle"),
    Role("vehicle_sub2", "vehicle_sub1", "sub2", ("OEM",), "Vehicle Sub-CA 2", 1460, CA_KEY_USAGE, 0,
         chain="vehicle"),
    Role("vehicle_leaf", "vehicle_sub2", "leaf", ("OEM",), "M15EVTEST00000001", 1460, _LEAF_TLS,
         device="vehicle", chain="vehicle"),
)}

# The order init creates them in (every issuer before what it issues).
ORDER = tuple(ROLES)

ROOTS = tuple(n for n, r in ROLES.items() if r.kind == "root")
VEHICLE_ROOTS = ("v2g_root", "oem_root")

# Which roots a chain may end in (checked through the root's DC).
CHAIN_ROOT_DC = {
    "cpo": ("V2G",),
    "cps": ("V2G",),
    "mo": ("MO",),
    "oem": ("OEM",),
    "vehicle": ("V2G", "OEM"),   # issuer of Vehicle Sub-CA 1 still open (see above)
}

# Sub-CAs between leaf and root in every test chain of both stacks: at most
# two (Sub-CA 2 with pathlen 0 under Sub-CA 1 with pathlen 1).  The -20 XSD
# lets SubCertificates hold up to 3, so a longer chain still decodes; the
# profile check rejects it (python-iso15118 raises CertChainLengthError).
MAX_SUB_CAS = 2

# Which CA's OCSP responses a delegated responder signs; the other CAs sign
# their own (RFC 6960 4.2.2.2 allows both).
OCSP_RESPONDERS = {"mo_sub2": "ocsp_signer"}


def role(name):
    try:
        return ROLES[name]
    except KeyError:
        raise ValueError("unknown role %r (roles: %s)" % (name, " ".join(ROLES))) from None


def issuer_of(role_name, vehicle_root="v2g_root"):
    """The issuing CA role of ``role_name`` (None for a root)."""
    if role_name == "vehicle_sub1":
        return vehicle_root
    return role(role_name).issuer


def chain_roles(leaf_role, vehicle_root="v2g_root"):
    """[leaf, sub2, sub1, root] role names for a leaf role."""
    out = [leaf_role]
    while True:
        parent = issuer_of(out[-1], vehicle_root)
        if parent is None:
            return out
        out.append(parent)
