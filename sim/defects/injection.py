"""Defects injected into one virtual bench (rig file ``sim.defects``).

:func:`inject` resolves the names against the catalogue and the bench's profile and
gives the twin's copy of the profile with each defect's changes; the twin and its
parts check hooks with ``"name" in defects``. The rig's own profile (``spec``, what
the testcases expect) is never touched: the defect is in the charger, not the manual.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evrig.rig.errors import RigFileError
from evrig.rig.profile import Profile
from evrig.rig.typed_yaml import from_data, load_yaml
from evrig.sim.defects.catalogue import FAMILY_PROFILES, Defect, load_catalogue


@dataclasses.dataclass(frozen=True)
class Injected:
    """The defects active on one virtual bench (empty: a healthy twin)."""

    defects: tuple[Defect, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.defects)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __bool__(self) -> bool:
        return bool(self.defects)


NONE = Injected()


def family_of(profile: Profile) -> str | None:
    stem = Path(profile.file).stem if profile.file else ""
    return next((f for f, p in FAMILY_PROFILES.items() if p == stem), None)


def inject(names: Iterable[str], profile: Profile, *,
           rig_file: str = "") -> tuple[Injected, Profile]:
    """The defects ``names`` (rig file key ``sim.defects``) and the twin's profile with
    their changes; RigFileError naming the key for an unknown name or another family's."""
    names = list(names)
    if not names:
        return NONE, profile
    catalogue = load_catalogue()
    family = family_of(profile)
    chosen: list[Defect] = []
    for name in names:
        defect = catalogue.get(name)
        if defect is None:
            raise RigFileError(rig_file, "sim.defects", f"unknown defect {name!r}; known: "
                               f"{', '.join(sorted(catalogue))}")
        if defect.family != family:
            raise RigFileError(rig_file, "sim.defects", f"defect {name!r} is of the "
                               f"{defect.family} family; this bench's profile is {family}")
        chosen.append(defect)
    changes = {k: v for d in chosen for k, v in d.profile.items()}
    return Injected(tuple(chosen)), mutated(profile, changes) if changes else profile


def mutated(profile: Profile, changes: dict[str, Any]) -> Profile:
    """``profile`` re-read from its file with ``changes`` (dotted path → value; a
    number in the path indexes a list) applied; RigFileError for a path not there."""
    data = copy.deepcopy(load_yaml(profile.file))
    for path, value in changes.items():
        _set(data, path, value, profile.file)
    return dataclasses.replace(from_data(Profile, data, file=profile.file), file=profile.file)


def _set(data: Any, path: str, value: Any, file: str) -> None:
    parts = path.split(".")
    node = data
    for i, part in enumerate(parts):
        key: Any = int(part) if isinstance(node, list) and part.isdigit() else part
        try:
            present = node[key]
        except (KeyError, IndexError, TypeError):
            raise RigFileError(file, path, f"the defect's path has no {'.'.join(parts[:i + 1])!r} "
                               "in the profile") from None
        if i == len(parts) - 1:
            node[key] = value
        else:
            node = present
