"""A programmable PP resistor: any cable coding, not only the four relay values.

On a real board it is an AD5272 digital rheostat (20 kΩ, 1024 steps, I2C) between
PP and PE, in parallel with the PP relays; "open" parks it at full scale (20 kΩ,
above every PP band: no cable). The virtual board's resistor is
:class:`sim.ev_board.VirtualPpResistor`.
"""

from __future__ import annotations

from typing import Any, Protocol

from evrig.rig.errors import InstrumentError

AD5272_FULL_OHMS = 20_000.0
AD5272_STEPS = 1024


class PpResistor(Protocol):
    def set(self, ohms: float | None) -> None: ...


class SimPpResistor:
    """The virtual bench's programmable resistor."""

    def __init__(self, resistor: Any) -> None:
        self._resistor = resistor

    def set(self, ohms: float | None) -> None:
        self._resistor.set(ohms)


class Ad5272PpResistor:
    """AD5272 over smbus2 (imported here: it exists only where the Pi extra is installed)."""

    def __init__(self, bus: int = 1, address: int = 0x2C) -> None:
        try:
            from smbus2 import SMBus
        except ImportError as exc:
            raise InstrumentError("PP rheostat", f"i2c-{bus}@0x{address:02X}",
                                  f"smbus2 missing ({exc}); on the Pi: pip install -e '.[pi]'"
                                  ) from exc
        try:
            self._bus = SMBus(bus)
            self._address = address
            self._write(7, 0x002)  # control register: allow RDAC writes
        except OSError as exc:
            raise InstrumentError("PP rheostat", f"i2c-{bus}@0x{address:02X}",
                                  f"no answer ({exc}); check the wiring and the ADDR pin") from exc

    def _write(self, command: int, data: int) -> None:
        frame = (command << 10) | (data & 0x3FF)
        self._bus.write_byte_data(self._address, frame >> 8, frame & 0xFF)

    def set(self, ohms: float | None) -> None:
        target = AD5272_FULL_OHMS if ohms is None else ohms
        code = round(target / AD5272_FULL_OHMS * AD5272_STEPS)
        self._write(1, max(0, min(AD5272_STEPS - 1, code)))
