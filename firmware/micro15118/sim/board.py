"""Client of the simulated board (the wire process, host/bench/wire_server.py).

    board = SimBoard(host, port, role, host_mac, name='')
    board.modem_mac          # MAC of the simulated modem behind the SPI bus
    board.spi.transfer(mosi) -> miso
    board.irq.value()        # 1 while the QCA7000 interrupt line is asserted
    board.pilot.set_duty(permille)     # charger
    board.pilot.set_state('B'|'C'|'D') # vehicle
    board.pilot.read() -> (high_mv, low_mv, duty_permille, pp_ohms or None if open)
    board.i2c.writeto(addr, buf) / board.i2c.readfrom_into(addr, buf)
                             # the board's I2C bus: the wire process's SE050 model

Protocol (docs/link-design.md): every message is type (1 ASCII byte) +
length (2, big-endian) + payload; one request, then exactly one reply whose
type is the request's in lower case.  Works on CPython and on the
MicroPython unix port.  A broken connection raises OSError.
"""
import socket
import struct

_ROLES = {"E": b"E", "evse": b"E", "charger": b"E",
          "V": b"V", "pev": b"V", "ev": b"V", "vehicle": b"V"}


class SimBoard:
    def __init__(self, host, port, role, host_mac, name=""):
        if role not in _ROLES:
            raise ValueError("role must be 'E' (charger) or 'V' (vehicle)")
        self.role = _ROLES[role]
        self.host_mac = bytes(host_mac)
        addr = socket.getaddrinfo(host, port)[0][-1]
        self._sock = socket.socket()
        try:
            self._sock.connect(addr)
        except Exception:
            self._sock.close()
            raise
        try:
            # Lock-step small messages: do not let Nagle hold them back.
            self._sock.setsockopt(6, 1, 1)      # IPPROTO_TCP, TCP_NODELAY
        except Exception:
            pass
        self._hdr = bytearray(3)
        self.last_irq = 0
        self.modem_mac = self.request(b"H", self.role + self.host_mac + name.encode())
        self.spi = SimSpi(self)
        self.irq = SimIrq(self)
        self.pilot = SimPilot(self)
        self.i2c = SimI2C(self)

    def close(self):
        self._sock.close()

    def _send_all(self, data):
        mv = memoryview(data)
        while len(mv):
            n = self._sock.send(mv)
            if n is None or n <= 0:
                raise OSError("sim board: send failed")
            mv = mv[n:]

    def _recv_exact(self, n):
        buf = bytearray(n)
        mv = memoryview(buf)
        got = 0
        while got < n:
            chunk = self._sock.recv(n - got)
            if not chunk:
                raise OSError("sim board: connection closed")
            mv[got:got + len(chunk)] = chunk
            got += len(chunk)
        return buf

    def request(self, typ, payload=b""):
        """Send one request (type: 1-byte bytes) and return the reply payload."""
        n = len(payload)
        self._send_all(bytes((typ[0], n >> 8, n & 0xFF)) + bytes(payload))
        hdr = self._recv_exact(3)
        if hdr[0] != typ[0] + 32:      # reply type is the request's in lower case
            raise OSError("sim board: unexpected reply type %d" % hdr[0])
        return bytes(self._recv_exact((hdr[1] << 8) | hdr[2]))


class SimSpi:
    def __init__(self, board):
        self._board = board

    def transfer(self, mosi):
        reply = self._board.request(b"S", mosi)
        if len(reply) != len(mosi) + 1:
            raise OSError("sim board: bad SPI reply length")
        self._board.last_irq = reply[0]
        return reply[1:]


class SimIrq:
    def __init__(self, board):
        self._board = board

    def value(self):
        reply = self._board.request(b"I")
        level = 1 if reply and reply[0] else 0
        self._board.last_irq = level
        return level


