"""HomePlug Green PHY management messages (MMEs) used by SLAC (ISO 15118-3).

Builders return whole Ethernet frames (no FCS) padded to 60 bytes.
`parse(frame)` returns an `Mme` (header plus the fields of a known MMTYPE) or
None when the frame is not a well-formed MME we know.  Field offsets below
are relative to the MME payload, which starts at frame offset 19 for
standard MMEs (MMV 1, with FMI) and at 20 for Qualcomm vendor MMEs (MMV 0,
then the OUI).  Multi-byte HomePlug integers are little-endian.
"""
import struct

from ..compat import const

ETH_HPAV = const(0x88E1)
BROADCAST = b"\xff\xff\xff\xff\xff\xff"
# The local Qualcomm modem's firmware answers at this address.
LOCALCAST = b"\x00\xb0\x52\x00\x00\x01"
QCA_OUI = b"\x00\xb0\x52"

MIN_FRAME = const(60)
MAX_FRAME = const(1514)     # Ethernet without FCS; longer input is dropped

MMV_1_0 = const(0)          # HPAV 1.0: no FMI (Qualcomm vendor MMEs use it)
MMV_1_1 = const(1)          # HPAV 1.1 / Green PHY: with FMI
MMV_2_0 = const(2)

CM_SET_KEY_REQ = const(0x6008)
CM_SET_KEY_CNF = const(0x6009)
CM_SLAC_PARM_REQ = const(0x6064)
CM_SLAC_PARM_CNF = const(0x6065)
CM_START_ATTEN_CHAR_IND = const(0x606A)
CM_ATTEN_CHAR_IND = const(0x606E)
CM_ATTEN_CHAR_RSP = const(0x606F)
CM_MNBC_SOUND_IND = const(0x6076)
CM_VALIDATE_REQ = const(0x6078)
CM_VALIDATE_CNF = const(0x6079)
CM_SLAC_MATCH_REQ = const(0x607C)
CM_SLAC_MATCH_CNF = const(0x607D)
CM_ATTEN_PROFILE_IND = const(0x6086)
VS_SW_VER_REQ = const(0xA000)
VS_SW_VER_CNF = const(0xA001)
VS_PL_LINK_STATUS_REQ = const(0xA0B8)
VS_PL_LINK_STATUS_CNF = const(0xA0B9)

# ISO 15118-3 values carried in the MMEs.
APP_TYPE = const(0)         # PEV-EVSE matching
SEC_TYPE = const(0)         # no security
RESP_TYPE = const(1)        # "other GP station" (open-plc-utils sends 0)
NUM_GROUPS = const(58)
KEY_TYPE_NMK = const(1)
PID_HLE = const(4)
PEKS_NMK = const(1)
MVF_MATCH_REQ = const(0x3E)
MVF_MATCH_CNF = const(0x56)
VALIDATE_NOT_READY = const(0)
VALIDATE_READY = const(1)
VALIDATE_SUCCESS = const(2)
VALIDATE_FAILURE = const(3)
VALIDATE_NOT_REQUIRED = const(4)

ZERO_ID = b"\x00" * 17

_HDR = const(19)            # standard header: dst, src, ethertype, MMV, MMTYPE, FMI
_VS_HDR = const(20)         # vendor header: dst, src, ethertype, MMV, MMTYPE, OUI


class Mme:
    """A parsed MME: dst, src, mmv, mmtype, then per-type fields as attributes."""

    def __init__(self, dst, src, mmv, mmtype):
        self.dst = dst
        self.src = src
        self.mmv = mmv
        self.mmtype = mmtype


# -- building ---------------------------------------------------------------

def _pad(buf):
    if len(buf) < MIN_FRAME:
        buf.extend(bytes(MIN_FRAME - len(buf)))
    return bytes(buf)


def frame(dst, src, mmtype, payload):
    """A standard MME (MMV 1.1, FMI zero: SLAC never fragments)."""
    buf = bytearray(dst)
    buf.extend(src)
    buf.extend(struct.pack("<BBBHBB", 0x88, 0xE1, MMV_1_1, mmtype, 0, 0))
    buf.extend(payload)
    return _pad(buf)


def vs_frame(dst, src, mmtype, payload=b""):
    """A Qualcomm vendor MME (MMV 0, no FMI, OUI 00 B0 52)."""
    buf = bytearray(dst)
    buf.extend(src)
    buf.extend(struct.pack("<BBBH", 0x88, 0xE1, MMV_1_0, mmtype))
    buf.extend(QCA_OUI)
    buf.extend(payload)
    return _pad(buf)


