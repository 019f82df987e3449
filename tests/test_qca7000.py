"""QCA7000 driver (firmware/micro15118/drivers/qca7000.py) against the chip model (host/bench/qca7000_model.py).

Under CPython with a fake clock, plus one run of the driver under the
MicroPython unix port talking to the model through SimBoard and a tiny
in-test implementation of the simulated-board protocol.
"""
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

from micro15118.drivers import qcafrm
from micro15118.drivers import qca7000
from micro15118.drivers.qca7000 import Qca7000
from micro15118.sim.board import SimBoard
from host.bench import qca7000_model
from host.bench.qca7000_model import Qca7000Model
from host.bench.linkrun import firmware_env
from host.harness.echo_modem import Clock, EchoModem

REPO = pathlib.Path(__file__).resolve().parent.parent
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")


class Rig:
    def __init__(self, irq=True, legacy=False, tx_ms=1, boot_ms=100, **kw):
        self.clock = Clock()
        self.modem = EchoModem(boot_ms=boot_ms)
        self.chip = Qca7000Model(self.modem, clock=self.clock, tx_ms=tx_ms)
        self.bus = self.chip
        self.drv = Qca7000(self, irq=self if irq else None, legacy=legacy, **kw)
        self.transfers = []
        self.events = []
        self.rx = []

    # the rig is the bus and the IRQ pin, so tests can watch every transaction
    def transfer(self, mosi):
        self.transfers.append(bytes(mosi))
        return self.bus.transfer(mosi)

    def value(self):
        return self.chip.irq

    def step(self, ms=1):
        now = self.clock.ms
        self.modem.poll(now)
        self.drv.service(now)
        self.events += self.drv.events
        self.drv.events = []
        self.rx += self.drv.rx
        self.drv.rx = []
        self.clock.ms += ms

    def run(self, ms, step=1):
        end = self.clock.ms + ms
        while self.clock.ms < end:
            self.step(step)

    def run_until(self, cond, limit_ms=30000, step=1):
        end = self.clock.ms + limit_ms
        while not cond():
            assert self.clock.ms < end, "condition not reached; events %r" % (self.events,)
            self.step(step)

    def sync(self):
        self.run_until(lambda: self.drv.state == "ready")
        self.events = []


def eth(n, seed):
    b = bytearray(n)
    x = seed * 7919 + 1
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        b[i] = (x >> 16) & 0xFF
    return bytes(b)


def padded(f):
    return f + bytes(60 - len(f)) if len(f) < 60 else f


def exchange(rig, frames, limit_ms=5000):
    """Send all frames (waiting for room) and wait until their echoes are back."""
    rig.rx = []
    pending = list(frames)
    end = rig.clock.ms + limit_ms
    while pending or len(rig.rx) < len(frames):
        assert rig.clock.ms < end, "exchange stuck: %d sent, %d back, events %r" % (
            len(frames) - len(pending), len(rig.rx), rig.events)
        while pending and rig.drv.send(pending[0]):
            pending.pop(0)
        rig.step()
    return rig.rx


# -- sync ------------------------------------------------------------------

def test_sync_from_power_on_with_irq():
    r = Rig()
    assert r.drv.state == "unknown"
    r.step()
    assert r.drv.state == "reset"               # signature good -> soft reset
    assert r.chip.stats["soft_resets"] == 1
    assert r.chip.booting
    r.run_until(lambda: r.drv.state == "ready")
    assert r.events == [("ready",)]
    # The modem boots in 100 ms; the IRQ brings the driver to ready at once.
    assert 100 <= r.clock.ms <= 105
    # The first read after CPU_ON is the quirky one: read twice worked.
    assert r.drv.stats["sync_fail"] == 0
    assert r.chip._enable == qca7000.INT_ENABLE_MASK


def test_sync_from_power_on_polling():
    r = Rig(irq=False)
    r.sync()
    assert r.drv.stats["soft_resets"] == 1
    assert r.chip._enable == qca7000.INT_ENABLE_MASK
    # Polling reads INTR_CAUSE: one 4-byte transaction per idle service call.
    r.transfers = []
    r.step()
    assert r.transfers == [bytes((0xCC, 0x00, 0, 0))]


