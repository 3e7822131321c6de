"""From timestamped colour samples to what the ring does: steady, or blinking
between two colours with a period and a duty.

Samples a colour that holds less than ``min_share`` of the window are dropped
(mixed readings across a transition, a rare misread), and so is a single sample
between two of the same colour: neither is a state of the ring. A window that
holds two colours with only one change between them is a change of state, not a
blink — it matches no pattern of the table, and a waiting caller looks again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

from evrig.drivers.led.classifier import UNKNOWN
from evrig.rig.tables.led_calibration import OFF


@dataclass(frozen=True)
class Sample:
    t: float  # spec seconds (rig clock), middle of the integration
    colour: str
    level: float = 0.0  # clear counts/ms at gain 1 above the dark reading


@dataclass(frozen=True)
class LedObservation:
    colors: tuple[str, ...]  # distinct colours seen, in order of appearance
    blinking: bool
    period_s: float | None = None
    duty: float | None = None  # share of the period showing colors[0]
    samples: tuple[Sample, ...] = field(default=(), repr=False, compare=False)

    @property
    def steady(self) -> bool:
        return len(self.colors) == 1

    def matches(self, pattern: tuple[str, str]) -> bool:
        """Whether this is the table's pattern: two identical patches = that colour
        steady; two different = blinking between exactly those two."""
        first, second = pattern
        if first == second:
            return self.colors == (first,) and not self.blinking
        return self.blinking and set(self.colors) == {first, second}

    def brightness(self, colour: str | None = None) -> float:
        """Median light level of the samples of ``colour`` (default: the first lit
        colour), counts/ms at gain 1 above dark: compares LightIntensity settings."""
        lit = [c for c in self.colors if c != OFF]
        wanted = colour or (lit[0] if lit else None)
        levels = sorted(s.level for s in self.samples if s.colour == wanted)
        return levels[len(levels) // 2] if levels else 0.0

    def duty_of(self, colour: str) -> float | None:
        if self.duty is None or colour not in self.colors:
            return None
        return self.duty if colour == self.colors[0] else 1.0 - self.duty


def _runs(samples: Sequence[Sample]) -> list[list[Sample]]:
    runs: list[list[Sample]] = []
    for s in samples:
        if runs and runs[-1][0].colour == s.colour:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs


def _debounced(samples: Sequence[Sample]) -> list[list[Sample]]:
    """Runs, with one-sample runs between two runs of the same colour merged away."""
    runs = _runs(samples)
    keep = [s for i, run in enumerate(runs) for s in run
            if not (len(run) == 1 and 0 < i < len(runs) - 1
                    and runs[i - 1][0].colour == runs[i + 1][0].colour)]
    return _runs(keep)


def detect(samples: Sequence[Sample], min_share: float = 0.1) -> LedObservation:
    """The observation of one window of samples (in time order)."""
    known = [s for s in samples if s.colour != UNKNOWN]
    if not known:
        return LedObservation((), False, samples=tuple(samples))
    counts = Counter(s.colour for s in known)
    kept = {c for c, n in counts.items() if n >= min_share * len(known)}
    runs = _debounced([s for s in known if s.colour in kept])
    colours = tuple(dict.fromkeys(run[0].colour for run in runs))
    if len(colours) != 2 or len(runs) < 3:
        return LedObservation(colours, False, samples=tuple(samples))
    # A change between runs happens midway between the last and the first sample.
    edges = [(a[-1].t + b[0].t) / 2 for a, b in zip(runs, runs[1:], strict=False)]
    period = fmean(edges[i + 2] - edges[i] for i in range(len(edges) - 2)) \
        if len(edges) >= 3 else None
    duty = None
    if period:
        inner = runs[1:-1]  # whole runs: bounded by a change on both sides
        first = [edges[i + 1] - edges[i] for i, run in enumerate(inner)
                 if run[0].colour == colours[0]]
        second = [edges[i + 1] - edges[i] for i, run in enumerate(inner)
                  if run[0].colour != colours[0]]
        if first:
            duty = fmean(first) / period
        elif second:
            duty = 1.0 - fmean(second) / period
    return LedObservation(colours, True, period, duty, samples=tuple(samples))
