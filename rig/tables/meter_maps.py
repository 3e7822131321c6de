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
from typing import Annotated, Any, Literal

from evrig.rig.errors import RigFileError
from evrig.rig.typed_yaml import Check, between, from_data, load_yaml

MODELS = ("ct", "sdm230", "sdm630")
INPUT_BASE = 30001  # register number of PDU address 0, function 0x04
HOLDING_BASE = 40001  # register number of PDU address 0, function 0x03
FUNCTION_OF_TABLE = {"input_registers": 4, "holding_registers": 3}
BASE_OF_FUNCTION = {4: INPUT_BASE, 3: HOLDING_BASE}


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
    """The map's ``serial`` block, as the file gives it (checked by the loader)."""

    baud: Annotated[int, Check.where(lambda v: v > 0, "a positive baud rate")] = 9600
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    id: Annotated[int, between(1, 247, "a Modbus id from 1 to 247")] = 1


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
    if not Path(file).is_file():
        raise MapError(f"{file}: register map file not found")
    try:
        data = load_yaml(file)
    except RigFileError as exc:
        raise MapError(str(exc)) from None
    return parse_map(data, file)


_TEXT = Check.where(lambda v: bool(v.strip()), "a non-empty text")
_FINITE = Check.where(math.isfinite, "a finite number")


@dataclass(frozen=True)
class _RegisterEntry:
    register: int
    unit: str | None = None
    default: Annotated[float, _FINITE] = 0.0
    source: str = ""
    note: str = ""
    codes: dict[int, float] = field(default_factory=dict)  # setting → served value


@dataclass(frozen=True)
class _MapFile:
    """The file's schema (rig/typed_yaml.py: unknown or misspelt keys are refused)."""

    model: Annotated[str, _TEXT]
    description: Annotated[str, _TEXT]
    source: Annotated[str, _TEXT]
    note: str = ""
    serial: SerialSettings = field(default_factory=SerialSettings)
    input_registers: dict[str, _RegisterEntry] = field(default_factory=dict)
    holding_registers: dict[str, _RegisterEntry] = field(default_factory=dict)


def parse_map(data: Any, file: str = "<map>") -> MeterMap:
    """Check a map's data; raise MapError naming the file and key on the first fault."""

    def fail(key: str, expected: str) -> MapError:
        return MapError(str(RigFileError(file, key, expected)))

    try:
        parsed = from_data(_MapFile, data, file=file)
    except RigFileError as exc:
        raise MapError(str(exc)) from None
    registers: dict[str, Register] = {}
    for table, function in FUNCTION_OF_TABLE.items():
        for name, entry in getattr(parsed, table).items():
            key, base = f"{table}.{name}", BASE_OF_FUNCTION[function]
            if not name.isidentifier():
                raise fail(key, "a name of letters, digits and _ (it is a keyword of "
                                "set_values)")
            if not base <= entry.register <= base + 9998:
                raise fail(f"{key}.register", f"a register number from {base} to "
                                              f"{base + 9998} as the manual prints it, "
                                              f"got {entry.register}")
            if name in registers:
                raise fail(key, "name used twice (names are unique across input and "
                                "holding registers)")
            registers[name] = Register(name=name, register=entry.register, function=function,
                                       unit=entry.unit, default=entry.default,
                                       source=entry.source, note=entry.note,
                                       codes=dict(entry.codes))
    if not registers:
        raise fail("input_registers", "the map serves no value")
    _check_overlaps(registers, fail)
    return MeterMap(model=parsed.model, description=parsed.description,
                    source=parsed.source, serial=parsed.serial, registers=registers, file=file,
                    note=parsed.note)


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
