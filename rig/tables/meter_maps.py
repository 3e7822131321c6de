"""Register maps of the fake CT clamp / MID meter, as data.

One YAML file per model (``rig/tables/meter/<model>.yaml``) lists every value the
meter serves: its name, its register number *as the manuals print it* (30001-based
input registers, 40001-based holding registers), unit and default. The emulator
(:mod:`drivers.meter.emulator`) and the charger-side Modbus master read the same
file, so both ends of the wire agree by construction.

Every value is an IEEE-754 float32 in two consecutive registers, big-endian, high
word first (the Eastron convention): 231.5 V is 0x4367 0x8000 at 30001/30002.

The "one-off": a manual's register 30001 is PDU address 0 on the wire. This module
does that subtraction once (:attr:`Register.address`); nothing else in the rig
computes an address. (pymodbus's ``ModbusDeviceContext`` adds another 1 on top —
the emulator does not use it, see :mod:`drivers.meter.emulator`.)
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

MODELS = ("ct", "sdm230", "sdm630")
INPUT_BASE = 30001  # register number of PDU address 0, function 0x04
HOLDING_BASE = 40001  # register number of PDU address 0, function 0x03
FUNCTION_OF_TABLE = {"input_registers": 4, "holding_registers": 3}
BASE_OF_FUNCTION = {4: INPUT_BASE, 3: HOLDING_BASE}
_PARITIES = ("N", "E", "O")


class MapError(ValueError):
    """A register map that does not exist or is malformed; the message names the file
    and the key."""


def float_to_words(value: float) -> tuple[int, int]:
    """``value`` as float32 in two 16-bit registers, high word first."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return hi, lo


def words_to_float(hi: int, lo: int) -> float:
    """The float32 in registers ``hi`` (first) and ``lo``."""
    return struct.unpack(">f", struct.pack(">HH", hi, lo))[0]


def register_to_address(register: int) -> tuple[int, int]:
    """A manual's register number → (function code, PDU address): 30001 → (4, 0)."""
    if INPUT_BASE <= register < INPUT_BASE + 10000:
        return 4, register - INPUT_BASE
    if HOLDING_BASE <= register < HOLDING_BASE + 10000:
        return 3, register - HOLDING_BASE
    raise ValueError(f"register {register} is neither an input (3xxxx) nor a holding "
                     "(4xxxx) register")


def address_to_register(function: int, address: int) -> int:
    """(function code, PDU address) → the manual's register number: (4, 0) → 30001."""
    return BASE_OF_FUNCTION[function] + address


@dataclass(frozen=True)
class Register:
    """One float32 value of the map: two registers from ``register`` on."""

    name: str
    register: int
    function: int  # 4 = input register, 3 = holding register
    unit: str | None
    default: float
    source: str = ""
    note: str = ""
    codes: dict[int, float] = field(default_factory=dict)  # e.g. baud → Eastron code

    @property
    def address(self) -> int:
        """PDU address of the high word (register − 30001 or − 40001)."""
        return self.register - BASE_OF_FUNCTION[self.function]


@dataclass(frozen=True)
class SerialSettings:
    baud: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    id: int = 1


@dataclass(frozen=True)
class MeterMap:
    """A whole map file, checked."""

    model: str
    description: str
    source: str
    serial: SerialSettings
    registers: dict[str, Register]  # input and holding, by name (names are unique)
    file: str = ""
    note: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.registers)

    def table(self, function: int) -> list[Register]:
        """The registers served by ``function`` (4 input, 3 holding), by address."""
        return sorted((r for r in self.registers.values() if r.function == function),
                      key=lambda r: r.address)

    def at(self, function: int, address: int) -> Register | None:
        """The value whose high word is at PDU ``address`` of ``function``."""
        for reg in self.registers.values():
            if reg.function == function and reg.address == address:
                return reg
        return None


def map_file(model: str) -> Path:
    """The built-in map file of ``model``."""
    return Path(str(resources.files("evrig.rig.tables") / "meter" / f"{model}.yaml"))


def load_map(model_or_file: str | Path) -> MeterMap:
    """A built-in model (``ct``, ``sdm230``, ``sdm630``) or a map file's path."""
    text = str(model_or_file)
    if text in MODELS:
        return _load_cached(str(map_file(text)))
    if not text.endswith((".yaml", ".yml")):
        raise MapError(f"unknown meter model {text!r}; known: {', '.join(MODELS)} "
                       "(or a register map file ending in .yaml)")
    return _load(str(Path(text)))  # a file someone is editing: never cached


@cache
def _load_cached(file: str) -> MeterMap:
    return _load(file)


