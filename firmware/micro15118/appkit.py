"""What the apps (link_main, secc_main, evcc_main) share: their options,
one printed line per event (`t=<ms> <event> ...`, which
host/bench/linkrun.py and the tests follow), heap watching."""
import gc


def parse_args(argv, options, usage):
    """argv = [role, --option value ...]; options: defaults by name."""
    if len(argv) < 1 or argv[0] not in ("charger", "vehicle"):
        raise ValueError(usage)
    opts = dict(options)
    opts["role"] = argv[0]
    i = 1
    while i < len(argv):
        key = argv[i]
        if key not in options or i + 1 >= len(argv):
            raise ValueError("unknown or incomplete option: " + key)
        opts[key] = argv[i + 1]
        i += 2
    return opts


def fmt(value):
    if isinstance(value, (bytes, bytearray)):
        if len(value) > 24:
            return "<%d bytes>" % len(value)
        return value.hex() if hasattr(value, "hex") else repr(value)
    if isinstance(value, tuple):
        return "/".join(fmt(v) for v in value)
    return str(value)


def mem_alloc():
    # MicroPython only; CPython reports 0 (its memory is not this app's concern)
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


def mem_free():
    return gc.mem_free() if hasattr(gc, "mem_free") else 0


class HeapWatch:
    """Live heap after a collection, sampled every `period` ms."""

    def __init__(self, period=200):
        self.period = period
        self.next = 0
        self.peak = 0

    def sample(self, now):
        if now >= self.next:
            self.next = now + self.period
            gc.collect()
            used = mem_alloc()
            if used > self.peak:
                self.peak = used
