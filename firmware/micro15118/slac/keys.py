"""HomePlug AV network keys: NMK (network membership key) and NID (network id).

The EVSE draws a random NMK per session and tells the EV in CM_SLAC_MATCH.CNF;
both derive nothing else from it except the NID, which `nid_from_nmk` computes
the HomePlug way so tools (open-plc-utils, pyslac) agree with us.
"""
import hashlib

# PBKDF1 salt for an NMK from a password (NMK-HS); the DAK salt ends in 0x85.
NMK_SALT = b"\x08\x85\x6d\xaf\x7c\xf5\x81\x86"
SECURITY_LEVEL_SC = 0       # "simple connect": the two NID MSBs are 0b00


def _sha256(data):
    return hashlib.sha256(data).digest()


def nid_from_nmk(nmk, level=SECURITY_LEVEL_SC):
    """7-byte NID: SHA-256 applied 5 times, first 7 bytes, level in the top bits."""
    if len(nmk) != 16:
        raise ValueError("NMK must be 16 bytes")
    d = _sha256(bytes(nmk))
    for _ in range(4):
        d = _sha256(d)
    nid = bytearray(d[:7])
    nid[6] = (nid[6] >> 4) | ((level & 3) << 4)
    return bytes(nid)


def nmk_from_password(pw):
    """16-byte NMK from a network password (PBKDF1-SHA256, 1000 rounds)."""
    if isinstance(pw, str):
        pw = pw.encode()
    d = _sha256(bytes(pw) + NMK_SALT)
    for _ in range(999):
        d = _sha256(d)
    return d[:16]


def random_nmk(rng):
    nmk = bytes(rng(16))
    if len(nmk) != 16:
        raise ValueError("rng returned %d bytes" % len(nmk))
    return nmk
