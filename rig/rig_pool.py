"""A pool of benches: several benches one regression run spreads its testcases over,
one pytest-xdist worker per bench (``pytest --rig-pool FILE``; fixtures/pool.py).

The pool file is a YAML list of rig files, paths relative to the pool file (or the
name of a bench shipped with the rig, ``sim``). A virtual bench may be listed more
than once under another station name, so one rig file gives several virtual benches::

    # rigs/pool-sim.yaml
    - sim.yaml
    - {rig: sim.yaml, station: sim-2}

Decisions (each refused with one line naming the pool, the bench and the fix):

- **The benches of a pool are interchangeable**: one profile, one variant, one kind
  (virtual or real) and the same instruments (which ones, their models, the fault
  wires, the charger's web client and console). Any testcase may land on any bench:
  pytest-xdist demands the same collection on every worker, and the collection
  depends on the profile (tables a testcase is parametrised over), the variant and
  the meter model (markers deselect); and a testcase that skips on one bench but runs
  on another would make the result depend on the scheduling. Benches of another
  variant are a pool of their own, in a run of their own — as ``make test`` runs one
  rig file per variant with the other connector kind deselected.
- **Never one instrument on two benches.** Every bench has its own station name (the
  name each result carries). All workers run on this PC, so whatever a real bench
  reaches from it is used by one bench only: the CSMS port it listens on, serial
  ports (meter, DLM bus, console), VISA resources, cameras, I2C devices, the GPIO
  pins of a Pi-driven board, the charger's web URL and its charge point id. The
  virtual bench's instruments (``sim``, any free port) are private to it.
- A station name in the pool file only for a virtual bench: a real bench's station
  is its name in unit records, written in its rig file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from evrig.rig.config import RigConfig, load_rig
from evrig.rig.config_rules import check_environment
from evrig.rig.errors import RigError, RigFileError, one_line
from evrig.rig.rig_files import shipped
from evrig.rig.typed_yaml import Check, from_data, load_yaml, shown


class PoolError(RigError):
    """A pool file, or one of its benches, is not fit for a run: one line."""


def _nonempty(what: str) -> Check:
    return Check.where(lambda v: bool(v.strip()), what)


@dataclass(frozen=True)
class PoolEntry:
    """One line of a pool file: a rig file, and for a virtual bench its station name."""

    rig: Annotated[str, _nonempty("a rig file, relative to the pool file")]
    station: Annotated[str, _nonempty("a station name")] | None = None


@dataclass(frozen=True)
class Bench:
    """A bench of the pool: its name (the station) and its checked rig file."""

    index: int  # its place in the pool file, from 0: xdist worker gw<index>
    config: RigConfig

    @property
    def name(self) -> str:
        return self.config.station

    @property
    def rig_file(self) -> str:
        return self.config.path

    def __str__(self) -> str:
        return f"bench {self.index + 1} ({self.name}, {self.rig_file})"


@dataclass(frozen=True)
class RigPool:
    path: str
    benches: tuple[Bench, ...]

    def check_environment(self) -> None:
        """What each bench needs from this PC besides its file (secrets, TLS files)."""
        for bench in self.benches:
            try:
                check_environment(bench.config)
            except RigError as exc:
                raise PoolError(self._about(bench, exc)) from None

    def _about(self, bench: Bench, exc: RigError) -> str:
        said = one_line(exc, bench.rig_file).removeprefix("rig: ")
        return f"rig pool {self.path}: bench {bench.index + 1} ({bench.name}): {said}"


def load_pool(path: str | Path) -> RigPool:
    """Read a pool file and every rig file it lists; check the pool's rules."""
    file = str(path)
    try:
        data = load_yaml(path)
    except RigFileError as exc:
        raise PoolError(f"rig pool {exc}") from None
    example = "a list of rig files, e.g. [sim.yaml, {rig: sim.yaml, station: sim-2}]"
    if not isinstance(data, list) or not data:
        got = "an empty file" if data is None else shown(data)
        raise PoolError(f"rig pool {file}: expected {example}; got {got}")
    benches = tuple(_bench(file, i, item) for i, item in enumerate(data))
    pool = RigPool(file, benches)
    _check_interchangeable(pool)
    _check_nothing_shared(pool)
    return pool


def _bench(file: str, index: int, item: object) -> Bench:
    where = f"rig pool {file}: entry {index + 1}"
    try:
        entry = from_data(PoolEntry, {"rig": item} if isinstance(item, str) else item,
                          file=file, path=f"entry {index + 1}")
    except RigFileError as exc:
        raise PoolError(f"rig pool {exc}") from None
    rig_file = _rig_file(Path(file).parent, entry.rig)
    try:
        config = load_rig(rig_file)
    except RigError as exc:
        raise PoolError(f"{where}: {one_line(exc, rig_file).removeprefix('rig: ')}") from None
    if entry.station is not None:
        if not config.virtual:
            raise PoolError(f"{where} ({entry.rig}): station: a real bench's station is "
                            "its name in unit records; write it in its rig file, not here")
        config = dataclasses.replace(config, station=entry.station)
    return Bench(index, config)


