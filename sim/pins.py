"""The virtual bench's GPIO pin bank: the wires between the Pi and the boards.

The EV emulator driver writes relay pins here exactly as it would through
RPi.GPIO; the twin's pilot circuit reads them. Listeners let the circuit react
at once instead of polling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class PinBank:
    def __init__(self) -> None:
        self._levels: dict[int, bool] = {}
        self._modes: dict[int, str] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[int, bool], None]] = []

    def setup(self, pin: int, mode: str) -> None:
        with self._lock:
            self._modes[pin] = mode
            self._levels.setdefault(pin, False)

    def write(self, pin: int, level: bool) -> None:
        with self._lock:
            if self._modes.get(pin) != "out":
                raise RuntimeError(f"GPIO{pin} is not set up as an output")
            changed = self._levels.get(pin) != level
            self._levels[pin] = level
            listeners = list(self._listeners) if changed else []
        for listener in listeners:
            listener(pin, level)

    def drive_input(self, pin: int, level: bool) -> None:
        """The board side drives an input pin (e.g. the CP comparator)."""
        with self._lock:
            self._levels[pin] = level

    def read(self, pin: int) -> bool:
        with self._lock:
            return self._levels.get(pin, False)

    def subscribe(self, listener: Callable[[int, bool], None]) -> None:
        with self._lock:
            self._listeners.append(listener)
