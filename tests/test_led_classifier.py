"""The LED observer on synthetic light: classifier, blink detector, saturation, and the
TCS34725 register protocol against a transcript.

The synthetic streams go through the whole chain a rig uses — a ring pattern as
light, the virtual TCS34725's registers (noise, ambient leak, saturation), the
driver's register reads with automatic gain, the classifier and the blink detector —
on a fake clock, so hundreds of windows take no wall time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from evrig.drivers.led import (
    Calibration,
    LedObserver,
    LedSaturated,
    Sample,
    Tcs34725,
    detect,
    load_calibration,
)
from evrig.drivers.led.classifier import Classifier
from evrig.drivers.led.tcs34725 import RawReading, max_count, saturation_level
from evrig.rig.profile import load_profile
from evrig.sim.charger.led_ring import COLOUR_RGB
from evrig.sim.i2c_bus import VirtualI2cBus
from evrig.sim.instruments.tcs34725 import AMBIENT_RGB, VirtualTcs34725

ADDRESS = 0x29


@cache
def led_spec() -> Any:
    return load_profile("evnet-7kw").led


class FakeClock:
    """Spec time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


def ring_light(pattern: tuple[str, str], intensity: float, period: float, duty: float,
               phase: float) -> Callable[[float], tuple[float, float, float]]:
    def light(t: float) -> tuple[float, float, float]:
        first, second = pattern
        name = first if ((t + phase) % period) / period < duty else second
        return tuple(x * intensity for x in COLOUR_RGB[name])  # type: ignore[return-value]

    return light


def observer_on(light: Callable[[float], Any], *, seed: int, ambient: float = 1.0,
                calibration: Calibration | None = None) -> tuple[LedObserver, FakeClock]:
    clock = FakeClock()
    bus = VirtualI2cBus()
    bus.attach(ADDRESS, VirtualTcs34725(light, clock, seed=seed,  # type: ignore[arg-type]
                                        ambient=tuple(a * ambient for a in AMBIENT_RGB)))
    sensor = Tcs34725(bus, ADDRESS, sleep=clock.sleep)
    obs = LedObserver(sensor, clock, led_spec(),  # type: ignore[arg-type]
                      calibration or load_calibration(None))
    return obs, clock


def patterns() -> list[tuple[str, str]]:
    led = led_spec()
    found = {row.pattern(on) for row in led.rows.values() for on in (True, False)}
    return sorted(found | {led.powerup.pattern(True)})


# -- the figures the observer must meet -------------------------------------------------
def test_windows_are_labelled_right_and_blinks_timed():
    """Over many windows — every pattern of the table, LightIntensity 20..100 %, ambient
    leak 0..3× the calibrated one, blink periods 0.7..1.5 s, duty 35..65 %, random
    phase, seeded noise — ≥ 99 % of the windows match their pattern, and the blink
    period of ≥ 99 % of the blinking windows is within 10 %."""
    rng = random.Random(7)
    all_patterns = patterns()
    windows = right = blinks = timed = 0
    misses: list[str] = []
    for i in range(600):
        pattern = all_patterns[i % len(all_patterns)]
        period = rng.uniform(0.7, 1.5)
        duty = rng.uniform(0.35, 0.65)
        light = ring_light(pattern, rng.uniform(0.2, 1.0), period, duty,
                           rng.uniform(0, period))
        obs, _ = observer_on(light, seed=i, ambient=rng.uniform(0.0, 3.0))
        seen = obs.observe(3.2 * period)
        windows += 1
        if seen.matches(pattern):
            right += 1
        else:
            misses.append(f"{pattern}: {seen}")
        if pattern[0] != pattern[1] and seen.blinking:
            blinks += 1
            if seen.period_s is not None and abs(seen.period_s - period) <= 0.1 * period:
                timed += 1
    assert right / windows >= 0.99, f"{right}/{windows} right; misses: {misses[:5]}"
    assert blinks and timed / blinks >= 0.99, f"{timed}/{blinks} periods within 10 %"


def test_blink_duty_is_measured():
    obs, _ = observer_on(ring_light(("green", "blue"), 0.8, 1.0, 0.3, 0.1), seed=3)
    seen = obs.observe(4.0)
    assert seen.matches(("green", "blue"))
    assert seen.duty_of("green") == pytest.approx(0.3, abs=0.06)
    assert seen.period_s == pytest.approx(1.0, rel=0.05)


def test_dimmer_ring_keeps_its_colours_and_is_darker():
    levels = {}
    for intensity in (1.0, 0.5, 0.25):
        obs, _ = observer_on(ring_light(("orange", "orange"), intensity, 1, 0.5, 0), seed=5)
        seen = obs.observe(2.0)
        assert seen.colors == ("orange",) and not seen.blinking
        levels[intensity] = seen.brightness()
    assert levels[0.5] / levels[1.0] == pytest.approx(0.5, abs=0.05)
    assert levels[0.25] / levels[1.0] == pytest.approx(0.25, abs=0.05)


