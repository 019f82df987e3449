"""The board layer: builds the board an app runs on, real hardware from
`boards/<name>/board.json` or a simulated board on the wire process, with
its link runner; and the platform's random source, wall clock and sleep (the
protocol code takes them from here, never a default of its own).

micro15118.sim is imported only for a simulated board (functions _sim*): no
board image freezes it.

The host link and TLS (issue 12).  A board may have a link to a host PC
(hostlink/): `--host-link PATH|HOST:PORT` on the unix port (a pty or tty
path, or a TCP socket; drivers/hostport_unix.py), or on an MCU the board
file's "host_uart_id" (with "host_uart_tx", "host_uart_rx",
"host_uart_baudrate", default 921600) for machine.UART.  With TLS on
(`--tls 1`, or "tls": true in the board file) the V2G TCP connection
carries TLS 1.3 terminated on the host (link/tls.py); the host's handshake
signature is made by the board's SE050 (drivers/se050.py; on an MCU
"se050_i2c_id", "se050_scl", "se050_sda", "se050_freq", "se050_addr"; on a
simulated board the wire process's SE050 model, reached over the board
socket) with the key object `--tls-key` / "tls_key" (default: the role's
first leaf in host/pki's object-ID map, 0x15118100 for the SECC,
0x15118200 for the vehicle), and the certificate chain the host presents
comes from here: `--tls-chain` / "tls_chain", a comma list (a list in the
board file) of SE050 binary objects ("0x15118180") and certificate files
(PEM or DER), leaf first; default the role's leaf certificate object
(0x15118180 / 0x15118280) alone.  The private key never leaves the SE050.

Plug-and-Charge on a vehicle: the EVCC signs its AuthorizationReq with the
contract key in the same SE050 (`secure_element(runner)`, wrapped by
iso20/xmldsig.Se050Crypto); `contract_refs(items)` turns the contract chain
of the options / board file ("contract_chain": SE050 binary objects and
certificate files, leaf first) into the references the vehicle seam reads.
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
    tls = _flag(opts.get("--tls"), cfg.get("tls"))
    host = host_end(opts, cfg, charger, board, machine, tls)
    if tls:
        if host is None:
            raise ValueError("TLS needs a host link (--host-link PATH|HOST:PORT, or host_uart_id "
                             "in the board file): the host terminates TLS")
        if host.keys is None:
            raise ValueError("TLS needs the board's SE050 for the handshake signature")
        from .link.tls import TlsMode
        link.use_tls(TlsMode(host.link))
    return Runner(link, modem, pilot, charger, irq=irq, host=host), board


def _flag(option, board_value):
    if option is not None:
        return option not in ("0", "no", "off", "false", "")
    return bool(board_value)


# SE050 object IDs of host/pki's map (host/pki/se050.py): slot 0 of each role
TLS_KEY = {True: 0x15118100, False: 0x15118200}        # charger: SECC leaf; vehicle: vehicle leaf
TLS_CERT = {True: 0x15118180, False: 0x15118280}


def host_end(opts, cfg, charger, board, machine=None, tls=False):
    """The board's host link (hostend.HostEnd), or None when it has none."""
    spec = opts.get("--host-link")
    if spec:
        port = _linux_host_port(spec)
    elif cfg.get("host_uart_id") is not None:
        port = _uart_host_port(cfg, machine)
    else:
        return None
    from .hostend import HostEnd
    from .hostlink import msg
    from .hostlink.link import Link
    from .hostlink.port import UartPort
    boot = rng(4)
    boot_id = (boot[0] << 24) | (boot[1] << 16) | (boot[2] << 8) | boot[3]
    link = Link(msg.ROLE_CHARGER if charger else msg.ROLE_VEHICLE, 0, boot_id,
                b"micro15118 " + (b"secc" if charger else b"evcc"))
    return HostEnd(UartPort(port, link), _key_server(opts, cfg, charger, board, machine, tls))


def _linux_host_port(spec):
    # the unix port (simulated and Linux boards): a pty/tty path or HOST:PORT
    from .drivers.hostport_unix import open_port
    return open_port(spec)


