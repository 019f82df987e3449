"""Model of the QCA7000 modem firmware (what sits behind the SPI host interface).

    m = Modem(mac, role='evse'|'pev', wire=None, host_mac=None, boot_ms=100,
              setkey_result_ok=0x00, seed=0)
    m.from_host(frame, now)      # an Ethernet frame from the modem's host
    m.from_wire(frame, nid, atten_db, now)   # called by PlcWire
    m.poll(now); m.next_deadline()
    m.to_host                    # frames for the host (drained by chip model / bridge)

What it does (docs/standards-notes.md §8):
* MMEs from the host to the localcast address 00:B0:52:00:00:01 or to the
  modem's own MAC are for the firmware: CM_SET_KEY.REQ (take NMK/NID, answer,
  restart, rejoin), VS_SW_VER.REQ, VS_PL_LINK_STATUS.REQ, VS_RS_DEV.REQ.  A
  broadcast CM_SET_KEY.REQ (pyPLC, ccs32clara) is taken too and not forwarded;
  a broadcast VS_SW_VER.REQ is answered locally *and* sent on the wire, where
  every modem answers it.
* Everything else from the host goes on the wire tagged with the current NID;
  while not joined to an AVLN only MMEs go out.
* From the wire: MMEs reach the host when sent to the host MAC or broadcast
  (SLAC runs before any AVLN exists); other frames only when both ends are in
  the same AVLN and the destination is the host, IPv6 multicast or broadcast.
* EVSE role (the EVSE PIB): each CM_MNBC_SOUND.IND heard also produces one
  CM_ATTEN_PROFILE.IND (58 groups) from the modem to its host.

Timing: after CM_SET_KEY.CNF / VS_RS_DEV.CNF the restart happens
`restart_delay_ms` later, so the confirmation can reach the host before the
chip's buffers are cleared; then the modem is not `ready` for `boot_ms`
(resets += 1 at the start of every restart), after which it joins the AVLN
of its NID.  A modem created here starts ready (already booted).

Faults: reset(now), link_loss(duration_ms, now=None) (deaf and mute on the
wire), forget_key(now=None) (loses NMK/NID, leaves the AVLN).
"""
import random
import struct

ETH_HOMEPLUG = 0x88E1
LOCALCAST = bytes.fromhex("00b052000001")
BROADCAST = b"\xff" * 6
QCA_OUI = bytes.fromhex("00b052")

CM_SET_KEY_REQ = 0x6008
CM_SET_KEY_CNF = 0x6009
CM_MNBC_SOUND_IND = 0x6076
CM_ATTEN_PROFILE_IND = 0x6086
VS_SW_VER_REQ = 0xA000
VS_SW_VER_CNF = 0xA001
VS_RS_DEV_REQ = 0xA01C
VS_RS_DEV_CNF = 0xA01D
VS_PL_LINK_STATUS_REQ = 0xA0B8
VS_PL_LINK_STATUS_CNF = 0xA0B9

MDEVICEID_QCA7000 = 0x22
NUM_GROUPS = 58
MIN_FRAME = 60
SW_VERSION = "MAC-QCA7000-1.1.0.730-04-20140815-CS (micro15118 model)"
MVERSION_FIELD = 128       # VS_SW_VER.CNF v1: fixed-size NUL-padded string field


def _pad(frame):
    if len(frame) < MIN_FRAME:
        frame += bytes(MIN_FRAME - len(frame))
    return frame


def mme_header(dst, src, mmv, mmtype):
    """Ethernet + MME header: MMV 1 carries the 2-byte FMI, MMV 0 does not."""
    hdr = bytes(dst) + bytes(src) + struct.pack(">HB", ETH_HOMEPLUG, mmv) \
        + struct.pack("<H", mmtype)
    if mmv != 0:
        hdr += b"\x00\x00"
    return hdr


def parse_mme(frame):
    """-> (mmv, mmtype) for a HomePlug frame, or None."""
    if len(frame) < 17 or frame[12] != 0x88 or frame[13] != 0xE1:
        return None
    return frame[14], frame[15] | (frame[16] << 8)


def is_qca_vs(frame, mmv, mmtype):
    """A Qualcomm vendor-specific MME: MMV 0, VS range, OUI 00 B0 52."""
    return (mmv == 0 and 0xA000 <= mmtype <= 0xBFFF and len(frame) >= 20
            and bytes(frame[17:20]) == QCA_OUI)


def mac_str(mac):
    return ":".join("%02x" % b for b in mac) if mac is not None else None


