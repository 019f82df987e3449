"""Josev (python-iso15118 0.31.2) against Josev: the peer harness works here.

These runs are the baseline tools/bench_session.py compares our stack with,
and they check host/peers/josev.py itself: process start in a namespace,
log capture and parsing, timeouts and clean-up.  The last test sends a whole
Josev session across our virtual PLC wire (TAP bridges + SLAC agents), the
path Josev will take to reach our firmware.

Only order and outcome are asserted, never how long something took: the
timeouts below are generous so a loaded machine (2 cores, load 8) does not
fail a run that is merely slow.  Start-up and session times are figures of
tools/bench_session.py.
"""
from peerenv import require_root
from host.peers.josev import JosevEvcc, JosevSecc, josev_over_wire, josev_vs_josev, runs

# Upper bounds for a whole run / one wait: failures show up at once (a FAILED
# response, a closed connection), so these only cost time when a peer hangs.
SESSION_TIMEOUT = 300
WAIT = 120

COMMON_START = ["SupportedAppProtocol", "SessionSetup", "AuthorizationSetup", "Authorization",
                "ServiceDiscovery", "ServiceDetail", "ServiceSelection"]


def check_session(r, energy, loop, prefix):
    assert r.ok, r.report()
    seq = r.sequence
    assert seq[:len(COMMON_START)] == COMMON_START, r.report()
    assert seq[len(COMMON_START):len(COMMON_START) + 2] == [
        prefix + "ChargeParameterDiscovery", "ScheduleExchange"], r.report()
    names = [name for name, _ in runs(seq)]
    # PowerDelivery(Start) ... ChargeLoop x10 ... PowerDelivery(Stop) ... SessionStop
    i = names.index("PowerDelivery")
    assert names[i + 1] == loop and names[i + 2] == "PowerDelivery", names
    assert names[-1] == "SessionStop" and seq.count("SessionStop") == 1, names
    assert dict(runs(seq))[loop] == 10                  # Josev's chargeLoopCycle default
    for name in energy:
        assert name in names, (name, names)
    # every request got its response, with an OK code (SAP: OK_SuccessfulNegotiation)
    assert all(p.res == p.req[:-3] + "Res" and p.code.startswith("OK") for p in r.pairs), r.pairs
    # the charger saw the same conversation
    assert r.secc_sequence == seq, (runs(r.secc_sequence), runs(seq))
    t = r.timings                                       # order of the milestones, not speed
    assert t["secc_ready"] > 0 and 0 < t["evcc_sdp"] < t["start_to_stop"], t
    assert 0 < t["sap_to_stop"] < t["start_to_stop"], t
    assert r.sdp_requests >= 1 and r.secc_address[0].startswith("fe80:"), r.secc_address
    assert r.leftovers is False                         # both process groups are gone


def test_josev_vs_josev_dc_scheduled():
    require_root()
    r = josev_vs_josev("DC", "scheduled", timeout=SESSION_TIMEOUT, wait_exit=True)
    check_session(r, ["DC_CableCheck", "DC_PreCharge", "DC_WeldingDetection"],
                  "DC_ChargeLoop", "DC_")
    assert r.rc == 0, r.report()                       # exits on its own ~5 s after SessionStop
    assert "Scheduled_DC_CLReqControlMode" in r.control_modes, r.control_modes
    assert not any("Dynamic" in m for m in r.control_modes), r.control_modes
    print(r, r.timings)


def test_josev_vs_josev_ac_scheduled():
    require_root()
    r = josev_vs_josev("AC", "scheduled", timeout=SESSION_TIMEOUT,
                       wait_exit=False)                 # saves the EVCC's 5 s linger
    check_session(r, [], "AC_ChargeLoop", "AC_")
    assert "Scheduled_AC_CLReqControlMode" in r.control_modes, r.control_modes
    print(r, r.timings)


def test_josev_session_across_the_virtual_plc_wire_dynamic_dc():
    # Two namespaces, a TAP in each, bridged into one wire behind two modem
    # models; SLAC agents join both to one AVLN, then SDP (multicast), TCP
    # and the -20 session cross the simulated PLC wire.  The EV asks for the
    # Dynamic parameter set through host/peers/josev_evcc.py.
    require_root()
    r = josev_over_wire("DC", "dynamic", timeout=SESSION_TIMEOUT)
    check_session(r, ["DC_CableCheck", "DC_PreCharge", "DC_WeldingDetection"],
                  "DC_ChargeLoop", "DC_")
    assert "Dynamic_DC_CLReqControlMode" in r.control_modes, r.control_modes
    assert "Dynamic_SEReqControlMode" in r.control_modes, r.control_modes
    # the SECC that answered SDP is the other namespace's TAP (MAC 02:aa:00:00:00:0b)
    assert r.secc_address[0] == "fe80::aa:ff:fe00:b", r.secc_address
    ev_bridge, se_bridge = r.wire
    assert ev_bridge["nid"] == se_bridge["nid"] is not None, r.wire
    # every request and response crossed the wire (SLAC adds a handful of frames)
    assert ev_bridge["rx"] > len(r.pairs) and se_bridge["rx"] > len(r.pairs), r.wire
    assert ev_bridge["errors"] == se_bridge["errors"] == 0, r.wire
    print(r, r.timings, "slac %.2f s" % r.slac_s)


