"""EvSlac against EvseSlac through the in-test modems and wire, on a simulated clock."""
from micro15118.slac import mme
from micro15118.slac.ev import EvSlac
from micro15118.slac.evse import EvseSlac
from micro15118.slac.linkmon import LinkMonitor
from host.harness.slac_shim import Net, counter, first, mac


def setup(atten=20, evse_kw=None, ev_kw=None, seed=1):
    net = Net()
    evse = EvseSlac(mac(1), rng=counter(seed), **(evse_kw or {}))
    ev = EvSlac(mac(2), rng=counter(seed + 100), **(ev_kw or {}))
    e = net.add(evse, "evse", 1, atten=atten)
    v = net.add(ev, "ev", 2)
    return net, e, v


def started(**kw):
    """setup(**kw) with both sides starting at 0."""
    net, e, v = setup(**kw)
    e.sm.start(0)
    v.sm.start(0)
    return net, e, v


def losing(net, mmtype, n=1):
    """The wire loses the first n frames of this MMTYPE; [how many it lost]."""
    lost = [0]

    def drop(src, dst, f):
        if f[15] | (f[16] << 8) == mmtype and lost[0] < n:
            lost[0] += 1
            return True
        return False
    net.drop = drop
    return lost


def match_losing(mmtype, n):
    """A session that matches although the wire lost n frames of mmtype."""
    net, e, v = setup()
    lost = losing(net, mmtype, n)
    e.sm.start(0)
    v.sm.start(0)
    assert net.run_until(lambda: matched(v), 5000)
    assert lost[0] == n
    return e, v


def sent_types(node):
    return [mme.parse(f).mmtype for f in node.sent]


def matched(node):
    return first(node.sm.events, "matched")


def test_match_sets_equal_keys_on_both_sides():
    net, e, v = setup()
    e.sm.start(0)
    v.sm.start(50)
    assert net.run_until(lambda: matched(v), 5000)
    net.run(net.now + 10)
    ev_m, evse_m = matched(v), matched(e)
    assert evse_m is not None
    assert ev_m[1] == mac(1) and evse_m[1] == mac(2)
    assert ev_m[2] == evse_m[2] and ev_m[3] == evse_m[3]
    assert len(ev_m[3]) == 16 and len(ev_m[2]) == 7
    # Both modems hold the same key, the EVSE's since start().
    assert e.nmk == v.nmk == ev_m[3] and e.nid == v.nid == ev_m[2]
    assert e.set_keys == 1 and v.set_keys == 1
    assert first(e.sm.events, "set_key") is not None
    assert e.sm.state == "matched" and v.sm.state == "matched"
    assert e.sm.dropped == 0 and v.sm.dropped == 0
    types = sent_types(v)
    assert types.count(mme.CM_START_ATTEN_CHAR_IND) == 3
    assert types.count(mme.CM_MNBC_SOUND_IND) == 10
    assert types[-1] == mme.CM_SET_KEY_REQ
    assert sent_types(e) == [mme.CM_SET_KEY_REQ, mme.CM_SLAC_PARM_CNF, mme.CM_ATTEN_CHAR_IND,
                             mme.CM_SLAC_MATCH_CNF]
    # The sounds are spaced by TP_EV_batch_msg_interval and count down to 0.
    cnts = [mme.parse(f).cnt for f in v.sent if mme.parse(f).mmtype == mme.CM_MNBC_SOUND_IND]
    assert cnts == list(range(9, -1, -1))
    # Well within TT_match_response per step: the whole thing takes < 1 s.
    assert net.now < 1000
    assert v.sm.next_deadline() is None and e.sm.next_deadline() is None


def test_run_id_is_the_same_for_the_whole_run():
    net, e, v = started()
    net.run_until(lambda: matched(v), 5000)
    runs = set()
    for f in v.sent + e.sent:
        m = mme.parse(f)
        if hasattr(m, "run_id"):
            runs.add(m.run_id)
    assert len(runs) == 1


def test_averaged_attenuation_rounds_half_up():
    net, e, v = setup(atten=list(range(1, 59)))
    e.sm.start(0)
    v.sm.start(0)
    net.run_until(lambda: matched(v), 5000)
    ind = [mme.parse(f) for f in e.sent if mme.parse(f).mmtype == mme.CM_ATTEN_CHAR_IND][0]
    assert ind.aag == bytes(range(1, 59)) and ind.num_sounds == 10
    # Average over unequal sounds: feed profiles by hand.
    s = EvseSlac(mac(1), rng=counter(3), num_sounds=2)
    s.start(0)
    s.handle_frame(mme.slac_parm_req(mac(2), b"R" * 8), 10)
    s.handle_frame(mme.atten_profile_ind(mac(1), mac(0x81), mac(2), [10, 11] + [0] * 56), 20)
    s.handle_frame(mme.atten_profile_ind(mac(1), mac(0x81), mac(2), [11, 11] + [1] * 56), 21)
    m = mme.parse(s.tx[-1])
    assert m.mmtype == mme.CM_ATTEN_CHAR_IND and m.num_sounds == 2
    assert m.aag[0] == 11 and m.aag[1] == 11 and m.aag[2] == 1    # 10.5 -> 11, 0.5 -> 1