def _b(value, n):
    # Fixed-size byte fields: a wrong size is a programming error.
    value = bytes(value)
    if len(value) != n:
        raise ValueError("field needs %d bytes" % n)
    return value


def slac_parm_req(src, run_id, dst=BROADCAST):
    return frame(dst, src, CM_SLAC_PARM_REQ,
                 bytes((APP_TYPE, SEC_TYPE)) + _b(run_id, 8))


def slac_parm_cnf(dst, src, run_id, num_sounds=10, time_out=6, resp_type=RESP_TYPE,
                  forwarding_sta=None, sound_target=BROADCAST):
    fwd = dst if forwarding_sta is None else forwarding_sta
    return frame(dst, src, CM_SLAC_PARM_CNF,
                 _b(sound_target, 6) + bytes((num_sounds, time_out, resp_type)) + _b(fwd, 6)
                 + bytes((APP_TYPE, SEC_TYPE)) + _b(run_id, 8))


def start_atten_char_ind(src, run_id, num_sounds=10, time_out=6, resp_type=RESP_TYPE,
                         dst=BROADCAST):
    # FORWARDING_STA is the EV host itself: the EVSE sends its results there.
    return frame(dst, src, CM_START_ATTEN_CHAR_IND,
                 bytes((APP_TYPE, SEC_TYPE, num_sounds, time_out, resp_type)) + _b(src, 6)
                 + _b(run_id, 8))


def mnbc_sound_ind(src, run_id, cnt, rnd, sender_id=ZERO_ID, dst=BROADCAST):
    return frame(dst, src, CM_MNBC_SOUND_IND,
                 bytes((APP_TYPE, SEC_TYPE)) + _b(sender_id, 17) + bytes((cnt,)) + _b(run_id, 8)
                 + bytes(8) + _b(rnd, 16))


def atten_profile_ind(dst, src, pev_mac, aag):
    return frame(dst, src, CM_ATTEN_PROFILE_IND,
                 _b(pev_mac, 6) + bytes((len(aag), 0)) + bytes(aag))


def atten_char_ind(dst, src, run_id, num_sounds, aag, source_id=ZERO_ID, resp_id=ZERO_ID):
    # SOURCE_ADDRESS is the EV host the results are about: the destination.
    return frame(dst, src, CM_ATTEN_CHAR_IND,
                 bytes((APP_TYPE, SEC_TYPE)) + _b(dst, 6) + _b(run_id, 8) + _b(source_id, 17)
                 + _b(resp_id, 17) + bytes((num_sounds, len(aag))) + bytes(aag))


def atten_char_rsp(dst, src, run_id, result=0, source_id=ZERO_ID, resp_id=ZERO_ID):
    return frame(dst, src, CM_ATTEN_CHAR_RSP,
                 bytes((APP_TYPE, SEC_TYPE)) + _b(src, 6) + _b(run_id, 8) + _b(source_id, 17)
                 + _b(resp_id, 17) + bytes((result,)))


def validate_req(dst, src, timer=0, result=VALIDATE_READY, signal_type=0):
    return frame(dst, src, CM_VALIDATE_REQ, bytes((signal_type, timer, result)))


def validate_cnf(dst, src, toggle_num=0, result=VALIDATE_NOT_REQUIRED, signal_type=0):
    return frame(dst, src, CM_VALIDATE_CNF, bytes((signal_type, toggle_num, result)))


def _match_body(mvf, pev_id, pev_mac, evse_id, evse_mac, run_id):
    return (bytes((APP_TYPE, SEC_TYPE)) + struct.pack("<H", mvf) + _b(pev_id, 17)
            + _b(pev_mac, 6) + _b(evse_id, 17) + _b(evse_mac, 6) + _b(run_id, 8) + bytes(8))


def slac_match_req(dst, src, run_id, pev_id=ZERO_ID, evse_id=ZERO_ID):
    return frame(dst, src, CM_SLAC_MATCH_REQ,
                 _match_body(MVF_MATCH_REQ, pev_id, src, evse_id, dst, run_id))


def slac_match_cnf(dst, src, run_id, nid, nmk, pev_id=ZERO_ID, evse_id=ZERO_ID):
    return frame(dst, src, CM_SLAC_MATCH_CNF,
                 _match_body(MVF_MATCH_CNF, pev_id, dst, evse_id, src, run_id)
                 + _b(nid, 7) + b"\x00" + _b(nmk, 16))


