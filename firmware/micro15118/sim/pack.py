"""A simulated vehicle's battery whose charge lives on the simulated cable.

`PackBattery` keeps the ratings and targets of `sim.battery.Battery` (what
the BMS tells the stack: limits, target and minimum SoC, departure) but
reads its charge from a pack elsewhere - on a simulated board the pack on
the wire process's power path (sim/board.SimPack) - instead of
integrating the power the charger reported.  So the SoC moves only by
energy that really flowed.
"""
from .battery import Battery


class PackBattery(Battery):
    def __init__(self, pack, **ratings):
        Battery.__init__(self, **ratings)
        self.pack = pack
        self.v_pack = self.v_empty
        self.current = 0.0

    def refresh(self):
        soc, self.v_pack, self.current, self.charged_wh, self.discharged_wh = self.pack.read()
        self.energy_wh = self.capacity_wh * soc / 100.0

    def soc(self):
        self.refresh()
        return Battery.soc(self)

    def voltage(self):
        self.refresh()
        return self.v_pack

    def update(self, now, power_w=None):
        # what the EV was told flows; the charge itself is read from the pack
        self.refresh()
        self.t = now
        if power_w is not None:
            self.power = float(power_w)

    def contactor(self, closed):
        self.pack.contactor(closed)
