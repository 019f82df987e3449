"""What the benchmarks share: their command line and how they print a set of measurements."""
import argparse
import statistics


def bench_args(doc, runs, sections):
    """--runs N and --skip a,b,...: (runs, the set of sections to skip)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--skip", default="", help="comma list of: " + ",".join(sections))
    args = ap.parse_args()
    return args.runs, set(filter(None, args.skip.split(",")))


def spread(values, fmt="%.2f", unit=""):
    """'min X / median Y / max Z unit (n=N)', or 'n/a' for no values."""
    if not values:
        return "n/a"
    v = sorted(values)
    unit = " " + unit if unit else ""
    return ("min " + fmt + " / median " + fmt + " / max " + fmt + "%s (n=%d)") % (
        v[0], statistics.median(v), v[-1], unit, len(v))