def test_unlit_ring_is_dark_grey_even_with_ambient_light():
    obs, _ = observer_on(ring_light(("dark_grey", "dark_grey"), 1.0, 1, 0.5, 0), seed=2,
                         ambient=3.0)
    assert obs.observe(2.0).colors == ("dark_grey",)


# -- the blink detector ---------------------------------------------------------------
def _stream(colours: str, dt: float = 0.05) -> list[Sample]:
    names = {"b": "blue", "d": "dark_grey", "g": "green", "u": "unknown"}
    return [Sample(i * dt, names[c]) for i, c in enumerate(colours)]


def test_single_glitch_and_unknown_samples_are_ignored():
    seen = detect(_stream("bbbbbbbbbbdbbbbbbbbbbuubbbbbbb"))
    assert seen.colors == ("blue",) and not seen.blinking


def test_a_change_of_state_is_not_a_blink():
    seen = detect(_stream("b" * 30 + "g" * 30))
    assert seen.colors == ("blue", "green") and not seen.blinking
    assert not seen.matches(("blue", "green")) and not seen.matches(("blue", "blue"))


def test_period_from_transitions():
    seen = detect(_stream(("b" * 10 + "d" * 10) * 4))
    assert seen.blinking and seen.period_s == pytest.approx(1.0, rel=0.01)
    assert seen.duty_of("blue") == pytest.approx(0.5, abs=0.01)


# -- saturation -----------------------------------------------------------------------
def test_saturation_levels_follow_atime():
    assert max_count(10) == 10240 and max_count(64) == 65535
    assert saturation_level(10) == pytest.approx(7680)  # ripple: 75 % for < 64 cycles
    assert saturation_level(100) == 65535
    assert RawReading(7680, 1, 1, 1, 4.0, 10).saturated
    assert not RawReading(7000, 1, 1, 1, 4.0, 10).saturated


def test_bright_light_steps_the_gain_down():
    obs, _ = observer_on(lambda t: (1.5, 1.5, 1.5), seed=1)
    obs.sensor.enable(24.0, gain=60.0)
    obs._enabled = True
    t, raw = obs.read()
    assert not raw.saturated and raw.gain < 60.0


def test_saturated_at_lowest_gain_is_a_clear_error():
    obs, _ = observer_on(lambda t: (40.0, 40.0, 40.0), seed=1)
    with pytest.raises(LedSaturated, match="saturated at gain 1x"):
        obs.read()


def test_faint_lit_ring_raises_the_gain_dark_ring_does_not():
    faint, _ = observer_on(lambda t: (0.0, 0.012, 0.12), seed=1)
    for _ in range(3):
        faint.read()
    assert faint.sensor.gain > 4.0
    dark, _ = observer_on(lambda t: (0.0, 0.0, 0.0), seed=1)
    for _ in range(3):
        dark.read()
    assert dark.sensor.gain == 4.0


# -- the register protocol ------------------------------------------------------------
class TranscriptBus:
    """An SMBus stand-in that checks each call against the expected transcript."""

    def __init__(self, transcript: list[tuple[Any, ...]]) -> None:
        self.transcript = list(transcript)

    def _next(self, *call: Any) -> Any:
        assert self.transcript, f"unexpected {call}"
        expected = self.transcript.pop(0)
        assert call == expected[:len(call)], f"got {call}, expected {expected}"
        return expected[len(call)] if len(expected) > len(call) else None

    def read_byte_data(self, addr: int, reg: int) -> int:
        return self._next("read_byte", addr, reg)

    def write_byte_data(self, addr: int, reg: int, value: int) -> None:
        self._next("write_byte", addr, reg, value)

    def read_i2c_block_data(self, addr: int, reg: int, length: int) -> list[int]:
        return self._next("read_block", addr, reg, length)

    def close(self) -> None:
        pass


def test_enable_and_read_against_transcript():
    bus = TranscriptBus([
        ("read_byte", 0x29, 0x92, 0x44),  # ID
        ("write_byte", 0x29, 0x80, 0x01),  # ENABLE = PON
        ("write_byte", 0x29, 0x81, 0xF6),  # ATIME = 256 - 10 cycles (24 ms)
        ("write_byte", 0x29, 0x8F, 0x01),  # CONTROL AGAIN = 4x
        ("write_byte", 0x29, 0x80, 0x03),  # ENABLE = PON | AEN
        ("read_byte", 0x29, 0x93, 0x01),  # STATUS.AVALID
        ("read_block", 0x29, 0xB4, 8, [0x10, 0x27, 0xE8, 0x03, 0xD0, 0x07, 0xB8, 0x0B]),
    ])
    sensor = Tcs34725(bus, 0x29, sleep=lambda s: None)
    sensor.enable(24.0, gain=4.0)
    raw = sensor.read_raw()
    assert (raw.clear, raw.red, raw.green, raw.blue) == (10000, 1000, 2000, 3000)
    assert raw.integration_ms == pytest.approx(24.0) and raw.gain == 4.0
    assert raw.normalised() == pytest.approx((0.1, 0.2, 0.3))
    assert raw.rates()[0] == pytest.approx(10000 / 96)
    assert not bus.transcript


