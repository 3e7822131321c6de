"""``rig calibrate led``: teach the classifier what this rig's sensor sees.

The operator walk: for each colour of the profile's LED table the command names a
status that shows it (steady where the table has one, else blinking with a colour
already learned), waits for Enter, reads the sensor for a few seconds and keeps the
readings of that colour — all lit ones for a steady row, the lit phase of a blink
with the unlit ring, the phase farther from the known partner otherwise. The unlit
ring (``dark_grey``) comes first: it is the dark reading the others are measured
against. The result is written atomically to the calibration file the rig file names
(``instruments.led.calibration``) or to ``--out``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from statistics import fmean, median
from typing import Any

from evrig.drivers.led.classifier import chromaticity
from evrig.drivers.led.tcs34725 import RawReading
from evrig.rig.tables.led_calibration import OFF, Calibration, ColourRef

READ_S = 3.0  # spec seconds of readings per colour (three 1 s blinks)
Reader = Callable[[float], list[RawReading]]


def _choice(rows: list[Any], colour: str, known: set[str]
            ) -> tuple[str, bool, str | None] | None:
    """(status, online, partner) of a row showing ``colour``: steady if any, else
    blinking with a colour already learned."""
    steady: list[tuple[str, bool, str | None]] = []
    blink: list[tuple[str, bool, str | None]] = []
    for row in rows:
        for online in (True, False):
            a, b = row.pattern(online)
            if colour not in (a, b):
                continue
            partner = b if a == colour else a
            if partner == colour:
                steady.append((row.status, online, None))
            elif partner in known:
                blink.append((row.status, online, partner))
    if steady:
        return steady[0]
    return blink[0] if blink else None


def plan(led_spec: Any) -> list[tuple[str, str, bool, str | None]]:
    """(colour, status, online, partner) in the order to learn them; partner None =
    a steady row, else the other colour of the blink. The unlit ring comes first."""
    rows = [*led_spec.rows.values(), *([led_spec.powerup] if led_spec.powerup else [])]
    colours = sorted({c for row in rows for on in (True, False) for c in row.pattern(on)})
    steps: list[tuple[str, str, bool, str | None]] = []
    known: set[str] = set()
    todo = [OFF, *[c for c in colours if c != OFF]]
    while todo:
        progress = False
        for colour in list(todo):
            choice = _choice(rows, colour, known)
            if choice is None:
                continue
            steps.append((colour, *choice))
            known.add(colour)
            todo.remove(colour)
            progress = True
            if colour == OFF:
                break
        if not progress:
            raise ValueError(f"no row shows {', '.join(todo)} steady or blinking with a "
                             "colour that can be learned first")
    return steps


def _chroma(raw: RawReading, dark: tuple[float, float, float, float]
            ) -> tuple[float, float, float, float]:
    return chromaticity(raw.rates(), dark)


def learn(led_spec: Any, read: Reader, prompt: Callable[[str], object],
          seconds: float = READ_S) -> Calibration:
    """Walk the plan: prompt, read, keep that colour's readings."""
    dark: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    refs: dict[str, ColourRef] = {}
    for colour, status, online, partner in plan(led_spec):
        column = "online" if online else "offline"
        how = "steady" if partner is None else f"blinking with {partner}"
        prompt(f"Bring the charger to {status} ({column}): the ring shows {colour} {how}. "
               "Press Enter when it does.")
        readings = read(seconds)
        if colour == OFF:
            rates = [r.rates() for r in readings]
            dark = (median(x[0] for x in rates), median(x[1] for x in rates),
                    median(x[2] for x in rates), median(x[3] for x in rates))
            continue
        points = [_chroma(r, dark) for r in readings]
        lit = [p for p in points if p[0] > 0]
        if partner == OFF:
            top = max((p[0] for p in lit), default=0.0)
            keep = [p for p in lit if p[0] > 0.5 * top]
        elif partner is not None:
            ref = refs[partner].chromaticity
            far = max((math.dist(p[1:], ref) for p in lit), default=0.0)
            keep = [p for p in lit if math.dist(p[1:], ref) > 0.6 * far]
        else:
            keep = lit
        if not keep:
            raise ValueError(f"no readings of {colour}: is the sensor over the ring?")
        refs[colour] = ColourRef((fmean(p[1] for p in keep), fmean(p[2] for p in keep),
                                  fmean(p[3] for p in keep)), median(p[0] for p in keep))
    return Calibration(refs, dark)


# -- the CLI subcommand -------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """``led`` under ``rig calibrate`` (``sub``: its subparsers)."""
    led = sub.add_parser("led", help="walk the LED ring's colours and save a calibration",
                         description=__doc__.split("\n\n")[1] if __doc__ else None)
    led.add_argument("--rig", required=True, help="rig file (its instruments.led)")
    led.add_argument("--out", help="calibration file to write (default: the rig file's "
                                   "instruments.led.calibration)")
    led.add_argument("--seconds", type=float, default=READ_S, help="readings per colour")


def run_command(args: argparse.Namespace) -> int:
    from evrig.drivers.led import Tcs34725, open_bus
    from evrig.drivers.led.observer import INTEGRATION_MS, SAMPLE_INTERVAL_S
    from evrig.rig.clock import Clock
    from evrig.rig.config import load_rig
    from evrig.rig.errors import RigError
    from evrig.rig.profile import load_profile

    config = load_rig(args.rig)
    led = config.instruments.led
    if led is None:
        raise RigError(f"{args.rig}: instruments.led: this rig has no LED sensor")
    if led.bus == "sim":
        raise RigError(f"{args.rig}: instruments.led.bus is 'sim': the virtual bench ships "
                       "its calibration (rig/tables/led/virtual-bench.yaml)")
    out = args.out or (config.resolve(led.calibration) if led.calibration else None)
    if out is None:
        raise RigError(f"{args.rig}: instruments.led.calibration: name the file to write "
                       "(or pass --out)")
    clock = Clock(1.0)
    bus = open_bus(led.bus)
    try:
        sensor = Tcs34725(bus, led.address, sleep=clock.sleep)
        sensor.enable(INTEGRATION_MS)

        def read(seconds: float) -> list[RawReading]:
            end = clock.now() + seconds
            out_: list[RawReading] = []
            while clock.now() < end:
                out_.append(sensor.read_auto())
                clock.sleep(SAMPLE_INTERVAL_S)
            return out_

        calibration = learn(load_profile(config.profile).led, read, input, args.seconds)
    finally:
        bus.close()
    calibration.save(out)
    print(f"LED calibration written: {out} ({', '.join(calibration.colours)})")
    return 0
