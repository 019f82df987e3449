"""Bad input in every state of both SLAC machines: dropped and counted, nothing else."""
from micro15118.slac import mme
from micro15118.slac.ev import EvSlac
from micro15118.slac.evse import EvseSlac
from host.harness.slac_shim import Net, counter, first, mac

OTHER = mac(0x33)
FOREIGN_RUN = b"\xee" * 8


def with_run_id(frame, run_id):
    m = mme.parse(frame)
    i = bytes(frame).find(m.run_id, 17)
    return bytes(frame[:i]) + run_id + bytes(frame[i + 8:])


def bad_frames(sm, real):
    """Frames `sm` must drop, whatever its state; `real` is what it is about to get."""
    me = sm.host_mac
    run = b"\x01" * 8
    good = mme.slac_match_cnf(me, OTHER, run, b"\x01" * 7, b"\x02" * 16)
    out = [b"", b"\x00", good[:14], good[:18], good[:19], bytes(60), good + bytes(1500)]
    ip = bytearray(real)
    ip[12:14] = b"\x08\x00"                                 # wrong ethertype
    out.append(bytes(ip))
    out.append(bytes(real[:19]))                            # header only
    m = mme.parse(real)
    for n in (22, 30, 50, 70, 84, 100):
        if n < len(real) and mme.parse(real[:n]) is None and m is not None:
            out.append(bytes(real[:n]))                     # truncated fields
    frag = bytearray(real)
    frag[17] = 0x10
    out.append(bytes(frag))
    mmv = bytearray(real)
    mmv[14] = 9
    out.append(bytes(mmv))
    # MMTYPEs that are never for this role, with plausible contents.
    out.append(mme.frame(me, OTHER, 0x601C, bytes(10)))    # CM_AMP_MAP.REQ
    out.append(mme.vs_frame(me, OTHER, mme.VS_SW_VER_REQ))
    out.append(mme.link_status_cnf(me, OTHER, True))
    if isinstance(sm, EvseSlac):
        out.append(mme.slac_parm_cnf(me, OTHER, run))
        out.append(mme.slac_match_cnf(me, OTHER, run, b"\x01" * 7, b"\x02" * 16))
        out.append(mme.atten_char_ind(me, OTHER, run, 10, [1] * 58))
        out.append(mme.validate_cnf(me, OTHER))
        out.append(mme.slac_match_req(me, OTHER, run))      # stranger, foreign run
        out.append(mme.atten_profile_ind(me, OTHER, OTHER, [1] * 58))   # someone else's sound
        out.append(mme.slac_parm_req(OTHER, run, dst=mac(0x44)))        # not for us
        sec = bytearray(mme.slac_parm_req(OTHER, run))
        sec[20] = 1                                          # security we do not offer
        out.append(bytes(sec))
    else:
        out.append(mme.slac_parm_req(OTHER, run))
        out.append(mme.start_atten_char_ind(OTHER, run))
        out.append(mme.mnbc_sound_ind(OTHER, run, 1, bytes(16)))
        out.append(mme.atten_profile_ind(me, OTHER, me, [1] * 58))
        out.append(mme.slac_match_req(me, OTHER, run))
        out.append(mme.validate_req(me, OTHER))
        out.append(mme.slac_parm_cnf(mac(0x44), OTHER, run))            # not for us
    if m is not None and hasattr(m, "run_id") and m.mmtype != mme.CM_SLAC_PARM_REQ:
        out.append(with_run_id(real, FOREIGN_RUN))          # foreign RunID
    return out


