"""Steps and measurements as a customer reads them: human titles from a table
(rig/tables/names/eol.yaml) and numbers rounded to what their limits can tell.

Rounding rule: a two-sided limit is shown to two significant figures of its width
(``[52.8333, 53.8333] %`` → ``[52.8, 53.8] %``; ``[980, 1020] Hz`` stays), the value
with one digit more; a one-sided limit as written (up to 4 significant figures), the
value to 3 significant figures of that limit. Trailing zeros go (``[-2, 2] %``).
Verdicts are always taken on the exact numbers (record.json keeps them); near a limit
the rounded value and limit can look equal, which is why the verdict is printed too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, ClassVar, Literal

from evrig.rig.typed_yaml import from_data, load_yaml

Format = Literal["number", "yes_no", "hex"]
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FIELD = re.compile(r"\{(\w+)(?:\|(upper|cap))?\}")
_UNIT_SUFFIXES = ("s", "v", "a", "pct", "hz")


@dataclass(frozen=True)
class NameEntry:
    """One row of the table: a name (or pattern) and its title."""

    name: str
    title: str
    format: Format = "number"

    def match(self, name: str) -> dict[str, str] | None:
        found = _regex(self.name).fullmatch(name)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class NamesTable:
    """rig/tables/names/eol.yaml."""

    _file: ClassVar[str] = "names/eol.yaml"
    steps: list[NameEntry] = field(default_factory=list)
    measurements: list[NameEntry] = field(default_factory=list)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(pattern)
    # split() alternates literal text and placeholder names
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)"
                              for i, p in enumerate(parts)))


@cache
def table() -> NamesTable:
    path = resources.files("evrig.rig.tables").joinpath(NamesTable._file)
    with resources.as_file(path) as file:
        return from_data(NamesTable, load_yaml(file), file=str(file))


def _fill(title: str, fields: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        value = fields.get(m.group(1), m.group(0))
        if m.group(2) == "upper":
            return value.upper()
        return value[:1].upper() + value[1:] if m.group(2) == "cap" else value

    return _FIELD.sub(one, title)


def _fallback(name: str) -> str:
    """A name nobody wrote a title for: readable words, the unit suffix dropped."""
    words = name.replace("[", " ").replace("]", "").split("_")
    if len(words) > 1 and words[-1].lower() in _UNIT_SUFFIXES:
        words = words[:-1]
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:]


def _lookup(entries: list[NameEntry], name: str) -> tuple[str, Format] | None:
    for entry in entries:
        fields = entry.match(name)
        if fields is not None:
            return _fill(entry.title, fields), entry.format
    return None


def step_title(name: str) -> str:
    found = _lookup(table().steps, name)
    return found[0] if found else _fallback(name)


def measurement_title(name: str) -> str:
    found = _lookup(table().measurements, name)
    return found[0] if found else _fallback(name)


def has_title(name: str, kind: Literal["step", "measurement"]) -> bool:
    return _lookup(table().steps if kind == "step" else table().measurements, name) is not None


def measurement_format(name: str) -> Format:
    found = _lookup(table().measurements, name)
    return found[1] if found else "number"


# -- numbers -----------------------------------------------------------------------------


def _plain(x: float, decimals: int) -> str:
    text = f"{x:.{max(0, decimals)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _sig(x: float, figures: int) -> int:
    """Decimals that show ``x`` to ``figures`` significant figures."""
    if x == 0 or not math.isfinite(x):
        return figures - 1
    return max(0, figures - 1 - math.floor(math.log10(abs(x))))


def limit_decimals(low: float | None, high: float | None) -> int:
    if low is not None and high is not None and high > low:
        return _sig(float(f"{high - low:.6g}"), 2)  # 53.83 - 52.83 is 0.9999999...
    one = [x for x in (low, high) if x is not None]
    return max((_own_decimals(x) for x in one), default=0)


def _own_decimals(x: float) -> int:
    """The decimals ``x`` was written with, up to 4 significant figures."""
    return len(f"{x:.4g}".partition(".")[2].split("e")[0]) if "e" not in f"{x:.4g}" else 4


def value_decimals(low: float | None, high: float | None, value: float) -> int:
    if low is not None and high is not None and high > low:
        return limit_decimals(low, high) + 1
    one = [abs(x) for x in (low, high) if x is not None and x != 0]
    if not one:
        return _sig(value, 4)
    # 0.02 s against <= 10 s: the limit's 3 figures would print 0; keep 2 of its own
    return min(6, max(_sig(one[0], 3), _sig(value, 2) if value else 0))


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def limits_text(name: str, low: float | None, high: float | None,
                unit: str | None) -> str:
    """The limits as the certificate prints them (see the module docstring)."""
    kind = measurement_format(name)
    if low is None and high is None:
        return "—"
    if kind == "yes_no" and low == high:
        return "yes" if low else "no"
    if kind == "hex":
        shown = [f"0x{int(x):X}" for x in (low, high) if x is not None]
        return f"= {shown[0]}" if low == high else \
            ("≥ " if high is None else "≤ " if low is None else "") + " … ".join(shown)
    d = limit_decimals(low, high)
    if low is not None and high is not None:
        if low == high:
            return f"= {_plain(low, d)}{_unit(unit)}"
        return f"[{_plain(low, d)}, {_plain(high, d)}]{_unit(unit)}"
    if low is not None:
        return f"≥ {_plain(low, d)}{_unit(unit)}"
    assert high is not None
    return f"≤ {_plain(high, d)}{_unit(unit)}"


def value_text(name: str, value: Any, low: float | None, high: float | None,
               unit: str | None) -> str:
    kind = measurement_format(name)
    if isinstance(value, bool) or kind == "yes_no" and isinstance(value, int | float):
        return "yes" if value else "no"
    if kind == "hex" and isinstance(value, int | float) and float(value).is_integer():
        return f"0x{int(value):X}"
    if isinstance(value, int):
        return f"{value}{_unit(unit)}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"{value}{_unit(unit)}"
        return f"{_plain(value, value_decimals(low, high, value))}{_unit(unit)}"
    return f"{value}{_unit(unit)}"