def test_register_command_words():
    r = Rig()
    r.sync()
    r.transfers = []
    assert r.drv.read_reg(qca7000.REG_SIGNATURE) == 0xAA55
    r.drv.write_reg(qca7000.REG_BFR_SIZE, 0x1234)
    assert r.drv.read_reg(qca7000.REG_BFR_SIZE) == 0x1234
    assert r.transfers[0] == b"\xda\x00\x00\x00"
    assert r.transfers[1] == b"\x41\x00\x12\x34"
    assert r.transfers[2] == b"\xc1\x00\x00\x00"


def test_idle_irq_mode_costs_no_spi():
    r = Rig()
    r.sync()
    r.transfers = []
    r.run(500)
    assert r.transfers == []
    assert r.drv.next_deadline() is not None


def test_periodic_signature_check_while_ready():
    r = Rig(check_ms=200)
    r.sync()
    r.transfers = []
    r.run(1000)
    assert r.transfers.count(b"\xda\x00\x00\x00") == 5


# -- frames ------------------------------------------------------------------

def test_frames_both_ways_incl_min_and_max_size():
    r = Rig()
    r.sync()
    frames = [eth(n, i) for i, n in enumerate((60, 1518, 14, 59, 61, 1000, 1518, 1517))]
    got = exchange(r, frames)
    assert got == [padded(f) for f in frames]
    assert r.modem.got == [padded(f) for f in frames]
    assert r.drv.decoder.error_count() == 0
    assert r.drv.stats["tx_frames"] == len(frames)
    assert r.drv.stats["rx_frames"] == len(frames)


def test_back_to_back_frames_in_one_read():
    r = Rig()
    r.sync()
    frames = [eth(100 + i, i) for i in range(20)]
    for f in frames:                      # the modem queues them all at once
        r.modem.to_host.append(f)
    r.transfers = []
    r.step()
    assert r.rx == frames
    ext_reads = [t for t in r.transfers if t[:2] == b"\x80\x00"]
    # 20 x (4 + 110 + 10) bytes = 2480: two chunks of at most 1598 bytes.
    assert len(ext_reads) == 2


def test_read_buffer_overflow_drops_whole_frames():
    r = Rig()
    r.sync()
    frames = [eth(1518, i) for i in range(3)]
    r.modem.to_host.extend(frames)
    r.step()
    assert r.rx == frames[:2]              # 2 x 1532 fit in 3163 bytes
    assert r.chip.stats["rx_overflow"] == 1


def test_write_buffer_full_back_pressure():
    r = Rig(tx_ms=50)
    r.sync()
    big = eth(1518, 1)
    assert r.drv.send(big)
    assert r.drv.send(big)
    assert r.chip.write_space() == 3163 - 2 * 1532
    assert not r.drv.send(big)              # needs 1532
    assert r.drv.stats["tx_no_space"] == 1
    assert r.drv.send(eth(60, 2))           # 74 bytes still fit
    assert not r.drv.send(eth(60, 3))
    r.clock.ms += 50
    assert r.drv.send(big)                  # the first frame has gone to the modem
    r.run(300)
    assert len(r.modem.got) == 4
    assert r.chip.stats["wrbuf_err"] == 0


def test_send_rejects_when_not_ready_or_too_long():
    r = Rig()
    assert not r.drv.send(eth(60, 1))
    assert r.drv.stats["tx_not_ready"] == 1
    r.sync()
    assert not r.drv.send(eth(1519, 1))
    assert r.drv.stats["tx_too_long"] == 1


# -- faults ------------------------------------------------------------------

def test_modem_restart_gives_reset_then_ready_without_soft_reset():
    r = Rig()
    r.sync()
    resets = r.chip.stats["soft_resets"]
    r.chip.restart_modem()
    r.run(150)
    assert r.events == [("reset",), ("ready",)]
    assert r.chip.stats["soft_resets"] == resets
    assert exchange(r, [eth(200, 5)]) == [eth(200, 5)]


