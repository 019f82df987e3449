"""eMAID (e-mobility account identifier): the contract certificate's CN.

Format: country code (2 letters), provider ID (3 letters or digits),
eMA instance (9 letters or digits), optional check character; optional '-'
separators between the parts, the same separator throughout (ISO 15118
ABNF ``<Country Code> <S> <Provider ID> <S> <eMA Instance> <S> <Check
Digit>``, as restated in Hubject's OPCP "Handling of IDs").  The normal form,
which goes into the contract certificate's CN and into the -2 eMAIDType
(14..15 characters), is upper case without separators.  Chargers compare
the two case-insensitively with the separators removed (EVerest EvseV2G).

Check character: the ISO 15118-1 / eMI3 "check digit calculation for
contract IDs".  Our research digest does not give the algorithm; it is
written here from its public description (ShellRechargeSolutionsEU
mobilityid, ``CheckDigitIso``), and ``tests/test_pki.py`` checks it against
that library's published vectors.  In short: every character is a 2x2
matrix whose top row lies in GF(2) and bottom row in GF(3); the code's
check matrix is the weighted sum of the rows by powers of P1 = [[0,1],[1,1]]
(mod 2) and P2 = [[0,1],[1,2]] (mod 3), the GF(3) half multiplied by
-P2^-15; the check character is the one whose matrix that is.
"""
import re

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Character -> 6-bit code: bit 0 = q11, bit 1 = q12 (GF(2)), bits 2-3 = r21,
# bits 4-5 = r22 (GF(3)).  The table lists the 36 characters in order.
_CODES = (0, 16, 32, 4, 20, 36, 8, 24, 40, 2, 18, 34, 6, 22, 38, 10, 26, 42,
          1, 17, 33, 5, 21, 37, 9, 25, 41, 3, 19, 35, 7, 23, 39, 11, 27, 43)
_CODE_OF = dict(zip(_ALNUM, _CODES))
_CHAR_OF = {code: ch for ch, code in _CODE_OF.items()}

_PATTERN = re.compile(r"^([A-Z]{2})(-?)([A-Z0-9]{3})\2([A-Z0-9]{9})(?:\2([A-Z0-9]))?$")


def _matmul(a, b, mod):
    return ((a[0] * b[0] + a[1] * b[2]) % mod, (a[0] * b[1] + a[1] * b[3]) % mod,
            (a[2] * b[0] + a[3] * b[2]) % mod, (a[2] * b[1] + a[3] * b[3]) % mod)


def _powers(p, n, mod):
    out, m = [], p
    for _ in range(n):
        out.append(m)
        m = _matmul(m, p, mod)
    return out


_P1 = _powers((0, 1, 1, 1), 14, 2)
_P2 = _powers((0, 1, 1, 2), 14, 3)
_NEG_P2_INV15 = (0, 2, 2, 1)       # -P2^-15 mod 3


def check_character(code14):
    """The check character of a 14-character eMAID without separators."""
    code = code14.upper()
    if len(code) != 14 or any(c not in _CODE_OF for c in code):
        raise ValueError("eMAID without check character must be 14 letters or digits: %r" % code14)
    t1 = [0, 0]
    t2 = [0, 0]
    for ch, p1, p2 in zip(code, _P1, _P2):
        x = _CODE_OF[ch]
        q = (x & 1, (x >> 1) & 1)
        r = ((x >> 2) & 3, x >> 4)
        t1[0] += q[0] * p1[0] + q[1] * p1[2]
        t1[1] += q[0] * p1[1] + q[1] * p1[3]
        t2[0] += r[0] * p2[0] + r[1] * p2[2]
        t2[1] += r[0] * p2[1] + r[1] * p2[3]
    n = _NEG_P2_INV15
    r0 = (t2[0] * n[0] + t2[1] * n[2]) % 3
    r1 = (t2[0] * n[1] + t2[1] * n[3]) % 3
    return _CHAR_OF[(t1[0] & 1) | ((t1[1] & 1) << 1) | (r0 << 2) | (r1 << 4)]


def parse(text):
    """(country, provider, instance, check or None) of an eMAID; ValueError
    when the format is wrong or a given check character does not match."""
    m = _PATTERN.match(text.upper()) if isinstance(text, str) else None
    if not m:
        raise ValueError("not an eMAID (CC[-]PPP[-]IIIIIIIII[-]C, letters and digits): %r" % (text,))
    country, _sep, provider, instance, check = m.groups()
    if check is not None:
        want = check_character(country + provider + instance)
        if check != want:
            raise ValueError("eMAID %r: check character %s, expected %s" % (text, check, want))
    return country, provider, instance, check


def normalize(text):
    """Upper case, no separators, check character kept if given."""
    country, provider, instance, check = parse(text)
    return country + provider + instance + (check or "")


def make(country, provider, instance):
    """A 15-character eMAID in normal form, with its check character."""
    code = (country + provider + instance).upper()
    return normalize(code + check_character(code))


def display(text):
    """``DE-M15-C12345678-X`` form of an eMAID."""
    country, provider, instance, check = parse(text)
    return "-".join(p for p in (country, provider, instance, check) if p)
