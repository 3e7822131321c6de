"""TCS34725 RGBC colour sensor over I2C (ams TCS3472 datasheet, "Register Set").

The driver only needs an object with the ``smbus2.SMBus`` call surface: on a Pi
that is ``smbus2.SMBus(1)`` (imported lazily, :func:`open_bus`), on the virtual
bench the bench's :class:`sim.i2c_bus.VirtualI2cBus`. Every register access sets
the command bit (0x80); the four 16-bit channels are read in one auto-increment
block (0xA0 | CDATAL) so C, R, G and B come from the same integration cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from evrig.rig.errors import InstrumentError

COMMAND, AUTO_INCREMENT = 0x80, 0x20
REG_ENABLE, REG_ATIME, REG_CONTROL, REG_ID, REG_STATUS, REG_CDATAL = (
    0x00, 0x01, 0x0F, 0x12, 0x13, 0x14)
PON, AEN = 0x01, 0x02
AVALID = 0x01
CHIP_IDS = {0x44: "TCS34721/TCS34725", 0x4D: "TCS34723/TCS34727"}
GAINS: dict[float, int] = {1.0: 0, 4.0: 1, 16.0: 2, 60.0: 3}  # AGAIN field of CONTROL
CYCLE_MS = 2.4  # one integration cycle; ATIME = 256 - cycles
WARMUP_S = 0.0024  # PON → AEN: the oscillator needs 2.4 ms


class SmBus(Protocol):
    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def close(self) -> None: ...


class LedSaturated(InstrumentError):
    """The sensor reads full scale even at the lowest gain: the reading is meaningless."""


def open_bus(bus: int | str) -> Any:
    """smbus2 on a Pi (``1`` or ``/dev/i2c-1``), imported only here."""
    try:
        from smbus2 import SMBus
    except ImportError as exc:  # not installed off the Pi
        raise InstrumentError("TCS34725", f"I2C bus {bus}",
                              "smbus2 is not installed (pip install '.[pi]')") from exc
    number = int(str(bus).rsplit("-", 1)[-1]) if isinstance(bus, str) else bus
    return SMBus(number)


def max_count(cycles: int) -> int:
    """Full scale of the ADCs for an integration of ``cycles`` (datasheet: 1024 per
    cycle, at most 65535)."""
    return min(65535, 1024 * cycles)


def saturation_level(cycles: int) -> float:
    """Counts from which a reading is saturated: full scale, or 75 % of it for short
    integrations (< 64 cycles), where the ADC's ripple saturates it first."""
    full = max_count(cycles)
    return full if cycles >= 64 else full * 0.75


@dataclass(frozen=True)
class RawReading:
    """One integration cycle: counts, and the settings they were taken with."""

    clear: int
    red: int
    green: int
    blue: int
    gain: float
    cycles: int

    @property
    def integration_ms(self) -> float:
        return self.cycles * CYCLE_MS

    @property
    def saturated(self) -> bool:
        level = saturation_level(self.cycles)
        return max(self.clear, self.red, self.green, self.blue) >= level

    def rates(self) -> tuple[float, float, float, float]:
        """(C, R, G, B) in counts per ms at gain 1: independent of the settings."""
        k = self.gain * self.integration_ms
        return self.clear / k, self.red / k, self.green / k, self.blue / k

    def normalised(self) -> tuple[float, float, float]:
        """Clear-normalised RGB (r/c, g/c, b/c); zeros when dark."""
        if self.clear <= 0:
            return 0.0, 0.0, 0.0
        return self.red / self.clear, self.green / self.clear, self.blue / self.clear


