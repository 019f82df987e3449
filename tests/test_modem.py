"""The modem firmware model (host/bench/modem.py) on the virtual wire."""
import io
import os
import subprocess

from host.bench.modem import (BROADCAST, LOCALCAST, MDEVICEID_QCA7000, NUM_GROUPS, Modem)
from host.capture.pcap import PcapWriter
from host.bench.plc_wire import PlcWire
from host.harness.homeplug import mme

EV_HOST = bytes.fromhex("0201020304a1")
SE_HOST = bytes.fromhex("0201020304b1")
EV_MODEM = bytes.fromhex("00b0520304a1")
SE_MODEM = bytes.fromhex("00b0520304b1")
NMK = bytes.fromhex("b59319d7e8157ba001b018669ccee30d")
NID = bytes.fromhex("026bcba5354e08")
NID2 = bytes.fromhex("b0f2e695666b03")


def set_key_req(src, nid=NID, nmk=NMK, dst=LOCALCAST):
    payload = (b"\x01" + b"\xaa\xaa\xaa\xaa" + bytes(4) + b"\x04" + bytes(2) + b"\x00"
               + b"\x00" + nid + b"\x01" + nmk)
    assert len(payload) == 38
    return mme(dst, src, 1, 0x6008, payload)


def vs_req(src, mmtype, dst=LOCALCAST):
    return mme(dst, src, 0, mmtype, b"\x00\xb0\x52")


def sound(src, cnt=9):
    payload = b"\x00\x00" + bytes(17) + bytes((cnt,)) + bytes(range(8)) + bytes(8) + bytes(16)
    return mme(BROADCAST, src, 1, 0x6076, payload)


def ipv6_frame(dst, src, tag=b"x"):
    return (dst + src + b"\x86\xdd" + tag).ljust(60, b"\x00")


def mmtype_of(f):
    return f[15] | (f[16] << 8)


def take(m):
    out = m.to_host
    m.to_host = []
    return out


def run(wire, modems, t0, t1):
    for now in range(t0, t1 + 1):
        for m in modems:
            m.poll(now)
        wire.poll(now)


def pair(**kw):
    wire = PlcWire(**kw)
    se = Modem(SE_MODEM, "evse", wire, host_mac=SE_HOST, boot_ms=50)
    ev = Modem(EV_MODEM, "pev", wire, host_mac=EV_HOST, boot_ms=50)
    return wire, se, ev


def join(wire, se, ev, nid=NID, t=0):
    se.from_host(set_key_req(SE_HOST, nid), t)
    ev.from_host(set_key_req(EV_HOST, nid), t)
    take(se)
    take(ev)
    run(wire, (se, ev), t, t + 100)


def test_set_key_answers_then_restarts_and_joins():
    wire, se, ev = pair()
    assert se.ready and se.resets == 0 and se.nid is None
    se.from_host(set_key_req(SE_HOST), 1000)
    (cnf,) = take(se)
    assert cnf[0:6] == SE_HOST and cnf[6:12] == SE_MODEM     # modem -> host
    assert mmtype_of(cnf) == 0x6009 and cnf[14] == 1
    assert cnf[19] == 0x00                                   # configured "ok" value
    assert cnf[24:28] == b"\xaa\xaa\xaa\xaa"                 # YourNonce = REQ MyNonce
    assert cnf[28] == 0x04 and len(cnf) == 60
    assert se.key_nid == NID and se.nmk == NMK
    assert se.nid is None                 # the new key takes effect on restart
    # the CNF gets out first; the restart follows restart_delay_ms later
    se.poll(1000 + se.restart_delay_ms - 1)
    assert se.ready and se.resets == 0
    se.poll(1000 + se.restart_delay_ms)
    assert not se.ready and se.resets == 1 and se.nid is None
    se.poll(1000 + se.restart_delay_ms + 49)
    assert not se.ready
    se.poll(1000 + se.restart_delay_ms + 50)
    assert se.ready and se.nid == NID and se.resets == 1


def test_set_key_result_sense_is_configurable_and_broadcast_set_key_is_taken():
    wire = PlcWire()
    m = Modem(SE_MODEM, "evse", wire, host_mac=SE_HOST, setkey_result_ok=0x01)
    other = Modem(EV_MODEM, "pev", wire, host_mac=EV_HOST)
    m.from_host(set_key_req(SE_HOST, dst=BROADCAST), 0)    # pyPLC / ccs32clara style
    (cnf,) = take(m)
    assert cnf[19] == 0x01
    assert wire.pending() == 0 and wire.counters["tx"] == 0  # not forwarded
    assert other.key_nid is None


