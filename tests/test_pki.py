"""micro15118 pki: the -20 test PKI (host/pki, host/cli/pki.py).

Every chain is checked three ways: our profile checker, ``cryptography``'s
signature verification, and ``openssl verify`` as an independent peer (strict
X.509, at most two sub-CAs, and for -20 security level 4, under which
secp256r1 keys and SHA-256 signatures fail).
"""
import glob
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from host.pki import ca, emaid, profile, report, roles, se050, variants

PROFILES = ("iso20", "ed448", "iso2")
LEAVES = [n for n, r in roles.ROLES.items() if r.kind == "leaf"]
DEVICE_ROLES = [n for n, r in roles.ROLES.items() if r.device]

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")


@pytest.fixture(scope="module", params=PROFILES)
def pki(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("pki_" + request.param)
    p = ca.Pki.create(str(d), profile=request.param)
    variants.make_variants(p)
    return p


@pytest.fixture
def fresh(tmp_path):
    """A PKI of its own for tests that change it."""
    return ca.Pki.create(str(tmp_path / "pki"))


def openssl_verify(cafiles, untrusted, leaf, args=(), crls=()):
    """``openssl verify``; the anchors go into one file (openssl verify
    reads only the last -CAfile)."""
    cmd = ["openssl", "verify"] + list(args)
    if len(cafiles) == 1:
        cmd += ["-CAfile", cafiles[0]]
    else:
        bundle = os.path.join(os.path.dirname(leaf), "..", "anchors.pem")
        with open(bundle, "wb") as out:
            for f in cafiles:
                with open(f, "rb") as src:
                    out.write(src.read())
        cmd += ["-CAfile", bundle]
    if untrusted:
        cmd += ["-untrusted", untrusted]
    for c in crls:
        cmd += ["-CRLfile", c]
    cmd.append(leaf)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


# ---------------------------------------------------------------------------
# eMAID

def test_emaid_check_character_matches_published_vectors():
    # ShellRechargeSolutionsEU/mobilityid CheckDigitSpec (ISO 15118-1 method).
    codes = ["NN123ABCDEFGHI", "FRXYZ123456789", "ITA1B2C3E4F5G6", "ESZU8WOX834H1D",
             "PT73902837ABCZ", "DE83DUIEN83QGZ", "DE83DUIEN83ZGQ", "DE8AA001234567"]
    assert "".join(emaid.check_character(c) for c in codes) == "T24RZDM0"


def test_emaid_forms():
    assert emaid.parse("NL-TNM-000122045-U") == ("NL", "TNM", "000122045", "U")
    assert emaid.normalize("de-m15-c12345678-j") == "DEM15C12345678J"
    assert emaid.normalize("DEM15C12345678") == "DEM15C12345678"     # no check character: allowed
    assert emaid.display("DEM15C12345678J") == "DE-M15-C12345678-J"
    for bad in ("DE-M15-C12345678-X",     # wrong check character
                "DE-M15C12345678J",       # mixed separators
                "D1-M15-C12345678",       # country not letters
                "DE-M15-C1234567",        # instance too short
                ""):
        with pytest.raises(ValueError):
            emaid.parse(bad)


# ---------------------------------------------------------------------------
# the hierarchy

def test_issuer_tree_follows_the_facts():
    # research digest 6.2: CPO and CPS chains under the V2G root, contract
    # under MO, provisioning under OEM, vehicle Sub-CA 1 under the V2G root
    # (EVerest's test PKI) unless asked otherwise.
    assert roles.chain_roles("secc_leaf") == ["secc_leaf", "cpo_sub2", "cpo_sub1", "v2g_root"]
    assert roles.chain_roles("cps_leaf") == ["cps_leaf", "cps_sub2", "cps_sub1", "v2g_root"]
    assert roles.chain_roles("contract_leaf") == ["contract_leaf", "mo_sub2", "mo_sub1", "mo_root"]
    assert roles.chain_roles("ocsp_signer") == ["ocsp_signer", "mo_sub2", "mo_sub1", "mo_root"]
    assert roles.chain_roles("oem_prov_leaf") == ["oem_prov_leaf", "oem_sub2", "oem_sub1", "oem_root"]
    assert roles.chain_roles("vehicle_leaf") == ["vehicle_leaf", "vehicle_sub2", "vehicle_sub1", "v2g_root"]
    assert roles.chain_roles("vehicle_leaf", "oem_root")[-1] == "oem_root"


def test_every_role_present(pki):
    assert set(roles.ROLES) <= set(pki.names())
    for name in roles.ROLES:
        assert os.path.isfile(pki.path("certs", name))


def test_hierarchy_validates_with_the_profile_checker(pki):
    results = report.check_directory(pki)
    assert {n: v for n, v in results.items() if v} == {}


def test_profile_fields(pki):
    c = pki.cert("contract_leaf")
    assert profile.common_name(c.subject) == emaid.make(*ca.DEFAULT_EMAID) == "DEM15C12345678J"
    for name, r in roles.ROLES.items():
        cert = pki.cert(name)
        if r.dc:
            assert profile.dc_values(cert.subject) == [r.dc[0]], name
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca == r.is_ca and bc.value.path_length == r.path_length, name
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and profile.key_usage_names(ku.value) == set(r.key_usage), name
        days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
        assert days == r.days, name
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        if r.kind != "root":
            aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
            issuer = pki.cert(pki.issuer_of(name))
            assert aki.key_identifier == issuer.extensions.get_extension_for_class(
                x509.SubjectKeyIdentifier).value.digest, name
        assert ski
    eku = pki.cert("ocsp_signer").extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]
    serials = [pki.cert(n).serial_number for n in pki.names()]
    assert len(set(serials)) == len(serials)
    assert all(0 < s < 1 << 159 for s in serials)