def test_modem_restart_seen_by_polling_driver():
    r = Rig(irq=False)
    r.sync()
    r.chip.restart_modem()
    r.run(150)
    assert r.events == [("reset",), ("ready",)]


def test_signature_check_during_modem_reboot_gives_lost_then_ready():
    # The chip does not answer while its firmware restarts (e.g. after SET_KEY):
    # the check reports the loss, the CPU_ON at the end of the boot brings the
    # driver back without another soft reset.
    for irq in (True, False):
        r = Rig(irq=irq, check_ms=10)
        r.sync()
        soft = r.chip.stats["soft_resets"]
        r.chip.restart_modem()
        r.run(300)
        assert r.events == [("lost",), ("ready",)], (irq, r.events)
        assert r.chip.stats["soft_resets"] == soft
        assert exchange(r, [eth(100, 1)]) == [eth(100, 1)]


def test_absent_chip_cause_is_ignored():
    r = Rig(irq=False)
    r.sync()
    cpu_on = r.drv.stats["cpu_on"]
    r.bus = Dead()                     # MISO stuck high: INTR_CAUSE reads 0xFFFF
    r.run(50)
    assert r.drv.stats["cause_glitch"] >= 1
    assert r.drv.stats["cpu_on"] == cpu_on and r.drv.stats["rdbuf_err"] == 0
    r.run(2000)
    assert r.events == [("lost",)]


def test_single_bad_signature_is_tolerated():
    r = Rig(check_ms=100)
    r.sync()
    r.chip.inject_bad_signature(1)
    r.run(150)
    assert r.events == []
    assert r.drv.stats["sig_glitch"] == 1


def test_signature_gone_gives_lost_and_recovery():
    r = Rig(check_ms=100, retry_ms=100)
    r.sync()
    r.chip.inject_bad_signature(5)
    r.run(150)
    assert r.events == [("lost",)]
    assert r.drv.state != "ready"
    r.run_until(lambda: r.drv.state == "ready")
    assert r.events == [("lost",), ("ready",)]
    assert exchange(r, [eth(64, 1)]) == [eth(64, 1)]


def test_rdbuf_error_resyncs():
    r = Rig()
    r.sync()
    soft = r.drv.stats["soft_resets"]
    r.chip.inject_rdbuf_error()
    r.step()
    assert r.events == [("reset",)]
    assert r.drv.stats["rdbuf_err"] == 1
    r.run_until(lambda: r.drv.state == "ready")
    assert r.drv.stats["soft_resets"] == soft + 1
    assert exchange(r, [eth(300, 2)]) == [eth(300, 2)]


def test_wrbuf_error_resyncs():
    r = Rig(irq=False)
    r.sync()
    r.chip.inject_wrbuf_error()
    r.step()
    assert r.events == [("reset",)]
    assert r.drv.stats["wrbuf_err"] == 1
    r.run_until(lambda: r.drv.state == "ready")
    assert exchange(r, [eth(300, 2)]) == [eth(300, 2)]


def test_badly_framed_write_raises_wrbuf_err_and_driver_recovers():
    r = Rig()
    r.sync()
    body = bytearray(qcafrm.encode(eth(100, 1)))
    body[-1] = 0x54                                     # bad EOF
    r.drv.write_reg(qca7000.REG_BFR_SIZE, len(body))
    r.chip.transfer(b"\x00\x00" + bytes(body))
    assert r.chip.stats["wrbuf_err"] == 1
    assert r.chip.irq == 1
    assert r.chip.write_space() == 3163                 # dropped, space unchanged
    r.step()
    assert r.events == [("reset",)]
    r.run_until(lambda: r.drv.state == "ready")
    assert r.modem.got == []


def test_write_longer_than_bfr_size_is_an_error():
    r = Rig()
    r.sync()
    body = qcafrm.encode(eth(100, 1))
    r.drv.write_reg(qca7000.REG_BFR_SIZE, len(body) - 1)
    r.chip.transfer(b"\x00\x00" + body)
    assert r.chip.stats["wrbuf_err"] == 1