def _load(file: str) -> MeterMap:
    try:
        with open(file, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise MapError(f"{file}: register map file not found") from None
    except OSError as exc:
        raise MapError(f"{file}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise MapError(f"{file}:{where} not valid YAML") from None
    return parse_map(data, file)


def parse_map(data: Any, file: str = "<map>") -> MeterMap:
    """Check a map's data; raise MapError naming the file and key on the first fault."""

    def fail(key: str, expected: str) -> MapError:
        return MapError(f"{file}: {key}: {expected}" if key else f"{file}: {expected}")

    if not isinstance(data, dict):
        raise fail("", "expected a mapping with model, serial, input_registers, "
                       "holding_registers")
    for key in ("model", "description", "source"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(key, "a non-empty text")
    known = {"model", "description", "source", "note", "serial", "input_registers",
             "holding_registers"}
    for key in data:
        if key not in known:
            raise fail(str(key), f"unknown key; expected one of {', '.join(sorted(known))}")
    serial = _parse_serial(data.get("serial"), fail)
    registers: dict[str, Register] = {}
    for table, function in FUNCTION_OF_TABLE.items():
        entries = data.get(table) or {}
        if not isinstance(entries, dict):
            raise fail(table, "a mapping of name: {register: ..., unit: ..., default: ...}")
        for name, entry in entries.items():
            reg = _parse_register(str(name), entry, function, f"{table}.{name}", fail)
            if reg.name in registers:
                raise fail(f"{table}.{name}", "name used twice (names are unique across "
                                              "input and holding registers)")
            registers[reg.name] = reg
    if not registers:
        raise fail("input_registers", "the map serves no value")
    _check_overlaps(registers, fail)
    note = data.get("note") or ""
    return MeterMap(model=data["model"], description=data["description"],
                    source=data["source"], serial=serial, registers=registers, file=file,
                    note=str(note))


def _parse_serial(data: Any, fail: Any) -> SerialSettings:
    if data is None:
        return SerialSettings()
    if not isinstance(data, dict):
        raise fail("serial", "a mapping {baud, bytesize, parity, stopbits, id}")
    checks = {
        "baud": (lambda v: isinstance(v, int) and v > 0, "a positive baud rate"),
        "bytesize": (lambda v: v in (7, 8), "7 or 8"),
        "parity": (lambda v: v in _PARITIES, "N, E or O"),
        "stopbits": (lambda v: v in (1, 2), "1 or 2"),
        "id": (lambda v: isinstance(v, int) and 1 <= v <= 247, "a Modbus id from 1 to 247"),
    }
    for key, value in data.items():
        if key not in checks:
            raise fail(f"serial.{key}", f"unknown key; expected one of {', '.join(checks)}")
        ok, expected = checks[key]
        if isinstance(value, bool) or not ok(value):
            raise fail(f"serial.{key}", f"{expected}, got {value!r}")
    return SerialSettings(**data)


def _parse_register(name: str, entry: Any, function: int, key: str, fail: Any) -> Register:
    if not name.isidentifier():
        raise fail(key, "a name of letters, digits and _ (it is a keyword of set_values)")
    if not isinstance(entry, dict):
        raise fail(key, "a mapping {register: ..., unit: ..., default: ...}")
    allowed = {"register", "unit", "default", "source", "note", "codes"}
    for k in entry:
        if k not in allowed:
            raise fail(f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
    register = entry.get("register")
    base = BASE_OF_FUNCTION[function]
    if isinstance(register, bool) or not isinstance(register, int) \
            or not base <= register <= base + 9998:
        raise fail(f"{key}.register", f"a register number from {base} to {base + 9998} "
                                      f"as the manual prints it, got {register!r}")
    unit = entry.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise fail(f"{key}.unit", f"a unit text or null, got {unit!r}")
    default = entry.get("default", 0.0)
    if isinstance(default, bool) or not isinstance(default, int | float) \
            or not math.isfinite(default):
        raise fail(f"{key}.default", f"a number, got {default!r}")
    codes = entry.get("codes") or {}
    if not isinstance(codes, dict) or not all(
            isinstance(k, int) and isinstance(v, int | float) for k, v in codes.items()):
        raise fail(f"{key}.codes", "a mapping of setting → served value, e.g. {9600: 2}")
    return Register(name=name, register=register, function=function, unit=unit,
                    default=float(default), source=str(entry.get("source") or ""),
                    note=str(entry.get("note") or ""),
                    codes={int(k): float(v) for k, v in codes.items()})


def _check_overlaps(registers: dict[str, Register], fail: Any) -> None:
    """Each value takes two registers: a value starting inside another is a typo."""
    taken: dict[tuple[int, int], str] = {}
    for reg in registers.values():
        table = "input_registers" if reg.function == 4 else "holding_registers"
        for word in (reg.address, reg.address + 1):
            other = taken.get((reg.function, word))
            if other is not None:
                raise fail(f"{table}.{reg.name}.register",
                           f"{reg.register} overlaps {other} (each float32 takes two "
                           "registers)")
            taken[(reg.function, word)] = reg.name