def test_modem_ignores_host_while_booting_and_short_set_key():
    m = Modem(SE_MODEM, "evse", None, host_mac=SE_HOST, boot_ms=50)
    m.reset(0)
    m.from_host(vs_req(SE_HOST, 0xA000), 10)
    assert take(m) == [] and m.dropped == 1
    m.poll(50)
    m.from_host(set_key_req(SE_HOST)[:40], 60)                 # truncated REQ
    assert take(m) == [] and m.dropped == 2 and m.key_nid is None


def test_data_frames_only_between_same_nid():
    wire, se, ev = pair()
    third = Modem(bytes.fromhex("00b052aabbcc"), "pev", wire,
                  host_mac=bytes.fromhex("02aabbccddee"), boot_ms=50)
    # before any key: data from the host is not sent at all
    ev.from_host(ipv6_frame(SE_HOST, EV_HOST), 0)
    run(wire, (se, ev, third), 0, 1)
    assert take(se) == [] and wire.counters["tx"] == 0
    join(wire, se, ev)
    third.from_host(set_key_req(third.host_mac, NID2), 0)
    take(third)
    run(wire, (third,), 0, 100)
    assert se.nid == ev.nid == NID and third.nid == NID2
    ev.from_host(ipv6_frame(SE_HOST, EV_HOST, b"unicast"), 200)
    ev.from_host(ipv6_frame(bytes.fromhex("333300000001"), EV_HOST, b"mcast"), 200)
    ev.from_host(ipv6_frame(bytes.fromhex("020000000099"), EV_HOST, b"other"), 200)
    run(wire, (se, ev, third), 200, 201)
    got = take(se)
    assert [f[14:21] for f in got] == [b"unicast", b"mcast\0\0"]
    assert take(third) == []                                  # other AVLN hears nothing
    third.from_host(ipv6_frame(BROADCAST, third.host_mac, b"bcast"), 300)
    run(wire, (se, ev, third), 300, 301)
    assert take(se) == [] and take(ev) == []


def test_mmes_cross_before_any_avln():
    wire, se, ev = pair()
    parm = mme(BROADCAST, EV_HOST, 1, 0x6064, bytes(10))
    ev.from_host(parm, 0)
    run(wire, (se, ev), 0, 0)
    assert take(se) == [parm]
    cnf = mme(EV_HOST, SE_HOST, 1, 0x6065, bytes(25))
    se.from_host(cnf, 5)
    stray = mme(bytes.fromhex("020000000099"), SE_HOST, 1, 0x6065, bytes(25))
    se.from_host(stray, 5)
    run(wire, (se, ev), 5, 5)
    assert take(ev) == [cnf]


def test_atten_profile_per_sound_in_evse_role_only():
    wire, se, ev = pair(seed=4)
    wire.set_atten(ev, 17)
    wire.set_atten(se, 17)
    for i in range(10):
        ev.from_host(sound(EV_HOST, 9 - i), i * 20)
        run(wire, (se, ev), i * 20, i * 20)
    got = take(se)
    assert len(got) == 20
    sounds = [f for f in got if mmtype_of(f) == 0x6076]
    profiles = [f for f in got if mmtype_of(f) == 0x6086]
    assert len(sounds) == 10 and len(profiles) == 10
    aags = []
    for p in profiles:
        assert len(p) == 85
        assert p[0:6] == SE_HOST and p[6:12] == SE_MODEM
        assert p[19:25] == EV_HOST and p[25] == NUM_GROUPS == 58 and p[26] == 0
        aags.extend(p[27:85])
    assert all(15 <= a <= 19 for a in aags)
    assert len(set(aags)) > 1                                 # noise is there
    assert abs(sum(aags) / len(aags) - 17) < 0.5
    # the PEV modem hears the EVSE's broadcasts but makes no profiles
    se.from_host(sound(SE_HOST), 500)
    run(wire, (se, ev), 500, 500)
    assert [mmtype_of(f) for f in take(ev)] == [0x6076]