@pytest.mark.parametrize("leaf", LEAVES)
def test_chain_signatures_verify_with_cryptography(pki, leaf):
    chain = pki.chain(leaf) + [pki.cert(pki.root_of(leaf))]
    for child, parent in zip(chain, chain[1:]):
        child.verify_directly_issued_by(parent)
    assert len(chain) == 4      # leaf, Sub-CA 2, Sub-CA 1, root


@needs_openssl
@pytest.mark.parametrize("leaf", LEAVES)
def test_chain_accepted_by_openssl(pki, leaf):
    crls = sorted(glob.glob(os.path.join(pki.dir, "crl", "*.pem")))
    rc, out = openssl_verify([pki.path("certs", pki.root_of(leaf))], pki.path("chains", leaf),
                             pki.path("certs", leaf),
                             variants.openssl_base_args(pki.profile) + ["-crl_check_all"], crls)
    assert rc == 0 and ": OK" in out, out


@needs_openssl
def test_openssl_needs_the_right_root(pki):
    rc, out = openssl_verify([pki.path("certs", "mo_root")], pki.path("chains", "secc_leaf"),
                             pki.path("certs", "secc_leaf"), variants.openssl_base_args(pki.profile))
    assert rc != 0 and "unable to get local issuer certificate" in out


def test_profile_key_types_and_signature_algorithms(pki):
    want_key, want_sig, want_hash = {
        "iso20": ("secp521r1", SignatureAlgorithmOID.ECDSA_WITH_SHA512, hashes.SHA512),
        "ed448": ("ed448", SignatureAlgorithmOID.ED448, type(None)),
        "iso2": ("secp256r1", SignatureAlgorithmOID.ECDSA_WITH_SHA256, hashes.SHA256),
    }[pki.profile]
    for name in pki.names():
        cert = pki.cert(name)
        assert profile.key_kind(cert.public_key()) == want_key, name
        assert cert.signature_algorithm_oid == want_sig, name
        assert isinstance(cert.signature_hash_algorithm, want_hash), name
    for crl in pki.crls():
        assert crl.signature_algorithm_oid == want_sig
    for resp in pki.ocsp_responses():
        assert resp.signature_algorithm_oid == want_sig
    key = pki.key("mo_sub2")
    assert isinstance(key, ed448.Ed448PrivateKey if pki.profile == "ed448" else ec.EllipticCurvePrivateKey)


def test_checker_rejects_other_profiles(pki):
    other = "iso2" if pki.profile != "iso2" else "iso20"
    v = profile.check_certificate(pki.cert("secc_leaf"), "secc_leaf", other)
    assert {"key_type", "signature_algorithm"} <= {x.code for x in v}


# ---------------------------------------------------------------------------
# bad variants

def _cases(p):
    return sorted(os.listdir(os.path.join(p.dir, "variants")))


def test_variant_set(pki):
    want = {"%s_%s" % (chain, case) for chain in variants.CHAINS for case in variants.CASES}
    assert set(_cases(pki)) == want