def test_over_read_raises_rdbuf_err():
    r = Rig()
    r.sync()
    r.drv.write_reg(qca7000.REG_BFR_SIZE, 10)
    miso = r.chip.transfer(b"\x80\x00" + bytes(10))
    assert miso == bytes(12)
    assert r.chip.stats["rdbuf_err"] == 1


def after_avail_glitches(n):
    """A rig whose chip misreports the available bytes n times in a row while a frame waits."""
    r = Rig()
    r.sync()
    r.chip.inject_avail_glitch(n)
    r.modem.to_host.append(eth(80, 1))
    r.step()
    return r


def test_single_avail_glitch_is_retried():
    r = after_avail_glitches(1)
    assert r.rx == [eth(80, 1)]
    assert r.events == []
    assert r.drv.stats["glitch"] == 1


def test_persistent_avail_glitch_resyncs():
    r = after_avail_glitches(2)
    assert r.events == [("reset",)]
    r.run_until(lambda: r.drv.state == "ready")
    assert exchange(r, [eth(90, 2)]) == [eth(90, 2)]


def test_reset_request():
    r = Rig()
    r.sync()
    r.drv.reset()
    r.step()
    assert r.events == [("reset",)]
    assert r.drv.state == "reset"
    r.run_until(lambda: r.drv.state == "ready")
    assert r.events == [("reset",), ("ready",)]


def test_reset_timeout_retries():
    r = Rig(reset_timeout_ms=500)
    r.modem.stuck = True                 # the soft reset never completes
    r.step()
    assert r.drv.state == "reset"
    r.run(600)
    assert r.drv.stats["reset_timeouts"] == 1
    r.modem.stuck = False
    r.run_until(lambda: r.drv.state == "ready")


def test_absent_chip_stays_unknown_and_retries_slowly():
    r = Rig(retry_ms=1000)
    r.bus = Dead()
    r.run(3500)
    assert r.drv.state == "unknown"
    assert r.drv.stats["sig_bad"] == 4
    assert len(r.transfers) == 8                 # two signature reads per attempt


class Dead:
    def transfer(self, mosi):
        return b"\xff" * len(mosi)


class Short:
    def __init__(self, chip):
        self.chip = chip

    def transfer(self, mosi):
        return self.chip.transfer(mosi)[:-1]


def test_wrong_length_miso_never_raises():
    r = Rig()
    r.sync()
    r.bus = Short(r.chip)
    r.modem.to_host.append(eth(80, 1))
    r.run(2000)
    r.drv.send(eth(80, 1))
    assert r.drv.stats["bus_err"] > 0
    assert r.drv.state != "ready"


def test_bit_errors_never_raise_and_link_recovers():
    r = Rig(check_ms=100, retry_ms=100, reset_timeout_ms=1000)
    r.sync()
    r.chip.set_bit_errors(2e-4, seed=5)
    sent = 0
    for i in range(3000):
        if r.drv.send(eth(60 + (i * 37) % 1400, i)):
            sent += 1
        r.step()
    assert r.chip.stats["bit_flips"] > 50
    assert sent > 100 and len(r.rx) > 100
    for f in r.rx:
        assert 60 <= len(f) <= 1518
    r.chip.set_bit_errors(0)
    r.run_until(lambda: r.drv.state == "ready")
    r.run(200)
    r.events = []
    assert exchange(r, [eth(1518, 1), eth(60, 2)]) == [eth(1518, 1), eth(60, 2)]


# -- legacy mode ---------------------------------------------------------------

def test_legacy_mode_splits_command_and_data():
    r = Rig(legacy=True)
    r.sync()
    r.transfers = []
    assert r.drv.read_reg(qca7000.REG_SIGNATURE) == 0xAA55
    assert r.transfers == [b"\xda\x00", b"\x00\x00"]
    frames = [eth(n, n) for n in (60, 1518, 200)]
    r.transfers = []
    assert exchange(r, frames) == frames
    lengths = [len(t) for t in r.transfers]
    assert 1528 in lengths                  # framed 1518 written alone, no command
    assert max(lengths) == 1532             # read back: HW length + framed, no command
    assert b"\x00\x00" in r.transfers and b"\x80\x00" in r.transfers


