"""`micro15118 sim`: one simulated ISO 15118-20 session, end to end.

Our charger (firmware/secc_main.py) and EV (firmware/evcc_main.py) run on
simulated boards (MicroPython unix port by default) against the wire
process; the cable is plugged in, the session runs to SessionStop.  The run
passes only if the EV finished as planned, its SoC moved the right way and
the charger's meter (the source of truth) agrees with the energy the EV
counted within 1 %.
"""
import os
import re
import tempfile
import time

from host.linkrun import EVCC_MAIN, SECC_MAIN, FirmwareError, LinkBench

PROG = "micro15118"
_SHOWN = ("plugged", "slac_matched", "secc", "connected", "disconnected", "unplugged",
          "link_lost", "slac_failed", "sdp_failed", "cp", "TIMEOUT")


class Progress:
    """Prints what a user wants to follow: link steps, session states, and
    SoC/power at most twice a second."""

    def __init__(self):
        self.start = time.monotonic()
        self.last_soc = 0.0
        self.power = None

    def line(self, who, text):
        now = time.monotonic() - self.start
        parts = text.split(" ")
        if not text.startswith("t="):
            if text.startswith(("METER", "BATTERY")) or "rror" in text:
                print("%6.2f s  %-8s %s" % (now, who, text), flush=True)
            return
        kind = parts[1] if len(parts) > 1 else ""
        if kind in ("evcc", "secc") and len(parts) > 2:
            what = parts[2]
            if what == "power":
                self.power = parts[3] if len(parts) > 3 else None
                return
            if what == "soc":
                if now - self.last_soc >= 0.5:
                    self.last_soc = now
                    print("%6.2f s  %-8s SoC %.2f %%  power %s W" % (
                        now, who, float(parts[3]), self.power), flush=True)
                return
            if what in ("state", "done", "failed", "stopped", "close", "authorized", "service"):
                print("%6.2f s  %-8s %s" % (now, who, " ".join(parts[2:])), flush=True)
            return
        if kind in _SHOWN:
            print("%6.2f s  %-8s %s" % (now, who, " ".join(parts[1:])), flush=True)


def _last(fw, pattern):
    m = None
    for line in fw.output().splitlines():
        found = re.search(pattern, line)
        if found:
            m = found
    return m


def run(args):
    out = args.out
    if out:
        os.makedirs(out, exist_ok=True)
    workdir = out or tempfile.mkdtemp(prefix="m15sim-")
    pcap = os.path.join(workdir, "wire.pcap")
    if args.direction == "discharge" and not args.service.endswith("_bpt"):
        raise ValueError("--direction discharge needs an _bpt service")
    if "josev" in (args.ev, args.charger):
        return run_with_josev(args, pcap)
    progress = Progress()
    print("%s sim: %s, %s control, %s; charger ours, EV ours, %s" % (
        PROG, args.service, args.control, args.direction, args.runtime), flush=True)
    vehicle_args = ("--service", args.service, "--control", args.control,
                    "--direction", args.direction, "--loops", str(args.loops),
                    "--soc", str(args.soc))
    try:
        with LinkBench(pcap=pcap, runtime=args.runtime, on_line=progress.line,
                       charger_script=SECC_MAIN, vehicle_script=EVCC_MAIN,
                       charger_args=("--sessions", "1"), vehicle_args=vehicle_args) as bench:
            bench.plug()
            rc = bench.vehicle.wait_exit(args.timeout)
            bench.charger.wait_exit(15)
            ev_out = bench.vehicle.output()
            ch_out = bench.charger.output()
            battery = _last(bench.vehicle, r"BATTERY soc=([\d.]+) net_wh=(-?[\d.]+)")
            meter = _last(bench.charger, r"METER (-?[\d.]+)/(-?[\d.]+)")
    except FirmwareError as exc:
        raise RuntimeError(str(exc).splitlines()[0]) from None
    if out:
        with open(os.path.join(out, "vehicle.log"), "w") as f:
            f.write(ev_out + "\n")
        with open(os.path.join(out, "charger.log"), "w") as f:
            f.write(ch_out + "\n")
        from host import v2glog
        n = v2glog.write_jsonl(pcap, os.path.join(out, "messages.jsonl"))
        print("%s sim: %d messages logged in %s" % (PROG, n, os.path.join(out, "messages.jsonl")))
    if rc != 0 or battery is None or meter is None:
        raise RuntimeError("the session did not complete (EV exit %s)" % rc)
    soc = float(battery.group(1))
    ev_wh = float(battery.group(2))
    meter_wh = float(meter.group(1)) - float(meter.group(2))
    discharging = args.direction == "discharge"
    moved = soc < args.soc if discharging else soc > args.soc
    if not moved:
        raise RuntimeError("SoC went from %.2f to %.3f %% while %sing" % (
            args.soc, soc, args.direction))
    if abs(meter_wh - ev_wh) > 0.01 * max(abs(meter_wh), 1e-9):
        raise RuntimeError("meter %.3f Wh and EV %.3f Wh differ by more than 1 %%" % (meter_wh, ev_wh))
    print("%s sim: ok: SoC %.2f -> %.3f %%, meter %.3f Wh, EV %.3f Wh" % (
        PROG, args.soc, soc, meter_wh, ev_wh))
    return 0


