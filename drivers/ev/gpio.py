"""GPIO pin interfaces the EV emulator and fault boards drive.

Two backends with one shape: the Raspberry Pi's RPi.GPIO (rpi-lgpio on a Pi 5,
same API), imported only when a real bench asks for it because it raises off a
Pi; and the virtual bench's pin bank.
"""

from __future__ import annotations

from typing import Any, Protocol

from evrig.rig.errors import InstrumentError


class Gpio(Protocol):
    def setup_output(self, pin: int) -> None: ...
    def setup_input(self, pin: int) -> None: ...
    def write(self, pin: int, level: bool) -> None: ...
    def read(self, pin: int) -> bool: ...
    def close(self) -> None: ...


class SimGpio:
    """Pins of the virtual bench (:class:`sim.pins.PinBank`)."""

    def __init__(self, bank: Any) -> None:
        self._bank = bank

    def setup_output(self, pin: int) -> None:
        self._bank.setup(pin, "out")

    def setup_input(self, pin: int) -> None:
        self._bank.setup(pin, "in")

    def write(self, pin: int, level: bool) -> None:
        self._bank.write(pin, level)

    def read(self, pin: int) -> bool:
        return bool(self._bank.read(pin))

    def close(self) -> None:
        pass


class RpiGpio:
    """RPi.GPIO in BCM numbering."""

    def __init__(self) -> None:
        try:
            import RPi.GPIO as gpio  # noqa: N813  (imported here: it raises off a Pi)
        except (ImportError, RuntimeError) as exc:
            raise InstrumentError(
                "EV emulator", "RPi.GPIO",
                f"cannot use the Pi's GPIO ({exc}); run on the Raspberry Pi with the 'pi' "
                "extra installed: pip install -e '.[pi]' (or set backend: sim)",
            ) from exc
        self._gpio = gpio
        gpio.setmode(gpio.BCM)
        gpio.setwarnings(False)

    def setup_output(self, pin: int) -> None:
        self._gpio.setup(pin, self._gpio.OUT, initial=self._gpio.LOW)

    def setup_input(self, pin: int) -> None:
        self._gpio.setup(pin, self._gpio.IN)

    def write(self, pin: int, level: bool) -> None:
        self._gpio.output(pin, self._gpio.HIGH if level else self._gpio.LOW)

    def read(self, pin: int) -> bool:
        return bool(self._gpio.input(pin))

    def close(self) -> None:
        self._gpio.cleanup()