def test_legacy_mode_faults_and_restart():
    r = Rig(legacy=True, irq=False)
    r.sync()
    r.chip.restart_modem()
    r.run(150)
    assert r.events == [("reset",), ("ready",)]
    r.events = []
    r.chip.inject_rdbuf_error()
    r.run_until(lambda: r.events[-1:] == [("ready",)])
    assert exchange(r, [eth(70, 1)]) == [eth(70, 1)]


# -- model registers -------------------------------------------------------------

def test_model_registers_and_write_to_clear():
    clock = Clock()
    m = EchoModem()
    chip = Qca7000Model(m, clock=clock)

    def rd(reg):
        b = chip.transfer(bytes((0xC0 | reg >> 8, 0, 0, 0)))
        return (b[2] << 8) | b[3]

    def wr(reg, v):
        chip.transfer(bytes((0x40 | reg >> 8, 0, v >> 8, v & 0xFF)))

    assert chip.irq == 1                          # power-on CPU_ON
    assert rd(0x1A00) == 0xFFFF                   # first read after boot
    assert rd(0x1A00) == 0xAA55
    assert rd(0x0200) == 3163
    assert rd(0x0C00) == 0x40
    wr(0x0C00, 0x40)
    assert rd(0x0C00) == 0 and chip.irq == 0
    wr(0x0D00, 0x47)
    assert rd(0x0D00) == 0x47
    for reg in (0x1200, 0x1300, 0x1B00):
        wr(reg, 0x1234)
        assert rd(reg) == 0x1234
    rd(0x0700)                                    # no such register
    assert rd(0x0C00) & qca7000_model.ADDR_ERR
    m.to_host.append(eth(60, 1))
    assert rd(0x0300) == 74 and rd(0x0C00) & 1
    wr(0x0C00, 1)                                 # data still there: PKT_AVLBL again
    assert rd(0x0C00) & 1


def test_model_soft_reset_boot_window():
    clock = Clock()
    m = EchoModem(boot_ms=100)
    chip = Qca7000Model(m, clock=clock)
    chip.transfer(b"\x44\x00\x00\x40")            # SPI_CONFIG |= SLAVE_RESET
    assert m.resets == 1 and chip.booting
    assert chip.transfer(b"\xda\x00\x00\x00") == bytes(4)
    assert chip.irq == 0
    clock.ms = 100
    m.poll(100)
    assert chip.irq == 1


# -- SimBoard and the MicroPython unix port ------------------------------------

class TinyBoardServer:
    """The S/I/H/P/Q side of the simulated-board protocol with one chip model."""

    def __init__(self):
        self.modem = EchoModem(boot_ms=50)
        self.chip = Qca7000Model(self.modem)
        self.hello = None
        self.pilot = []
        self.errors = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _recv(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with conn:
                while True:
                    try:
                        hdr = self._recv(conn, 3)
                    except EOFError:
                        return
                    payload = self._recv(conn, (hdr[1] << 8) | hdr[2])
                    self.modem.poll(int(time.monotonic() * 1000))
                    t = hdr[0:1]
                    if t == b"H":
                        self.hello = payload
                        reply = self.modem.mac
                    elif t == b"S":
                        miso = self.chip.transfer(payload)
                        reply = bytes((self.chip.irq,)) + miso
                    elif t == b"I":
                        reply = bytes((self.chip.irq,))
                    elif t == b"P":
                        self.pilot.append(payload)
                        reply = b""
                    elif t == b"Q":
                        reply = (9000).to_bytes(2, "big") + (-12000).to_bytes(2, "big", signed=True) \
                            + (50).to_bytes(2, "big") + b"\xff\xff\xff\xff"
                    else:
                        raise ValueError(hdr)
                    conn.sendall(t.lower() + len(reply).to_bytes(2, "big") + reply)
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))
        finally:
            self.sock.close()