# CM_SET_KEY REQ and CNF start alike: KeyType (REQ) or Result (CNF), MyNonce,
# YourNonce, PID, PRN, PMN, CCo Capability.
_SET_KEY_HEAD = "<BIIBHBB"


def set_key_req(src, nid, nmk, dst=LOCALCAST, my_nonce=0):
    return frame(dst, src, CM_SET_KEY_REQ,
                 struct.pack(_SET_KEY_HEAD, KEY_TYPE_NMK, my_nonce, 0, PID_HLE, 0, 0, 0)
                 + _b(nid, 7) + bytes((PEKS_NMK,)) + _b(nmk, 16))


def set_key_cnf(dst, src, result=0, my_nonce=0, your_nonce=0):
    return frame(dst, src, CM_SET_KEY_CNF,
                 struct.pack(_SET_KEY_HEAD, result, my_nonce, your_nonce, PID_HLE, 0, 0, 0))


def sw_ver_req(src, dst=LOCALCAST):
    return vs_frame(dst, src, VS_SW_VER_REQ)


def sw_ver_cnf(dst, src, version, device_id=0x22, mstatus=0):
    # VersionInfo1 layout: a 128-byte NUL-padded version field.
    version = bytes(version)[:127]
    return vs_frame(dst, src, VS_SW_VER_CNF,
                    bytes((mstatus, device_id, len(version) + 1)) + version
                    + bytes(128 - len(version)))


def link_status_req(src, dst=LOCALCAST):
    return vs_frame(dst, src, VS_PL_LINK_STATUS_REQ)


def link_status_cnf(dst, src, link, mstatus=0):
    return vs_frame(dst, src, VS_PL_LINK_STATUS_CNF, bytes((mstatus, 1 if link else 0)))


# -- parsing ----------------------------------------------------------------

def header(frame):
    """(dst, src, mmv, mmtype, payload_offset) or None.

    MMV 1 and 2 carry the FMI; fragmented MMEs are refused (SLAC needs none).
    MMV 0 vendor MMEs (0xA000-0xBFFF) must carry the Qualcomm OUI.
    """
    n = len(frame)
    if n < 17 or n > MAX_FRAME or frame[12] != 0x88 or frame[13] != 0xE1:
        return None
    mmv = frame[14]
    mmtype = frame[15] | (frame[16] << 8)
    if 0xA000 <= mmtype <= 0xBFFF:
        if mmv != MMV_1_0 or n < _VS_HDR or bytes(frame[17:20]) != QCA_OUI:
            return None
        off = _VS_HDR
    elif mmv == MMV_1_0:
        off = 17
    elif mmv == MMV_1_1 or mmv == MMV_2_0:
        if n < _HDR or frame[17] & 0xF0 or frame[18]:
            return None
        off = _HDR
    else:
        return None
    return bytes(frame[0:6]), bytes(frame[6:12]), mmv, mmtype, off


def _parm_req(m, p):
    if len(p) < 10:
        return False
    m.app, m.sec = p[0], p[1]
    m.run_id = bytes(p[2:10])
    return True


def _parm_cnf(m, p):
    if len(p) < 25:
        return False
    m.sound_target = bytes(p[0:6])
    m.num_sounds, m.time_out, m.resp_type = p[6], p[7], p[8]
    m.forwarding_sta = bytes(p[9:15])
    m.app, m.sec = p[15], p[16]
    m.run_id = bytes(p[17:25])
    return True


def _start_atten(m, p):
    if len(p) < 19:
        return False
    m.app, m.sec, m.num_sounds, m.time_out, m.resp_type = p[0], p[1], p[2], p[3], p[4]
    m.forwarding_sta = bytes(p[5:11])
    m.run_id = bytes(p[11:19])
    return True


def _mnbc_sound(m, p):
    if len(p) < 52:
        return False
    m.app, m.sec = p[0], p[1]
    m.sender_id = bytes(p[2:19])
    m.cnt = p[19]
    m.run_id = bytes(p[20:28])
    m.rnd = bytes(p[36:52])
    return True


def _atten_profile(m, p):
    if len(p) < 8:
        return False
    groups = p[6]
    if groups == 0 or len(p) < 8 + groups:
        return False
    m.pev_mac = bytes(p[0:6])
    m.aag = bytes(p[8:8 + groups])
    return True


