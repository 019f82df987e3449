# The in-process session as a board app (`micro15118 deploy --app session`,
# which copies tools/mp/manifest_session.py's files): tools/mp/secc_timing.py's
# session -- our Secc and Evcc in one interpreter on a virtual clock, with the
# simulated power path and battery of micro15118.sim -- plus the SECC's own
# events, the evidence of how far the session went.  Prints:
#   SESSION <service> <control> <direction> <loops>
#   SECC_US ... / HEAP ... / RESULT ...      (secc_timing's lines)
#   SECC <event> ...    one line per SECC event: "SECC state SessionStop",
#                       "SECC stopped terminate", ...
#   SESSION_END ok|failed
# On the board: import session_main; session_main.main(["ac", "scheduled", "charge", "3"])
# A bench check of a board (or the emulated one), not a charger: no pins, no modem.
import secc_timing

DEFAULT = ("dc_bpt", "dynamic", "discharge", "3")


def main(argv=()):
    argv = list(argv) or list(DEFAULT)
    print("SESSION", " ".join(argv))
    seccs = []
    plain = secc_timing.Secc

    class Traced(plain):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            seccs.append(self)

    secc_timing.Secc = Traced       # secc_timing.main looks the class up at each call
    try:
        rc = secc_timing.main(argv)
    finally:
        secc_timing.Secc = plain
    for secc in seccs:
        for event in secc.events:
            print("SECC", " ".join(str(v) for v in event))
    print("SESSION_END", "ok" if rc == 0 and seccs else "failed")
    return rc
