"""The rules of a rig file that span keys, and what a run needs besides the file.

:func:`rig.config.load_rig` converts the file (types, ranges, unknown keys) and then
calls :func:`check_rig` here: real bench vs ``sim``, a GPIO pin wired twice, security
profile vs credentials, the profile and its variant, and — last — the sections a real
bench must give (``rig.config.REAL_BENCH_REQUIRED``; the decision is in that module's
docstring). Each rule raises :class:`~rig.errors.RigFileError` naming the file, the key
path and the fix.

:func:`check_environment` is separate: it checks what the PC running the bench must
provide (secrets in environment variables, TLS and LED calibration files). ``rig check``
does not run it — a rig file may be checked on another machine — but every run does,
before anything starts: the pytest plugin at session start, ``rig run`` and ``rig sim``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from datetime import date

from evrig.rig.config import REAL_BENCH_REQUIRED, VISA_EXAMPLE, RigConfig, VisaInstrumentConfig
from evrig.rig.errors import RigFileError

# Optional instruments: absent means "not on this bench" and the testcases that need
# one skip, naming it.
OPTIONAL_INSTRUMENTS = ("ac_source", "ac_load", "meter", "led", "faults")


def check_rig(config: RigConfig) -> None:
    """The rules that span keys; raise RigFileError on the first broken one."""
    _check_profile(config)
    _check_variant(config)
    _check_bench(config)
    _check_pins(config)
    _check_fault_values(config)
    _check_security(config)
    _check_models(config)
    _check_meter_map(config)
    _check_dlm(config)
    _check_real_bench_sections(config)  # last: the more precise messages above come first


def check_environment(config: RigConfig) -> None:
    """What a run needs from this PC besides the file: the secrets the file names by
    environment variable, and the files it points to (TLS, LED calibration). Raise
    RigFileError (file, key path, fix) on the first one missing."""
    csms = config.csms
    name = csms.basic_auth_password_env
    if name is not None and not os.environ.get(name):
        state = "is empty" if name in os.environ else "is not set"
        raise _fail(config, "csms.basic_auth_password_env",
                    f"environment variable {name} {state}; export it (the Basic Auth "
                    f"password of security profile {csms.security_profile})")
    if csms.tls is not None:
        for key in ("cert", "key", "ca"):
            relative = getattr(csms.tls, key)
            if relative is not None and not config.resolve(relative).is_file():
                raise _fail(config, f"csms.tls.{key}",
                            f"file {relative!r} not found (paths are relative to the rig "
                            f"file's folder: {config.resolve(relative)})")
    led = config.instruments.led
    if led is not None and led.calibration is not None \
            and not config.resolve(led.calibration).is_file():
        raise _fail(config, "instruments.led.calibration",
                    f"file {led.calibration!r} not found next to the rig file; write one with "
                    f"`rig calibrate led --rig {config.path}` or remove the key")
    web = config.charger.web
    # The virtual bench exports a session PIN itself when the variable is unset.
    if web is not None and not config.virtual and not os.environ.get(web.admin_pin_env):
        raise _fail(config, "charger.web.admin_pin_env",
                    f"environment variable {web.admin_pin_env} is not set; export the "
                    "charger's admin PIN")


def notes(config: RigConfig) -> str:
    """What the bench takes that the file did not say, for ``rig check`` and the run's
    header: the virtual bench's defaults for sections a real bench must give, and the
    optional instruments absent from this bench. Empty when there is nothing to say."""
    parts = []
    if config.defaulted:
        parts.append("virtual bench defaults: "
                     + ", ".join(_default_text(config, key) for key in config.defaulted))
    inst = config.instruments
    # The main light is watched by a colour sensor (led) or through the panel camera.
    absent = [n for n in OPTIONAL_INSTRUMENTS if getattr(inst, n) is None
              and not (n == "led" and inst.camera is not None)]
    if absent:
        parts.append(f"not on this bench: {', '.join(absent)}, so testcases that need "
                     f"{'it' if len(absent) == 1 else 'them'} skip")
    today = date.today()
    overdue = [f"{name} (due {due})" for name in ("ev", *OPTIONAL_INSTRUMENTS, "camera")
               if (due := getattr(getattr(inst, name, None), "calibration_due", None))
               and due < today]
    if overdue:  # a note, not a refusal: the station decides; certificates show it too
        parts.append(f"calibration overdue: {', '.join(overdue)}")
    return "; ".join(parts)


def _default_text(config: RigConfig, key: str) -> str:
    csms = config.csms
    port = f"port {csms.port}" if csms.port else "any free port"
    security = f"security profile {csms.security_profile}"
    return {
        "station": f"station {config.station}",
        "charger": f"charger (charge_point_id {config.charger.charge_point_id})",
        "charger.charge_point_id": f"charger.charge_point_id {config.charger.charge_point_id}",
        "csms": f"csms ({csms.host}, {port}, {security})",
        "csms.host": f"csms.host {csms.host}",
        "csms.port": f"csms.port ({port})",
        "csms.security_profile": f"csms.{security.replace(' ', '_', 1)}",
        "instruments": "instruments.ev (the twin's EV emulator)",
        "instruments.ev": "instruments.ev (the twin's EV emulator)",
    }.get(key, key)


def _check_real_bench_sections(config: RigConfig) -> None:
    """A real bench gives every section the virtual bench may default (the loader
    records which ones the file left out), and a CSMS the charger can reach."""
    if config.virtual:
        return
    for key in config.defaulted:
        needed = [f"{k.removeprefix(key + '.')}: {what}"
                  for k, what in REAL_BENCH_REQUIRED.items() if k.startswith(key + ".")]
        what = f"it, with {'; '.join(needed)}" if needed else REAL_BENCH_REQUIRED[key]
        raise _fail(config, key, f"missing; a real bench needs {what} (only the virtual "
                                 "bench may leave it out)")
    csms = config.csms
    if csms.port == 0:
        raise _fail(config, "csms.port",
                    "0 (any free port) works only on the virtual bench; give the fixed port "
                    "of the backend URL the charger is configured with, e.g. 9000")
    if _loopback(csms.host):
        raise _fail(config, "csms.host",
                    f"{csms.host} is reachable only from this PC, not by the charger; listen "
                    "on 0.0.0.0 (every interface) or on this PC's address on the charger's "
                    "network")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_variant(config: RigConfig) -> None:
    """The variant must be one of the profile's (S, T2 …): the bench builds the unit's
    connector, phases and cable from it."""
    from evrig.rig.profile import load_profile  # the profile module owns the catalogue

    name = config.profile
    if name.endswith((".yaml", ".yml")):
        name = str(config.resolve(name))
    variants = list(load_profile(name).variants)
    if config.variant not in variants:
        raise _fail(config, "variant", f"unknown variant {config.variant!r} of profile "
                                       f"{config.profile}; known: {', '.join(variants)}")


def _fail(config: RigConfig, key_path: str, expected: str) -> RigFileError:
    return RigFileError(config.path or "<rig>", key_path, expected)


def _check_profile(config: RigConfig) -> None:
    from evrig.rig.profile import available_profiles  # the profile module owns the catalogue

    name = config.profile
    known = available_profiles()
    if name in known:
        return
    if name.endswith((".yaml", ".yml")):
        if config.resolve(name).is_file():
            return
        raise _fail(config, "profile", f"profile file {name!r} not found next to the rig "
                                       f"file; known profiles: {', '.join(known) or 'none'}")
    raise _fail(config, "profile",
                f"unknown profile {name!r}; known: {', '.join(known) or 'none'}")


def _check_bench(config: RigConfig) -> None:
    """A real bench must not silently fall back to simulated parts."""
    if config.virtual:
        return
    if config.sim.defects:
        raise _fail(config, "sim.defects",
                    "defects are injected only into the virtual bench's twin (rig selftest); "
                    "a real bench refuses them: remove the key")
    inst = config.instruments
    ev_left_out = {"instruments", "instruments.ev"} & set(config.defaulted)  # said below
    if inst.ev.backend != "rpi" and not ev_left_out:
        raise _fail(config, "instruments.ev.backend",
                    "a real bench needs backend: rpi (the Pi's GPIO drives the EV emulator)")
    if inst.faults is not None and inst.faults.backend != "rpi":
        raise _fail(config, "instruments.faults.backend",
                    "a real bench needs backend: rpi (the Pi's GPIO drives the fault relays)")
    for name in ("ac_source", "ac_load"):
        visa: VisaInstrumentConfig | None = getattr(inst, name)
        if visa is not None and visa.resource == "sim":
            raise _fail(config, f"instruments.{name}.resource",
                        f"a real bench needs a VISA resource string (e.g. {VISA_EXAMPLE}), "
                        "not 'sim'")
    web = config.charger.web
    if web is not None and web.url == "sim":
        raise _fail(config, "charger.web.url",
                    "a real bench needs the charger's web client URL (e.g. "
                    "https://192.168.4.1), not 'sim'")
    if inst.meter is not None and inst.meter.port == "sim":
        raise _fail(config, "instruments.meter.port",
                    "a real bench needs a serial port such as /dev/ttyUSB0, not 'sim'")
    if inst.led is not None and inst.led.bus == "sim":
        raise _fail(config, "instruments.led.bus",
                    "a real bench needs an I2C bus number (e.g. 1), not 'sim'")


def _check_models(config: RigConfig) -> None:
    """An SCPI instrument's model must have a command table of the right kind."""
    from evrig.rig.tables.scpi_models import ModelError, load_model  # the driver owns the tables

    for name in ("ac_source", "ac_load"):
        visa: VisaInstrumentConfig | None = getattr(config.instruments, name)
        if visa is None:
            continue
        try:
            kind = load_model(visa.model).kind
        except ModelError as exc:
            raise _fail(config, f"instruments.{name}.model", str(exc)) from None
        if kind != name:
            raise _fail(config, f"instruments.{name}.model",
                        f"{visa.model} is an {kind} model, not an {name}")