class Modem:
    def __init__(self, mac, role="evse", wire=None, host_mac=None, boot_ms=100,
                 setkey_result_ok=0x00, seed=0, atten_db=20, nmk=None, nid=None,
                 restart_delay_ms=20, noise_db=2, sw_version=SW_VERSION):
        if role not in ("evse", "pev"):
            raise ValueError("role must be 'evse' or 'pev'")
        self.mac = bytes(mac)
        if len(self.mac) != 6:
            raise ValueError("modem MAC must be 6 bytes")
        self.role = role
        self.wire = wire
        self.host_mac = bytes(host_mac) if host_mac is not None else None
        self.boot_ms = boot_ms
        self.restart_delay_ms = restart_delay_ms
        # QCA firmware is reported to answer CM_SET_KEY with Result inverted
        # (1 on success, pyPLC); the value sent on success is configurable.
        self.setkey_result_ok = setkey_result_ok
        self.noise_db = noise_db
        self.sw_version = sw_version
        self._rng = random.Random(seed)
        self.nmk = bytes(nmk) if nmk is not None else None
        self.key_nid = bytes(nid) if nid is not None else None   # configured NID
        self._avln = self.key_nid   # NID in use: a new key takes effect on restart
        self.to_host = []
        self.ready = True
        self.resets = 0
        self.dropped = 0
        self.counters = {"host_in": 0, "host_out": 0, "wire_in": 0, "wire_out": 0,
                         "set_key": 0, "sounds": 0, "atten_profiles": 0}
        self._restart_at = None     # pending restart (after a CNF)
        self._boot_done = None      # end of the current boot
        self._deaf_until = None     # link-loss fault
        self._last_now = 0
        if wire is not None:
            wire.attach(self, atten_db)

    # -- state -------------------------------------------------------------
    @property
    def nid(self):
        """NID of the AVLN this modem is in now, or None (no key, booting, link lost)."""
        if not self.ready or self._deaf_until is not None:
            return None
        return self._avln

    def link_status(self):
        """1 if in an AVLN with at least one other station (VS_PL_LINK_STATUS)."""
        nid = self.nid
        if nid is None or self.wire is None:
            return 0
        return 1 if any(p is not self for p in self.wire.members(nid)) else 0

    def next_deadline(self):
        times = [t for t in (self._restart_at, self._boot_done, self._deaf_until)
                 if t is not None]
        return min(times) if times else None

    def poll(self, now):
        self._last_now = now
        if self._restart_at is not None and now >= self._restart_at:
            self._restart_at = None
            self.reset(now)
        if self._boot_done is not None and now >= self._boot_done:
            self._boot_done = None
            self.ready = True
            self._avln = self.key_nid     # joins the AVLN of its (new) key
        if self._deaf_until is not None and now >= self._deaf_until:
            self._deaf_until = None

    # -- faults ------------------------------------------------------------
    def reset(self, now):
        """Restart the firmware: leave the AVLN, boot for boot_ms, keep the key."""
        self._last_now = now
        self._restart_at = None
        self.ready = False
        self.resets += 1
        self.to_host = []
        self._boot_done = now + self.boot_ms

    def link_loss(self, duration_ms, now=None):
        if now is None:
            now = self._last_now
        self._deaf_until = now + duration_ms

    def forget_key(self, now=None):
        if now is not None:
            self._last_now = now
        self.nmk = None
        self.key_nid = None
        self._avln = None

    # -- from the host -----------------------------------------------------
    def from_host(self, frame, now):
        self._last_now = now
        self.counters["host_in"] += 1
        if not self.ready or len(frame) < 14:
            self.dropped += 1
            return
        frame = bytes(frame)
        dst = frame[0:6]
        if self.host_mac is None:
            self.host_mac = frame[6:12]
        mme = parse_mme(frame)
        if mme is not None:
            mmv, mmtype = mme
            local = dst == LOCALCAST or dst == self.mac
            if local or dst == BROADCAST:
                if self._local_mme(frame, mmv, mmtype, now, local):
                    return
            if local:                # for the firmware, but not understood
                self.dropped += 1
                return
        elif self.nid is None:       # not joined: only MMEs leave the modem
            self.dropped += 1
            return
        self._transmit(frame, now)

    def _transmit(self, frame, now):
        if self.wire is None or self._deaf_until is not None:
            self.dropped += 1
            return
        self.counters["wire_out"] += 1
        self.wire.transmit(self, frame, self.nid, now)

    def _send_host(self, frame):
        self.counters["host_out"] += 1
        self.to_host.append(_pad(frame))

    def _local_mme(self, frame, mmv, mmtype, now, local):
        """Handle an MME addressed to this modem; True if it was consumed."""
        src = frame[6:12]
        if mmtype == CM_SET_KEY_REQ and mmv == 1:
            if len(frame) < 57:
                self.dropped += 1
                return True
            self._set_key(frame, src)
            return True
        if not is_qca_vs(frame, mmv, mmtype):
            return False
        if mmtype == VS_SW_VER_REQ:
            self._send_host(self._sw_ver_cnf(src))
            if not local:            # broadcast: every modem in reach answers
                self._transmit(frame, now)
            return True
        if not local:
            return False
        if mmtype == VS_PL_LINK_STATUS_REQ:
            self._send_host(mme_header(src, self.mac, 0, VS_PL_LINK_STATUS_CNF)
                            + QCA_OUI + bytes((0, self.link_status())))
            return True
        if mmtype == VS_RS_DEV_REQ:
            self._send_host(mme_header(src, self.mac, 0, VS_RS_DEV_CNF) + QCA_OUI + b"\x00")
            self._restart_at = now + self.restart_delay_ms
            return True
        return False

    def _set_key(self, frame, src):
        # CM_SET_KEY.REQ: 19 KeyType, 20 MyNonce, 24 YourNonce, 28 PID,
        # 29 PRN(2), 31 PMN, 32 CCoCap, 33 NID(7), 40 NewEKS, 41 NMK(16)
        self.counters["set_key"] += 1
        self.key_nid = frame[33:40]
        self.nmk = frame[41:57]
        cnf = (mme_header(src, self.mac, 1, CM_SET_KEY_CNF)
               + bytes((self.setkey_result_ok & 0xFF,))
               + self._rng.getrandbits(32).to_bytes(4, "little")   # MyNonce
               + frame[20:24]                                      # YourNonce
               + frame[28:33])                                     # PID PRN PMN CCoCap
        self._send_host(cnf)
        self._restart_at = self._last_now + self.restart_delay_ms

    def _sw_ver_cnf(self, dst):
        ver = self.sw_version.encode("ascii")[:MVERSION_FIELD - 1] + b"\x00"
        return (mme_header(dst, self.mac, 0, VS_SW_VER_CNF) + QCA_OUI
                + bytes((0, MDEVICEID_QCA7000, len(ver)))
                + ver + bytes(MVERSION_FIELD - len(ver)))

    # -- from the wire -----------------------------------------------------
    def from_wire(self, frame, nid, atten_db, now):
        self._last_now = now
        if not self.ready or self._deaf_until is not None or len(frame) < 14:
            self.dropped += 1
            return
        self.counters["wire_in"] += 1
        frame = bytes(frame)
        dst = frame[0:6]
        to_host = self.host_mac is not None and dst == self.host_mac
        mme = parse_mme(frame)
        if mme is None:
            mine = self.nid
            if (mine is not None and nid == mine
                    and (to_host or dst == BROADCAST or dst[:2] == b"\x33\x33")):
                self._send_host(frame)
            else:
                self.dropped += 1
            return
        mmv, mmtype = mme
        if is_qca_vs(frame, mmv, mmtype) and (dst == BROADCAST or dst == self.mac):
            # Vendor requests from the wire are for the firmware, not the host.
            if mmtype == VS_SW_VER_REQ:
                self._transmit(self._sw_ver_cnf(frame[6:12]), now)
            return
        if to_host or dst == BROADCAST:
            self._send_host(frame)
        else:
            self.dropped += 1
            return
        if mmtype == CM_MNBC_SOUND_IND and self.role == "evse":
            self.counters["sounds"] += 1
            self._send_host(self._atten_profile(frame[6:12], atten_db))

    def _atten_profile(self, pev_mac, atten_db):
        # 19 PEV_MAC, 25 NumGroups, 26 RSVD, 27 AAG[58]: attenuation per carrier group
        n = self.noise_db
        aag = bytes(max(0, min(255, int(round(atten_db)) + self._rng.randint(-n, n)))
                    for _ in range(NUM_GROUPS))
        self.counters["atten_profiles"] += 1
        dst = self.host_mac if self.host_mac is not None else BROADCAST
        return (mme_header(dst, self.mac, 1, CM_ATTEN_PROFILE_IND)
                + pev_mac + bytes((NUM_GROUPS, 0)) + aag)

    def __repr__(self):
        return "<Modem %s %s nid=%s ready=%s>" % (
            mac_str(self.mac), self.role,
            self.key_nid.hex() if self.key_nid else None, self.ready)
