"""``micro15118 faults``: the fault matrix (host/bench/faults.py)."""


def add_faults(subparsers):
    from host.bench import faults
    return faults.add_faults(subparsers)
