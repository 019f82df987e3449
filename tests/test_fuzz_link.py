"""The link fuzzer (host/harness/fuzz/link.py) in short: mutated frames and driver events injected into
the charger's and the vehicle's link, in every state of a simulated session
(host/bench/linksim.py), never raise, never break an invariant, and the session
always recovers.  Plus the bugs it found, as plain regression tests."""
import os

from micro15118.link.charger import ChargerLink
from micro15118.net import icmpv6, ipv6
from micro15118.net.stack import NetStack

from host.bench.linksim import LinkSim
from host.harness.fuzz import link, runner

SEED = int(os.environ.get("FUZZ_SEED", "3"))


def fuzz(side, runs):
    """(accepted, rejected, unexpected, failures) of one side's run."""
    tally = runner.run(link.TARGETS, side, runs, SEED)
    return tally.accepted, tally.rejected, tally.unexpected, tally.failures


def test_charger_inputs_never_escape():
    acc, rej, unexpected, failures = fuzz("charger", 20000)
    assert unexpected == 0, failures[:3]
    assert acc > 2000 and rej > 2000          # both paths exercised


def test_vehicle_inputs_never_escape():
    acc, rej, unexpected, failures = fuzz("vehicle", 20000)
    assert unexpected == 0, failures[:3]
    assert acc > 2000 and rej > 2000


def test_planted_exception_is_caught(monkeypatch, capsys):
    on_net = ChargerLink._on_net

    def planted(self, ev, now):
        if ev[0] == "udp":
            raise RuntimeError("planted")
        return on_net(self, ev, now)
    monkeypatch.setattr(ChargerLink, "_on_net", planted)
    acc, rej, unexpected, failures = fuzz("charger", 3000)
    assert unexpected > 0
    assert "RuntimeError: planted" in failures[0]
    assert link.main(["--runs", "1000", "--target", "charger", "--seed", str(SEED)]) == 1
    out = capsys.readouterr().out
    assert "UNEXPECTED" in out and "fuzz charger: 1000 inputs" in out


def test_planted_bad_duty_is_caught(monkeypatch):
    set_duty = ChargerLink._set_duty
    monkeypatch.setattr(ChargerLink, "_set_duty",
                        lambda self, d: set_duty(self, 49 if d == 50 else d))
    acc, rej, unexpected, failures = fuzz("charger", 500)
    assert unexpected > 0 and "duty 49" in failures[0]


def test_planted_corruption_is_caught_by_the_recovery_check(monkeypatch):
    emit = ChargerLink._emit

    def corrupting(self, *ev):
        if ev[0] == "v2gtp":
            ev = (ev[0], ev[1], ev[2] + b"x")
        emit(self, *ev)
    monkeypatch.setattr(ChargerLink, "_emit", corrupting)
    acc, rej, unexpected, failures = fuzz("vehicle", 1000)
    assert unexpected > 0 and "did not arrive intact" in failures[0]


# ---- regressions -----------------------------------------------------------
def connected(sim):
    return sim.run_until(lambda s, e: s is sim.vehicle and e[0] == "connected", 20000)


def test_quick_replug_after_unplug_reconnects_at_once():
    # The charger's leave-network key restarts its modem; the key of the next
    # session, sent while the modem was still restarting, was lost and the EV
    # matched onto a network the charger was not in (13 s until link_lost
    # and a second matching).  Now it resends the key after that restart.
    for gap in (0, 30, 60):
        sim = LinkSim(seed=3 + gap)
        sim.plug()
        assert connected(sim)
        sim.unplug()
        assert sim.run_until(lambda s, e: s is sim.charger and e[0] == "unplugged", 1000)
        for _ in range(gap):
            sim.step()
        sim.plug()
        t0 = sim.t
        t = connected(sim)
        assert t is not None and t - t0 < 3000, (gap, t and t - t0)


def test_rematch_then_quick_replug_reconnects_at_once():
    # Same race with the key of a re-match (link lost) instead of the
    # leave-network key.
    sim = LinkSim(seed=11)
    sim.plug()
    assert connected(sim)
    sim.charger.link.modem_event("lost", sim.t)
    assert sim.charger.link.state == "slac"
    sim.unplug()
    assert sim.run_until(lambda s, e: s is sim.charger and e[0] == "unplugged", 1000)
    sim.plug()
    t0 = sim.t
    t = connected(sim)
    assert t is not None and t - t0 < 3000, t and t - t0


MAC_A = b"\x02\x00\x00\x00\x00\x02"
MAC_B = b"\x02\x00\x00\x00\x00\x01"
IP_A = ipv6.link_local(MAC_A)
IP_B = ipv6.link_local(MAC_B)


def packet(dst, msg, hop=64):
    return (ipv6.eth_header(MAC_B, MAC_A)
            + ipv6.build_header(IP_A, dst, ipv6.NH_ICMPV6, len(msg), hop) + msg)


def echo_request(size):
    return packet(IP_B, icmpv6.build_echo(IP_A, IP_B, icmpv6.ECHO_REQUEST, 1, 2, bytes(size)))


def test_echo_request_longer_than_the_mtu_gets_no_reply():
    # It was answered with an echo reply as long, a frame of more than
    # 1518 bytes that the QCA7000 cannot send.
    st = NetStack(MAC_B, rng=lambda n: bytes(n))
    snm = ipv6.solicited_node(IP_B)           # learn the peer's MAC first
    st.handle_frame(packet(snm, icmpv6.build_ns(IP_A, snm, IP_B, MAC_A), 255), 0)
    assert len(st.tx) == 1
    st.tx = []
    st.handle_frame(echo_request(1500 - 40 - 8), 0)
    assert len(st.tx) == 1 and len(st.tx[0]) == 1514
    st.tx = []
    st.handle_frame(echo_request(1500 - 40 - 8 + 1), 0)
    assert st.tx == [] and st.dropped == 1
