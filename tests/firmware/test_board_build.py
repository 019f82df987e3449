# The apps' hardware path: a board file (boards/*/board.json) turned into
# the QCA7000 driver on machine.SPI and the pilot drivers on machine.PWM/ADC,
# here on a fake `machine` (an MCU with no modem answering: MISO all zeros).
from micro15118 import boardsetup

BOARD = "boards/esp32s3-qca7000/board.json"


class FakeMachine:
    def __init__(self):
        self.spi_args = None
        self.transfers = 0
        self.pwm_duty = None
        fake = self

        class Pin:
            OUT = 1
            IN = 0

            def __init__(self, pin, mode=None, value=None):
                self.pin = pin
                self.v = value if value is not None else 0

            def value(self, v=None):
                if v is None:
                    return self.v
                self.v = v

        class SPI:
            def __init__(self, spi_id, **kw):
                fake.spi_args = (spi_id, kw)

            def write_readinto(self, mosi, miso):
                fake.transfers += 1
                for i in range(len(mosi)):
                    miso[i] = 0

        class PWM:
            def __init__(self, pin):
                self.pin = pin

            def freq(self, f):
                pass

            def duty_u16(self, d):
                fake.pwm_duty = d

        class ADC:
            def __init__(self, pin):
                self.pin = pin

            def atten(self, a):
                pass

            def read_u16(self):
                # +12 V on CP through the board's divider: state A
                return int((12000 + 15000) / 0.45777) & 0xFFFF

        self.Pin, self.SPI, self.PWM, self.ADC = Pin, SPI, PWM, ADC
        self.ADC.ATTN_11DB = 3


def test_charger_board_from_file():
    m = FakeMachine()
    runner, board = boardsetup.build({"role": "charger", "--board": BOARD,
                                  "--mac": "02:00:00:00:00:09"}, machine=m)
    assert board["name"] == "esp32s3-qca7000"
    spi_id, kw = m.spi_args
    assert spi_id == 1 and kw["baudrate"] == 8000000 and kw["polarity"] == 1 and kw["phase"] == 1
    for _ in range(50):
        runner.step()
    # The modem never answered: the driver keeps trying, nothing crashes,
    # and the charger keeps CP at +12 V (no vehicle seen).
    assert m.transfers > 0
    assert runner.modem.state != "ready"
    assert runner.link.state == "idle" and runner.link.duty == 1000
    assert m.pwm_duty == 65535


def test_vehicle_board_from_file():
    m = FakeMachine()
    runner, board = boardsetup.build({"role": "vehicle", "--board": BOARD}, machine=m)
    for _ in range(20):
        runner.step()
    assert runner.link.state == "unplugged"
    assert len(runner.link.host_mac) == 6


class PortWithoutClock:
    """The time module of a port with no wall clock (MicroPython's qemu port)."""
    sleep_ms = None


def test_a_port_without_wall_clock_has_no_clock_s():
    real = boardsetup.time
    boardsetup.time = PortWithoutClock()
    try:
        assert boardsetup._wall_clock() is None
    finally:
        boardsetup.time = real
    assert boardsetup._wall_clock()() > 1700000000     # this platform has one


def test_build_refuses_a_port_without_random_source_or_clock():
    for name in ("rng", "clock_s"):
        real = getattr(boardsetup, name)
        setattr(boardsetup, name, None)
        try:
            boardsetup.build({"role": "charger", "--board": BOARD}, FakeMachine())
        except ValueError as e:
            assert "random source" in str(e) if name == "rng" else "wall clock" in str(e), e
        else:
            raise AssertionError("built a board without " + name)
        finally:
            setattr(boardsetup, name, real)
