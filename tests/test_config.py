"""Rig files: the shipped ones load, and each kind of mistake gives one line that
names the file, the key path and what was expected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evrig.rig.cli import main
from evrig.rig.config import RigConfig, load_rig
from evrig.rig.errors import RigFileError

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
    assert sim.sim.speed == 30.0 and sim.path == str(RIGS / "sim.yaml")
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


def test_a_pool_file_given_as_a_rig_file_says_what_it_is(write: Write) -> None:
    message = error_of(write("- sim.yaml\n- {rig: sim.yaml, station: sim-2}\n"))
    assert message.endswith("got a list — a list of benches is a pool file: pytest "
                            "--rig-pool FILE")


def test_malformed_visa_resource(write: Write) -> None:
    path = write("profile: evnet-7kw\ninstruments:\n"
                 "  ac_load: {model: chroma-63800, resource: 'TCPIP0:10.0.0.21:2101'}\n")
    assert error_of(path).endswith(
        "instruments.ac_load.resource: malformed VISA resource 'TCPIP0:10.0.0.21:2101'; "
        "expected e.g. TCPIP0::10.0.0.20::2101::SOCKET")


def test_dlm_bus_is_not_the_meter_port(write: Write) -> None:
    path = write("profile: evnet-compact\nvariant: 3SLC-3PH\ninstruments:\n"
                 "  meter: {port: sim}\n  dlm: {port: sim}\n")
    assert error_of(path).endswith(
        "instruments.dlm.port: the DLM bus is RS-485 channel 2 (004 §3.4): another port "
        "than the meter's (channel 1)")


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


# --- what a real bench must give; what the virtual bench defaults ----------------------

REAL = {
    "station": "station: lab-1\n",
    "charger": "charger: {charge_point_id: EVNET-LAB-0001}\n",
    "csms": "csms: {host: 0.0.0.0, port: 9000, security_profile: 0}\n",
    "instruments": "instruments: {ev: {backend: rpi}}\n",
}


def real_bench(**replace: str) -> str:
    parts = {**REAL, **replace}
    return "profile: evnet-7kw\nbench: real\n" + "".join(parts.values())


def test_a_complete_real_bench_passes(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(real_bench())
    config = load_rig(path)
    assert not config.virtual and config.defaulted == ()
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: ok (not on this bench: ac_source, ac_load, meter, led, faults, so "
        "testcases that need them skip)\n")


@pytest.mark.parametrize(("replace", "key", "needs"), [
    ({"station": ""}, "station", "the station's name"),
    ({"charger": ""}, "charger", "it, with charge_point_id: the OCPP identity"),
    ({"charger": "charger: {console: {port: /dev/ttyUSB1}}\n"}, "charger.charge_point_id",
     "the OCPP identity"),
    ({"csms": ""}, "csms", "it, with host: the address the mock CSMS listens on"),
    ({"csms": "csms: {host: 0.0.0.0, security_profile: 0}\n"}, "csms.port",
     "the fixed port of the backend URL"),
    ({"csms": "csms: {host: 0.0.0.0, port: 9000}\n"}, "csms.security_profile",
     "0, 1 or 2, as configured in the charger"),
    ({"instruments": ""}, "instruments", "it, with ev: the EV emulator board"),
    ({"instruments": "instruments: {}\n"}, "instruments.ev", "the EV emulator board"),
])
def test_a_real_bench_must_give_what_the_virtual_bench_defaults(
        write: Write, replace: dict[str, str], key: str, needs: str) -> None:
    message = error_of(write(real_bench(**replace)))
    assert f": {key}: missing; a real bench needs {needs}" in message
    assert message.endswith("(only the virtual bench may leave it out)")


@pytest.mark.parametrize(("csms_yaml", "key", "expected"), [
    ("{host: 0.0.0.0, port: 0, security_profile: 0}", "csms.port",
     "0 (any free port) works only on the virtual bench"),
    ("{host: 127.0.0.1, port: 9000, security_profile: 0}", "csms.host",
     "127.0.0.1 is reachable only from this PC"),
    ("{host: localhost, port: 9000, security_profile: 0}", "csms.host",
     "localhost is reachable only from this PC"),
])
def test_a_real_bench_csms_the_charger_can_reach(write: Write, csms_yaml: str, key: str,
                                                 expected: str) -> None:
    path = write(real_bench(csms=f"csms: {csms_yaml}\n"))
    assert f": {key}: {expected}" in error_of(path)


def test_the_precise_message_comes_before_a_missing_section(write: Write) -> None:
    path = write("profile: evnet-7kw\nbench: real\ninstruments:\n  ev: {backend: sim}\n")
    assert "instruments.ev.backend: a real bench needs backend: rpi" in error_of(path)


def test_the_virtual_bench_records_and_names_its_defaults(
        write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write("profile: evnet-7kw\ncsms: {port: 0}\n")
    config = load_rig(path)
    assert config.virtual
    assert config.defaulted == ("station", "charger", "csms.host", "csms.security_profile",
                                "instruments")
    assert main(["check", str(path)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line == (f"{path}: ok (virtual bench defaults: station sim-1, charger "
                    "(charge_point_id EVNET-SIM-0001), csms.host 127.0.0.1, "
                    "csms.security_profile 0, instruments.ev (the twin's EV emulator); not on "
                    "this bench: ac_source, ac_load, meter, led, faults, so testcases that "
                    "need them skip)")
    assert load_rig(RIGS / "sim.yaml").defaulted == ()


def test_defaulted_is_not_a_key_of_the_file(write: Write) -> None:
    message = error_of(write("profile: evnet-7kw\ndefaulted: [csms]\n"))
    assert "defaulted: unknown key 'defaulted'" in message


def test_unknown_variant_lists_the_profile_s_variants(write: Write) -> None:
    message = error_of(write("profile: evnet-7kw\nvariant: T3\n"))
    assert message.endswith("variant: unknown variant 'T3' of profile evnet-7kw; known: S, T2")


# --- what a run needs besides the file -----------------------------------------------------


def env_error_of(path: Path) -> str:
    from evrig.rig.config_rules import check_environment

    config = load_rig(path)  # the file itself is fine
    with pytest.raises(RigFileError) as info:
        check_environment(config)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_unset_or_empty_password_variable(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write("profile: evnet-7kw\n"
                 "csms: {security_profile: 1, basic_auth_password_env: RIG_TEST_PW}\n")
    monkeypatch.delenv("RIG_TEST_PW", raising=False)
    assert env_error_of(path).endswith(
        "csms.basic_auth_password_env: environment variable RIG_TEST_PW is not set; export "
        "it (the Basic Auth password of security profile 1)")
    monkeypatch.setenv("RIG_TEST_PW", "")
    assert "environment variable RIG_TEST_PW is empty; export it" in env_error_of(path)


def test_missing_tls_file(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIG_TEST_PW", "0123456789abcdef")
    path = write("profile: evnet-7kw\ncsms:\n  security_profile: 2\n"
                 "  basic_auth_password_env: RIG_TEST_PW\n"
                 "  tls: {cert: certs/csms.pem, key: certs/csms.key}\n")
    assert "csms.tls.cert: file 'certs/csms.pem' not found" in env_error_of(path)


def test_admin_pin_variable_on_a_real_bench(write: Write,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIG_TEST_PIN", raising=False)
    path = write(real_bench(charger="charger:\n  charge_point_id: EVNET-LAB-0001\n"
                                    "  web: {url: 'https://192.168.4.1', "
                                    "admin_pin_env: RIG_TEST_PIN}\n"))
    assert env_error_of(path).endswith(
        "charger.web.admin_pin_env: environment variable RIG_TEST_PIN is not set; export "
        "the charger's admin PIN")


def test_missing_led_calibration_file(write: Write) -> None:
    path = write("profile: evnet-7kw\ninstruments:\n  led: {bus: sim, calibration: lab.yaml}\n")
    message = env_error_of(path)
    assert "instruments.led.calibration: file 'lab.yaml' not found next to the rig file" \
        in message and "rig calibrate led" in message
