"""Fuzz the EXI decoder (host/harness/fuzz/exi.py): every input must decode or raise exi.ExiError.

    python tools/fuzz_exi.py [--runs N] [--seconds S] [--seed S]
    python tools/fuzz_exi.py --atheris [libFuzzer arguments]   (coverage-guided, needs atheris)
"""
import sys

from host.harness.fuzz import exi

if __name__ == "__main__":
    if sys.argv[1:2] == ["--atheris"]:
        exi.run_atheris([sys.argv[0]] + sys.argv[2:])
    else:
        sys.exit(exi.main())