def test_atten_profile_noise_is_seeded():
    def profile(seed):
        wire = PlcWire()
        se = Modem(SE_MODEM, "evse", wire, host_mac=SE_HOST, seed=seed)
        ev = Modem(EV_MODEM, "pev", wire, host_mac=EV_HOST)
        ev.from_host(sound(EV_HOST), 0)
        wire.poll(0)
        return take(se)[1]
    assert profile(1) == profile(1)
    assert profile(1) != profile(2)


def test_link_status():
    wire, se, ev = pair()
    se.from_host(vs_req(SE_HOST, 0xA0B8), 0)
    (cnf,) = take(se)
    assert cnf[0:6] == SE_HOST and cnf[6:12] == SE_MODEM
    assert cnf[14] == 0 and mmtype_of(cnf) == 0xA0B9
    assert cnf[17:20] == b"\x00\xb0\x52" and cnf[20] == 0 and cnf[21] == 0
    join(wire, se, ev)
    se.from_host(vs_req(SE_HOST, 0xA0B8, dst=SE_MODEM), 200)   # own MAC works too
    assert take(se)[0][21] == 1
    ev.link_loss(300, now=200)
    se.from_host(vs_req(SE_HOST, 0xA0B8), 210)
    assert take(se)[0][21] == 0
    run(wire, (se, ev), 210, 500)
    se.from_host(vs_req(SE_HOST, 0xA0B8), 510)
    assert take(se)[0][21] == 1


def test_sw_ver_local_and_broadcast():
    wire, se, ev = pair()
    se.from_host(vs_req(SE_HOST, 0xA000), 0)
    (cnf,) = take(se)
    assert mmtype_of(cnf) == 0xA001 and cnf[6:12] == SE_MODEM and cnf[0:6] == SE_HOST
    assert cnf[20] == 0 and cnf[21] == MDEVICEID_QCA7000 == 0x22
    n = cnf[22]
    assert cnf[23:23 + n - 1].startswith(b"MAC-QCA7000") and cnf[23 + n - 1] == 0
    assert wire.counters["tx"] == 0                           # localcast stays local
    # broadcast: the local and the remote modem both answer (pyPLC counts two)
    ev.from_host(vs_req(EV_HOST, 0xA000, dst=BROADCAST), 10)
    run(wire, (se, ev), 10, 11)
    answers = take(ev)
    assert sorted(f[6:12] for f in answers) == sorted([EV_MODEM, SE_MODEM])
    assert all(mmtype_of(f) == 0xA001 and f[0:6] == EV_HOST for f in answers)
    assert take(se) == []                                     # request not passed up


def test_rs_dev_resets():
    wire, se, ev = pair()
    join(wire, se, ev)
    se.from_host(vs_req(SE_HOST, 0xA01C), 200)
    (cnf,) = take(se)
    assert mmtype_of(cnf) == 0xA01D and cnf[20] == 0
    run(wire, (se, ev), 200, 200 + se.restart_delay_ms)
    assert se.resets == 2 and not se.ready                   # 1 from SET_KEY, 1 now
    run(wire, (se, ev), 200 + se.restart_delay_ms, 300 + se.restart_delay_ms)
    assert se.ready and se.nid == NID                         # the key survives


def test_faults_reset_link_loss_forget_key():
    wire, se, ev = pair()
    join(wire, se, ev)
    # link loss: deaf and mute on the wire
    ev.link_loss(100, now=200)
    assert ev.next_deadline() == 300
    se.from_host(ipv6_frame(EV_HOST, SE_HOST, b"a"), 210)
    ev.from_host(ipv6_frame(SE_HOST, EV_HOST, b"b"), 210)
    run(wire, (se, ev), 210, 211)
    assert take(ev) == [] and take(se) == []
    run(wire, (se, ev), 212, 300)
    se.from_host(ipv6_frame(EV_HOST, SE_HOST, b"c"), 301)
    run(wire, (se, ev), 301, 301)
    assert [f[14:15] for f in take(ev)] == [b"c"]
    # reset: to_host cleared, not ready, rejoins after boot
    ev.to_host.append(b"stale")
    ev.reset(400)
    assert ev.to_host == [] and ev.resets == 2 and ev.nid is None
    run(wire, (se, ev), 400, 450)
    assert ev.nid == NID
    # forget_key: leaves the AVLN, data stops
    ev.forget_key(500)
    assert ev.nid is None and ev.nmk is None
    se.from_host(ipv6_frame(EV_HOST, SE_HOST, b"d"), 500)
    run(wire, (se, ev), 500, 501)
    assert take(ev) == []