@pytest.mark.parametrize("case", ["%s_%s" % (ch, c) for ch in variants.CHAINS for c in variants.CASES])
def test_variant_detected_by_checker_and_openssl(pki, case):
    d = os.path.join(pki.dir, "variants", case)
    doc, leaf, subs, trust, crls, resps = variants.load_case(d)
    v = profile.check_chain(leaf, subs, trust, doc["role"], profile.profile_of(pki.profile),
                            crls=crls, ocsp_responses=resps)
    codes = {x.code for x in v}
    assert doc["expected_violation"] in codes, v
    # One clean defect per case: nothing but the expected reason.
    assert codes == {doc["expected_violation"]}, v
    if doc["chain"] == "contract":
        assert profile.response_code(v) == doc["response_code"]
        assert profile.response_code(v, iso2=True) == doc["response_code_iso2"]
        assert doc["tls_alert"] is None
    else:
        assert doc["response_code"] is None and doc["tls_alert"]
    # The device key is in the variant's SE050 bundle and matches the leaf.
    device = variants.CHAINS[doc["chain"]][3]
    key = se050.load_private_key(d, device, doc["role"])
    assert key.public_key() == leaf.public_key()
    assert not os.path.exists(os.path.join(d, "keys", doc["role"] + ".pem"))

    if shutil.which("openssl") is None:
        pytest.skip("no openssl binary")
    o = doc["openssl"]
    untrusted = os.path.join(d, "chain.pem")
    rc, out = openssl_verify([os.path.join(d, a) for a in o["anchors"]], untrusted,
                             os.path.join(d, doc["leaf"]), o["args"],
                             [os.path.join(d, c) for c in doc["crls"]])
    if o["rejects"]:
        assert rc != 0 and o["error"] in out, out
    else:
        assert rc == 0, out