def _check_meter_map(config: RigConfig) -> None:
    """A meter's own register map must exist and be a well-formed map."""
    from evrig.rig.tables.meter_maps import MapError, load_map  # the driver owns the maps

    meter = config.instruments.meter
    if meter is None or meter.map is None:
        return
    if not meter.map.endswith((".yaml", ".yml")):
        raise _fail(config, "instruments.meter.map",
                    f"a register map file ending in .yaml, got {meter.map!r}")
    path = config.resolve(meter.map)
    if not path.is_file():
        raise _fail(config, "instruments.meter.map",
                    f"register map file {meter.map!r} not found next to the rig file "
                    f"(start from rig/tables/meter/{meter.model}.yaml)")
    try:
        load_map(path)
    except MapError as exc:
        raise _fail(config, "instruments.meter.map", str(exc)) from None


def _check_dlm(config: RigConfig) -> None:
    inst = config.instruments
    if inst.dlm is not None and inst.meter is not None and inst.dlm.port == inst.meter.port:
        raise _fail(config, "instruments.dlm.port",
                    "the DLM bus is RS-485 channel 2 (004 §3.4): another port than the "
                    "meter's (channel 1)")


def _check_pins(config: RigConfig) -> None:
    """One GPIO drives one relay: a pin listed twice would switch two wires at once."""
    inst = config.instruments
    used: dict[int, str] = {}
    if inst.led is not None and inst.led.bus in (1, "/dev/i2c-1"):
        used.update({2: "instruments.led.bus (I2C1 SDA)", 3: "instruments.led.bus (I2C1 SCL)"})
    wired: list[tuple[str, int]] = [
        (f"instruments.ev.pins.{f.name}", pin) for f in dataclasses.fields(inst.ev.pins)
        if (pin := getattr(inst.ev.pins, f.name)) is not None]  # None: an optional wire absent
    if inst.faults is not None:
        wired += [(f"instruments.faults.pins.{wire}", pin)
                  for wire, pin in inst.faults.pins.items()]
    for key_path, pin in wired:
        if pin in used:
            raise _fail(config, key_path, f"pin {pin} is already used by {used[pin]}")
        used[pin] = key_path


