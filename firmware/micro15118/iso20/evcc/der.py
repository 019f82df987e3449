"""The few X.509 fields the EV reads from a certificate (DER), no math.

CertificateInstallation needs, from certificates the EV already trusts
for other reasons (its own OEM provisioning certificate; the contract
certificate inside SignedInstallationData, whose signature the vehicle's
verifier checked): the subject's CN (the PCID of the OEM provisioning
certificate, the eMAID of a contract certificate), the Subject Key
Identifier (the AAD of the key wrap) and the public key point (the SE050
stores the contract key as a key pair with it).  This walks the DER
without copying more than the fields asked for; anything it does not
understand is a ValueError.  It verifies nothing.

    f = fields(der)   # {"cn": str, "ski": bytes|None, "point": bytes, "curve": OID bytes}
"""

# OIDs as their DER contents
OID_CN = b"\x55\x04\x03"                        # 2.5.4.3
OID_SKI = b"\x55\x1d\x0e"                       # 2.5.29.14
OID_EC_PUBLIC_KEY = b"\x2a\x86\x48\xce\x3d\x02\x01"   # 1.2.840.10045.2.1
OID_P521 = b"\x2b\x81\x04\x00\x23"              # 1.3.132.0.35 (secp521r1)

_STRINGS = (0x0C, 0x13, 0x14, 0x16, 0x1E)      # UTF8, Printable, T61, IA5, BMP (ASCII only)


def tlv(buf, i, end):
    """(tag, value start, value end) of the TLV at buf[i] inside buf[..end]."""
    if i + 2 > end:
        raise ValueError("DER: truncated")
    tag = buf[i]
    if tag & 0x1F == 0x1F:
        raise ValueError("DER: long tag")
    n = buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or i + k > end:
            raise ValueError("DER: bad length")
        n = 0
        for j in range(k):
            n = (n << 8) | buf[i + j]
        i += k
    if i + n > end:
        raise ValueError("DER: value past its end")
    return tag, i, i + n


def _expect(buf, i, end, tag):
    t, s, e = tlv(buf, i, end)
    if t != tag:
        raise ValueError("DER: tag 0x%02x where 0x%02x was expected" % (t, tag))
    return s, e


def _cn(buf, s, e):
    """The first CN of a Name (SEQUENCE OF SET OF AttributeTypeAndValue)."""
    i = s
    while i < e:
        ss, se = _expect(buf, i, e, 0x31)
        j = ss
        while j < se:
            as_, ae = _expect(buf, j, se, 0x30)
            os_, oe = _expect(buf, as_, ae, 0x06)
            if bytes(buf[os_:oe]) == OID_CN:
                t, vs, ve = tlv(buf, oe, ae)
                if t not in _STRINGS:
                    raise ValueError("DER: CN of type 0x%02x" % t)
                if t == 0x1E:                       # UTF-16BE: the low bytes
                    return bytes(buf[k] for k in range(vs + 1, ve, 2)).decode()
                return bytes(buf[vs:ve]).decode()
            j = ae
        i = se
    return None


def fields(der):
    """{"cn", "ski", "point", "curve"} of a certificate (module docstring)."""
    buf = memoryview(der)
    end = len(buf)
    cs, ce = _expect(buf, 0, end, 0x30)             # Certificate
    ts, te = _expect(buf, cs, ce, 0x30)             # TBSCertificate
    t, s, e = tlv(buf, ts, te)
    if t == 0xA0:                                   # [0] version
        t, s, e = tlv(buf, e, te)
    if t != 0x02:                                   # serialNumber
        raise ValueError("DER: no serialNumber")
    _, e = _expect(buf, e, te, 0x30)                # signature AlgorithmIdentifier
    _, e = _expect(buf, e, te, 0x30)                # issuer
    _, e = _expect(buf, e, te, 0x30)                # validity
    ss, e = _expect(buf, e, te, 0x30)               # subject
    cn = _cn(buf, ss, e)
    ps, pe = _expect(buf, e, te, 0x30)              # subjectPublicKeyInfo
    as_, ae = _expect(buf, ps, pe, 0x30)
    os_, oe = _expect(buf, as_, ae, 0x06)
    curve = None
    if bytes(buf[os_:oe]) == OID_EC_PUBLIC_KEY:
        cs2, ce2 = _expect(buf, oe, ae, 0x06)
        curve = bytes(buf[cs2:ce2])
    bs, be = _expect(buf, ae, pe, 0x03)
    if be <= bs or buf[bs] != 0:
        raise ValueError("DER: public key BIT STRING with unused bits")
    point = bytes(buf[bs + 1:be])
    ski = None
    i = pe
    while i < te:
        t, s, e = tlv(buf, i, te)
        if t == 0xA3:                               # [3] extensions
            xs, xe = _expect(buf, s, e, 0x30)
            j = xs
            while j < xe:
                es, ee = _expect(buf, j, xe, 0x30)
                os_, oe = _expect(buf, es, ee, 0x06)
                t2, vs, ve = tlv(buf, oe, ee)
                if t2 == 0x01:                      # critical
                    t2, vs, ve = tlv(buf, ve, ee)
                if t2 != 0x04:
                    raise ValueError("DER: extnValue is no OCTET STRING")
                if bytes(buf[os_:oe]) == OID_SKI:
                    ks, ke = _expect(buf, vs, ve, 0x04)
                    ski = bytes(buf[ks:ke])
                j = ee
        i = e
    return {"cn": cn, "ski": ski, "point": point, "curve": curve}