def _atten_common(m, p):
    m.app, m.sec = p[0], p[1]
    m.source_address = bytes(p[2:8])
    m.run_id = bytes(p[8:16])
    m.source_id = bytes(p[16:33])
    m.resp_id = bytes(p[33:50])


def _atten_char_ind(m, p):
    if len(p) < 52:
        return False
    groups = p[51]
    if groups == 0 or len(p) < 52 + groups:
        return False
    _atten_common(m, p)
    m.num_sounds = p[50]
    m.aag = bytes(p[52:52 + groups])
    return True


def _atten_char_rsp(m, p):
    if len(p) < 51:
        return False
    _atten_common(m, p)
    m.result = p[50]
    return True


def _validate(m, p):
    if len(p) < 3:
        return False
    # REQ: timer; CNF: toggle count.  Same byte.
    m.signal_type, m.timer, m.result = p[0], p[1], p[2]
    m.toggle_num = p[1]
    return True


def _match(m, p, size):
    if len(p) < size:
        return False
    m.app, m.sec = p[0], p[1]
    # MVFLength is informative only: pyslac sends the REQ's big-endian.
    m.mvf_len = p[2] | (p[3] << 8)
    m.pev_id = bytes(p[4:21])
    m.pev_mac = bytes(p[21:27])
    m.evse_id = bytes(p[27:44])
    m.evse_mac = bytes(p[44:50])
    m.run_id = bytes(p[50:58])
    return True


def _match_req(m, p):
    return _match(m, p, 66)


def _match_cnf(m, p):
    if not _match(m, p, 90):
        return False
    m.nid = bytes(p[66:73])
    m.nmk = bytes(p[74:90])
    return True


def _set_key_head(m, p):
    """Sets the fields REQ and CNF share; returns the first byte (KeyType or Result)."""
    first, m.my_nonce, m.your_nonce, m.pid, m.prn, m.pmn, m.cco = \
        struct.unpack(_SET_KEY_HEAD, bytes(p[0:14]))
    return first


def _set_key_req(m, p):
    if len(p) < 38:
        return False
    m.key_type = _set_key_head(m, p)
    m.nid = bytes(p[14:21])
    m.peks = p[21]
    m.nmk = bytes(p[22:38])
    return True


def _set_key_cnf(m, p):
    if len(p) < 14:
        return False
    m.result = _set_key_head(m, p)
    return True


def _empty(m, p):
    return True


def _sw_ver_cnf(m, p):
    if len(p) < 3:
        return False
    n = p[2]
    if len(p) < 3 + n:
        return False
    m.mstatus, m.device_id = p[0], p[1]
    v = bytes(p[3:3 + n])
    i = v.find(b"\x00")
    m.version = v if i < 0 else v[:i]
    return True


def _link_status_cnf(m, p):
    if len(p) < 2:
        return False
    m.mstatus, m.link = p[0], p[1]
    return True


_PARSERS = {
    CM_SLAC_PARM_REQ: _parm_req,
    CM_SLAC_PARM_CNF: _parm_cnf,
    CM_START_ATTEN_CHAR_IND: _start_atten,
    CM_MNBC_SOUND_IND: _mnbc_sound,
    CM_ATTEN_PROFILE_IND: _atten_profile,
    CM_ATTEN_CHAR_IND: _atten_char_ind,
    CM_ATTEN_CHAR_RSP: _atten_char_rsp,
    CM_VALIDATE_REQ: _validate,
    CM_VALIDATE_CNF: _validate,
    CM_SLAC_MATCH_REQ: _match_req,
    CM_SLAC_MATCH_CNF: _match_cnf,
    CM_SET_KEY_REQ: _set_key_req,
    CM_SET_KEY_CNF: _set_key_cnf,
    VS_SW_VER_REQ: _empty,
    VS_SW_VER_CNF: _sw_ver_cnf,
    VS_PL_LINK_STATUS_REQ: _empty,
    VS_PL_LINK_STATUS_CNF: _link_status_cnf,
}


def parse(frame):
    """An `Mme` for a well-formed MME of a known type, else None."""
    h = header(frame)
    if h is None:
        return None
    fn = _PARSERS.get(h[3])
    if fn is None:
        return None
    m = Mme(h[0], h[1], h[2], h[3])
    if not fn(m, memoryview(frame)[h[4]:]):
        return None
    return m
