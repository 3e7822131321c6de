"""Which rig file a command means: a path, or a bench shipped with the rig.

The rig ships its virtual benches (``evrig.rigs``: ``sim``, ``sim-t2``) and the lab
example inside the package, so ``rig run eol``, ``rig sim``, ``rig report`` and
``pytest`` work from any folder — a user's own test repo, not only this checkout.
A path that exists is always taken as it is; a name that is not a file here but names
a shipped bench (``sim``, ``sim-t2.yaml``, ``rigs/sim.yaml``) is the shipped one.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evrig.rig.config import RigConfig
    from evrig.rig.profile import Profile

DEFAULT = "rigs/sim.yaml"  # the checkout's (or a user repo's) own virtual bench


def shipped() -> dict[str, str]:
    """The rig files shipped with the package, by name (``sim``, ``sim-t2`` …)."""
    folder = resources.files("evrig.rigs")
    return {Path(entry.name).stem: str(entry) for entry in folder.iterdir()
            if entry.name.endswith(".yaml")}


def find_rig_file(chosen: str | None, base: Path | None = None) -> str:
    """``chosen``, else ``$RIG_FILE``, else ``rigs/sim.yaml`` under ``base`` (default:
    the current folder) when there is one, else the shipped virtual bench. A chosen
    file that does not exist but names a shipped bench is that bench; anything else
    is returned as given, for the loader to say ``no such file``."""
    base = base if base is not None else Path.cwd()
    chosen = chosen or os.environ.get("RIG_FILE") or None
    if chosen is None:
        local = base / DEFAULT
        return str(local) if local.exists() else shipped()["sim"]
    if Path(chosen).exists() or (base / chosen).exists():
        return chosen if Path(chosen).exists() else str(base / chosen)
    name = Path(chosen).name
    stem = name[:-len(".yaml")] if name.endswith(".yaml") else name
    return shipped().get(stem, chosen)


def profile_of(config: RigConfig) -> Profile:
    """The charger profile a rig file names: a shipped profile's name, or a profile
    file (``*.yaml``) found beside the rig file."""
    from evrig.rig.profile import load_profile

    name = config.profile
    if name.endswith((".yaml", ".yml")) and config.path:
        candidate = Path(config.path).parent / name
        if candidate.exists():
            name = str(candidate)
    return load_profile(name)
