"""SCPI drivers: recorded command/response transcripts, error handling, unreachable
instruments, and the virtual instruments over real TCP through the real drivers."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evrig.drivers.scpi import AcLoad, AcSource, ModelError, available_models, load_model
from evrig.rig.errors import InstrumentError
from evrig.rig.loop import LoopThread
from evrig.sim.electrical import Circuit
from evrig.sim.instruments import VirtualScpiInstrument

NO_ERROR = '0,"No error"'
Step = tuple[str, str | None]
Bench = tuple[LoopThread, Circuit, list[VirtualScpiInstrument]]


class Transcript:
    """A pyvisa-like resource replaying a recorded session: each step is the exact text
    the driver must send and the instrument's answer (None for a command)."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = list(steps)
        self.closed = False

    def _next(self, message: str, is_query: bool) -> str | None:
        assert self.steps, f"driver sent {message!r} after the end of the transcript"
        expected, answer = self.steps.pop(0)
        assert message == expected, f"driver sent {message!r}, transcript expects {expected!r}"
        assert (answer is not None) == is_query, f"{message!r}: write/query mismatch"
        return answer

    def write(self, message: str) -> int:
        self._next(message, False)
        return len(message)

    def query(self, message: str) -> str:
        answer = self._next(message, True)
        assert answer is not None
        return answer

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        assert not self.steps, f"driver never sent {[s for s, _ in self.steps]}"


def ok(command: str) -> list[Step]:
    return [(command, None), ("SYST:ERR?", NO_ERROR)]


def opening(idn: str, *setup: str) -> list[Step]:
    steps: list[Step] = [("*IDN?", idn), *ok("*CLS")]
    for command in setup:
        steps += ok(command)
    return steps


RESOURCE = "TCPIP0::10.0.0.20::2101::SOCKET"
IDN = {
    "chroma-61500": "Chroma ATE,61512,123456,1.00,1.01,1.02",
    "chroma-61600": "Chroma ATE,61604,123456,1.00,1.01,1.02",
    "keysight-ac6800": "Keysight Technologies,AC6802B,MY12345678,A.01.01.0000",
    "chroma-63800": "Chroma,63804,123456,1.00",
    "itech-it8615": "ITECH Ltd.,IT8615,800001234567890001,1.00-1.00",
}


def source(model: str, steps: list[Step]) -> tuple[AcSource, Transcript]:
    link = Transcript(opening(IDN[model]) + steps)
    return AcSource(load_model(model), RESOURCE, 1.0, link=link), link


def load(model: str, mode: str, steps: list[Step]) -> tuple[AcLoad, Transcript]:
    link = Transcript(opening(IDN[model], mode) + steps)  # constant current on connect
    return AcLoad(load_model(model), RESOURCE, 1.0, link=link), link


# -- model tables ------------------------------------------------------------------------


def test_every_model_table_loads_cites_its_manual_and_parses_its_own_commands() -> None:
    assert set(available_models()) >= set(IDN)
    for name in available_models():
        table = load_model(name)
        assert table.source, f"{name}: no source: (manual) given"
        assert re.search(table.idn_pattern, table.idn_answer), name
        for verb in table.commands:
            text = table.command(verb, value=12.5, phase=2)
            assert table.matcher(verb).fullmatch(text), (name, verb, text)


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ModelError, match="unknown instrument model 'chroma-9999'.*chroma-61500"):
        load_model("chroma-9999")


# -- drivers against transcripts ---------------------------------------------------------


def test_chroma_61600_source_transcript() -> None:
    src, link = source("chroma-61600", [
        *ok("VOLT:AC 230"), *ok("FREQ 50"), *ok("OUTP ON"),
        ("MEAS:VOLT:ACDC?", "229.87"), ("MEAS:CURR:AC?", "16.02"), ("MEAS:POW:AC?", "3682.5"),
        ("MEAS:POW:AC:PFAC?", "0.999"), ("MEAS:FREQ?", "50.00"),
        ("OUTP?", "1"), *ok("OUTP OFF"),
    ])
    assert src.identity.startswith("Chroma ATE,61604")
    src.set_voltage(230)
    src.set_frequency(50)
    src.output(True)
    reading = src.measure()
    assert (reading.voltage, reading.current, reading.power) == (229.87, 16.02, 3682.5)
    assert (reading.power_factor, reading.frequency, reading.phase_voltages) == \
        (0.999, 50.0, (229.87,))
    assert src.output_state() is True
    src.safe_state()
    link.assert_done()