def _rig_file(folder: Path, name: str) -> str:
    """``name`` next to the pool file, else the shipped bench of that name."""
    local = folder / name
    stem = Path(name).name.removesuffix(".yaml")
    return str(local) if local.exists() or stem not in shipped() else shipped()[stem]


def _interface(config: RigConfig) -> Iterator[tuple[str, object]]:
    """What a testcase sees of a bench: equal on every bench of a pool."""
    profile = config.profile
    if profile.endswith((".yaml", ".yml")):
        profile = str(config.resolve(profile).resolve())
    yield "profile", profile
    yield "variant", config.variant
    yield "bench", config.bench
    inst = config.instruments
    names = [f.name for f in dataclasses.fields(inst)]
    yield "instruments", ", ".join(n for n in names if getattr(inst, n) is not None)
    for name in ("ac_source", "ac_load", "meter"):
        part = getattr(inst, name)
        yield f"instruments.{name}.model", part.model if part is not None else None
    yield "instruments.faults.pins", ", ".join(sorted(inst.faults.pins)) if inst.faults else ""
    yield "instruments.ev.pins.outlet_sense", inst.ev.pins.outlet_sense is not None
    yield "instruments.ev.pp_programmable", inst.ev.pp_programmable
    yield "charger.web", config.charger.web is not None
    yield "charger.console", config.charger.console is not None
    yield "csms.security_profile", config.csms.security_profile


def _check_interchangeable(pool: RigPool) -> None:
    first = pool.benches[0]
    seen = dict(_interface(first.config))
    for bench in pool.benches[1:]:
        for key, value in _interface(bench.config):
            if value != seen[key]:
                raise PoolError(
                    f"rig pool {pool.path}: {bench} differs from {first} in {key} "
                    f"({_said(value)}, not {_said(seen[key])}); the benches of a pool are "
                    "interchangeable (one profile, variant and set of instruments): give "
                    "the other benches a pool and a run of their own")


def _said(value: object) -> str:
    if isinstance(value, bool):
        return "present" if value else "absent"
    return "none" if value in (None, "") else str(value)


def _resources(config: RigConfig) -> list[tuple[str, str]]:
    """What a bench uses that no other bench may use, as (what, which)."""
    used = [("station", config.station)]
    if config.csms.port:
        used.append(("CSMS port (on this PC)", str(config.csms.port)))
    if not config.virtual:
        used.append(("charge point id", config.charger.charge_point_id))
    inst, charger = config.instruments, config.charger
    ports = [inst.meter.port if inst.meter else None, inst.dlm.port if inst.dlm else None,
             charger.console.port if charger.console else None]
    used += [("serial port", p) for p in ports if p is not None and p not in ("sim", "none")]
    for visa in (inst.ac_source, inst.ac_load):
        if visa is not None and visa.resource != "sim":
            used.append(("VISA resource",
                         re.sub(r"^tcpip\d*::", "tcpip::", visa.resource.lower())))
    if inst.camera is not None and inst.camera.address != "sim":
        used.append(("camera", str(inst.camera.address)))
    if inst.led is not None and inst.led.bus != "sim":
        bus = str(inst.led.bus).removeprefix("/dev/i2c-")
        used.append(("I2C device", f"bus {bus} address {inst.led.address:#04x}"))
    if charger.web is not None and charger.web.url != "sim":
        used.append(("charger web URL", charger.web.url.rstrip("/")))
    pins = [getattr(inst.ev.pins, f.name) for f in dataclasses.fields(inst.ev.pins)] \
        if inst.ev.backend == "rpi" else []
    if inst.faults is not None and inst.faults.backend == "rpi":
        pins += list(inst.faults.pins.values())
    used += [("GPIO pin (of this PC)", str(pin)) for pin in pins if pin is not None]
    # An asset tag (a certificate's) names one physical instrument.
    parts = [getattr(inst, f.name) for f in dataclasses.fields(inst)]
    used += [("instrument with asset tag", tag) for part in parts
             if (tag := getattr(part, "asset", None))]
    return list(dict.fromkeys(used))


def _check_nothing_shared(pool: RigPool) -> None:
    owner: dict[tuple[str, str], Bench] = {}
    for bench in pool.benches:
        for resource in _resources(bench.config):
            other = owner.setdefault(resource, bench)
            if other is not bench:
                what, which = resource
                fix = "two benches must never share an instrument"
                if what == "station":
                    fix = "each bench needs a name of its own: " + (
                        "{rig: FILE, station: NAME} in the pool file" if bench.config.virtual
                        else "station: in its rig file")
                raise PoolError(f"rig pool {pool.path}: {bench} and {other} both use "
                                f"{what} {which}; {fix}")
