"""A virtual TCS34725 colour sensor taped over the twin's LED ring.

Register map and command protocol as the datasheet (ams TCS3472, "Register Set"):
a command byte with bit 7 set selects the register (bits 4:0) and the protocol
(bits 6:5: 00 repeated byte, 01 auto-increment, 11 special function). While
``ENABLE`` has PON and AEN set the RGBC ADCs integrate cycle after cycle; a cycle
lasts 2.4 ms × (256 − ATIME) (+ the wait time when WEN). The data registers hold
the last completed cycle, ``STATUS.AVALID`` says one has completed.

Counts of a cycle: the ring's light averaged over the integration window, through
each channel's spectral response, plus the light that leaks in around the tape,
× gain × integration time, plus shot and read noise (seeded), clipped at the
ADC's full scale min(65535, 1024 × cycles) — a real sensor saturates there.
The sensor's time is the bench clock (spec seconds): the whole virtual bench,
blink timer included, runs ``sim.speed`` times faster than the wall.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable

from evrig.rig.clock import Clock

REG_ENABLE, REG_ATIME, REG_WTIME, REG_CONFIG, REG_CONTROL = 0x00, 0x01, 0x03, 0x0D, 0x0F
REG_ID, REG_STATUS, REG_CDATAL = 0x12, 0x13, 0x14
PON, AEN, WEN, AIEN = 0x01, 0x02, 0x08, 0x10
AVALID, AINT = 0x01, 0x10
CHIP_ID = 0x44  # TCS34721 / TCS34725
GAINS = (1.0, 4.0, 16.0, 60.0)  # CONTROL.AGAIN 0..3
CYCLE_MS = 2.4
WLONG = 0x02  # CONFIG: wait times × 12

# Counts per ms at gain 1 for a channel fully lit (emission 1.0 through response 1.0).
COUNTS_PER_MS = 40.0
# Spectral response of C, R, G, B to the LED's red, green and blue emitters: the
# clear channel sees all three, each colour channel leaks a little of the others.
RESPONSE: tuple[tuple[float, float, float], ...] = (
    (0.95, 1.00, 0.85),  # clear
    (0.92, 0.10, 0.04),  # red
    (0.08, 0.85, 0.18),  # green
    (0.03, 0.15, 0.80),  # blue
)
AMBIENT_RGB = (0.012, 0.010, 0.008)  # room light leaking under the tape
READ_NOISE = 2.0  # counts (rms)
SUBSAMPLES = 8  # points across the integration window


def counts(rgb: tuple[float, float, float], gain: float, integration_ms: float,
           rng: random.Random | None = None, ambient: tuple[float, float, float] = AMBIENT_RGB,
           ) -> tuple[int, int, int, int]:
    """(C, R, G, B) counts for emitted ``rgb`` (0..1 each) seen for ``integration_ms``,
    clipped at full scale. ``rng`` adds shot and read noise."""
    cycles = max(1, round(integration_ms / CYCLE_MS))
    full = min(65535, 1024 * cycles)
    light = tuple(e + a for e, a in zip(rgb, ambient, strict=True))
    out = []
    for row in RESPONSE:
        mean = sum(w * x for w, x in zip(row, light, strict=True)) * COUNTS_PER_MS \
            * gain * integration_ms
        if rng is not None:
            mean += rng.gauss(0.0, math.sqrt(max(mean, 0.0)) + READ_NOISE)
        out.append(min(full, max(0, round(mean))))
    return out[0], out[1], out[2], out[3]


class VirtualTcs34725:
    """The sensor's registers. ``light(t)`` is the emitted RGB at spec time ``t``."""

    def __init__(self, light: Callable[[float], tuple[float, float, float]], clock: Clock,
                 seed: int = 1, ambient: tuple[float, float, float] = AMBIENT_RGB) -> None:
        self._light = light
        self.ambient = ambient
        self._clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.regs = [0] * 0x20
        self.regs[REG_ATIME] = 0xFF
        self.regs[REG_WTIME] = 0xFF
        self.regs[REG_ID] = CHIP_ID
        self._started: float | None = None  # spec time PON+AEN were set
        self._cycle: int = -1  # index of the cycle whose counts are latched
        self._pointer = 0

    # -- timing ------------------------------------------------------------------------
    @property
    def integration_s(self) -> float:
        return (256 - self.regs[REG_ATIME]) * CYCLE_MS / 1000.0

    def _cycle_s(self) -> float:
        wait = 0.0
        if self.regs[REG_ENABLE] & WEN:
            long = 12 if self.regs[REG_CONFIG] & WLONG else 1
            wait = (256 - self.regs[REG_WTIME]) * CYCLE_MS / 1000.0 * long
        return self.integration_s + wait

    def _update(self) -> None:
        """Latch the counts of the last completed cycle into CDATA..BDATA."""
        if self._started is None:
            return
        now = self._clock.now()
        period = self._cycle_s()
        done = math.floor((now - self._started) / period) - 1  # last completed cycle
        if done < 0 or done == self._cycle:
            return
        self._cycle = done
        start = self._started + done * period
        window = self.integration_s
        points = [self._light(start + window * (i + 0.5) / SUBSAMPLES) for i in range(SUBSAMPLES)]
        rgb = tuple(sum(p[c] for p in points) / SUBSAMPLES for c in range(3))
        gain = GAINS[self.regs[REG_CONTROL] & 0x03]
        values = counts((rgb[0], rgb[1], rgb[2]), gain, window * 1000.0, self._random,
                        self.ambient)
        for i, value in enumerate(values):
            self.regs[REG_CDATAL + 2 * i] = value & 0xFF
            self.regs[REG_CDATAL + 2 * i + 1] = value >> 8
        self.regs[REG_STATUS] |= AVALID

    def _restart(self) -> None:
        on = self.regs[REG_ENABLE] & (PON | AEN) == PON | AEN
        self._started = self._clock.now() if on else None
        self._cycle = -1
        self.regs[REG_STATUS] &= ~AVALID

    # -- bus protocol ------------------------------------------------------------------
    def _select(self, command: int) -> tuple[int, bool] | None:
        """(register, auto-increment) of a command byte; None for special functions."""
        if not command & 0x80:
            raise OSError(5, "TCS34725: command bit (0x80) not set")
        kind = command >> 5 & 0x03
        if kind == 0x03:
            if command & 0x1F == 0x06:  # clear the RGBC interrupt
                self.regs[REG_STATUS] &= ~AINT
            return None
        return command & 0x1F, kind == 0x01

    def read(self, command: int, length: int) -> list[int]:
        with self._lock:
            selected = self._select(command)
            if selected is None:
                return [0] * length
            register, increment = selected
            self._update()
            out = []
            for i in range(length):
                out.append(self.regs[(register + (i if increment else 0)) & 0x1F])
            return out

    def write(self, command: int, data: list[int]) -> None:
        with self._lock:
            selected = self._select(command)
            if selected is None:
                return
            register, increment = selected
            for i, value in enumerate(data):
                reg = (register + (i if increment else 0)) & 0x1F
                if reg in (REG_ID, REG_STATUS) or reg >= REG_CDATAL:
                    continue  # read-only
                self.regs[reg] = value
                if reg in (REG_ENABLE, REG_ATIME, REG_CONTROL, REG_WTIME, REG_CONFIG):
                    self._restart()


def virtual_i2c(config: object, light: Callable[[float], tuple[float, float, float]],
                clock: Clock) -> object | None:
    """The bench's I2C bus with the sensor at ``instruments.led.address``, when the
    rig file says ``instruments.led.bus: sim``; else None (no sensor on this bench)."""
    from evrig.sim.i2c_bus import VirtualI2cBus

    led = getattr(getattr(config, "instruments", None), "led", None)
    if led is None or led.bus != "sim":
        return None
    bus = VirtualI2cBus()
    seed = getattr(getattr(config, "sim", None), "seed", 1)
    bus.attach(led.address, VirtualTcs34725(light, clock, seed=seed))
    return bus