def test_chroma_61500_three_phase_transcript() -> None:
    src, link = source("chroma-61500", [
        *ok("INST:COUP ALL"), *ok("VOLT:AC 230"),
        *ok("INST:COUP NONE"), *ok("INST:NSEL 2"), *ok("VOLT:AC 207.5"),
        *ok("INST:NSEL 3"), ("MEAS:VOLT:ACDC?", "230.1"), ("MEAS:CURR:AC?", "0.0"),
        ("MEAS:POW:AC?", "0.0"),
        *ok("INST:NSEL 2"), ("MEAS:VOLT:ACDC?", "207.4"), ("MEAS:CURR:AC?", "0.0"),
        ("MEAS:POW:AC?", "0.0"),
        *ok("INST:NSEL 1"), ("MEAS:VOLT:ACDC?", "230.0"), ("MEAS:CURR:AC?", "0.04"),
        ("MEAS:POW:AC?", "8.3"), ("MEAS:POW:AC:PFAC?", "1.0"), ("MEAS:FREQ?", "50"),
    ])
    src.set_voltage(230)
    src.set_voltage(207.5, phase=2)
    reading = src.measure()
    assert reading.phase_voltages == (230.0, 207.4, 230.1)
    assert reading.phase_currents == (0.04, 0.0, 0.0) and reading.voltage == 230.0
    link.assert_done()
    with pytest.raises(ValueError, match="phase 4 does not exist"):
        src.set_voltage(230, phase=4)


def test_three_phase_load_sets_and_reads_each_phase() -> None:
    """IT8600 three-phase frame: one setpoint for all phases, or one phase alone (a
    fault on L2 only); readings per phase, L1 first."""
    link = Transcript(opening("ITECH Ltd.,IT8627,800001234567890002,1.00-1.00", "FUNC CURR") + [
        *ok("INST:COUP ALL"), *ok("CURR 16"),
        *ok("INST:COUP NONE"), *ok("INST:NSEL 2"), *ok("CURR 18"),
        *ok("INST:NSEL 3"), ("MEAS:VOLT?", "229.9"), ("MEAS:CURR?", "15.9"),
        ("MEAS:POW?", "3655"),
        *ok("INST:NSEL 2"), ("MEAS:VOLT?", "230.1"), ("MEAS:CURR?", "17.9"),
        ("MEAS:POW?", "4119"),
        *ok("INST:NSEL 1"), ("MEAS:VOLT?", "230.0"), ("MEAS:CURR?", "16.0"),
        ("MEAS:POW?", "3680"), ("MEAS:PFAC?", "1.0"), ("MEAS:FREQ?", "50"),
    ])
    ac_load = AcLoad(load_model("itech-it8600-3ph"), RESOURCE, 1.0, link=link)
    ac_load.set_current(16)
    ac_load.set_current(18, phase=2)
    reading = ac_load.measure()
    assert reading.phase_currents == (16.0, 17.9, 15.9) and reading.current == 16.0
    assert reading.phase_voltages == (230.0, 230.1, 229.9)
    assert reading.power == 3680 + 4119 + 3655  # all phases
    link.assert_done()
    with pytest.raises(ValueError, match="phase 4 does not exist"):
        ac_load.set_current(6, phase=4)


def test_keysight_ac6800_source_transcript() -> None:
    src, link = source("keysight-ac6800", [*ok("VOLT 253"), *ok("FREQ 60"), *ok("OUTP OFF")])
    src.set_voltage(253)
    src.set_frequency(60)
    src.output(False)
    link.assert_done()


