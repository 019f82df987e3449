"""SLAC MME codec (sizes, offsets, tolerance) and NMK/NID derivation."""
import struct

from micro15118.slac import keys
from micro15118.slac import mme

EV = b"\x02\x00\x00\x00\x00\x02"
EVSE = b"\x02\x00\x00\x00\x00\x01"
MODEM = b"\x02\x00\x00\x00\x00\x81"
RUN = b"\x11\x22\x33\x44\x55\x66\x77\x88"
NID = b"\x01\x02\x03\x04\x05\x06\x07"
NMK = bytes(range(0x40, 0x50))


def mmtype(f):
    return struct.unpack("<H", f[15:17])[0]


def test_key_vectors():
    # Published HomePlug AV test vectors (open-plc-utils, pyslac).
    nmk = keys.nmk_from_password("HomePlugAV0123")
    assert nmk == bytes.fromhex("b59319d7e8157ba001b018669ccee30d")
    assert keys.nid_from_nmk(nmk) == bytes.fromhex("026bcba5354e08")
    nmk = keys.nmk_from_password(b"HomePlugAV")
    assert nmk == bytes.fromhex("50d3e4933f855b7040784df815aa8db7")
    assert keys.nid_from_nmk(nmk) == bytes.fromhex("b0f2e695666b03")


def test_nid_level_goes_into_the_top_bits():
    nmk = keys.nmk_from_password("HomePlugAV0123")
    base = keys.nid_from_nmk(nmk)
    lvl = keys.nid_from_nmk(nmk, level=1)
    assert base[:6] == lvl[:6] and lvl[6] == base[6] | 0x10
    assert keys.random_nmk(lambda n: b"\x05" * n) == b"\x05" * 16


def test_frame_sizes():
    sizes = [
        (mme.slac_parm_req(EV, RUN), 60),
        (mme.slac_parm_cnf(EV, EVSE, RUN), 60),
        (mme.start_atten_char_ind(EV, RUN), 60),
        (mme.mnbc_sound_ind(EV, RUN, 9, b"\x07" * 16), 71),
        (mme.atten_profile_ind(EVSE, MODEM, EV, [20] * 58), 85),
        (mme.atten_char_ind(EV, EVSE, RUN, 10, [20] * 58), 129),
        (mme.atten_char_rsp(EVSE, EV, RUN), 70),
        (mme.validate_req(EVSE, EV), 60),
        (mme.validate_cnf(EV, EVSE), 60),
        (mme.slac_match_req(EVSE, EV, RUN), 85),
        (mme.slac_match_cnf(EV, EVSE, RUN, NID, NMK), 109),
        (mme.set_key_req(EV, NID, NMK), 60),
        (mme.set_key_cnf(EV, MODEM), 60),
        (mme.sw_ver_req(EV), 60),
        (mme.link_status_req(EV), 60),
        (mme.link_status_cnf(EV, MODEM, True), 60),
    ]
    for f, n in sizes:
        assert len(f) == n, (hex(mmtype(f)), len(f))
        assert f[12:14] == b"\x88\xe1"


def test_header_and_key_offsets():
    f = mme.slac_match_cnf(EV, EVSE, RUN, NID, NMK)
    assert f[0:6] == EV and f[6:12] == EVSE
    assert f[14] == 1 and f[15:17] == b"\x7d\x60" and f[17:19] == b"\x00\x00"
    assert f[21:23] == b"\x56\x00"                  # MVFLength LE
    assert f[40:46] == EV and f[63:69] == EVSE
    assert f[69:77] == RUN and f[85:92] == NID and f[93:109] == NMK
    f = mme.slac_match_req(EVSE, EV, RUN)
    assert f[21:23] == b"\x3e\x00" and f[40:46] == EV and f[63:69] == EVSE and f[69:77] == RUN
    f = mme.set_key_req(EV, NID, NMK)
    assert f[0:6] == mme.LOCALCAST
    assert f[19] == 1 and f[20:28] == bytes(8) and f[28] == 4
    assert f[33:40] == NID and f[40] == 1 and f[41:57] == NMK and f[57:] == bytes(3)
    f = mme.slac_parm_req(EV, RUN)
    assert f[0:6] == mme.BROADCAST and f[19:21] == b"\x00\x00" and f[21:29] == RUN
    f = mme.slac_parm_cnf(EV, EVSE, RUN)
    assert f[19:25] == mme.BROADCAST and f[25] == 10 and f[26] == 6 and f[27] == 1
    assert f[28:34] == EV and f[36:44] == RUN
    f = mme.start_atten_char_ind(EV, RUN)
    assert f[21] == 10 and f[22] == 6 and f[23] == 1 and f[24:30] == EV and f[30:38] == RUN
    f = mme.mnbc_sound_ind(EV, RUN, 3, b"\x07" * 16)
    assert f[38] == 3 and f[39:47] == RUN and f[47:55] == bytes(8) and f[55:71] == b"\x07" * 16
    f = mme.atten_profile_ind(EVSE, MODEM, EV, [20] * 58)
    assert f[19:25] == EV and f[25] == 58 and f[27:85] == bytes([20] * 58)
    f = mme.atten_char_ind(EV, EVSE, RUN, 10, [30] * 58)
    assert f[21:27] == EV and f[27:35] == RUN and f[69] == 10 and f[70] == 58
    assert f[71:129] == bytes([30] * 58)
    f = mme.atten_char_rsp(EVSE, EV, RUN)
    assert f[21:27] == EV and f[27:35] == RUN and f[69] == 0
    f = mme.link_status_req(EV)
    assert f[14] == 0 and f[15:17] == b"\xb8\xa0" and f[17:20] == b"\x00\xb0\x52"
    f = mme.link_status_cnf(EV, MODEM, True)
    assert f[20] == 0 and f[21] == 1
    f = mme.sw_ver_cnf(EV, MODEM, b"QCA7000-X")
    assert f[21] == 0x22 and f[22] == 10 and f[23:32] == b"QCA7000-X" and f[32] == 0


