"""Vendor command sets as data: one YAML table per instrument model.

A table maps our verbs (``set_voltage``, ``output_on``, ``measure_current`` …) to the
model's SCPI command templates, and gives its ``*IDN?`` pattern, its phases and its
setpoint ranges. The driver (:mod:`drivers.scpi`) and the virtual instrument
(:mod:`sim.instruments`) load the same table, so the virtual bench speaks exactly
what the driver sends to a real instrument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

from evrig.rig.errors import RigFileError
from evrig.rig.typed_yaml import Check, between, from_data, load_yaml

KINDS = ("ac_source", "ac_load")
_PLACEHOLDER = re.compile(r"\{(value|phase)(?::[^}]*)?\}")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class ModelError(ValueError):
    """A model name nobody ships, or a malformed model table."""


@dataclass(frozen=True)
class ModelTable:
    """One instrument model's command table (``rig/tables/scpi/<model>.yaml``)."""

    model: str
    kind: str
    idn_pattern: str
    idn_answer: str
    commands: dict[str, str]
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    phases: int = 1
    source: str = ""

    @property
    def file(self) -> str:
        return f"rig/tables/scpi/{self.model}.yaml"

    def has(self, verb: str) -> bool:
        return verb in self.commands

    def command(self, verb: str, **params: Any) -> str:
        """The SCPI text for ``verb`` with its parameters filled in."""
        try:
            template = self.commands[verb]
        except KeyError:
            raise ModelError(f"{self.file}: model {self.model} has no command for "
                             f"{verb!r}") from None
        return template.format(**params)

    def matcher(self, verb: str) -> re.Pattern[str]:
        """A regex that recognises ``verb``'s command as sent (for the virtual one)."""
        template = self.commands[verb]
        parts: list[str] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(template):
            parts.append(re.escape(template[pos:m.start()]).replace(r"\ ", r"\s+"))
            parts.append(f"(?P<value>{_NUMBER})" if m.group(1) == "value"
                         else r"(?P<phase>\d+)")
            pos = m.end()
        parts.append(re.escape(template[pos:]).replace(r"\ ", r"\s+"))
        return re.compile(r":?" + "".join(parts), re.I)

    def check_range(self, quantity: str, value: float, unit: str) -> None:
        """Refuse a setpoint outside the model's range before anything is sent."""
        if quantity not in self.ranges:
            return
        low, high = self.ranges[quantity]
        if not low <= value <= high:
            raise ValueError(f"{self.model}: {quantity} {value:g} {unit} is outside the "
                             f"model's range {low:g}..{high:g} {unit} "
                             f"({self.file} ranges.{quantity})")


def available_models() -> list[str]:
    folder = resources.files("evrig.rig.tables") / "scpi"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _range(value: list[float]) -> bool:
    return len(value) == 2 and value[0] <= value[1]


@dataclass(frozen=True)
class _Idn:
    pattern: str
    answer: str


@dataclass(frozen=True)
class _ModelFile:
    """The file's schema (rig/typed_yaml.py: unknown or misspelt keys are refused)."""

    model: str
    kind: Literal["ac_source", "ac_load"]
    idn: _Idn
    commands: dict[str, str]
    description: str = ""
    source: str = ""
    note: str = ""
    phases: Annotated[int, between(1, 3, "1 or 3 (phases)")] = 1
    ranges: dict[str, Annotated[list[float], Check.where(_range, "[low, high]")]] = field(
        default_factory=dict)


@cache
def load_model(name: str) -> ModelTable:
    """The table of model ``name``; :class:`ModelError` names the known ones otherwise,
    or the file, key path and what is expected when the table is malformed."""
    path = resources.files("evrig.rig.tables") / "scpi" / f"{name}.yaml"
    if not path.is_file():
        raise ModelError(f"unknown instrument model {name!r}; known: "
                         f"{', '.join(available_models())}")
    table = read_model_file(str(path), f"rig/tables/scpi/{name}.yaml")
    if table.model != name:
        raise ModelError(f"{table.file}: model: {table.model!r} does not match the file name")
    return table


def read_model_file(path: str, file: str | None = None) -> ModelTable:
    """A model table from ``path`` (``file``: the name messages show); ModelError with
    the file, the key path and what is expected on any mistake."""
    file = file or path
    try:
        data = from_data(_ModelFile, load_yaml(path), file=file)
    except RigFileError as exc:
        raise ModelError(str(exc)) from None
    table = ModelTable(model=data.model, kind=data.kind, idn_pattern=data.idn.pattern,
                       idn_answer=data.idn.answer, commands=dict(data.commands),
                       ranges={k: (v[0], v[1]) for k, v in data.ranges.items()},
                       phases=data.phases, source=data.source)
    for verb in ("identify", "error_query", "clear_status"):
        if verb not in table.commands:
            raise ModelError(f"{file}: commands.{verb} is missing")
    return table
