"""``micro15118 pki``: the ISO 15118-20 test PKI (host/pki)."""
import argparse
import datetime as dt
import os
import sys

from host.cli.common import _usage

_DESCRIPTION = """\
The ISO 15118-20 certificate hierarchy for tests and bench work: V2G root
with CPO, CPS and vehicle chains, MO root with the contract chain and its
OCSP signer, OEM root with the provisioning chain.  One PEM per certificate
(DIR/certs/<name>.pem) and per CA or back-end key (DIR/keys/<name>.pem);
device keys (SECC, vehicle, OEM provisioning and contract leaves) only in
the SE050 provisioning bundles DIR/se050/<device>.json.  CRLs in DIR/crl/,
OCSP responses in DIR/ocsp/, leaf-first chains in DIR/chains/, bad chains
for tests in DIR/variants/<case>/ (each with a case.json saying what a peer
must answer).  Profiles: iso20 (secp521r1, ECDSA-SHA512; default), ed448,
iso2 (secp256r1, ECDSA-SHA256, for -2 peers)."""

_INSPECT_DESCRIPTION = """\
Print the profile-relevant fields of certificates and check them against the
-20 profile (host/pki/profile.py).  PATH is a PKI directory (every
certificate, or the NAMEs given, each checked as the end of its chain with
the directory's CRLs and OCSP responses), a variant folder (the case's chain
against its trust store; says whether the checker finds what case.json
expects), or a PEM file (the first certificate checked in --role; with
--trust, the whole file as a leaf-first chain).  Exit 0 only when nothing
violates the profile."""


def _time(text):
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("not an ISO 8601 time: %r" % text) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _days(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a whole number: %r" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %s" % text)
    return value


def _print_tree(pki, out=None):
    out = out or sys.stdout
    kids = {}
    for name in pki.names():
        kids.setdefault(pki.issuer_of(name), []).append(name)

    def walk(name, depth):
        e = pki.entry(name)
        where = {"keys": "keys/%s.pem" % name, "external": "key held by its owner"}.get(
            e["key"], e["key"].replace("se050:", "se050/") + ".json")
        extra = "  eMAID %s" % e["emaid"] if "emaid" in e else ""
        revoked = "  REVOKED" if pki.is_revoked(name) else ""
        role = "" if e["role"] == name else " (%s)" % e["role"]
        print("%s%s%s  [%s]%s%s" % ("  " * depth, name, role, where, extra, revoked), file=out)
        for k in kids.get(name, []):
            walk(k, depth + 1)
    for root in kids.get(None, []):
        walk(root, 0)


def pki_init(args):
    from host.pki.ca import Pki
    from host.pki import variants
    pki = Pki.create(args.dir, profile=args.profile, emaid=args.emaid, vin=args.vin,
                     vehicle_root=args.vehicle_root, ocsp_url=args.ocsp_url, force=args.force)
    print("PKI (%s profile) in %s:" % (pki.profile, args.dir))
    _print_tree(pki)
    if not args.no_variants:
        docs = variants.make_variants(pki)
        print("%d bad variants in %s" % (len(docs), os.path.join(args.dir, "variants")))
    return 0


def pki_issue(args):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from host.pki.ca import Pki
    from host.pki import roles
    pki = Pki.open(args.dir)
    role = roles.role(args.role)
    name = args.name or args.role
    if name in pki.state["certs"]:
        raise ValueError("%s already exists: renew it, or give the new one a --name" % name)
    if name != args.role and name in roles.ROLES:
        raise ValueError("--name %s is another role's name" % name)
    cn = args.emaid or args.cn
    public_key = None
    if args.csr:
        with open(args.csr, "rb") as f:
            csr = x509.load_pem_x509_csr(f.read())
        if not csr.is_signature_valid:
            raise ValueError("%s: the CSR's signature does not verify" % args.csr)
        public_key = csr.public_key()
        if cn is None:
            cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            cn = cns[0].value if cns else None
    if role.kind == "root":
        raise ValueError("roots are made by init")
    pki.issue(name, args.role, cn=cn, days=args.days, public_key=public_key)
    e = pki.entry(name)
    print("issued %s (%s) by %s, serial %s, key: %s" % (name, args.role, e["issuer"], e["serial"], e["key"]))
    if role.is_ca:
        pki.write_crl(name)
    return 0


