"""The fault-injection board driver: fixed resistors, programmable sources, the
console fallback, and MissingWire for what the rig cannot do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evrig.drivers.faults import FaultBoard
from evrig.rig.config import FaultBoardConfig, load_rig
from evrig.rig.errors import InstrumentError, MissingWire, RigFileError

PINS = {"rcd_ac": 4, "rcd_ac_2": 9, "rcd_dc": 12, "pe_open": 16, "swap_ln": 18,
        "n_pe_voltage": 20, "mains_off": 10}


class FakeGpio:
    def __init__(self) -> None:
        self.levels: dict[int, bool] = {}

    def setup_output(self, pin: int) -> None:
        self.levels[pin] = False

    def setup_input(self, pin: int) -> None:
        pass

    def write(self, pin: int, level: bool) -> None:
        self.levels[pin] = level

    def read(self, pin: int) -> bool:
        return self.levels[pin]

    def close(self) -> None:
        pass

    def closed(self) -> set[str]:
        names = {pin: wire for wire, pin in PINS.items()}
        return {names[p] for p, level in self.levels.items() if level}


class FakeConsole:
    def __init__(self, known: tuple[str, ...] = ("lockjam", "tamper", "weld")) -> None:
        self.known = known
        self.sent: list[str] = []

    def command(self, line: str) -> str:
        if line.split()[0] not in self.known:
            raise InstrumentError("charger service console", "pty", f"'{line}' refused: "
                                  "unknown command")
        self.sent.append(line)
        return ""


def board(values: dict[str, float] | None = None, **kw: Any) -> tuple[FaultBoard, FakeGpio]:
    gpio = FakeGpio()
    config = FaultBoardConfig(backend="rpi", pins=dict(PINS), values=dict(values or {}))
    return FaultBoard(gpio, config, **kw), gpio


def test_no_board_every_wire_is_missing():
    faults = FaultBoard(None, None)
    for act in (lambda: faults.leakage(30), lambda: faults.leakage(6, dc=True),
                lambda: faults.pe_open(True), lambda: faults.swap_ln(True),
                lambda: faults.neutral_voltage(20), lambda: faults.lock_jam(True),
                lambda: faults.tamper(True), lambda: faults.relay_weld(True)):
        with pytest.raises(MissingWire, match=r"instruments\.faults\.pins\."):
            act()
    faults.release()  # nothing to release: no error


def test_the_mains_relay_is_not_the_fault_boards():
    faults, gpio = board({"rcd_ac": 25})
    assert not faults.has("mains_off") and 10 not in gpio.levels


def test_fixed_resistors_add_up():
    faults, gpio = board({"rcd_ac": 25, "rcd_ac_2": 10, "rcd_dc": 7, "n_pe_voltage": 15})
    assert faults.leakage_values() == [0, 10, 25, 35]
    faults.leakage(35)
    assert gpio.closed() == {"rcd_ac", "rcd_ac_2"}
    faults.leakage(25)
    assert gpio.closed() == {"rcd_ac"}
    faults.leakage(24.2)  # within 5 % of a resistor's nominal value
    assert gpio.closed() == {"rcd_ac"}
    faults.leakage(0)
    assert gpio.closed() == set()


def test_a_value_the_resistors_cannot_give_is_missing_with_the_choices():
    faults, _ = board({"rcd_ac": 25, "rcd_ac_2": 10, "rcd_dc": 7, "n_pe_voltage": 15})
    with pytest.raises(MissingWire, match=r"30 mA: .* give 0, 10, 25, 35 mA"):
        faults.leakage(30)
    with pytest.raises(MissingWire, match="15 V"):
        faults.neutral_voltage(50)
    faults.neutral_voltage(15)


def test_dc_leakage_without_its_relay():
    gpio = FakeGpio()
    faults = FaultBoard(gpio, FaultBoardConfig(pins={"rcd_ac": 4}, values={"rcd_ac": 30}))
    with pytest.raises(MissingWire, match=r"DC leakage .*instruments\.faults\.pins\.rcd_dc"):
        faults.leakage(6, dc=True)


def test_programmable_source_gives_any_value():
    programmed: list[tuple[str, float]] = []
    faults, gpio = board(programmable=lambda wire, v: programmed.append((wire, v)))
    assert faults.leakage_values() is None
    faults.leakage(29.5)
    faults.leakage(6.5, dc=True)
    faults.neutral_voltage(42)
    assert programmed == [("rcd_ac", 29.5), ("rcd_dc", 6.5), ("n_pe_voltage", 42)]
    assert gpio.closed() == {"rcd_ac", "rcd_dc", "n_pe_voltage"}


def test_relays_and_release():
    faults, gpio = board()
    faults.pe_open(True)
    faults.swap_ln(True)
    assert gpio.closed() == {"pe_open", "swap_ln"}
    faults.release()
    assert gpio.closed() == set()


def test_console_fallback_for_charger_internal_faults():
    console = FakeConsole()
    faults, _ = board(console=console)
    faults.lock_jam(True)
    faults.tamper(True)
    faults.relay_weld(True)
    faults.tamper(False)
    assert console.sent == ["lockjam on", "tamper on", "weld on", "tamper off"]
    console.sent.clear()
    faults.release()  # undoes what the console switched on, nothing else
    assert sorted(console.sent) == ["lockjam off", "weld off"]


def test_console_that_cannot_do_it_is_a_missing_wire():
    faults, _ = board(console=FakeConsole(known=("lockjam",)))
    with pytest.raises(MissingWire, match=r"tamper: no relay .* unknown command"):
        faults.tamper(True)


def test_a_wired_internal_fault_uses_its_relay_not_the_console():
    gpio, console = FakeGpio(), FakeConsole()
    faults = FaultBoard(gpio, FaultBoardConfig(pins={"relay_weld": 8}), console=console)
    faults.relay_weld(True)
    assert gpio.levels[8] is True and console.sent == []


# --- the rig file --------------------------------------------------------------------


def _rig(tmp_path: Path, faults_yaml: str) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text("profile: evnet-7kw\nbench: real\ninstruments:\n  ev: {backend: rpi}\n"
                    f"  faults:\n{faults_yaml}", encoding="utf-8")
    return path


def test_real_board_needs_the_value_of_each_fixed_relay(tmp_path: Path):
    path = _rig(tmp_path, "    backend: rpi\n    pins: {rcd_ac: 4}\n")
    with pytest.raises(RigFileError, match=r"instruments\.faults\.values\.rcd_ac: the mA"):
        load_rig(path)


def test_a_value_without_its_relay_is_refused(tmp_path: Path):
    path = _rig(tmp_path, "    backend: rpi\n    pins: {rcd_ac: 4}\n"
                          "    values: {rcd_ac: 25, rcd_dc: 7}\n")
    with pytest.raises(RigFileError, match=r"values\.rcd_dc: no relay for rcd_dc"):
        load_rig(path)


def test_values_are_range_checked(tmp_path: Path):
    path = _rig(tmp_path, "    backend: rpi\n    pins: {rcd_ac: 4}\n    values: {rcd_ac: 0}\n")
    with pytest.raises(RigFileError, match=r"values\.rcd_ac"):
        load_rig(path)


# --- on the virtual bench ----------------------------------------------------------------


def test_virtual_bench_faults_reach_the_circuit(rig, faults):
    circuit = rig.bench.circuit
    try:
        faults.leakage(31)
        faults.leakage(6.5, dc=True)
        faults.pe_open(True)
        faults.neutral_voltage(12)
        assert (circuit.faults.leakage_ac_ma, circuit.faults.leakage_dc_ma) == (31, 6.5)
        assert circuit.faults.pe_open and circuit.faults.n_pe_v == 12
        faults.relay_weld(True)
        assert circuit.live_closed and not circuit.neutral_closed  # one pole welded
        faults.neutral_weld(True)
        assert circuit.contactor_closed
    finally:
        rig.safe_state()
    assert circuit.faults.leakage_ac_ma == 0 and not circuit.faults.pe_open
    assert not circuit.faults.relay_welded and circuit.faults.n_pe_v == 0

