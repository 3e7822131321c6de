"""The service console's side of the web client's "Configuration of External Devices"
(004 §4.2; 000 §2.5.1 for the EV NET): the main fuse, the Phases Number and the device
on RS-485 channel 1 — and the console fields that show them and the bus counters."""

from __future__ import annotations

from collections.abc import Callable

from evrig.sim.charger.power_management import installation_power_w, power_managed
from evrig.sim.charger.twin import ChargerTwin
from evrig.sim.sensor_console import sensor_commands, sensor_status

Command = Callable[[list[str]], str]


def external_devices_status(twin: ChargerTwin) -> str:
    """Console fields: the configured phases, the device the charger expects on RS-485
    channel 1, Main Fuse Limit / Main Fuse Reading in A where the charger has a CT
    clamp feature (c_MainFuseLimit), the installation's power where it manages power
    with an external meter (EV PLUS 003 §10; ``none`` unread), the board's other
    sensors, and the bus counters (errors = timeouts + garbage/bad CRC + exception
    answers)."""
    master = twin.rs485
    c = master.counters if master is not None else None
    return (f"phases={twin.phases_configured()} "
            f"rs485={twin.rs485_device()} {_installation(twin)} {sensor_status(twin)} "
            f"rs485_polls={c.polls if c else 0} "
            f"rs485_errors={c.errors if c else 0} "
            f"rs485_timeouts={c.timeouts if c else 0} "
            f"rs485_garbage={c.garbage if c else 0} "
            f"rs485_exceptions={c.exceptions if c else 0} "
            f"rs485_answered={c.answered if c else 0} "
            f"rs485_phase={(master.phase if master else 'none').replace(' ', '_')} "
            f"rs485_task={twin.rs485_task_state()}")


def _installation(twin: ChargerTwin) -> str:
    """fuse_limit= fuse_reading= (CT clamp feature) or installation_w= (power
    management), as the family has."""
    master = twin.rs485
    if "c_MainFuseLimit" in twin.profile.config_keys:
        key = twin.profile.key("c_MainFuseLimit")
        fuse_a = twin.nvm.config.int(key.name, int(key.default)) / (
            10 if key.unit == "0.1 A" else 1)
        reading = master.fuse_reading() if master is not None else 0.0
        return f"fuse_limit={fuse_a:.1f} fuse_reading={reading:.1f}"
    if not power_managed(twin.profile):
        return ""
    data = master.meter_data() if master is not None else None
    watts = installation_power_w(data, twin.phases_configured()) if data is not None else None
    return f"installation_w={'none' if watts is None else f'{watts:.0f}'}"


def external_devices_commands(twin: ChargerTwin, kick: Callable[[], None]) -> dict[str, Command]:
    def rs485(args: list[str]) -> str:
        """``rs485 none|meter|ct``: the device on RS-485 channel 1 (004 §4.2 'RS485 Bus
        Device Connected Configuration: Not Set / Energy Meter / CT/Clamp'); ``ct`` is
        c_CTClamp."""
        if len(args) != 1 or args[0] not in ("none", "meter", "ct"):
            return "ERR usage: rs485 none|meter|ct"
        twin.set_rs485_device(args[0])
        kick()
        return "OK"

    def fuse(args: list[str]) -> str:
        """``fuse <amps>``: Change Main Fuse Rating (000 §2.5.1, 004 §4.2), stored as
        c_MainFuseLimit in the key's unit (tenths of an ampere)."""
        if twin.fw is None or not twin.powered:
            return "ERR charger is powered off"
        try:
            amps = float(args[0]) if len(args) == 1 else float("nan")
        except ValueError:
            amps = float("nan")
        if amps != amps:
            return "ERR usage: fuse <amps>"
        reason = twin.set_main_fuse(amps)
        if reason is not None:
            return f"ERR {reason}"
        kick()
        return "OK"

    def phases(args: list[str]) -> str:
        """``phases 1|3``: Phases Configuration → Phases Number (004 §4.2), kept in NV
        memory; a setting that does not match the wiring is a fault (the profile says
        which)."""
        if len(args) != 1 or args[0] not in ("1", "3"):
            return "ERR usage: phases 1|3"
        reason = twin.set_phases(int(args[0]))
        if reason is not None:
            return f"ERR {reason}"
        kick()
        return "OK"

    return {"rs485": rs485, "fuse": fuse, "phases": phases, **sensor_commands(twin, kick)}