def _check_fault_values(config: RigConfig) -> None:
    """A fixed-value relay is useless without its value; a value without its relay is a
    typo. (The virtual board's sources are programmable: values optional there.)"""
    faults = config.instruments.faults
    if faults is None:
        return
    for wire in faults.values:
        if wire not in faults.pins:
            raise _fail(config, f"instruments.faults.values.{wire}",
                        f"no relay for {wire}: add instruments.faults.pins.{wire} or remove "
                        "this value")
    if faults.backend == "sim":
        return
    for wire in ("rcd_ac", "rcd_ac_2", "rcd_dc", "rcd_dc_2", "n_pe_voltage"):
        if wire in faults.pins and wire not in faults.values:
            unit = "V between N and PE" if wire == "n_pe_voltage" else \
                "mA of leakage its resistor draws at nominal voltage"
            raise _fail(config, f"instruments.faults.values.{wire}",
                        f"the {unit} (relay {wire} is wired: its value must be known)")


def _check_security(config: RigConfig) -> None:
    """OCPP 1.6 security profiles: 1 = Basic Auth, 2 = Basic Auth over TLS."""
    csms = config.csms
    level = csms.security_profile
    if level >= 1 and csms.basic_auth_password_env is None:
        raise _fail(config, "csms.basic_auth_password_env",
                    f"security_profile {level} needs basic_auth_password_env (the name of an "
                    "environment variable holding the Basic Auth password)")
    if level == 2 and csms.tls is None:
        raise _fail(config, "csms.tls",
                    "security_profile 2 needs tls: {cert: ..., key: ...} (Basic Auth over TLS)")
    if level < 2 and csms.tls is not None:
        raise _fail(config, "csms.tls",
                    f"TLS is security profile 2; set security_profile: 2 or remove tls "
                    f"(security_profile is {level})")
    if level == 0 and csms.basic_auth_password_env is not None:
        raise _fail(config, "csms.basic_auth_password_env",
                    "security_profile 0 uses no password; set security_profile: 1 (or 2) "
                    "or remove basic_auth_password_env")

