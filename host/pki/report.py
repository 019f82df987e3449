"""What ``micro15118 pki inspect`` prints and checks."""
import os

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from host.pki import ca as _ca
from host.pki import profile as _profile
from host.pki import roles as _roles


def describe(cert):
    """[(field, value)] of the fields a -20 profile is about."""
    def ext(cls):
        try:
            return cert.extensions.get_extension_for_class(cls)
        except x509.ExtensionNotFound:
            return None
    out = [("subject", cert.subject.rfc4514_string()),
           ("issuer", cert.issuer.rfc4514_string()),
           ("serial", "%x" % cert.serial_number),
           ("valid", "%s .. %s (%d days)" % (
               _ca._iso(cert.not_valid_before_utc), _ca._iso(cert.not_valid_after_utc),
               (cert.not_valid_after_utc - cert.not_valid_before_utc).days)),
           ("key", _profile.key_kind(cert.public_key())),
           ("signature", getattr(cert.signature_algorithm_oid, "_name",
                                 cert.signature_algorithm_oid.dotted_string))]
    dc = _profile.dc_values(cert.subject)
    out.append(("DC", ",".join(dc) if dc else "-"))
    bc = ext(x509.BasicConstraints)
    out.append(("basicConstraints", "-" if bc is None else "%scA=%s%s" % (
        "critical " if bc.critical else "", bc.value.ca,
        "" if bc.value.path_length is None else " pathlen=%d" % bc.value.path_length)))
    ku = ext(x509.KeyUsage)
    out.append(("keyUsage", "-" if ku is None else "%s%s" % (
        "critical " if ku.critical else "", ",".join(sorted(_profile.key_usage_names(ku.value))))))
    eku = ext(x509.ExtendedKeyUsage)
    if eku is not None:
        out.append(("extendedKeyUsage", ",".join(getattr(o, "_name", o.dotted_string) for o in eku.value)))
    ski = ext(x509.SubjectKeyIdentifier)
    out.append(("SKI", ski.value.digest.hex() if ski else "-"))
    aki = ext(x509.AuthorityKeyIdentifier)
    if aki is not None and aki.value.key_identifier:
        out.append(("AKI", aki.value.key_identifier.hex()))
    aia = ext(x509.AuthorityInformationAccess)
    if aia is not None:
        for d in aia.value:
            if d.access_method == AuthorityInformationAccessOID.OCSP:
                out.append(("OCSP", d.access_location.value))
    return out


def check_directory(pki, at=None):
    """{name: [Violation]} for every certificate of a PKI directory: roots
    alone against their profile, every other certificate as the end of its
    chain, with the directory's CRLs and OCSP responses."""
    prof = _profile.profile_of(pki.profile)
    roots = pki.roots()
    crls, resps = pki.crls(), pki.ocsp_responses()
    out = {}
    for name in pki.names():
        role = pki.role_of(name)
        cert = pki.cert(name)
        if role.kind == "root":
            v = _profile.check_certificate(cert, role, prof, label=name)
            v += _profile.check_validity(cert, at or _profile.now_utc(), name)
        elif role.kind == "sub1":
            # A Sub-CA 1 is only ever checked under a Sub-CA 2: check it alone
            # and its link to the root.
            v = _profile.check_certificate(cert, role, prof, label=name)
            v += [x for x in _profile.check_chain(cert, [], roots, role, prof, at=at, crls=crls,
                                                  ocsp_responses=resps) if x.code != "chain_length"]
        else:
            chain = pki.chain(name)
            v = _profile.check_chain(chain[0], chain[1:], roots, role, prof, at=at, crls=crls,
                                     ocsp_responses=resps)
            for x in v:
                if x.cert == role.name and name != role.name:
                    x.cert = name
        out[name] = v
    return out


def is_pki_dir(path):
    return os.path.isfile(os.path.join(path, _ca.STATE))


def is_case_dir(path):
    return os.path.isfile(os.path.join(path, "case.json"))


def guess_role(cert):
    """The most likely role of a lone certificate (by DC, CA flag, pathlen)."""
    dcs = _profile.dc_values(cert.subject)
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    ca = bool(bc and bc.ca)
    if ca:
        if cert.issuer == cert.subject:
            kind = "root"
        else:
            kind = {0: "sub2", 1: "sub1"}.get(bc.path_length, "sub1")
    else:
        kind = "leaf"
    for r in _roles.ROLES.values():
        if r.kind == kind and r.dc and dcs and dcs[0] in r.dc and not r.eku_ocsp:
            return r.name
    return None