def test_lost_parm_cnf_is_retried():
    e, v = match_losing(mme.CM_SLAC_PARM_CNF, 1)
    assert sent_types(v).count(mme.CM_SLAC_PARM_REQ) == 2
    assert sent_types(e).count(mme.CM_SLAC_PARM_CNF) == 2
    assert matched(e)[2] == matched(v)[2]


def test_lost_atten_char_ind_is_retried_by_the_evse():
    e, v = match_losing(mme.CM_ATTEN_CHAR_IND, 2)
    assert sent_types(e).count(mme.CM_ATTEN_CHAR_IND) == 3      # 1 + C_EV_match_retry
    assert first(v.sm.events, "retry") is None


def test_all_atten_char_ind_lost_fails_both_sides():
    net, e, v = setup()
    net.drop = lambda src, dst, f: f[15:17] == b"\x6e\x60"
    e.sm.start(0)
    v.sm.start(0)
    assert net.run_until(lambda: first(v.sm.events, "failed"), 20000)
    assert first(v.sm.events, "failed") == ("failed", "atten_char_timeout")
    assert [x for x in v.sm.events if x[0] == "retry"] == [("retry", "atten_char_timeout")] * 2
    assert ("failed", "atten_char_timeout") in e.sm.events
    # Three runs, each with three ATTEN_CHAR.IND from the EVSE.
    assert sent_types(e).count(mme.CM_ATTEN_CHAR_IND) == 9
    assert sent_types(v).count(mme.CM_SLAC_PARM_REQ) == 3
    assert matched(v) is None and matched(e) is None
    assert v.sm.state == "failed" and v.sm.next_deadline() is None


def test_lost_match_cnf_is_retried():
    e, v = match_losing(mme.CM_SLAC_MATCH_CNF, 1)
    assert sent_types(v).count(mme.CM_SLAC_MATCH_REQ) == 2
    assert sent_types(e).count(mme.CM_SLAC_MATCH_CNF) == 2
    assert [x[0] for x in e.sm.events].count("matched") == 1


def test_silent_evse_ev_fails_after_the_retries():
    net = Net()
    v = net.add(EvSlac(mac(2), rng=counter(5)), "ev", 2)
    v.sm.start(0)
    assert net.run_until(lambda: first(v.sm.events, "failed"), 20000)
    assert v.sm.events[-1] == ("failed", "parm_timeout")
    # C_conn_max_match runs of 1 + C_EV_match_retry PARM.REQs, each with its RunID.
    assert sent_types(v) == [mme.CM_SLAC_PARM_REQ] * 9
    runs = [mme.parse(f).run_id for f in v.sent]
    assert runs[0] == runs[2] and runs[0] != runs[3] and runs[3] != runs[6]
    # 3 x 3 x 200 ms + 2 x 400 ms between runs.
    assert net.now == 9 * 200 + 2 * 400


def test_silent_ev_evse_times_out():
    net = Net()
    e = net.add(EvseSlac(mac(1), rng=counter(5), tt_evse_slac_init=20000), "evse", 1)
    e.sm.start(1000)
    assert net.run_until(lambda: first(e.sm.events, "failed"), 100000)
    assert e.sm.events[-1] == ("failed", "slac_init_timeout")
    assert net.now == 21000 and e.sm.state == "failed" and e.sm.next_deadline() is None


def test_evse_without_set_key_cnf_reports_after_timeout():
    net = Net()
    e = net.add(EvseSlac(mac(1), rng=counter(5)), "evse", 1)
    e.answer_set_key = False
    e.sm.start(0)
    net.run(499)
    assert first(e.sm.events, "set_key") is None
    net.run(500)
    assert first(e.sm.events, "set_key") == ("set_key",)


def test_ev_goes_on_without_set_key_cnf_and_ignores_its_result():
    for answer, result in ((False, 0), (True, 1)):
        net, e, v = setup()
        v.answer_set_key = answer
        v.set_key_result = result
        e.sm.start(0)
        v.sm.start(0)
        assert net.run_until(lambda: matched(v), 5000)
        t_req = None
        for t, f in e.received:
            if f[15:17] == b"\x7c\x60":
                t_req = t
        if answer:
            assert net.now < t_req + 10
        else:
            assert net.now >= t_req + 500
        assert v.nmk == e.nmk