def test_variant_cross_root_fools_a_role_blind_peer(pki):
    """With every root trusted, openssl accepts the cross-root contract chain;
    only the role-aware checker sees it ends in the V2G root."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl binary")
    d = os.path.join(pki.dir, "variants", "contract_cross_root")
    with open(os.path.join(d, "case.json")) as f:
        doc = json.load(f)
    rc, out = openssl_verify([os.path.join(d, t) for t in doc["trust"]], os.path.join(d, "chain.pem"),
                             os.path.join(d, doc["leaf"]), variants.openssl_base_args(pki.profile))
    assert rc == 0, out


def test_variant_revocations_are_on_the_real_crl(pki):
    for chain, issuer in (("contract", "mo_sub2"), ("secc", "cpo_sub2")):
        leaf = ca.load_cert(os.path.join(pki.dir, "variants", chain + "_revoked", "certs",
                                         variants.CHAINS[chain][0] + ".pem"))
        with open(pki.path("crl", issuer), "rb") as f:
            crl = x509.load_pem_x509_crl(f.read())
        assert crl.is_signature_valid(pki.cert(issuer).public_key())
        assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None


def _xsd_enum(path, type_name):
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    root = ET.parse(path).getroot()
    for st in root.iter("{http://www.w3.org/2001/XMLSchema}simpleType"):
        if st.get("name") == type_name:
            return {e.get("value") for e in st.iterfind(".//xs:enumeration", ns)}
    raise AssertionError("%s not in %s" % (type_name, path))


def test_response_codes_are_xsd_names(pki):
    iso = pytest.importorskip("iso15118")
    base = os.path.join(os.path.dirname(iso.__file__), "shared", "schemas")
    codes20 = _xsd_enum(os.path.join(base, "iso15118_20", "V2G_CI_CommonTypes.xsd"), "responseCodeType")
    codes2 = _xsd_enum(os.path.join(base, "iso15118_2", "V2G_CI_MsgDataTypes.xsd"), "responseCodeType")
    assert "FAILED_CertChainError" not in codes20 and "FAILED_CertChainError" in codes2
    assert set(profile.RESPONSE_CODES.values()) | {"WARNING_CertificateValidationError"} <= codes20
    assert set(profile.RESPONSE_CODES_ISO2.values()) | {"FAILED"} <= codes2
    for case in _cases(pki):
        with open(os.path.join(pki.dir, "variants", case, "case.json")) as f:
            doc = json.load(f)
        if doc["response_code"] is not None:
            assert doc["response_code"] in codes20
            assert doc["response_code_iso2"] in codes2


# ---------------------------------------------------------------------------
# OCSP and CRL

def _load_ocsp(path):
    with open(path, "rb") as f:
        return ocsp.load_der_ocsp_response(f.read())


def test_ocsp_good_then_revoked(fresh):
    p = fresh
    leaf, issuer = p.cert("contract_leaf"), p.cert("mo_sub2")
    resp = _load_ocsp(p.path("ocsp", "contract_leaf"))
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert resp.serial_number == leaf.serial_number
    assert isinstance(resp.hash_algorithm, hashes.SHA256)
    assert profile.ocsp_matches(next(resp.responses), leaf, issuer)
    # Signed by the delegated responder, which MO Sub-CA 2 certified.
    assert resp.responder_key_hash == p.cert("ocsp_signer").extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier).value.digest
    assert profile.ocsp_signer_ok(resp, issuer)[0]
    assert profile.ocsp_signer_ok(resp, p.cert("cpo_sub2"))[0] is False

    p.revoke("contract_leaf", reason="key_compromise")
    resp = _load_ocsp(p.path("ocsp", "contract_leaf"))
    assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_reason == x509.ReasonFlags.key_compromise
    with open(p.path("crl", "mo_sub2"), "rb") as f:
        crl = x509.load_pem_x509_crl(f.read())
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    chain = p.chain("contract_leaf")
    for kw in ({"crls": p.crls()}, {"ocsp_responses": p.ocsp_responses()}):
        v = profile.check_chain(chain[0], chain[1:], p.roots(), "contract_leaf", **kw)
        assert [x.code for x in v] == ["revoked"]
        assert profile.response_code(v) == "WARNING_CertificateRevoked"
    # Other leaves stay good.
    assert _load_ocsp(p.path("ocsp", "secc_leaf")).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_forged_ocsp_response_is_not_believed(fresh):
    p = fresh
    leaf, issuer = p.cert("contract_leaf"), p.cert("mo_sub2")
    # "revoked", signed by a CA that did not issue the leaf.
    forged = ca.ocsp_response(leaf, issuer, p.cert("cpo_sub2"), p.key("cpo_sub2"),
                              revoked=(profile.now_utc(), "key_compromise"))
    chain = p.chain("contract_leaf")
    v = profile.check_chain(chain[0], chain[1:], p.roots(), "contract_leaf", ocsp_responses=[forged])
    assert [x.code for x in v] == ["revocation_info"]


@needs_openssl
def test_openssl_accepts_our_ocsp_responses(fresh):
    p = fresh
    p.revoke("secc_leaf")
    for name, issuer, status in (("contract_leaf", "mo_sub2", "good"), ("secc_leaf", "cpo_sub2", "revoked")):
        r = subprocess.run(["openssl", "ocsp", "-respin", p.path("ocsp", name),
                            "-issuer", p.path("certs", issuer), "-sha256", "-cert", p.path("certs", name),
                            "-CAfile", p.path("certs", p.root_of(name)),
                            "-verify_other", p.path("chains", issuer)],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        assert "Response verify OK" in out and "%s: %s" % (p.path("certs", name), status) in out, out


@needs_openssl
def test_openssl_sees_a_revoked_leaf_on_the_crl(fresh):
    p = fresh
    p.revoke("secc_leaf")
    rc, out = openssl_verify([p.path("certs", "v2g_root")], p.path("chains", "secc_leaf"),
                             p.path("certs", "secc_leaf"), ["-crl_check_all"],
                             glob.glob(os.path.join(p.dir, "crl", "*.pem")))
    assert rc != 0 and "certificate revoked" in out


# ---------------------------------------------------------------------------
# SE050 bundles: device keys never in keys/

def _private_scalar(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.private_numbers().private_value
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def test_device_keys_only_in_se050_bundles(pki):
    keys_dir = os.path.join(pki.dir, "keys")
    on_disk = {}
    for path in glob.glob(os.path.join(keys_dir, "*.pem")):
        with open(path, "rb") as f:
            on_disk[os.path.basename(path)] = _private_scalar(
                serialization.load_pem_private_key(f.read(), None))
    for name in DEVICE_ROLES:
        assert not os.path.exists(os.path.join(keys_dir, name + ".pem")), name
        r = roles.ROLES[name]
        e = se050.entry(pki.dir, r.device, name)
        key = se050.load_private_key(pki.dir, r.device, name)
        assert key.public_key() == pki.cert(name).public_key()
        assert _private_scalar(key) not in on_disk.values()
        kid, cid = se050.object_ids(name, 0)
        assert e["key"]["object_id"] == "0x%08X" % kid and e["cert"]["object_id"] == "0x%08X" % cid
        assert bytes.fromhex(e["cert"]["der"]) == pki.cert(name).public_bytes(serialization.Encoding.DER)
        want = {"iso20": ("NIST_P521", 5, 66), "iso2": ("NIST_P256", 3, 32), "ed448": ("ED448", None, 57)}
        curve, curve_id, size = want[pki.profile]
        assert (e["key"]["curve"], e["key"]["se05x_curve_id"]) == (curve, curve_id)
        assert e["key"]["se050_supported"] is (curve_id is not None)
        assert len(bytes.fromhex(e["key"]["private_key"])) == size
        if curve_id is not None:
            pub = bytes.fromhex(e["key"]["public_key"])
            assert pub[0] == 4 and len(pub) == 1 + 2 * size
    # CA and back-end keys are where the tool needs them.
    for name, r in roles.ROLES.items():
        if not r.device:
            assert os.path.isfile(os.path.join(keys_dir, name + ".pem")), name
    assert os.stat(pki.path("keys", "v2g_root")).st_mode & 0o077 == 0
    assert os.stat(se050.bundle_path(pki.dir, "vehicle")).st_mode & 0o077 == 0
    with open(se050.bundle_path(pki.dir, "charger")) as f:
        assert [e["name"] for e in json.load(f)["entries"]] == ["secc_leaf"]


def test_object_ids_stay_clear_of_nxp_ranges():
    for r in se050.BASE:
        for slot in (0, se050.SLOTS - 1):
            for oid in se050.object_ids(r, slot):
                assert oid < 0x7DA00000       # NXP demo auth, applet objects, trust provisioning above
    with pytest.raises(ValueError):
        se050.object_ids("contract_leaf", se050.SLOTS)
    with pytest.raises(ValueError):
        se050.object_ids("v2g_root", 0)


# ---------------------------------------------------------------------------
# issue, renew, revoke

def test_second_contract_gets_the_next_slot(fresh):
    p = fresh
    cert = p.issue("contract_2", "contract_leaf", cn="DE-M15-C00000002")
    assert profile.common_name(cert.subject) == "DEM15C00000002"
    e = se050.entry(p.dir, "vehicle", "contract_2")
    assert e["slot"] == 1 and e["key"]["object_id"] == "0x15118401"
    assert not os.path.exists(p.path("keys", "contract_2"))
    chain = p.chain("contract_2")
    assert profile.check_chain(chain[0], chain[1:], p.roots(), "contract_leaf",
                               crls=p.crls(), ocsp_responses=p.ocsp_responses()) == []
    assert os.path.isfile(p.path("ocsp", "contract_2"))


def test_renew_keeps_or_replaces_the_key(fresh):
    p = fresh
    old = p.cert("secc_leaf")
    same = p.renew("secc_leaf", days=10)
    assert same.serial_number != old.serial_number
    assert same.public_key() == old.public_key()
    assert (same.not_valid_after_utc - same.not_valid_before_utc).days == 10
    assert se050.entry(p.dir, "charger", "secc_leaf")["slot"] == 0
    new = p.renew("secc_leaf", new_key=True)
    assert new.public_key() != old.public_key()
    assert se050.load_private_key(p.dir, "charger", "secc_leaf").public_key() == new.public_key()
    assert report.check_directory(p)["secc_leaf"] == []
    # Renewing a CA with its key keeps what it issued valid.
    p.renew("mo_sub2")
    assert report.check_directory(p)["contract_leaf"] == []


def test_issue_from_a_csr_keeps_the_key_with_its_owner(fresh, tmp_path):
    p = fresh
    key = ec.generate_private_key(ec.SECP521R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DE*M15*E0002")]))
           .sign(key, hashes.SHA512()))
    path = tmp_path / "secc.csr"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    assert _cli(["pki", "issue", p.dir, "secc_leaf", "--name", "secc_2", "--csr", str(path)]) == 0
    p = ca.Pki.open(p.dir)
    cert = p.cert("secc_2")
    assert cert.public_key() == key.public_key()
    assert profile.common_name(cert.subject) == "DE*M15*E0002"
    assert p.entry("secc_2")["key"] == "external"
    assert not os.path.exists(p.path("keys", "secc_2"))
    assert report.check_directory(p)["secc_2"] == []


def test_path_checker_hook():
    """The ``profile_check(path)`` hook shape host/tls/validate.py calls."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = ca.Pki.create(d)
        path = p.chain("secc_leaf") + [p.cert("v2g_root")]
        assert profile.path_checker("secc_leaf")(path) == []
        bad = p.chain("contract_leaf") + [p.cert("mo_root")]
        assert "domain_component" in {v.code for v in profile.path_checker("secc_leaf")(bad)}