# --- with python-iso15118 ("Josev") on one or both ends ---------------------

EV_TAP_MAC = bytes.fromhex("02aa000000e1")
EVSE_TAP_MAC = bytes.fromhex("02aa000000e2")


def _runs(pairs):
    return " ".join(name if n == 1 else "%sx%d" % (name, n) for name, n in pairs)


def run_with_josev(args, pcap):
    """Josev runs on the kernel's TCP/IPv6 in a network namespace, on a TAP
    bridged into the wire behind a modem model; a SLAC agent puts that modem
    into the AVLN.  Our firmware, if any, is on the wire as a simulated board."""
    from host import josev, tap

    if os.geteuid() != 0:
        raise RuntimeError("--ev josev / --charger josev need root (network namespaces)")
    if args.direction == "discharge" and args.ev == "josev":
        raise ValueError("python-iso15118's EV only charges; use --direction charge")
    josev.check_installed()
    service = args.service.upper()
    print("%s sim: %s, %s control, %s; charger %s, EV %s" % (
        PROG, args.service, args.control, args.direction, args.charger, args.ev), flush=True)
    start = time.monotonic()

    def say(who, text):
        print("%6.2f s  %-8s %s" % (time.monotonic() - start, who, text), flush=True)

    if args.ev == "josev" and args.charger == "josev":
        r = josev.josev_over_wire(service, args.control, timeout=args.timeout, pcap=pcap)
        if not r.ok:
            raise RuntimeError("Josev against Josev failed:\n" + r.report())
        say("both", "sequence: " + _runs(josev.runs(r.sequence)))
        print("%s sim: ok: Josev EVCC and SECC over the wire, %d pairs in %.2f s" % (
            PROG, len(r.pairs), r.timings["sap_to_stop"]))
        return 0
    progress = Progress()
    if args.ev == "josev":                        # Josev's EV, our charger
        with tap.NetNs() as ns, LinkBench(pcap=pcap, runtime=args.runtime, vehicle=False,
                                          on_line=progress.line, charger_script=SECC_MAIN,
                                          charger_args=("--sessions", "1")) as bench:
            t = josev.tap_on_wire(bench.server, ns, "pev", EV_TAP_MAC)
            try:
                bench.plug()
                bench.charger.wait_event("plugged", 10)
                josev.join_avln(("pev", t, ns, EV_TAP_MAC))
                say("vehicle", "python-iso15118 EVCC starting on %s" % t.name)
                with josev.JosevEvcc(ns, t.name, service=service, control=args.control) as ev:
                    ok = ev.wait_done(args.timeout)
                    seq = ev.sequence()
                    log = ev.log_text(tail=30)
                bench.charger.wait_exit(15)
                meter = _last(bench.charger, r"METER (-?[\d.]+)/(-?[\d.]+)")
            finally:
                t.close()
        if not ok:
            raise RuntimeError("Josev's EV did not finish its session:\n" + log)
        say("vehicle", "sequence: " + _runs(josev.runs(seq)))
        charged = float(meter.group(1)) - float(meter.group(2)) if meter else 0.0
        if charged <= 0:
            raise RuntimeError("our charger's meter shows no energy delivered")
        print("%s sim: ok: python-iso15118 EV completed the session; meter %.3f Wh" % (PROG, charged))
        return 0
    # our EV, Josev's charger
    protocol = "ISO_15118_20_DC" if args.service.startswith("dc") else "ISO_15118_20_AC"
    vehicle_args = ("--service", args.service, "--control", args.control,
                    "--direction", args.direction, "--loops", str(args.loops),
                    "--soc", str(args.soc),
                    # Josev's simulated SECC has no power stage (1 V present
                    # voltage) and answers its first messages slowly.
                    "--precharge-tolerance", "1000", "--msg-timeout", "6000",
                    "--loop-timeout", "3000")
    with tap.NetNs() as ns, LinkBench(pcap=pcap, runtime=args.runtime, charger=False,
                                      on_line=progress.line, vehicle_script=EVCC_MAIN,
                                      vehicle_args=vehicle_args) as bench:
        t = josev.tap_on_wire(bench.server, ns, "evse", EVSE_TAP_MAC)
        try:
            with josev.JosevSecc(ns, t.name, protocols=(protocol,)) as secc:
                secc.wait_ready()
                say("charger", "python-iso15118 SECC ready on %s" % t.name)

                def plug():
                    bench.server.set_duty(50)
                    bench.plug()
                josev.join_avln(("evse", t, ns, EVSE_TAP_MAC), after_start=plug)
                rc = bench.vehicle.wait_exit(args.timeout)
                battery = _last(bench.vehicle, r"BATTERY soc=([\d.]+) net_wh=(-?[\d.]+)")
        finally:
            t.close()
    if rc != 0 or battery is None:
        raise RuntimeError("our EV did not complete the session (exit %s)" % rc)
    soc = float(battery.group(1))
    net = float(battery.group(2))
    moved = net < 0 if args.direction == "discharge" else net > 0
    if not moved:
        raise RuntimeError("no energy moved the right way (EV %.3f Wh)" % net)
    print("%s sim: ok: our EV with python-iso15118's SECC: SoC %.2f -> %.3f %%, EV %.3f Wh" % (
        PROG, args.soc, soc, float(battery.group(2))))
    return 0