def test_simboard_client_under_cpython():
    srv = TinyBoardServer()
    board = SimBoard("127.0.0.1", srv.port, "V", b"\x02\x00\x00\x00\x00\x07", name="ev1")
    assert board.modem_mac == srv.modem.mac
    assert srv.hello == b"V" + b"\x02\x00\x00\x00\x00\x07" + b"ev1"
    drv = Qca7000(board.spi, board.irq, reset_poll_ms=5)
    t0 = time.monotonic()
    now = lambda: int((time.monotonic() - t0) * 1000)  # noqa: E731
    while drv.state != "ready":
        assert now() < 3000, drv.stats
        drv.service(now())
    frames = [eth(n, n) for n in (60, 1518, 300)]
    for f in frames:
        assert drv.send(f)
    while len(drv.rx) < 3:
        assert now() < 5000
        drv.service(now())
    assert drv.rx == frames
    board.pilot.set_state("C")
    assert board.pilot.read() == (9000, -12000, 50, None)
    board.close()
    srv.thread.join(2)
    assert srv.pilot == [b"SC"]
    assert not srv.errors


MP_SCRIPT = """
import sys, time
from micro15118.sim.board import SimBoard
from micro15118.drivers.qca7000 import Qca7000

def eth(n, seed):
    b = bytearray(n)
    x = seed * 7919 + 1
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        b[i] = (x >> 16) & 0xFF
    return bytes(b)

board = SimBoard('127.0.0.1', int(sys.argv[1]), 'E', b'\\x02\\x00\\x00\\x00\\x00\\x01', 'mp')
print('MAC', ''.join('%02x' % c for c in board.modem_mac))
drv = Qca7000(board.spi, board.irq, reset_poll_ms=5)
t0 = time.ticks_ms()
def now():
    return time.ticks_diff(time.ticks_ms(), t0)
while drv.state != 'ready' and now() < 5000:
    drv.service(now())
print('STATE', drv.state, drv.events)
sizes = (60, 1518, 100, 1518, 1518, 61, 700)
frames = [eth(n, i) for i, n in enumerate(sizes)]
pending = list(frames)
got = []
# At most two frames in flight: the echoes of three 1518-byte frames would
# not fit the chip's read buffer if this process were slow to read them.
while (pending or len(got) < len(frames)) and now() < 10000:
    while pending and len(frames) - len(pending) - len(got) < 2 and drv.send(pending[0]):
        pending.pop(0)
    drv.service(now())
    got += drv.rx
    drv.rx = []
print('ECHO', len(got), sum(1 for a, b in zip(got, frames) if a == b))
board.pilot.set_duty(50)
print('PILOT', board.pilot.read())
board.close()
"""


