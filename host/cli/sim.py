"""``micro15118 sim``: one simulated -20 session (host/bench/sim.py runs it)."""
import argparse
import math

from host.bench import RUNTIMES

# Option types: argparse turns their ArgumentTypeError into one usage error
# line ("argument --soc: ...") before anything starts.

def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text) from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError("not a number: %r" % text)
    return value


def _number_in(low, high):
    def check(text):
        value = _number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError("must be from %g to %g, not %s" % (low, high, text))
        return value
    return check


def _positive(text):
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0, not %s" % text)
    return value


def _int_at_least(low):
    def check(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("not a whole number: %r" % text) from None
        if value < low:
            raise argparse.ArgumentTypeError("must be at least %d, not %s" % (low, text))
        return value
    return check


def sim_run(args):
    from host.bench import sim
    return sim.run(args)


def add_sim(subparsers):
    p = subparsers.add_parser(
        "sim", help="simulate one ISO 15118-20 charging session (plug-in to SessionStop)",
        description="Run one simulated ISO 15118-20 session: our charger (SECC) and our EV "
                    "(EVCC) firmware on simulated boards, over the control pilot, SLAC, SDP and "
                    "TCP on a virtual PLC wire with the QCA7000 model, power flowing through one "
                    "simulated cable.  Live progress (state, SoC, kW, V, A) on the terminal.  "
                    "Exit 0 only if the verdict passes: SessionStop reached, the SoC moved the "
                    "asked way, meter and battery within 0.5 %%, loop current or power of the "
                    "asked sign and within both sides' limits (result.json gives the reasons); "
                    "1 on a failed verdict, 130 when interrupted.")
    p.add_argument("--service", choices=("ac", "dc", "ac_bpt", "dc_bpt"), default="dc")
    p.add_argument("--control", choices=("scheduled", "dynamic"), default="scheduled")
    p.add_argument("--direction", choices=("charge", "discharge"), default="charge",
                   help="for *_bpt services: discharge is V2G (default charge)")
    p.add_argument("--ev", choices=("ours", "josev"), default="ours",
                   help="our EVCC firmware, or python-iso15118's EVCC (needs root: it runs on "
                        "the kernel stack in a network namespace, on a TAP bridged to the wire)")
    p.add_argument("--charger", choices=("ours", "josev"), default="ours",
                   help="our SECC firmware, or python-iso15118's SECC (needs root)")
    p.add_argument("--runtime", choices=RUNTIMES, default="micropython")
    p.add_argument("--loops", type=_int_at_least(1), default=20,
                   help="charge loops before stopping, at least 1 (20)")
    p.add_argument("--soc", type=_number_in(0.0, 100.0), default=50.0,
                   help="EV state of charge at plug-in, 0-100 %% (50)")
    p.add_argument("--out", metavar="DIR", default="session",
                   help="evidence: wire.pcap, messages.jsonl, both logs, result.json; files a "
                        "previous run wrote there are removed first, nothing else (session)")
    p.add_argument("--timeout", type=_positive, default=120.0, help="seconds, > 0 (120)")
    p.add_argument("--tls", action="store_true",
                   help="TLS 1.3 on the V2G connection (our charger and EV): each board's host "
                        "terminates it over the MCU-host link, its SE050 model signs; the key log "
                        "goes to --out/tls-keys.log")
    p.add_argument("--pki", metavar="DIR",
                   help="with --tls: the PKI (micro15118 pki init DIR) whose SE050 bundles, chains, "
                        "roots and OCSP responses the run uses (default: one made in --out/pki)")
    p.add_argument("--auth", choices=("eim", "pnc"), default=None,
                   help="how the EV is authorized: eim (default), or pnc, Plug-and-Charge (needs "
                        "--tls): the EV signs with the contract key in its SE050 model, the charger's "
                        "host verifies against the PKI; passes only with AuthorizationRes OK")
    p.add_argument("--contract", metavar="CASE",
                   help="with --tls (implies --auth pnc): the EV presents the PKI's bad contract "
                        "variant CASE (DIR/variants/contract_CASE: expired, not_yet_valid, revoked, "
                        "unknown_root, cross_root, wrong_curve, tampered_signature, chain_too_long), "
                        "its key in the EV's SE050 model; passes only with the case.json ResponseCode "
                        "and no power")
    p.add_argument("--eim-fallback", action="store_true",
                   help="with --auth pnc: the EV asks for EIM when the charger refuses its contract "
                        "(then a normal session must follow); default: it ends the session")
    p.add_argument("--pull-host-link-during-pnc", action="store_true",
                   help="with --auth pnc, the fault 'host link lost while PnC is pending': the "
                        "charger's host holds the verification and its link is pulled; passes when "
                        "nothing was authorized and no power flowed")
    p.add_argument("--pull-host-link-after", type=_int_at_least(1), metavar="LOOPS",
                   help="with --tls, the fault 'host link lost': close the charger's host link "
                        "after LOOPS charge loops; passes when the charger then ends with no power "
                        "flowing")
    p.add_argument("--fault", metavar="NAME@STATE",
                   help="run one cell of the fault matrix instead (see micro15118 faults), "
                        "e.g. cp_a@ChargeLoop")
    p.set_defaults(func=sim_run)