@pytest.mark.parametrize(("model", "mode", "on", "off", "pf"), [
    ("chroma-63800", "MODE CURR", "LOAD ON", "LOAD OFF", "MEAS:POW:PFAC?"),
    ("itech-it8615", "FUNC CURR", "INP ON", "INP OFF", "MEAS:PFAC?"),
])
def test_load_transcripts(model: str, mode: str, on: str, off: str, pf: str) -> None:
    ac_load, link = load(model, mode, [
        *ok("CURR 16"), *ok(on),
        ("MEAS:VOLT?", "230.2"), ("MEAS:CURR?", "15.98"), ("MEAS:POW?", "3678.6"),
        (pf, "0.998"), ("MEAS:FREQ?", "50.0"),
        *ok(off), *ok("CURR 0"),
    ])
    ac_load.set_current(16)
    ac_load.enable(True)
    reading = ac_load.measure()
    assert (reading.voltage, reading.current, reading.power_factor) == (230.2, 15.98, 0.998)
    ac_load.safe_state()
    link.assert_done()


# -- errors ------------------------------------------------------------------------------


def test_error_queue_is_read_after_every_write_and_reported() -> None:
    src, link = source("chroma-61600", [
        ("FREQ 50", None),
        ("SYST:ERR?", '-222,"Data out of range"'),
        ("SYST:ERR?", '-221,"Settings conflict"'),
        ("SYST:ERR?", NO_ERROR),
    ])
    with pytest.raises(InstrumentError) as info:
        src.set_frequency(50)
    message = str(info.value)
    assert message.startswith(f"AC source chroma-61600 at {RESOURCE}: 'FREQ 50' was refused")
    assert '-222,"Data out of range"; -221,"Settings conflict"' in message
    link.assert_done()


def test_idn_mismatch_names_instrument_resource_and_answer() -> None:
    link = Transcript([("*IDN?", "Chroma,63804,123456,1.00")])
    with pytest.raises(InstrumentError) as info:
        AcSource(load_model("chroma-61500"), RESOURCE, 1.0, link=link)
    message = str(info.value)
    assert f"AC source chroma-61500 at {RESOURCE}" in message
    assert "is not a chroma-61500: *IDN? answered 'Chroma,63804,123456,1.00'" in message
    assert link.closed


def test_setpoints_are_range_checked_before_sending() -> None:
    src, link = source("chroma-61600", [])
    with pytest.raises(ValueError, match=r"voltage 400 V is outside the model's range 0\.\.300 V"):
        src.set_voltage(400)
    with pytest.raises(ValueError, match=r"frequency 5 Hz .* 15\.\.1000 Hz"):
        src.set_frequency(5)
    ac_load, _ = load("itech-it8615", "FUNC CURR", [])
    with pytest.raises(ValueError, match=r"current 32 A .* 0\.\.20 A .*itech-it8615\.yaml"):
        ac_load.set_current(32)
    link.assert_done()  # nothing was sent