class SimI2C:
    """The board's I2C bus with machine.I2C's target-access API, reaching the
    SE050 model the wire process keeps for this board (request T): a NACK or
    a missing device is an OSError with the errno the model gave (ENODEV), as
    machine.I2C raises, so drivers.se050 runs unchanged."""

    def __init__(self, board):
        self._board = board

    def writeto(self, addr, buf, stop=True):
        r = self._board.request(b"T", b"W" + bytes((addr,)) + bytes(buf))
        if len(r) != 1:
            raise OSError("sim board: bad I2C reply")
        if r[0]:
            raise OSError(r[0])
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        n = len(buf)
        r = self._board.request(b"T", bytes((0x52, addr, n >> 8, n & 0xFF)))   # 'R'
        if not r:
            raise OSError("sim board: bad I2C reply")
        if r[0]:
            raise OSError(r[0])
        if len(r) != n + 1:
            raise OSError("sim board: bad I2C read length")
        buf[0:n] = r[1:]

    def readfrom(self, addr, n, stop=True):
        buf = bytearray(n)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)


class SimPilot:
    def __init__(self, board):
        self._board = board

    def set_duty(self, permille):
        """Charger: PWM duty in permille (1000 = +12 V DC, 0 = -12 V)."""
        p = int(permille)
        self._board.request(b"P", bytes((0x44, (p >> 8) & 0xFF, p & 0xFF)))   # 'D'

    def set_state(self, state):
        """Vehicle: switch the CP resistors to state 'B', 'C' or 'D'."""
        if state not in ("B", "C", "D"):
            raise ValueError("vehicle state must be 'B', 'C' or 'D'")
        self._board.request(b"P", b"S" + state.encode())

    def read(self):
        r = self._board.request(b"Q")
        if len(r) != 10:
            raise OSError("sim board: bad pilot reply")
        high = (r[0] << 8) | r[1]
        low = (r[2] << 8) | r[3]
        if high & 0x8000:
            high -= 0x10000
        if low & 0x8000:
            low -= 0x10000
        duty = (r[4] << 8) | r[5]
        ohms = (r[6] << 24) | (r[7] << 16) | (r[8] << 8) | r[9]
        return (high, low, duty, None if ohms == 0xFFFFFFFF else ohms)


class SimPowerStage:
    """The charger's power-electronics seam on a simulated board: the output
    stage of the wire process's power path (host/bench/power_path.py).  Same
    methods as a board's power-module driver: contactor, dc_target,
    ac_power, insulation_check, present, meter, update."""

    meter_id = "SIM-CABLE-METER"

    def __init__(self, board):
        self._board = board

    def _w(self, payload):
        return self._board.request(b"W", payload)

    def contactor(self, closed, now):
        return self._w(b"C" + bytes((1 if closed else 0,)))[:1] == b"\x01"

    def dc_target(self, voltage, current, now):
        self._w(b"T" + struct.pack(">dd", voltage, current))

    def ac_power(self, power_w, now):
        self._w(b"A" + struct.pack(">d", power_w))

    def insulation_check(self, now):
        r = self._w(b"N")[0]
        return None if r == 2 else r == 1

    def _read(self):
        r = self._w(b"R")
        if len(r) != 40:
            raise OSError("sim board: bad power reply")
        return struct.unpack(">ddddd", r)

    def present(self, now):
        return self._read()[:3]

    def meter(self, now):
        return self._read()[3:]

    def update(self, now):
        pass                    # the wire process integrates on its own clock


class SimPack:
    """The vehicle's battery on a simulated board: its pack sits on the
    power path, so what the charger really delivered is what it holds."""

    def __init__(self, board, capacity_wh, soc, v_empty, v_full):
        self._board = board
        board.request(b"W", b"K" + struct.pack(">dddd", capacity_wh, soc, v_empty, v_full))

    def contactor(self, closed):
        self._board.request(b"W", b"c" + bytes((1 if closed else 0,)))

    def read(self):
        """(SoC %, pack voltage, current into the pack, charged Wh, discharged Wh)."""
        r = self._board.request(b"W", b"r")
        if len(r) != 40:
            raise OSError("sim board: bad pack reply")
        return struct.unpack(">ddddd", r)
