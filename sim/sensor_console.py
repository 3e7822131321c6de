"""Service-console overrides of the board's sensors beyond the relay's temperature
(``temp``): the socket's or tethered plug's own temperature sensor (EV PLUS 003 §5
'Socket or plug over temperature protection', ERR OCT) and the fan's tachometer (003
§7.1.2 ERR FAN 'the fan is blocked'). No rig wire reaches either inside a charger;
a real board's debug UART offers such overrides too (design §1: a transport, not a
shortcut). The firmware's rules are in sim/charger/protection.py."""

from __future__ import annotations

from collections.abc import Callable

from evrig.sim.charger.protection import AMBIENT_C
from evrig.sim.charger.twin import ChargerTwin

Command = Callable[[list[str]], str]


def sensor_status(twin: ChargerTwin) -> str:
    """Console fields: ``ctemp`` (°C) and ``fan`` (running / blocked) as overridden."""
    s = twin.sensors
    return f"ctemp={s.connector_temperature_c:.1f} fan={'blocked' if s.fan_blocked else 'ok'}"


def sensor_commands(twin: ChargerTwin, kick: Callable[[], None]) -> dict[str, Command]:
    def ctemp(args: list[str]) -> str:
        """``ctemp <celsius>`` overrides the connector's sensor; ``ctemp off`` back to
        ambient."""
        if len(args) != 1:
            return "ERR usage: ctemp <celsius>|off"
        twin.sensors.connector_temperature_c = AMBIENT_C if args[0] == "off" \
            else float(args[0])
        kick()
        return "OK"

    def fan(args: list[str]) -> str:
        """``fan blocked|ok``: the fan's rotor held (its tachometer reads no rotation
        while driven) or free."""
        if len(args) != 1 or args[0] not in ("blocked", "ok"):
            return "ERR usage: fan blocked|ok"
        twin.sensors.fan_blocked = args[0] == "blocked"
        kick()
        return "OK"

    return {"ctemp": ctemp, "fan": fan}
