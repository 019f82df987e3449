"""Every SLAC frame our firmware sends, decoded by Wireshark's tshark (Debian
package): field by field, no malformed packets, no expert warnings, and the
values tshark reads are the values we meant.

The frames come from a complete in-process session (host/bench/linksim.py: our
charger and vehicle with their real drivers against the chip and modem
models), recorded where the firmware hands them to its modem, so host-to-
modem MMEs (CM_SET_KEY, link status) are included.
"""
import json
import subprocess

from micro15118.slac import mme

from host.bench.linksim import LinkSim
from host.capture.pcap import PcapWriter
from peerenv import require_tool

HOMEPLUG = b"\x88\xe1"


def session_frames():
    sim = LinkSim(seed=5)
    sim.plug()
    assert sim.run_until(lambda s, e: s is sim.vehicle and e[0] == "connected", 20000)
    sim.run_until(lambda s, e: False, 2500)      # a few link-status polls
    frames = []
    for side in (sim.charger, sim.vehicle):
        frames += [(t, side.name, f) for t, f in side.sent if f[12:14] == HOMEPLUG]
    frames.sort(key=lambda x: x[0])
    # CM_VALIDATE.CNF is only sent when an EV asks; add the frame we would send.
    frames.append((frames[-1][0] + 1, "charger",
                   mme.validate_cnf(bytes.fromhex("020000000002"),
                                    bytes.fromhex("020000000001"))))
    return frames


def tshark(pcap, *args):
    cmd = [require_tool("tshark", "tshark"), "-r", str(pcap), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


FIELDS = {
    # tshark field -> how to get the same value from our own parse
    "homeplug_av.gp.cm_slac_parm.runid": lambda m: m.run_id.hex(),
    "homeplug_av.gp.cm_start_atten_char.runid": lambda m: m.run_id.hex(),
    "homeplug_av.gp.cm_mnbc_sound.runid": lambda m: m.run_id.hex(),
    "homeplug_av.gp.cm_mnbc_sound.countdown": lambda m: str(m.cnt),
    "homeplug_av.gp.cm_atten_char.runid": lambda m: m.run_id.hex(),
    "homeplug_av.gp.cm_slac_match.runid": lambda m: m.run_id.hex(),
    "homeplug_av.gp.cm_slac_match.pev_mac": lambda m: m.pev_mac.hex(":"),
    "homeplug_av.gp.cm_slac_match.evse_mac": lambda m: m.evse_mac.hex(":"),
    "homeplug_av.gp.cm_slac_match.nmk": lambda m: m.nmk.hex(),
    "homeplug_av.gp.cm_slac_match.nid": lambda m: m.nid.hex(),
    "homeplug_av.cm_set_key_req.nw_key": lambda m: m.nmk.hex(),
}


def test_every_slac_frame_we_send_decodes_cleanly_in_tshark(tmp_path):
    frames = session_frames()
    kinds = {mme.header(f)[3] for _, _, f in frames}
    for mmtype in (mme.CM_SLAC_PARM_REQ, mme.CM_SLAC_PARM_CNF, mme.CM_START_ATTEN_CHAR_IND,
                   mme.CM_MNBC_SOUND_IND, mme.CM_ATTEN_CHAR_IND, mme.CM_ATTEN_CHAR_RSP,
                   mme.CM_SLAC_MATCH_REQ, mme.CM_SLAC_MATCH_CNF, mme.CM_SET_KEY_REQ,
                   mme.CM_VALIDATE_CNF, mme.VS_PL_LINK_STATUS_REQ):
        assert mmtype in kinds, hex(mmtype)
    pcap = tmp_path / "ours.pcap"
    with PcapWriter(str(pcap)) as w:
        for t, _, f in frames:
            w.write(f, ts=t / 1000.0)

    packets = json.loads(tshark(pcap, "-T", "json"))
    assert len(packets) == len(frames)
    for i, pkt in enumerate(packets):
        layers = pkt["_source"]["layers"]
        text = json.dumps(layers)
        assert "homeplug-av" in layers or "homeplug_av" in text, (i, list(layers))
        assert "_ws.malformed" not in text and "_ws.expert" not in text, (i, text[:2000])
    verbose = tshark(pcap, "-V")
    assert "Malformed" not in verbose and "Expert Info" not in verbose

    # Field by field: what tshark reads equals what we encoded.
    names = list(FIELDS)
    out = tshark(pcap, "-T", "fields", "-E", "separator=|", "-e", "homeplug_av.mmhdr.mmtype",
                 "-e", "homeplug_av.mmhdr.mmtype.qualcomm", *[a for n in names for a in ("-e", n)])
    rows = out.splitlines()
    assert len(rows) == len(frames)
    checked = 0
    for (t, who, frame), row in zip(frames, rows):
        cols = row.split("|")
        ours = mme.parse(frame)
        assert ours is not None
        mmtype = cols[0] or cols[1]        # standard or Qualcomm vendor MME
        assert int(mmtype, 16) == ours.mmtype, (who, cols[:2], hex(ours.mmtype))
        for name, col in zip(names, cols[2:]):
            if col:
                got = col.split(",")[0].replace(":", "") if name.endswith(("nmk", "nid", "runid", "nw_key")) else col
                want = FIELDS[name](ours)
                want = want.replace(":", "") if name.endswith(("nmk", "nid", "runid", "nw_key")) else want
                assert got.lower() == want.lower(), (who, name, got, want)
                checked += 1
    assert checked >= 20
