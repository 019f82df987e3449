"""The board layer: builds the board an app runs on, real hardware from
`boards/<name>/board.json` or a simulated board on the wire process, with
its link runner; and the platform's random source, wall clock and sleep (the
protocol code takes them from here, never a default of its own).

micro15118.sim is imported only for a simulated board (functions _sim*): no
board image freezes it.
"""
import os
import time

from .link.runner import Runner

try:
    sleep_ms = time.sleep_ms
except AttributeError:  # CPython
    def sleep_ms(ms):
        time.sleep(ms / 1000)

# The platform's random source: SLAC run IDs and NMKs, TCP sequence numbers,
# session IDs.  None on a port without one (MicroPython's qemu port has no
# os.urandom): build() refuses then, since keys must not be predictable.
rng = getattr(os, "urandom", None)


def _wall_clock():
    """Seconds since 1970 for the -20 TimeStamp, or None on a port without a
    wall clock (the qemu port's time has no time()): the app must bring one.
    Bare-metal MicroPython counts from 2000."""
    now = getattr(time, "time", None)
    if now is None:
        return None
    gmtime = getattr(time, "gmtime", None)
    offset = 946684800 if gmtime is not None and gmtime(0)[0] == 2000 else 0
    return lambda: now() + offset


clock_s = _wall_clock()


def parse_mac(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError("bad MAC: " + text)
    return bytes(int(p, 16) for p in parts)


def load_board(path):
    import json
    with open(path) as f:
        return json.load(f)


def build(opts, machine=None):
    """(Runner, board) for the role in opts: a simulated board on the wire
    process (default, or a board file of kind "sim"), or real hardware from
    a board file (`--board boards/<name>/board.json`): kind "mcu" (SPI,
    QCA7000 IRQ, CP/PP pins on `machine`) or kind "linux" (the unix port on
    the network interface the kernel's qca_spi driver offers)."""
    if rng is None or clock_s is None:
        raise ValueError("this port has no %s: a board needs both a random source and a wall clock"
                         % ("random source (os.urandom)" if rng is None else "wall clock (time.time)"))
    charger = opts["role"] == "charger"
    mac = opts.get("--mac")
    board_file = opts.get("--board")
    cfg = load_board(board_file) if board_file else {"kind": "sim"}
    if not mac:
        mac = cfg.get("mac") or (cfg.get("macs") or {}).get("evse" if charger else "pev")
    mac = parse_mac(mac) if mac else None
    kind = cfg.get("kind", "sim")
    if kind == "linux":
        modem, pilot, irq, board = _linux_board(cfg)
        mac = mac or modem.mac          # the host's MAC on the modem's interface
    else:
        mac = mac or b"\x02\x00\x00" + rng(3)
        if kind == "sim":
            modem, pilot, irq, board = _sim_board(opts, cfg, charger, mac)
        else:
            modem, pilot, irq, board = _hw_board(cfg, charger, machine)
    link = _charger_link(mac) if charger else _vehicle_link(mac)
    return Runner(link, modem, pilot, charger, irq=irq), board


# One role's link per function: a board image freezes the charger's or the
# vehicle's side (boards/manifests/, tests/test_manifests.py go by the
# _charger/_vehicle/_sim name prefixes).

def _charger_link(mac):
    from .link.charger import ChargerLink
    return ChargerLink(mac, rng=rng)


def _vehicle_link(mac):
    from .link.vehicle import VehicleLink
    return VehicleLink(mac, rng=rng)


def _sim_board(opts, cfg, charger, mac):
    from .drivers.qca7000 import Qca7000
    from .sim.board import SimBoard

    wire = opts.get("--wire") or "%s:%d" % (cfg.get("simboard_host", "127.0.0.1"),
                                           cfg.get("simboard_port", 15200))
    host, port = wire.rsplit(":", 1)
    board = SimBoard(host, int(port), "E" if charger else "V", mac, opts.get("--name", ""))
    return Qca7000(board.spi, board.irq), board.pilot, board.irq, board


def _hw_board(cfg, charger, machine=None):
    if machine is None:
        import machine
    from .drivers import pilot_hw
    from .drivers.qca7000 import Qca7000
    from .drivers.spibus import SpiDevice

    Pin = machine.Pin
    spi = machine.SPI(cfg["spi_id"], baudrate=cfg.get("spi_baudrate", 8000000),
                      polarity=cfg.get("spi_polarity", 1), phase=cfg.get("spi_phase", 1),
                      sck=Pin(cfg["spi_sck"]), mosi=Pin(cfg["spi_mosi"]),
                      miso=Pin(cfg["spi_miso"]))
    cs = Pin(cfg["spi_cs"], Pin.OUT, value=1)
    irq = Pin(cfg["qca_irq_pin"], Pin.IN)
    modem = Qca7000(SpiDevice(spi, cs), irq)
    if charger:
        pilot = pilot_hw.ChargerPilotHw(cfg, machine)
    else:
        pilot = pilot_hw.VehiclePilotHw(cfg, machine)
    return modem, pilot, irq, cfg


def _linux_board(cfg):
    """A Linux board: the modem is the interface `cfg["interface"]` (qca_spi),
    reached through an AF_PACKET socket.  The pilot has no Linux driver yet:
    "pilot": "fixed" reads what the board file says (drivers/pilot_fixed.py)."""
    from .drivers.linux_packet import LinuxPacket

    kind = cfg.get("pilot")
    if kind != "fixed":
        raise ValueError("a linux board needs \"pilot\": \"fixed\" (no CP driver on Linux yet), not %r"
                         % (kind,))
    from .drivers.pilot_fixed import FixedPilot
    modem = LinuxPacket(cfg["interface"], check_ms=cfg.get("carrier_check_ms", 100))
    return modem, FixedPilot(cfg), modem, cfg