class CheckingNet(Net):
    """Before every real delivery, throws the bad frames at the receiver."""

    def __init__(self):
        Net.__init__(self)
        self.checked = 0
        self.states = set()

    def step(self):
        # Also between deliveries (the EV hears nothing while it sounds).
        self._drain()
        for node in self.nodes:
            self._throw(node, mme.slac_parm_req(OTHER, b"\x05" * 8))
        return Net.step(self)

    def _deliver(self, node, frame):
        self._throw(node, frame)
        Net._deliver(self, node, frame)

    def _throw(self, node, frame):
        sm = node.sm
        if node.monitor is None:
            for bad in bad_frames(sm, frame):
                before = (sm.state, len(sm.events), len(sm.tx), sm.next_deadline(), sm.dropped)
                sm.handle_frame(bad, self.now)
                after = (sm.state, len(sm.events), len(sm.tx), sm.next_deadline(), sm.dropped)
                assert after[:4] == before[:4], (sm.state, bytes(bad).hex())
                assert after[4] == before[4] + 1, (sm.state, bytes(bad).hex())
                self.checked += 1
            self.states.add((type(sm).__name__, sm.state))


def test_bad_frames_in_every_state_of_a_session():
    net = CheckingNet()
    e = net.add(EvseSlac(mac(1), rng=counter(7)), "evse", 1)
    v = net.add(EvSlac(mac(2), rng=counter(8)), "ev", 2)
    e.sm.start(0)
    v.sm.start(10)
    assert net.run_until(lambda: first(v.sm.events, "matched"), 5000)
    net.run(net.now + 50)
    assert first(e.sm.events, "matched") is not None
    assert net.checked > 500
    for st in ("wait_parm", "wait_sounds", "sounding", "atten_char", "wait_match"):
        assert ("EvseSlac", st) in net.states, st
    for st in ("parm", "sounding", "atten", "match", "set_key"):
        assert ("EvSlac", st) in net.states, st
    # Bad frames once matched and when idle or failed.
    for sm in (e.sm, v.sm):
        for st in ("matched", "idle"):
            if st == "idle":
                sm.reset()
            for bad in bad_frames(sm, mme.slac_parm_req(OTHER, b"\x05" * 8)):
                d = sm.dropped
                sm.handle_frame(bad, net.now)
                assert sm.dropped == d + 1 and sm.state == st and not sm.tx


def test_unexpected_but_well_formed_frames_are_dropped():
    s = EvseSlac(mac(1), rng=counter(1))
    s.handle_frame(mme.slac_parm_req(mac(2), b"R" * 8), 0)     # before start
    assert s.dropped == 1 and not s.tx and s.state == "idle"
    s.start(0)
    s.tx = []
    s.handle_frame(mme.slac_match_req(mac(1), mac(2), b"R" * 8), 1)     # no run yet
    s.handle_frame(mme.atten_char_rsp(mac(1), mac(2), b"R" * 8), 2)
    s.handle_frame(mme.set_key_cnf(mac(1), mac(0x81)), 3)       # accepted: key confirmed
    s.handle_frame(mme.set_key_cnf(mac(1), mac(0x81)), 4)       # a second CNF is not
    assert s.dropped == 4 and not s.tx and s.events == [("set_key",)]
    ev = EvSlac(mac(2), rng=counter(2))
    ev.start(0)
    ev.tx = []
    ev.handle_frame(mme.slac_match_cnf(mac(2), mac(1), ev.run_id, bytes(7), bytes(16)), 1)
    ev.handle_frame(mme.atten_char_ind(mac(2), mac(1), ev.run_id, 10, [5] * 58), 2)
    ev.handle_frame(mme.set_key_cnf(mac(2), mac(0x81)), 3)
    # A CNF for somebody else's EV (FORWARDING_STA) is not ours.
    ev.handle_frame(mme.slac_parm_cnf(mac(2), mac(1), ev.run_id, forwarding_sta=mac(9)), 4)
    assert ev.dropped == 4 and not ev.tx and ev.state == "parm" and not ev.evses
    ev.handle_frame(mme.slac_parm_cnf(mac(2), mac(1), ev.run_id, resp_type=0), 5)
    ev.handle_frame(mme.slac_parm_cnf(mac(2), mac(1), ev.run_id), 6)   # duplicate: fine
    assert ev.dropped == 4 and ev.evses == [mac(1)]