def test_checker_flags_a_certificate_in_the_wrong_role(fresh):
    v = profile.check_certificate(fresh.cert("cps_leaf"), "contract_leaf")
    assert {"key_usage", "domain_component", "emaid"} <= {x.code for x in v}
    v = profile.check_certificate(fresh.cert("mo_sub1"), "mo_sub2")
    assert {x.code for x in v} == {"path_length"}


# ---------------------------------------------------------------------------
# the command line

def _cli(argv):
    from host import cli
    from host.cli.pki import add_pki
    saved = list(cli.COMMANDS)
    if not any(getattr(c, "__name__", "") == "add_pki" for c in cli.COMMANDS):
        cli.COMMANDS.append(add_pki)
    try:
        return cli.main(argv)
    finally:
        cli.COMMANDS[:] = saved


def test_cli_exit_status(tmp_path, capsys):
    d = str(tmp_path / "pki")
    assert _cli(["pki", "init", d]) == 0
    out = capsys.readouterr().out
    assert "secc_leaf" in out and "se050/vehicle.json" in out and "16 bad variants" in out
    assert _cli(["pki", "init", d]) == 1                         # exists: needs --force
    assert "--force" in capsys.readouterr().err
    assert _cli(["pki", "inspect", d]) == 0
    assert "0 violations" in capsys.readouterr().out
    assert _cli(["pki", "inspect", os.path.join(d, "variants", "contract_expired")]) == 1
    out = capsys.readouterr().out
    assert "expected expired: found" in out and "WARNING_CertificateExpired" in out
    assert _cli(["pki", "inspect", os.path.join(d, "chains", "secc_leaf.pem"),
                 "--trust", os.path.join(d, "certs", "v2g_root.pem")]) == 0
    assert _cli(["pki", "inspect", os.path.join(d, "chains", "secc_leaf.pem"),
                 "--trust", os.path.join(d, "certs", "mo_root.pem")]) == 1
    assert _cli(["pki", "issue", d, "contract_leaf", "--emaid", "DE-M15-C00000002"]) == 1   # name taken
    assert _cli(["pki", "issue", d, "contract_leaf", "--name", "c2", "--emaid", "DE-M15-C00000002-X"]) == 1
    assert "check character" in capsys.readouterr().err
    assert _cli(["pki", "issue", d, "contract_leaf", "--name", "c2", "--emaid", "DE-M15-C00000002"]) == 0
    assert _cli(["pki", "renew", d, "c2", "--new-key"]) == 0
    assert _cli(["pki", "renew", d, "nosuch"]) == 1
    assert _cli(["pki", "revoke", d, "c2"]) == 0
    assert _cli(["pki", "revoke", d, "mo_root"]) == 1
    assert _cli(["pki", "inspect", d, "c2"]) == 1                 # revoked now
    assert _cli(["pki", "inspect", d, "contract_leaf"]) == 0
    assert _cli(["pki", "refresh", d]) == 0
    assert _cli(["pki", "variants", d]) == 0
    assert _cli(["pki", "inspect", str(tmp_path / "nothing")]) == 1
    assert _cli(["pki"]) == 2
    with pytest.raises(SystemExit) as exc:
        _cli(["pki", "init", d, "--profile", "rsa"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        _cli(["pki", "issue", d, "v2g_root"])
    assert exc.value.code == 2


def test_cli_profiles_and_vehicle_root(tmp_path):
    d = str(tmp_path / "ed")
    assert _cli(["pki", "init", d, "--profile", "ed448", "--no-variants",
                 "--vehicle-root", "oem_root", "--emaid", "NL-TNM-000122045-U"]) == 0
    p = ca.Pki.open(d)
    assert isinstance(p.cert("vehicle_leaf").public_key(), ed448.Ed448PublicKey)
    assert p.issuer_of("vehicle_sub1") == "oem_root"
    assert profile.common_name(p.cert("contract_leaf").subject) == "NLTNM000122045U"
    assert not os.path.exists(os.path.join(d, "variants"))
    assert report.check_directory(p) == {n: [] for n in p.names()}
