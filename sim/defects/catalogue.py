"""The defect catalogue as data: ``sim/defects/<family>.yaml``, one entry a defect.

Each entry is a realistic firmware or hardware bug and cites the manual section it
violates::

    derating_row_off:
      area: derating                      # the testcase area that should catch it
      cites: "000_xxx.txt §2.4 (derating table: 45 °C → 16 A)"
      bug: "the derating table is read one row late: 16 A only from 50 °C"
      bench: sim.yaml                     # optional: the bench that shows it (rigs/)
      profile:                            # optional: what the twin's copy of the
        derating.rows.1.current_a: 20     #   manual says instead (dotted paths)

A defect is a *profile* mutation (the firmware carries a wrong table or constant: the
twin gets a changed copy of its profile, the testcases keep the manual's) and/or a
*hook*: a named behaviour switch the twin's code checks (``"name" in twin.defects``)
for bugs of logic no table expresses (a margin taken of the wrong value, a message
replayed out of order). Either way the testcases see the charger only through the
drivers, as on a real bench.

The family of a catalogue file is the profile family it applies to: ``evnet`` →
profile evnet-7kw, ``compact`` → evnet-compact, ``evplus`` → evplus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evrig.rig.errors import RigFileError
from evrig.rig.typed_yaml import load_yaml

FOLDER = Path(__file__).resolve().parent
FAMILY_PROFILES = {"evnet": "evnet-7kw", "compact": "evnet-compact", "evplus": "evplus"}
# The benches a family's defects run on by default (rigs/): the first one, unless the
# entry names another (a three-phase bug needs the three-phase bench).
FAMILY_BENCHES = {"evnet": ("sim.yaml", "sim-t2.yaml"),
                  "compact": ("sim-compact-3ph.yaml", "sim-compact-1ph.yaml"),
                  "evplus": ("sim-evplus-7s.yaml", "sim-evplus-22c.yaml")}
KEYS = {"area", "cites", "bug", "bench", "profile", "hook"}


@dataclass(frozen=True)
class Defect:
    name: str
    family: str
    area: str
    cites: str
    bug: str
    bench: str
    profile: dict[str, Any] = field(default_factory=dict)
    hook: bool = False  # the twin's code checks the name (besides any profile change)

    @property
    def profile_name(self) -> str:
        return FAMILY_PROFILES[self.family]


def _entry(family: str, name: str, data: Any, file: str) -> Defect:
    if not isinstance(data, dict):
        raise RigFileError(file, name, "expected a mapping (area, cites, bug, ...)")
    unknown = set(data) - KEYS
    if unknown:
        raise RigFileError(file, name, f"unknown keys {sorted(unknown)}; known {sorted(KEYS)}")
    for key in ("area", "cites", "bug"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise RigFileError(file, f"{name}.{key}", "missing; every defect says it")
    profile = data.get("profile") or {}
    if not isinstance(profile, dict):
        raise RigFileError(file, f"{name}.profile", "expected a mapping of dotted paths")
    if not profile and not data.get("hook"):
        raise RigFileError(file, name, "neither profile nor hook: the defect changes nothing")
    bench = data.get("bench") or FAMILY_BENCHES[family][0]
    return Defect(name=name, family=family, area=data["area"], cites=data["cites"],
                  bug=" ".join(data["bug"].split()), bench=bench, profile=dict(profile),
                  hook=bool(data.get("hook")))


def load_catalogue() -> dict[str, Defect]:
    """Every defect of every family, by name (names are unique across families)."""
    out: dict[str, Defect] = {}
    for family in FAMILY_PROFILES:
        path = FOLDER / f"{family}.yaml"
        if not path.is_file():
            continue
        data = load_yaml(path) or {}
        if not isinstance(data, dict):
            raise RigFileError(str(path), "", "expected a mapping of defect names")
        for name, entry in data.items():
            if name in out:
                raise RigFileError(str(path), name, f"defined twice (also {out[name].family})")
            out[name] = _entry(family, str(name), entry, str(path))
    return out
