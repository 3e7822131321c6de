"""Rig files: the shipped ones load, and each kind of mistake gives one line that
names the file, the key path and what was expected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rig.cli import main
from rig.config import RigConfig, load_rig
from rig.errors import RigFileError

RIGS = Path(__file__).resolve().parents[1] / "rigs"

Write = Callable[[str], Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a rig file named bench.yaml and return its path."""

    def _write(text: str) -> Path:
        path = tmp_path / "bench.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def error_of(path: Path) -> str:
    with pytest.raises(RigFileError) as info:
        load_rig(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message  # always names the file first
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["sim.yaml", "sim-t2.yaml", "lab-example.yaml"])
def test_shipped_rig_files_pass_rig_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(RIGS / name)
    assert main(["check", path]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_shipped_rig_files_load_as_typed_config() -> None:
    sim = load_rig(RIGS / "sim.yaml")
    assert isinstance(sim, RigConfig)
    assert sim.virtual and sim.profile == "evnet-7kw" and sim.variant == "S"
    assert sim.sim.speed == 20.0 and sim.path == str(RIGS / "sim.yaml")
    assert sim.instruments.ac_source is not None and sim.instruments.ac_source.resource == "sim"
    assert sim.csms.id_tags["TAG-BLOCKED-01"] == "Blocked"
    assert load_rig(RIGS / "sim-t2.yaml").variant == "T2"

    lab = load_rig(RIGS / "lab-example.yaml")
    assert not lab.virtual
    assert lab.instruments.ev.backend == "rpi" and lab.instruments.ev.pins.r_b == 17
    assert lab.csms.security_profile == 2 and lab.csms.tls is not None
    assert lab.charger.web is not None and lab.charger.web.admin_pin_env == "EVNET_ADMIN_PIN"


def test_unknown_key_suggests_the_closest_known_key(write: Write) -> None:
    path = write("profile: evnet-7kw\ninstruments:\n"
                 "  ac_source: {model: chroma-61500, resorce: sim}\n")
    assert error_of(path).endswith(
        "instruments.ac_source.resorce: unknown key 'resorce' (did you mean 'resource'?)")


def test_wrong_type_names_expected_type_and_value(write: Write) -> None:
    path = write("profile: evnet-7kw\nsim: {seed: abc}\n")
    assert error_of(path).endswith("sim.seed: expected an integer, got 'abc'")


def test_instrument_without_its_required_resource(write: Write) -> None:
    path = write("profile: evnet-7kw\ninstruments:\n  ac_source: {model: chroma-61500}\n")
    message = error_of(path)
    assert "instruments.ac_source.resource: missing required key 'resource'" in message
    assert "TCPIP0::10.0.0.20::2101::SOCKET" in message


def test_unknown_profile_lists_the_known_ones(write: Write) -> None:
    message = error_of(write("profile: evnet-9kw\n"))
    assert "profile: unknown profile 'evnet-9kw'; known: " in message
    assert "evnet-7kw" in message


def test_malformed_visa_resource(write: Write) -> None:
    path = write("profile: evnet-7kw\ninstruments:\n"
                 "  ac_load: {model: chroma-63800, resource: 'TCPIP0:10.0.0.21:2101'}\n")
    assert error_of(path).endswith(
        "instruments.ac_load.resource: malformed VISA resource 'TCPIP0:10.0.0.21:2101'; "
        "expected e.g. TCPIP0::10.0.0.20::2101::SOCKET")


def test_gpio_pin_used_twice_names_both_keys(write: Write) -> None:
    path = write("profile: evnet-7kw\ninstruments:\n  faults: {pins: {rcd_ac: 17}}\n")
    assert error_of(path).endswith(
        "instruments.faults.pins.rcd_ac: pin 17 is already used by instruments.ev.pins.r_b")


def test_admin_pin_in_the_file_is_refused_without_echoing_it(write: Write) -> None:
    path = write("profile: evnet-7kw\ncharger:\n"
                 "  web: {url: 'https://192.168.4.1', admin_pin: 4711}\n")
    message = error_of(path)
    assert "charger.web.admin_pin: " in message and "admin_pin_env" in message
    assert "4711" not in message


def test_yaml_syntax_error_gives_the_line(write: Write) -> None:
    path = write("profile: evnet-7kw\nsim:\n  speed: 20\n seed: 1\n")
    message = error_of(path)
    assert "YAML syntax error at line 4" in message


def test_key_given_twice_is_refused(write: Write) -> None:
    path = write("profile: evnet-7kw\nbench: virtual\nbench: real\n")
    assert "line 3, column 1: key 'bench' is given twice (first on line 2)" in error_of(path)


def test_real_bench_refuses_the_sim_ev_backend(write: Write) -> None:
    path = write("profile: evnet-7kw\nbench: real\ninstruments:\n  ev: {backend: sim}\n")
    message = error_of(path)
    assert "instruments.ev.backend: a real bench needs backend: rpi" in message


def test_security_profile_2_needs_tls(write: Write) -> None:
    path = write("profile: evnet-7kw\n"
                 "csms: {security_profile: 2, basic_auth_password_env: CSMS_PASSWORD}\n")
    assert "csms.tls: security_profile 2 needs tls" in error_of(path)


def test_rig_check_prints_one_line_and_fails_on_a_misspelt_key(
        write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write("profile: evnet-7kw\nbench: virtual\nsim: {sped: 20}\n")
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert lines == [f"{path}: sim.sped: unknown key 'sped' (did you mean 'speed'?)"]
