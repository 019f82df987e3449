"""Fuzz the link-local IPv6 stack (host/harness/fuzz/net.py): frames in, nothing escapes.

    python tools/fuzz_net.py [--runs N] [--seconds S] [--seed S] [--target ipv6|tcp|all]
"""
import sys

from host.harness.fuzz import net

if __name__ == "__main__":
    sys.exit(net.main())