def _uart_host_port(cfg, machine=None):
    if machine is None:
        import machine
    kw = {"baudrate": cfg.get("host_uart_baudrate", 921600), "timeout": 0,
          "rxbuf": cfg.get("host_uart_rxbuf", 4096)}
    if cfg.get("host_uart_tx") is not None:
        kw["tx"] = machine.Pin(cfg["host_uart_tx"])
        kw["rx"] = machine.Pin(cfg["host_uart_rx"])
    return machine.UART(cfg["host_uart_id"], **kw)


def _object_id(value):
    return value if isinstance(value, int) else int(value, 0)


def _key_server(opts, cfg, charger, board, machine=None, tls=False):
    """The SE050 and what the host may ask of it, or None without an SE050."""
    bus = _se050_bus(opts, cfg, board, machine, tls)
    if bus is None:
        return None
    from .drivers.se050 import Se050
    from .hostend import KeyServer
    se = Se050(bus, sleep_ms, cfg.get("se050_addr", 0x48))
    se.open()
    key = opts.get("--tls-key") or cfg.get("tls_key") or TLS_KEY[charger]
    items = opts.get("--tls-chain") or cfg.get("tls_chain") or [TLS_CERT[charger]]
    if isinstance(items, str):
        items = items.split(",")
    return KeyServer(se, (_object_id(key),), load_chain(items, se))


def _se050_bus(opts, cfg, board, machine=None, tls=False):
    if hasattr(board, "request"):
        # a simulated board: the wire process's SE050 model (provisioned
        # there); by default used when TLS is on
        return board.i2c if _flag(opts.get("--se050"), cfg.get("se050", tls)) else None
    if cfg.get("se050_i2c_id") is None:
        return None
    if machine is None:
        import machine
    Pin = machine.Pin
    if cfg.get("se050_enable_pin") is not None:
        Pin(cfg["se050_enable_pin"], Pin.OUT, value=1)
    return machine.I2C(cfg["se050_i2c_id"], scl=Pin(cfg["se050_scl"]), sda=Pin(cfg["se050_sda"]),
                       freq=cfg.get("se050_freq", 400000))


def secure_element(runner):
    """The board's SE050 driver (the one the host link's key server uses),
    or None when the board has none."""
    host = runner.host
    keys = host.keys if host is not None else None
    return keys.se if keys is not None else None


def contract_refs(items):
    """Contract chain references (a comma list or a list, leaf first): an
    int or "0x..." stays an SE050 binary object ID, a certificate file
    becomes its DER (a PEM file with several certificates: each, in order)."""
    if isinstance(items, str):
        items = items.split(",")
    out = []
    for item in items:
        if isinstance(item, int) or item.strip().startswith("0x"):
            out.append(_object_id(item.strip() if isinstance(item, str) else item))
            continue
        with open(item.strip(), "rb") as f:
            data = f.read()
        if b"-----BEGIN" in data:
            out.extend(_pem_certificates(data, split=True))
        else:
            out.append(data)
    return out


def load_chain(items, se):
    """Concatenated DER certificates from SE050 binary objects (an int or
    "0x..." each) and certificate files (PEM, any number of certificates,
    or DER), in the order given."""
    out = bytearray()
    for item in items:
        if isinstance(item, int) or item.strip().startswith("0x"):
            out.extend(se.read_binary(_object_id(item)))
            continue
        with open(item.strip(), "rb") as f:
            data = f.read()
        if b"-----BEGIN" in data:
            out.extend(_pem_certificates(data))
        else:
            out.extend(data)
    return bytes(out)


def _pem_certificates(data, split=False):
    """The DER of every certificate in PEM text: concatenated, or a list
    (split)."""
    import binascii
    out = []
    body = None
    for line in data.split(b"\n"):
        line = line.strip()
        if line.startswith(b"-----BEGIN CERTIFICATE"):
            body = []
        elif line.startswith(b"-----END"):
            if body is not None:
                out.append(binascii.a2b_base64(b"".join(body)))
            body = None
        elif body is not None and line:
            body.append(line)
    return out if split else b"".join(out)


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
