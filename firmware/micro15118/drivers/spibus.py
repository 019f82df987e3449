"""SPI bus for the QCA7000 driver: a machine.SPI plus a chip-select Pin.

`SpiDevice(spi, cs).transfer(mosi)` runs one transaction with CS low and
returns a memoryview of the bytes clocked in, valid until the next
transfer (the receive buffer is allocated once).  The QCA7000 wants SPI
mode 3 up to 16 MHz; configure `spi` accordingly (mode 0 is known to work).
"""


class SpiDevice:
    def __init__(self, spi, cs, buf_size=1600):
        self.spi = spi
        self.cs = cs
        self._rx = bytearray(buf_size)
        self._rxmv = memoryview(self._rx)
        cs.value(1)

    def transfer(self, mosi):
        n = len(mosi)
        if n > len(self._rx):
            self._rx = bytearray(n)
            self._rxmv = memoryview(self._rx)
        rx = self._rxmv[0:n]
        self.cs.value(0)
        try:
            self.spi.write_readinto(mosi, rx)
        finally:
            self.cs.value(1)
        return rx
