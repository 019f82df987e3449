"""micro15118: an ISO 15118-20 stack for MicroPython chargers and vehicles.

The same package runs on the board (frozen or copied), on MicroPython's unix
port and on CPython.  Subpackages: exi (the EXI codec), pilot, drivers
(QCA7000, pilot hardware), slac, net (IPv6/UDP/TCP), sdp, v2gtp, link (plug-in
to TCP), iso20 (the -20 SECC and EVCC).  sim holds the simulated board and the
models the simulation runs on; no board manifest includes it.
"""
