"""LED observer: a TCS34725 colour sensor over the charger's LED ring (design §1, §3)."""

from __future__ import annotations

from typing import Any

from evrig.drivers.led.blink import LedObservation, Sample, detect
from evrig.drivers.led.classifier import Classifier
from evrig.drivers.led.observer import LedObserver, LedTimeout
from evrig.drivers.led.tcs34725 import LedSaturated, RawReading, Tcs34725, open_bus
from evrig.rig.tables.led_calibration import Calibration, ColourRef, load_calibration

__all__ = ["Calibration", "Classifier", "ColourRef", "LedObservation", "LedObserver",
           "LedSaturated", "LedTimeout", "RawReading", "Sample", "Tcs34725", "detect",
           "load_calibration", "open_led"]


def open_led(config: Any, clock: Any, profile: Any, sim_bus: Any = None) -> LedObserver | None:
    """The rig's LED observer from ``instruments.led`` (None when not configured).
    ``bus: sim`` uses the virtual bench's I2C bus; the calibration file is taken
    relative to the rig file, and the virtual bench has a default one."""
    led = config.instruments.led
    if led is None:
        return None
    if led.bus == "sim":
        if sim_bus is None:
            raise ValueError("instruments.led.bus is 'sim' but there is no virtual bench")
        bus, on_close = sim_bus, None
    else:
        bus = open_bus(led.bus)
        on_close = bus.close
    if led.calibration is not None:
        calibration: Calibration | None = load_calibration(config.resolve(led.calibration))
    elif led.bus == "sim":
        calibration = load_calibration(None)
    else:
        calibration = None  # sample() says: run `rig calibrate led`
    sensor = Tcs34725(bus, led.address, sleep=clock.sleep)
    return LedObserver(sensor, clock, profile.led, calibration, on_close=on_close)