def pki_renew(args):
    from host.pki.ca import Pki
    pki = Pki.open(args.dir)
    old = pki.entry(args.name)["serial"]
    cert = pki.renew(args.name, new_key=args.new_key, days=args.days)
    if args.revoke_old:
        pki.state["revoked"].setdefault(pki.issuer_of(args.name), []).append(
            {"serial": old, "name": args.name + " (before renewal)", "time": _iso_now(),
             "reason": "superseded"})
        pki.save()
        pki.write_crl(pki.issuer_of(args.name))
    print("renewed %s: serial %s -> %x, valid until %s%s" % (
        args.name, old, cert.serial_number, cert.not_valid_after_utc.isoformat(),
        ", new key" if args.new_key else ", same key"))
    return 0


def _iso_now():
    from host.pki.ca import _iso
    from host.pki.profile import now_utc
    return _iso(now_utc())


def pki_revoke(args):
    from host.pki.ca import Pki
    pki = Pki.open(args.dir)
    pki.revoke(args.name, reason=args.reason)
    e = pki.entry(args.name)
    print("revoked %s (serial %s): crl/%s.pem, ocsp/%s.der" % (args.name, e["serial"], e["issuer"], args.name))
    return 0


def pki_variants(args):
    from host.pki.ca import Pki
    from host.pki import variants
    pki = Pki.open(args.dir)
    for doc in variants.make_variants(pki):
        print("%-28s %-20s %s" % (doc["case"], doc["expected_violation"],
                                  doc["response_code"] or "TLS alert " + doc["tls_alert"]))
    return 0


def pki_refresh(args):
    from host.pki.ca import Pki
    Pki.open(args.dir).publish()
    print("re-signed the CRLs and OCSP responses in %s" % args.dir)
    return 0


def _print_cert(label, cert, violations):
    from host.pki.report import describe
    print("%s:" % label)
    for field, value in describe(cert):
        print("  %-17s %s" % (field, value))
    for v in violations:
        print("  VIOLATION %s: %s" % (v.code, v.message))


def pki_inspect(args):
    from host.pki import ca as _ca
    from host.pki import profile, report, variants
    path = args.path
    if report.is_pki_dir(path):
        pki = _ca.Pki.open(path)
        results = report.check_directory(pki, at=args.at)
        names = args.names or pki.names()
        bad = 0
        for name in names:
            if name not in results:
                raise ValueError("no certificate %r in %s" % (name, path))
            v = results[name]
            bad += len(v)
            _print_cert("%s (%s, issuer %s)" % (name, pki.entry(name)["role"], pki.issuer_of(name) or "self"),
                        pki.cert(name), v)
        print("%d certificates, %d violations (%s profile)" % (len(names), bad, pki.profile))
        return 1 if bad else 0
    if report.is_case_dir(path):
        doc, leaf, subs, trust, crls, resps = variants.load_case(path)
        v = profile.check_chain(leaf, subs, trust, doc["role"], profile=profile.profile_of(doc["profile"]),
                                at=args.at, crls=crls, ocsp_responses=resps)
        print("%s: %s" % (doc["case"], doc["description"]))
        _print_cert(doc["role"], leaf, [x for x in v if x.cert == doc["role"]])
        for rel, cert in zip(doc["sub_cas"], subs):
            label = os.path.splitext(os.path.basename(rel))[0]
            _print_cert(label, cert, [x for x in v if x.cert == label])
        for x in v:
            if x.cert != doc["role"] and not any(x.cert in r for r in doc["sub_cas"]):
                print("VIOLATION %s (%s): %s" % (x.code, x.cert, x.message))
        found = doc["expected_violation"] in {x.code for x in v}
        print("expected %s: %s; checked by %s; answer: %s" % (
            doc["expected_violation"], "found" if found else "NOT FOUND", doc["checked_by"],
            profile.response_code(v) if doc["response_code"] else "TLS alert " + doc["tls_alert"]))
        return 1 if v else 0
    if os.path.isfile(path):
        certs = _ca.load_certs(path)
        if not certs:
            raise ValueError("%s holds no certificate" % path)
        role = args.role or report.guess_role(certs[0])
        if role is None:
            raise ValueError("cannot tell the role of %s: give --role" % path)
        prof = profile.profile_of(args.profile)
        if args.trust:
            anchors = [c for t in args.trust for c in _ca.load_certs(t)]
            v = profile.check_chain(certs[0], certs[1:], anchors, role, prof, at=args.at)
        else:
            v = profile.check_certificate(certs[0], role, prof)
            v += profile.check_validity(certs[0], args.at or profile.now_utc(), role)
        _print_cert("%s (%s)" % (path, role), certs[0], [x for x in v if x.cert == role])
        for i, c in enumerate(certs[1:]):
            _print_cert("%s [%d]" % (path, i + 1), c, [])
        for x in v:
            if x.cert != role:
                print("VIOLATION %s (%s): %s" % (x.code, x.cert, x.message))
        print("%d violations (%s profile)" % (len(v), prof))
        return 1 if v else 0
    raise ValueError("%s is no PKI directory, variant folder or PEM file" % path)


