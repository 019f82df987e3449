"""The simulation bench: everything a simulated session runs on.

The wire process (`wire_server`: simulated boards, the PLC wire `plc_wire`,
the QCA7000 chip and modem models `qca7000_model`, `modem`, the cable's
power path `power_path`), the same on a virtual clock in one process
(`linksim`, `sessionsim`), the firmware runner (`linkrun`), and what judges a
run: `sim` (`micro15118 sim`), `faults` (`micro15118 faults`), `verdict`.
"""

# What our firmware processes can run on: the MicroPython unix port (the
# wheel), the 32-bit unix build with the firmware frozen, or CPython.
RUNTIMES = ("micropython", "unix32", "cpython")