def test_a_failed_session_is_reported_and_the_hung_evcc_is_cleaned_up():
    # The EV wants AC, the charger speaks only -20 DC: SAP fails, Josev's EVCC
    # gives up and then hangs (it does not exit); the harness must see the
    # failure at once, and stop() must end it.
    require_root()
    from host.peers import tap
    with tap.NetNs() as ns:
        a, b = tap.veth_create(netns_a=ns.name, netns_b=ns.name)
        for name in (a, b):
            ns.link_up(name, dad=False)
        for name in (a, b):                 # a veth gets fe80:: once both ends are up
            ns.wait_link_local(name)
        with JosevSecc(ns, a, protocols=("ISO_15118_20_DC",)) as secc:
            secc.wait_ready(WAIT)
            with JosevEvcc(ns, b, service="AC") as ev:
                assert ev.wait_done(WAIT) is False
                assert [p.code for p in ev.pairs()] == ["Failed_NoNegotiation"], ev.pairs()
                assert "failed" in ev.marks and "stop" not in ev.marks, ev.marks
                assert ev.proc.poll() is None                  # hung: it does not exit
            assert ev.proc.poll() is not None and not ev.group_alive()
            assert secc.sequence() == ["SupportedAppProtocol"]
            assert secc.wait_done(WAIT) is False and "failed" in secc.marks, secc.marks
        assert not secc.group_alive()


SECC_LOG = """\
INFO    2026-11-25 00:32:16,570 - iso15118.secc.transport.udp_server (123): UDP server started at address FF02::1%va and port 15118
INFO    2026-11-25 00:32:19,464 - iso15118.secc.comm_session_handler (437): SDPRequest received: [Security: NO_TLS, Protocol: TCP]
INFO    2026-11-25 00:32:19,712 - iso15118.shared.exi_codec (302): Decoded message (ns=Namespace.SAP): {"supportedAppProtocolReq":{"AppProtocol":[]}}
INFO    2026-11-25 00:32:19,712 - iso15118.shared.exi_codec (248): Message to encode (ns=Namespace.SAP): {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}
WARNING    2026-11-25 00:32:20,421 - iso15118.secc.states.iso15118_20_states (161): EVCC's session ID 0000000000000000 does not match
INFO    2026-11-25 00:32:20,421 - iso15118.shared.exi_codec (302): Decoded message (ns=Namespace.ISO_V20_COMMON_MSG): {"SessionSetupReq":{"Header":{"SessionID":"00"}}}
INFO    2026-11-25 00:32:20,422 - iso15118.shared.exi_codec (248): Message to encode (ns=Namespace.ISO_V20_COMMON_MSG): {"SessionSetupRes": {"Header": {"SessionID": "4A"}, "ResponseCode": "OK_NewSessionEstablished"}}
INFO    2026-11-25 00:32:21,000 - iso15118.shared.exi_codec (302): Decoded message (ns=Namespace.ISO_V20_DC): {"DC_ChargeLoopReq":{"Dynamic_DC_CLReqControlMode":{}}}
ERROR    2026-11-25 00:32:21,100 - iso15118.secc.controller.simulator (1): something
INFO    2026-11-25 00:32:21,200 - iso15118.shared.exi_codec (248): Message to encode (ns=Namespace.ISO_V20_DC): {"DC_ChargeLoopRes": {"ResponseCode": "FAILED_SequenceError"}}
INFO    2026-11-25 00:32:22,000 - iso15118.shared.exi_codec (302): Decoded message (ns=Namespace.ISO_15118_2): {"V2G_Message":{"Header":{},"Body":{"SessionStopReq":{}}}}
Traceback (most recent call last):
"""


def test_log_parser_on_a_saved_secc_log():
    s = JosevSecc.from_log(SECC_LOG.splitlines())
    assert s.sequence() == ["SupportedAppProtocol", "SessionSetup", "DC_ChargeLoop", "SessionStop"]
    pairs = s.pairs()
    assert [p.code for p in pairs] == ["OK_SuccessfulNegotiation", "OK_NewSessionEstablished",
                                       "FAILED_SequenceError", None]
    assert pairs[-1].res is None                        # -2 body name found, no response
    assert round(pairs[1].t_res - pairs[1].t_req, 3) == 0.001
    assert s.control_modes() == {"Dynamic_DC_CLReqControlMode"}
    t = s.timings()
    assert t["ready"] == 0.0 and t["sdp"] == 2.894 and t["sap"] == 3.142, t
    assert s.errors == ["something", "Traceback (most recent call last):"]
    assert not s.session_stopped_ok()
    assert "failed" in s.marks and "stop" not in s.marks, s.marks
    twice = JosevSecc.from_log(SECC_LOG.splitlines() * 2)   # a SECC kept running: 2 EVs
    assert [len(x) for x in twice.sessions()] == [4, 4]
    assert [name for name, _ in s.latencies()] == ["SupportedAppProtocol", "SessionSetup",
                                                  "DC_ChargeLoop"]


def test_evcc_config_is_absolute_and_complete(tmp_path):
    # Not started: a JosevEvcc needs a namespace; check what it would be given.
    from host.peers.josev import evcc_config
    c = evcc_config("DC_BPT", {"chargeLoopCycle": 2})
    assert c["supportedProtocols"] == ["ISO_15118_20_DC"]
    assert c["supportedEnergyServices"] == ["DC_BPT"] and c["useTls"] is False
    assert c["chargeLoopCycle"] == 2
    try:
        JosevEvcc("none", "x", service="DC", control="bogus", log_dir=tmp_path)
    except ValueError:
        pass
    else:
        raise AssertionError("bad control mode accepted")