def add_pki(subparsers):
    from host.pki.ca import DEFAULT_OCSP_URL, GEN_PROFILES, REASONS
    from host.pki.roles import ROLES, VEHICLE_ROOTS
    p = subparsers.add_parser("pki", help="ISO 15118-20 test PKI: init, issue, renew, revoke, inspect",
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              description=_DESCRIPTION)
    p.set_defaults(func=lambda args: _usage(p))
    actions = p.add_subparsers(title="actions", metavar="ACTION")

    i = actions.add_parser("init", help="make the whole hierarchy (and the bad variants) in DIR")
    i.add_argument("dir", metavar="DIR")
    i.add_argument("--profile", choices=GEN_PROFILES, default="iso20",
                   help="iso20: secp521r1 + ECDSA-SHA512 (default); ed448; iso2: secp256r1 + SHA-256")
    i.add_argument("--emaid", help="the contract leaf's eMAID (default DE-M15-C12345678-J)")
    i.add_argument("--vin", help="the vehicle leaf's CN (default M15EVTEST00000001)")
    i.add_argument("--vehicle-root", choices=VEHICLE_ROOTS, default="v2g_root",
                   help="issuer of Vehicle Sub-CA 1 (v2g_root, as EVerest's test PKI)")
    i.add_argument("--ocsp-url", default=DEFAULT_OCSP_URL,
                   help="OCSP responder base URL for the AIA; /<issuer> is appended (%(default)s)")
    i.add_argument("--force", action="store_true", help="replace a PKI already in DIR")
    i.add_argument("--no-variants", action="store_true", help="do not write DIR/variants/")
    i.set_defaults(func=pki_init)

    s = actions.add_parser("issue", help="issue one more certificate, e.g. a second contract")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("role", choices=[r for r in ROLES if ROLES[r].kind != "root"], metavar="ROLE",
                   help="one of: " + " ".join(r for r in ROLES if ROLES[r].kind != "root"))
    s.add_argument("--name", help="file name under certs/ (default: the role; needed when it exists)")
    s.add_argument("--emaid", help="contract leaf: its eMAID")
    s.add_argument("--cn", help="common name (default: the role's)")
    s.add_argument("--days", type=_days, help="validity in days (default: the role's)")
    s.add_argument("--csr", metavar="FILE",
                   help="PEM CSR: certify its key (which stays with its owner) instead of a new one")
    s.set_defaults(func=pki_issue)

    r = actions.add_parser("renew", help="re-issue a certificate: new serial and validity")
    r.add_argument("dir", metavar="DIR")
    r.add_argument("name", metavar="NAME")
    r.add_argument("--new-key", action="store_true", help="a new key pair (default: keep the key)")
    r.add_argument("--days", type=_days, help="validity in days (default: the role's)")
    r.add_argument("--revoke-old", action="store_true",
                   help="revoke the replaced certificate (reason superseded)")
    r.set_defaults(func=pki_renew)

    v = actions.add_parser("revoke", help="revoke a certificate: its issuer's CRL and its OCSP response")
    v.add_argument("dir", metavar="DIR")
    v.add_argument("name", metavar="NAME")
    v.add_argument("--reason", choices=sorted(REASONS), default="key_compromise")
    v.set_defaults(func=pki_revoke)

    n = actions.add_parser("inspect", help="print and check certificates against the -20 profile",
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           description=_INSPECT_DESCRIPTION)
    n.add_argument("path", metavar="PATH", help="PKI directory, variant folder or PEM file")
    n.add_argument("names", metavar="NAME", nargs="*", help="in a PKI directory: only these")
    n.add_argument("--role", choices=list(ROLES), metavar="ROLE", help="PEM file: its leaf's role")
    n.add_argument("--profile", choices=GEN_PROFILES, default="iso20", help="PEM file: the profile")
    n.add_argument("--trust", metavar="FILE", action="append",
                   help="PEM file: trusted roots; the file is then checked as a chain")
    n.add_argument("--at", type=_time, help="check validity at this ISO 8601 time (default now)")
    n.set_defaults(func=pki_inspect)

    a = actions.add_parser("variants", help="(re)write the bad chains in DIR/variants/")
    a.add_argument("dir", metavar="DIR")
    a.set_defaults(func=pki_variants)

    f = actions.add_parser("refresh", help="re-sign every CRL and OCSP response (nextUpdate is 7 days)")
    f.add_argument("dir", metavar="DIR")
    f.set_defaults(func=pki_refresh)
    return p