def test_host_mac_learned_from_first_frame():
    wire = PlcWire()
    se = Modem(SE_MODEM, "evse", wire)
    ev = Modem(EV_MODEM, "pev", wire)
    assert se.host_mac is None
    se.from_host(vs_req(SE_HOST, 0xA000), 0)
    assert se.host_mac == SE_HOST
    assert take(se)[0][0:6] == SE_HOST
    ev.from_host(sound(EV_HOST), 1)
    wire.poll(1)
    (snd, prof) = take(se)
    assert prof[0:6] == SE_HOST


def test_garbage_from_host_and_wire_never_raises():
    wire, se, ev = pair()
    for junk in (b"", b"\x00", bytes(13), bytes(14), b"\xff" * 14 + b"\x88",
                 LOCALCAST + SE_HOST + b"\x88\xe1", LOCALCAST + SE_HOST + b"\x88\xe1\x00\x00\xa0",
                 LOCALCAST + SE_HOST + b"\x88\xe1\x01\x08\x60"):
        se.from_host(junk, 0)
        se.from_wire(junk, NID, 20, 0)
        se.from_wire(junk, None, 20, 0)
    assert se.dropped > 0


def test_modem_frames_decode_in_tshark(tmp_path):
    assert os.path.exists("/usr/bin/tshark"), "tshark is a prerequisite of this test"
    wire, se, ev = pair()
    buf = io.BytesIO()
    w = PcapWriter(buf)
    se.from_host(set_key_req(SE_HOST), 0)
    se.from_host(vs_req(SE_HOST, 0xA000), 0)
    ev.from_host(sound(EV_HOST), 1)
    wire.poll(1)
    for f in take(se):
        w.write(f, ts=1.0)
    path = tmp_path / "m.pcap"
    path.write_bytes(buf.getvalue())
    out = subprocess.run(
        ["/usr/bin/tshark", "-r", str(path), "-T", "fields",
         "-e", "homeplug_av.cm_set_key_cnf.result", "-e", "homeplug_av.get_sw_cnf.dev_id",
         "-e", "homeplug_av.get_sw_cnf.ver_str",
         "-e", "homeplug_av.gp.cm_atten_profile_ind.groups_count",
         "-e", "homeplug_av.gp.cm_atten_profile_ind.pev_mac"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [ln.split("\t") for ln in out.stdout.splitlines()]
    assert len(rows) == 4                       # SET_KEY.CNF, SW_VER.CNF, sound, profile
    assert int(rows[0][0], 0) == 0
    assert int(rows[1][1], 0) == 0x22 and rows[1][2].startswith("MAC-QCA7000")
    assert int(rows[3][3], 0) == 58 and rows[3][4] == "02:01:02:03:04:a1"


def test_interop_with_the_firmware_slac_codec():
    from micro15118.slac import mme as fw    # firmware/micro15118/slac/mme.py builds and parses these MMEs
    wire, se, ev = pair()
    se.from_host(fw.set_key_req(SE_HOST, NID, NMK), 0)
    ev.from_host(fw.set_key_req(EV_HOST, NID, NMK), 0)
    for m in (se, ev):
        (cnf,) = take(m)
        p = fw.parse(cnf)
        assert p.mmtype == fw.CM_SET_KEY_CNF and p.result == 0 and p.src == m.mac
    run(wire, (se, ev), 0, 100)
    se.from_host(fw.link_status_req(SE_HOST), 200)
    se.from_host(fw.sw_ver_req(SE_HOST), 200)
    link, ver = [fw.parse(f) for f in take(se)]
    assert link.mmtype == fw.VS_PL_LINK_STATUS_CNF and link.link == 1 and link.mstatus == 0
    assert ver.device_id == 0x22 and ver.version.startswith(b"MAC-QCA7000")
    ev.from_host(fw.mnbc_sound_ind(EV_HOST, bytes(8), 9, bytes(16)), 300)
    run(wire, (se, ev), 300, 300)
    snd, prof = [fw.parse(f) for f in take(se)]
    assert snd.mmtype == fw.CM_MNBC_SOUND_IND
    assert prof.mmtype == fw.CM_ATTEN_PROFILE_IND and prof.pev_mac == EV_HOST
    assert len(prof.aag) == 58
