"""How benchmarks print a set of measurements."""
import statistics


def spread(values, fmt="%.2f", unit=""):
    """'min X / median Y / max Z unit (n=N)', or 'n/a' for no values."""
    if not values:
        return "n/a"
    v = sorted(values)
    unit = " " + unit if unit else ""
    return ("min " + fmt + " / median " + fmt + " / max " + fmt + "%s (n=%d)") % (
        v[0], statistics.median(v), v[-1], unit, len(v))