class Tcs34725:
    def __init__(self, bus: SmBus, address: int = 0x29,
                 sleep: Callable[[float], None] | None = None) -> None:
        import time

        self.bus = bus
        self.address = address
        self._sleep = sleep or time.sleep  # spec seconds on the rig clock
        self.cycles = 10
        self.gain = 4.0

    def _read(self, register: int) -> int:
        try:
            return self.bus.read_byte_data(self.address, COMMAND | register)
        except OSError as exc:
            raise self._error(exc) from None

    def _write(self, register: int, value: int) -> None:
        try:
            self.bus.write_byte_data(self.address, COMMAND | register, value & 0xFF)
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> InstrumentError:
        return InstrumentError("TCS34725", f"I2C address 0x{self.address:02x}",
                               f"no answer ({exc.strerror or exc}); is the sensor wired "
                               "and powered?")

    def chip_id(self) -> int:
        return self._read(REG_ID)

    def enable(self, integration_ms: float = 24.0, gain: float = 4.0) -> None:
        """Check the chip, power on, set integration and gain, start the ADCs."""
        chip = self.chip_id()
        if chip not in CHIP_IDS:
            raise InstrumentError("TCS34725", f"I2C address 0x{self.address:02x}",
                                  f"unexpected ID register 0x{chip:02x} (not a TCS3472x)")
        self._write(REG_ENABLE, PON)
        self._sleep(WARMUP_S)
        self.set_integration_time(integration_ms)
        self.set_gain(gain)
        self._write(REG_ENABLE, PON | AEN)

    def disable(self) -> None:
        self._write(REG_ENABLE, 0)

    def set_integration_time(self, ms: float) -> None:
        """ATIME = 256 − cycles, 1..256 cycles of 2.4 ms."""
        cycles = min(256, max(1, round(ms / CYCLE_MS)))
        self._write(REG_ATIME, 256 - cycles)
        self.cycles = cycles

    def set_gain(self, gain: float) -> None:
        if gain not in GAINS:
            raise ValueError(f"TCS34725 gain {gain}: one of {', '.join(map(str, GAINS))}")
        self._write(REG_CONTROL, GAINS[gain])
        self.gain = gain

    @property
    def integration_s(self) -> float:
        return self.cycles * CYCLE_MS / 1000.0

    def data_ready(self) -> bool:
        return bool(self._read(REG_STATUS) & AVALID)

    def read_raw(self) -> RawReading:
        """The latest complete cycle, waiting (up to three cycles) for one after a
        settings change."""
        for _ in range(30):
            if self.data_ready():
                break
            self._sleep(self.integration_s / 10)
        else:
            raise InstrumentError("TCS34725", f"I2C address 0x{self.address:02x}",
                                  "no RGBC data (AVALID never set): is AEN on?")
        try:
            data = self.bus.read_i2c_block_data(
                self.address, COMMAND | AUTO_INCREMENT | REG_CDATAL, 8)
        except OSError as exc:
            raise self._error(exc) from None
        c, r, g, b = (data[i] | data[i + 1] << 8 for i in range(0, 8, 2))
        return RawReading(c, r, g, b, self.gain, self.cycles)

    def step_gain(self, up: bool) -> bool:
        """One gain step up or down; False at the end of the range."""
        gains = sorted(GAINS)
        index = gains.index(self.gain) + (1 if up else -1)
        if not 0 <= index < len(gains):
            return False
        self.set_gain(gains[index])
        return True

    def read_auto(self, lit_rate: float = 0.0) -> RawReading:
        """A reading that is not saturated: on saturation step the gain down and read
        again; at gain 1 raise :class:`LedSaturated`. A faint reading whose clear rate
        (counts/ms at gain 1) is above ``lit_rate`` steps the gain up for the next one:
        below 1/12 of saturation, so the next gain (×4 at most) cannot saturate it. An
        unlit ring (rate at or below ``lit_rate``) never raises the gain, or a blink
        to dark would make the gain hunt."""
        while True:
            raw = self.read_raw()
            if not raw.saturated:
                break
            if not self.step_gain(up=False):
                raise LedSaturated(
                    "TCS34725", f"I2C address 0x{self.address:02x}",
                    f"saturated at gain 1x and {raw.integration_ms:.1f} ms (C={raw.clear}): "
                    "shorten the integration time or put a diffuser/ND film over the sensor")
        if raw.clear < saturation_level(self.cycles) / 12 and raw.rates()[0] > lit_rate:
            self.step_gain(up=True)
        return raw