def test_two_evses_ev_picks_the_lower_attenuation():
    for a1, a2, want in ((30, 20, 2), (20, 30, 1), (25, 25, 1)):
        net = Net()
        e1 = net.add(EvseSlac(mac(1), rng=counter(1)), "evse", 1, atten=a1)
        e2 = net.add(EvseSlac(mac(3), rng=counter(2)), "evse", 3, atten=a2)
        v = net.add(EvSlac(mac(2), rng=counter(3)), "ev", 2)
        e1.sm.start(0)
        e2.sm.start(0)
        v.sm.start(0)
        assert net.run_until(lambda: matched(v), 5000)
        chosen = e1 if want == 1 else e2
        other = e2 if want == 1 else e1
        assert matched(v)[1] == chosen.host_mac
        assert v.nmk == chosen.nmk != other.nmk
        net.run(net.now + 20000)
        assert matched(other) is None
        assert ("failed", "match_timeout") in other.sm.events
        assert other.sm.state == "wait_parm"


def test_attenuation_above_the_limit_does_not_match():
    net, e, v = started(atten=45)
    assert net.run_until(lambda: first(v.sm.events, "failed"), 30000)
    assert v.sm.events[-1] == ("failed", "attenuation_too_high")
    assert mme.CM_SLAC_MATCH_REQ not in sent_types(v)
    # Right at the limit is not a match either; just under it is.
    for atten, ok in ((40, False), (39, True)):
        net, e, v = started(atten=atten)
        net.run_until(lambda: matched(v) or first(v.sm.events, "failed"), 30000)
        assert (matched(v) is not None) == ok


def test_evse_accepts_a_rematch_and_retries_after_failure():
    net, e, v = started()
    net.run_until(lambda: matched(v), 5000)
    key = e.nmk
    # The EV starts over (e.g. after losing the link): the EVSE matches again.
    v.sm.start(net.now + 100)
    v.sm.events = []
    assert net.run_until(lambda: matched(v), net.now + 5000)
    assert v.nmk == key and [x[0] for x in e.sm.events].count("matched") == 2


def test_validate_is_answered_not_required():
    s = EvseSlac(mac(1), rng=counter(3), num_sounds=1)
    s.start(0)
    s.handle_frame(mme.slac_parm_req(mac(2), b"R" * 8), 10)
    s.handle_frame(mme.atten_profile_ind(mac(1), mac(0x81), mac(2), [10] * 58), 20)
    s.handle_frame(mme.atten_char_rsp(mac(1), mac(2), b"R" * 8), 30)
    s.tx = []
    s.handle_frame(mme.validate_req(mac(1), mac(2)), 40)
    m = mme.parse(s.tx[0])
    assert m.mmtype == mme.CM_VALIDATE_CNF and m.result == mme.VALIDATE_NOT_REQUIRED
    assert m.dst == mac(2) and s.dropped == 0


def test_reset_forgets_the_run():
    net, e, v = started()
    net.run(300)
    assert e.sm.state != "idle" and v.sm.state != "idle"
    e.sm.reset()
    v.sm.reset()
    assert e.sm.state == "idle" and v.sm.state == "idle"
    assert v.sm.next_deadline() is None
    net.run(20000)
    assert matched(v) is None and matched(e) is None and first(v.sm.events, "failed") is None
    # Late frames after reset are dropped, never raise.
    assert v.sm.state == "idle"


def test_link_monitor():
    net, e, v = started()
    net.run_until(lambda: matched(v), 5000)
    lm = LinkMonitor(mac(2), period_ms=500, misses=3)
    v.monitor = lm
    lm.start(net.now)
    net.run(net.now + 100)
    assert lm.events == [("link_up",)]
    # The EVSE's modem forgets the key: the link goes down, then comes back.
    e.nid = None
    net.run(net.now + 600)
    assert lm.events[-1] == ("link_lost", "no_link")
    e.nid = v.nid
    net.run(net.now + 600)
    assert lm.events[-1] == ("link_up",)
    # The modem stops answering: lost after 3 unanswered polls.
    v.answer_link = False
    t0 = net.now
    net.run(t0 + 1400)
    assert lm.events[-1] == ("link_up",)
    net.run(t0 + 2100)
    assert lm.events[-1] == ("link_lost", "no_answer")
    for f in v.sent[-4:]:
        assert f[0:6] == mme.LOCALCAST and mme.parse(f).mmtype == mme.VS_PL_LINK_STATUS_REQ
    lm.stop()
    assert lm.next_deadline() is None
    # A different modem MAC answering is reported.
    lm.start(0)
    lm.handle_frame(mme.link_status_cnf(mac(2), mac(0x81), True), 1)
    lm.handle_frame(mme.link_status_cnf(mac(2), mac(0x99), True), 2)
    assert lm.events[-1] == ("modem_reset",)
    lm.handle_frame(b"\x00" * 10, 3)
    lm.handle_frame(mme.slac_parm_req(mac(3), b"R" * 8), 3)
    assert lm.dropped == 2


def test_link_monitor_join_timeout():
    lm = LinkMonitor(mac(2), period_ms=1000, misses=3, join_timeout_ms=12000)
    lm.start(0)
    t = 0
    while t <= 13000:
        lm.poll(t)
        if lm.tx:
            lm.handle_frame(mme.link_status_cnf(mac(2), mac(0x81), False), t)
            lm.tx = []
        t += 100
    assert lm.events == [("link_lost", "join_timeout")]