def test_wrong_kind_of_model_is_refused() -> None:
    with pytest.raises(ValueError, match="chroma-63800 is an ac_load, not an AC source"):
        AcSource(load_model("chroma-63800"), RESOURCE, 1.0, link=Transcript([]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_closed_port_fails_fast_naming_instrument_and_resource() -> None:
    resource = f"TCPIP0::127.0.0.1::{_free_port()}::SOCKET"
    start = time.monotonic()
    with pytest.raises(InstrumentError) as info:
        AcSource(load_model("chroma-61500"), resource, 1.0)
    assert time.monotonic() - start < 1.5
    assert str(info.value).startswith(f"AC source chroma-61500 at {resource}: ")


def test_silent_instrument_times_out_within_the_timeout() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        resource = f"TCPIP0::127.0.0.1::{listener.getsockname()[1]}::SOCKET"
        start = time.monotonic()
        with pytest.raises(InstrumentError) as info:
            AcLoad(load_model("chroma-63800"), resource, 0.5)
        elapsed = time.monotonic() - start
    assert elapsed < 1.5
    assert str(info.value).startswith(f"AC load chroma-63800 at {resource}: no answer to "
                                      "'*IDN?' within 0.5 s")


# -- virtual instruments over TCP --------------------------------------------------------


@pytest.fixture
def bench() -> Iterator[Bench]:
    loop = LoopThread("test-scpi")
    servers: list[VirtualScpiInstrument] = []
    try:
        yield loop, Circuit(1), servers
    finally:
        for server in servers:
            loop.run(server.stop())
        loop.stop()


def serve(bench: Bench, model: str) -> tuple[VirtualScpiInstrument, str]:
    loop, circuit, servers = bench
    server = VirtualScpiInstrument(load_model(model), circuit)
    servers.append(server)
    return server, f"TCPIP0::127.0.0.1::{loop.run(server.start())}::SOCKET"


@pytest.mark.parametrize("model", ["chroma-61500", "chroma-61600", "keysight-ac6800"])
def test_virtual_source_drives_the_circuit(bench: Bench, model: str) -> None:
    _, circuit, _ = bench
    _, resource = serve(bench, model)
    src = AcSource(load_model(model), resource, 1.0)
    try:
        src.set_voltage(253)
        src.set_frequency(60)
        src.output(True)
        assert circuit.supply.volts == [253.0] and circuit.supply.hz == 60.0
        reading = src.measure()
        assert (reading.voltage, reading.frequency) == (253.0, 60.0)
        assert reading.current == pytest.approx(0.036)  # the charger's standby draw
        src.output(False)
        assert not circuit.supply.on and src.measure().voltage == 0.0
    finally:
        src.close()


@pytest.mark.parametrize("model", ["chroma-63800", "itech-it8615"])
def test_virtual_load_draws_through_the_outlet(bench: Bench, model: str) -> None:
    _, circuit, _ = bench
    _, resource = serve(bench, model)
    ac_load = AcLoad(load_model(model), resource, 1.0)
    try:
        ac_load.set_current(16)
        ac_load.enable(True)
        assert ac_load.measure().current == 0.0  # contactor open: nothing flows
        circuit.update(lambda c: setattr(c, "contactor_cmd", True))
        reading = ac_load.measure()
        assert (reading.voltage, reading.current, reading.power) == (230.0, 16.0, 3680.0)
        ac_load.safe_state()
        assert not circuit.load_enabled and circuit.load_amps == [0.0]
    finally:
        ac_load.close()


def test_virtual_instrument_error_queue_over_tcp(bench: Bench) -> None:
    server, resource = serve(bench, "chroma-61500")
    src = AcSource(load_model("chroma-61500"), resource, 1.0)
    try:
        with pytest.raises(InstrumentError, match=r"'SOUR:BOGUS 1' was refused: "
                                                  r'-113,"Undefined header"'):
            src.write("SOUR:BOGUS 1")
        with pytest.raises(InstrumentError, match='-222,"Data out of range"'):
            src.write("VOLT:AC 400")  # past the driver's own range check
        with pytest.raises(InstrumentError, match='-224,"Illegal parameter value"'):
            src.write("OUTP MAYBE")  # a known header, a parameter it does not take
    finally:
        src.close()
    assert server.handle("SYST:ERR?") == NO_ERROR
    assert server.handle("*IDN?") == load_model("chroma-61500").idn_answer


# -- the rig file ------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "expected"), [
    ("chroma-9999", "instruments.ac_source.model: unknown instrument model 'chroma-9999'; "
                    "known: chroma-61500"),
    ("chroma-63800", "instruments.ac_source.model: chroma-63800 is an ac_load model, "
                     "not an ac_source"),
])
def test_rig_file_names_a_bad_instrument_model(tmp_path: Path, model: str, expected: str) -> None:
    from evrig.rig.config import load_rig
    from evrig.rig.errors import RigFileError

    path = tmp_path / "rig.yaml"
    path.write_text(f"profile: evnet-7kw\ninstruments:\n  ac_source: {{model: {model}, "
                    "resource: sim}\n")
    with pytest.raises(RigFileError) as info:
        load_rig(path)
    assert expected in str(info.value)
