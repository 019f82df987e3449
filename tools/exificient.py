"""Bare EXIficient in the JVM (host/harness/exificient.py): run its bench over the EXI reference vectors.

    python tools/exificient.py check [ITER] [-v]
"""
import sys

from host.harness import exificient

if __name__ == "__main__":
    sys.exit(exificient.main(sys.argv[1:]))