def test_parse_round_trip():
    m = mme.parse(mme.slac_parm_req(EV, RUN))
    assert m.mmtype == mme.CM_SLAC_PARM_REQ and m.src == EV and m.run_id == RUN and m.app == 0
    m = mme.parse(mme.slac_parm_cnf(EV, EVSE, RUN))
    assert m.forwarding_sta == EV and m.num_sounds == 10 and m.time_out == 6 and m.run_id == RUN
    m = mme.parse(mme.start_atten_char_ind(EV, RUN, 10, 6))
    assert m.forwarding_sta == EV and m.num_sounds == 10 and m.run_id == RUN
    m = mme.parse(mme.mnbc_sound_ind(EV, RUN, 4, b"\x01" * 16))
    assert m.cnt == 4 and m.run_id == RUN and m.rnd == b"\x01" * 16
    m = mme.parse(mme.atten_profile_ind(EVSE, MODEM, EV, list(range(58))))
    assert m.pev_mac == EV and m.aag == bytes(range(58))
    m = mme.parse(mme.atten_char_ind(EV, EVSE, RUN, 9, [33] * 58))
    assert m.source_address == EV and m.num_sounds == 9 and m.aag == bytes([33] * 58)
    m = mme.parse(mme.atten_char_rsp(EVSE, EV, RUN, 1))
    assert m.source_address == EV and m.result == 1 and m.run_id == RUN
    m = mme.parse(mme.validate_cnf(EV, EVSE))
    assert m.result == mme.VALIDATE_NOT_REQUIRED
    m = mme.parse(mme.slac_match_req(EVSE, EV, RUN, pev_id=b"V" * 17))
    assert m.pev_mac == EV and m.evse_mac == EVSE and m.pev_id == b"V" * 17 and m.mvf_len == 0x3E
    m = mme.parse(mme.slac_match_cnf(EV, EVSE, RUN, NID, NMK))
    assert m.nid == NID and m.nmk == NMK and m.run_id == RUN
    m = mme.parse(mme.set_key_req(EV, NID, NMK))
    assert m.nid == NID and m.nmk == NMK and m.key_type == 1 and m.pid == 4
    m = mme.parse(mme.set_key_cnf(EV, MODEM, 1))
    assert m.result == 1
    m = mme.parse(mme.sw_ver_cnf(EV, MODEM, b"v1"))
    assert m.version == b"v1" and m.device_id == 0x22
    m = mme.parse(mme.link_status_cnf(EV, MODEM, False))
    assert m.mmtype == mme.VS_PL_LINK_STATUS_CNF and m.link == 0
    # memoryview and bytearray input work the same.
    m = mme.parse(memoryview(bytearray(mme.slac_parm_req(EV, RUN))))
    assert m.run_id == RUN


def test_tolerated_variants():
    # pyslac: MATCH.REQ MVFLength big-endian.
    f = bytearray(mme.slac_match_req(EVSE, EV, RUN))
    f[21:23] = b"\x00\x3e"
    m = mme.parse(f)
    assert m is not None and m.run_id == RUN
    # open-plc-utils: RESP_TYPE 0.
    m = mme.parse(mme.slac_parm_cnf(EV, EVSE, RUN, resp_type=0))
    assert m.resp_type == 0 and m.run_id == RUN
    # Unpadded frames (a sender that does not pad) are fine if the fields are there.
    f = mme.slac_parm_req(EV, RUN)[:29]
    assert mme.parse(f).run_id == RUN


def test_malformed_frames_parse_to_none():
    good = mme.slac_match_cnf(EV, EVSE, RUN, NID, NMK)
    assert mme.parse(good[:108]) is None                # short
    assert mme.parse(good + bytes(1500)) is None        # oversized
    bad = bytearray(good)
    bad[13] = 0xE2                                      # wrong ethertype
    assert mme.parse(bad) is None
    bad = bytearray(good)
    bad[14] = 7                                         # unknown MMV
    assert mme.parse(bad) is None
    bad = bytearray(good)
    bad[17] = 0x21                                      # fragmented
    assert mme.parse(bad) is None
    bad = bytearray(good)
    bad[15:17] = b"\x34\x12"                            # unknown MMTYPE
    assert mme.parse(bad) is None
    vs = bytearray(mme.link_status_cnf(EV, MODEM, True))
    vs[18] = 0x53                                       # foreign OUI
    assert mme.parse(vs) is None
    vs = bytearray(mme.link_status_cnf(EV, MODEM, True))
    vs[14] = 1                                          # vendor MME with MMV 1
    assert mme.parse(vs) is None
    prof = bytearray(mme.atten_profile_ind(EVSE, MODEM, EV, [20] * 58))
    prof[25] = 0                                        # zero groups
    assert mme.parse(prof) is None
    prof[25] = 70                                       # more groups than bytes
    assert mme.parse(prof) is None
    sw = bytearray(mme.sw_ver_cnf(EV, MODEM, b"v1"))
    sw[22] = 250
    assert mme.parse(sw[:100]) is None
    for n in range(0, 20):
        assert mme.parse(good[:n]) is None
    assert mme.parse(b"") is None
