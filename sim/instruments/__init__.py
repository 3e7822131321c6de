"""Virtual instruments of the virtual bench, served over the real instruments' transports."""

from evrig.sim.instruments.scpi_server import VirtualScpiInstrument

__all__ = ["VirtualScpiInstrument"]
