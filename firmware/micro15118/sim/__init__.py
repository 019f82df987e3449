"""Simulation, kept out of every board image: the simulated board's client
(`board`: SPI, IRQ, pilot and power over the wire process's socket), the
pilot cable (`cable`), the charger's power-electronics model (`power`), the
battery (`battery`) and a battery whose charge lives on the simulated cable
(`pack`)."""
