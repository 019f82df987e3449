"""Faults during a -20 session, from the wire: our SECC and EVCC firmware
under MicroPython on the simulated link.  The charger must end with no power
flowing: unplug mid-ChargeLoop, an EV that falls silent, an emergency stop."""
import os
import signal

from host.bench.linkrun import EVCC_MAIN, SECC_MAIN, LinkBench


def bench(service="ac", charger_args=(), loops="1000"):
    return LinkBench(charger_script=SECC_MAIN, vehicle_script=EVCC_MAIN,
                     charger_args=charger_args,
                     vehicle_args=("--service", service, "--loops", loops))


def events(fw, prefix):
    return [e for e in fw.events() if (e[1] + " " + e[2]).startswith(prefix)]


def test_unplug_mid_charge_loop_cuts_power_at_once():
    with bench("dc") as b:
        b.plug()
        fw_wait_text(b.charger, "secc energy True", 40)
        fw_wait_text(b.charger, "secc power", 10, count=3)
        b.unplug()
        t_unplug = b.charger.wait_event("unplugged", 5)[0]
        off = fw_wait_text(b.charger, "secc energy False", 5)
        # In the same pass of the loop that saw CP state A (after the pilot's
        # 50 ms debounce): power off, contactor open.
        assert off[0] == t_unplug
        fw_wait_text(b.charger, "secc stopped connection_lost", 1)


def fw_wait_text(fw, text, timeout, count=1):
    """Wait for the count-th event line starting with `text` (after t=...)."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        hits = [e for e in fw.events() if (e[1] + " " + e[2]).startswith(text)]
        if len(hits) >= count:
            return hits[count - 1]
        time.sleep(0.05)
    raise AssertionError("%s: no %r within %s s:\n%s" % (fw.name, text, timeout, fw.output()))


def test_ev_silent_mid_charge_loop_stops_power_and_closes():
    with bench("ac", charger_args=("--sequence-timeout", "2000")) as b:
        b.plug()
        fw_wait_text(b.charger, "secc power", 40, count=3)
        os.kill(b.vehicle.proc.pid, signal.SIGSTOP)      # the EV freezes: TCP and PLC stay up
        try:
            last = fw_wait_text(b.charger, "secc power", 1, count=3)
            stopped = fw_wait_text(b.charger, "secc stopped sequence_timeout", 10)
            off = fw_wait_text(b.charger, "secc energy False", 1)
            assert off[0] == stopped[0]
            assert 2000 <= stopped[0] - last[0] <= 2600, (last, stopped)
            # The charger closes its side at once; the frozen EV never
            # answers the FIN, so TCP gives up by its own timers later.
            fw_wait_text(b.charger, "secc close", 2)
        finally:
            os.kill(b.vehicle.proc.pid, signal.SIGCONT)


def test_emergency_stop_from_the_charger():
    with bench("dc", charger_args=("--estop-after-loops", "3")) as b:
        b.plug()
        estop = fw_wait_text(b.charger, "EMERGENCY_STOP", 60)
        stopped = fw_wait_text(b.charger, "secc stopped emergency_stop", 5)
        assert stopped[0] - estop[0] <= 50
        # The EV is told (FAILED / EVSENotification Terminate) and ends its session.
        rc = b.vehicle.wait_exit(30)
        out = b.vehicle.output()
        assert "evcc failed" in out or "evcc done" in out, out[-2000:]
        assert rc in (0, 1)
        fw_wait_text(b.charger, "disconnected", 15)


def test_malformed_exi_gets_a_failed_response_then_close():
    """The kernel's TCP (a TAP in a netns bridged to the wire) sends garbage
    EXI to our SECC firmware: it answers Failed_NoNegotiation and closes 5 s
    later (V2G20-1643)."""
    import re
    import sys

    from host.peers import tap
    from micro15118.iso20 import msg
    from peerenv import require_root
    from test_interop_josev import ev_tap_joined
    from test_interop_kernel import KERNEL_PEER

    require_root()
    mac = bytes.fromhex("02aa000000f1")
    with tap.NetNs() as ns, LinkBench(vehicle=False, charger_script=SECC_MAIN) as b, \
            ev_tap_joined(b, ns, mac) as t:
        proc = ns.run([sys.executable, str(KERNEL_PEER), "badexi", t.name],
                      capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        m = re.search(r"ptype=(\w+) response=(\w+) closed=True after=([\d.]+)", out)
        assert proc.returncode == 0 and m, out + b.charger.output()
        name, body = msg.decode(int(m.group(1), 16), bytes.fromhex(m.group(2)))
        assert name == "supportedAppProtocolRes"
        assert body["ResponseCode"] == "Failed_NoNegotiation"
        assert 4.5 <= float(m.group(3)) <= 7.0, m.group(3)