def test_wrong_chip_id_is_refused():
    bus = TranscriptBus([("read_byte", 0x29, 0x92, 0x60)])
    with pytest.raises(Exception, match="not a TCS3472x"):
        Tcs34725(bus, 0x29, sleep=lambda s: None).enable()


def test_virtual_sensor_registers():
    clock = FakeClock()
    bus = VirtualI2cBus()
    bus.attach(ADDRESS, VirtualTcs34725(lambda t: (0.0, 0.0, 1.0), clock))  # type: ignore[arg-type]
    assert bus.read_byte_data(ADDRESS, 0x80 | 0x12) == 0x44
    assert bus.read_byte_data(ADDRESS, 0x80 | 0x13) & 0x01 == 0  # no cycle yet
    bus.write_byte_data(ADDRESS, 0x80 | 0x01, 0xF6)
    bus.write_byte_data(ADDRESS, 0x80, 0x03)
    clock.sleep(0.03)
    assert bus.read_byte_data(ADDRESS, 0x80 | 0x13) & 0x01
    block = bus.read_i2c_block_data(ADDRESS, 0xA0 | 0x14, 8)
    words = [block[i] | block[i + 1] << 8 for i in range(0, 8, 2)]
    assert words[3] > words[1] and words[3] > words[2]  # blue light: B channel leads
    assert bus.read_word_data(ADDRESS, 0xA0 | 0x14) == words[0]  # same latched cycle
    repeated = bus.read_i2c_block_data(ADDRESS, 0x80 | 0x14, 2)  # repeated-byte protocol
    assert repeated[0] == repeated[1] == block[0]
    with pytest.raises(OSError) as err:
        bus.read_byte_data(0x30, 0x92)
    assert err.value.errno == 121


def test_classifier_uses_the_calibration():
    cal = load_calibration(None)
    classifier = Classifier(cal)
    assert classifier.label_rates((0.0, 0.0, 0.0, 0.0)) == "dark_grey"
    for name, ref in cal.colours.items():
        c = ref.brightness
        rates = (c + cal.dark[0], *(x * c + d for x, d in zip(ref.chromaticity, cal.dark[1:],
                                                                strict=True)))
        assert classifier.label_rates(rates) == name  # type: ignore[arg-type]


def test_calibration_round_trip(tmp_path):
    cal = load_calibration(None)
    path = tmp_path / "led.yaml"
    cal.save(path)
    again = load_calibration(path)
    assert again.colours.keys() == cal.colours.keys()
    assert again.dark == pytest.approx(cal.dark, abs=1e-3)


# -- rig calibrate led: the operator walk --------------------------------------------
def test_operator_walk_learns_a_calibration_that_classifies(tmp_path):
    """A scripted operator brings the ring to each prompted status; the walk's
    calibration then labels every pattern right."""
    from evrig.drivers.led.calibrate import learn

    spec = led_spec()
    shown: dict[str, Any] = {"light": ring_light(("dark_grey", "dark_grey"), 1, 1, 0.5, 0)}
    obs, clock = observer_on(lambda t: shown["light"](t), seed=9)

    def operator(message: str) -> None:
        status, column = message.split(" to ", 1)[1].split(" (", 1)
        row = spec.row(status)
        shown["light"] = ring_light(row.pattern(column.startswith("online")), 0.9, 1.0, 0.5, 0)

    def read(seconds: float) -> list[RawReading]:
        end = clock.now() + seconds
        out = []
        while clock.now() < end:
            out.append(obs.read()[1])
            clock.sleep(0.05)
        return out

    learned = learn(spec, read, operator)
    assert set(learned.colours) == {c for c in COLOUR_RGB if c != "dark_grey"}
    path = tmp_path / "led.yaml"
    learned.save(path)
    for pattern in patterns():
        check, _ = observer_on(ring_light(pattern, 0.6, 1.0, 0.5, 0.2), seed=4,
                               calibration=load_calibration(path))
        assert check.observe(3.2).matches(pattern), pattern


def test_calibrate_cli_refuses_the_virtual_bench(capsys):
    from evrig.rig.cli import main

    rig_file = str(Path(__file__).resolve().parents[1] / "rigs" / "sim.yaml")
    assert main(["calibrate", "led", "--rig", rig_file]) == 1
    assert "virtual bench ships its calibration" in capsys.readouterr().err