def test_driver_under_micropython_through_simboard(tmp_path):
    assert os.path.exists(MICROPYTHON), "micropython unix port missing at " + MICROPYTHON
    srv = TinyBoardServer()
    script = tmp_path / "mp_qca.py"
    script.write_text(MP_SCRIPT)
    proc = subprocess.run([MICROPYTHON, str(script), str(srv.port)], env=firmware_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert lines["MAC"] == srv.modem.mac.hex(), out
    assert lines["STATE"].startswith("ready [('ready',)]"), out
    assert lines["ECHO"] == "7 7", out
    assert lines["PILOT"] == "(9000, -12000, 50, None)", out
    srv.thread.join(2)
    assert srv.pilot == [b"D\x00\x32"]
    assert not srv.errors
    assert srv.chip.stats["wrbuf_err"] == 0 and srv.chip.stats["rdbuf_err"] == 0


class Dribble:
    """A socket that moves at most a few bytes per call, like a congested stream."""

    def __init__(self, sock):
        self.sock = sock
        self.sends = 0

    def send(self, data):
        self.sends += 1
        return self.sock.send(bytes(data[:3]))

    def recv(self, n):
        return self.sock.recv(min(n, 2))

    def close(self):
        self.sock.close()


def test_simboard_handles_partial_sends_and_receives():
    srv = TinyBoardServer()
    board = SimBoard("127.0.0.1", srv.port, "E", b"\x02\x00\x00\x00\x00\x09")
    board._sock = Dribble(board._sock)
    assert board.irq.value() in (0, 1)
    miso = board.spi.transfer(b"\xda\x00\x00\x00")
    miso = board.spi.transfer(b"\xda\x00\x00\x00")
    assert miso == b"\x00\x00\xaa\x55"
    big = board.spi.transfer(b"\x80\x00" + bytes(1000))     # over-read: zeros
    assert len(big) == 1002
    assert board._sock.sends > 300
    board.close()
    srv.thread.join(2)
    assert not srv.errors


def test_simboard_rejects_unknown_roles_and_states():
    srv = TinyBoardServer()
    try:
        SimBoard("127.0.0.1", srv.port, "X", bytes(6))
    except ValueError:
        pass
    else:
        raise AssertionError("role X accepted")
    board = SimBoard("127.0.0.1", srv.port, "pev", bytes(6))
    assert srv.hello[:1] == b"V"
    try:
        board.pilot.set_state("A")
    except ValueError:
        pass
    else:
        raise AssertionError("state A accepted")
    board.close()


class FakePin:
    def __init__(self):
        self.log = []

    def value(self, v):
        self.log.append(v)


class FakeSpi:
    def __init__(self, pin, chip):
        self.pin = pin
        self.chip = chip

    def write_readinto(self, mosi, miso):
        assert self.pin.log[-1] == 0          # CS low during the transaction
        miso[:] = self.chip.transfer(mosi)


def test_spibus_device_frames_transactions_with_cs():
    from micro15118.drivers.spibus import SpiDevice

    clock = Clock()
    modem = EchoModem()
    chip = Qca7000Model(modem, clock=clock)
    pin = FakePin()
    dev = SpiDevice(FakeSpi(pin, chip), pin)
    assert pin.log == [1]
    drv = Qca7000(dev, irq=None)
    drv.service(0)
    assert drv.state == "reset"
    assert pin.log[1:] == [0, 1] * (len(pin.log) // 2)
    clock.ms = 200
    modem.poll(200)
    drv.service(200)
    assert drv.state == "ready"
    miso = dev.transfer(b"\xda\x00\x00\x00")
    assert bytes(miso) == b"\x00\x00\xaa\x55"
    # Larger than the preallocated buffer: grows once instead of failing.
    assert len(dev.transfer(bytes(2000))) == 2000


def test_with_the_modem_model_sw_version_and_device_reset():
    # The chip model in front of host/bench/modem.py (the real modem seam).
    from host.bench import modem as modem_mod

    clock = Clock()
    host_mac = b"\x02\x00\x00\x00\x00\x05"
    modem = modem_mod.Modem(b"\x00\xb0\x52\x00\x00\x99", role="evse", host_mac=host_mac)
    r = Rig()
    r.clock = clock
    r.modem = modem
    r.chip = r.bus = Qca7000Model(modem, clock=clock)
    r.sync()
    req = modem_mod.mme_header(modem_mod.LOCALCAST, host_mac, 0, modem_mod.VS_SW_VER_REQ) \
        + modem_mod.QCA_OUI
    assert r.drv.send(req)
    r.run_until(lambda: r.rx)
    assert modem_mod.parse_mme(r.rx[0]) == (0, modem_mod.VS_SW_VER_CNF)
    assert r.rx[0][:12] == host_mac + modem.mac
    # VS_RS_DEV: the modem confirms, then restarts; the driver follows it.
    r.rx = []
    rs = modem_mod.mme_header(modem_mod.LOCALCAST, host_mac, 0, modem_mod.VS_RS_DEV_REQ) \
        + modem_mod.QCA_OUI
    assert r.drv.send(rs)
    r.run(1000)
    assert [modem_mod.parse_mme(f) for f in r.rx] == [(0, modem_mod.VS_RS_DEV_CNF)]
    assert modem.resets == 2                      # start-up soft reset + VS_RS_DEV
    assert r.chip.stats["soft_resets"] == 1
    assert r.events in ([("reset",), ("ready",)], [("lost",), ("ready",)])
    assert r.drv.state == "ready"
