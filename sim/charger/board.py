"""What the firmware reads from, and asks of, the board around it.

The firmware (firmware.py and its feature modules) is built with one :class:`Board`
and never has parts wired into it afterwards: the twin (twin.py) is the board of the
virtual bench; :class:`BareBoard` is a board with nothing around the firmware, for a
framework test that drives the firmware alone and sets what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from evrig.sim.charger.modbus_master import MeterData
from evrig.sim.charger.protection import AMBIENT_C, Actuator, BoardSensors
from evrig.sim.defects.injection import NONE as NO_DEFECTS
from evrig.sim.defects.injection import Injected


class Board(Protocol):
    """Sensors, the plug actuator, RS-485 peripherals and board-level actions."""

    @property
    def actuator(self) -> Actuator: ...

    @property
    def defects(self) -> Injected:
        """The defects injected into this board's firmware (rig selftest, sim/defects);
        empty on a healthy twin. Hooks check ``"name" in defects``."""
        ...

    @property
    def sensors(self) -> BoardSensors:
        """The connector's temperature sensor and the fan's tachometer (EV PLUS)."""
        ...

    def sensor_temperature_c(self) -> float:
        """Both temperature sensors (the derating table's input)."""
        ...

    def cover_open(self) -> bool:
        """The main cover's tamper switch."""
        ...

    def board_faults(self) -> set[str]:
        """Conditions inside the board only the firmware sees, by RTM name."""
        ...

    def ct_limit_a(self) -> float | None:
        """EVSE limit from the installation's measurement (001 VendorID1 3): the CT
        clamp against the main fuse (EV NET), or the external meter against the
        contracted power (EV PLUS 003 §10); None without one."""
        ...

    def external_meter(self) -> MeterData | None:
        """The RS-485 MID meter's last readings; None: the internal meter counts."""
        ...

    def external_meter_missing(self) -> bool:
        """The configured external meter does not answer (RTM 0x400000)."""
        ...

    def external_ct_missing(self) -> bool:
        """The configured CT clamp does not answer (profile faults.ct_missing)."""
        ...

    async def reset(self, kind: str) -> None:
        """Soft/Hard reset of the whole board (OCPP 1.6 §5.14)."""
        ...

    async def update_firmware(self, location: str, retrieve: datetime | None) -> None: ...

    async def upload_diagnostics(self, location: str, name: str) -> None: ...


@dataclass
class BareBoard:
    """A board with nothing around the firmware: ambient temperature, cover shut, no
    CT clamp or external meter; a test sets the fields it needs."""

    actuator: Actuator = field(default_factory=lambda: Actuator(3))
    sensors: BoardSensors = field(default_factory=BoardSensors)
    defects: Injected = NO_DEFECTS
    temperature_c: float = AMBIENT_C
    tamper: bool = False
    faults: set[str] = field(default_factory=set)
    ct_a: float | None = None
    meter: MeterData | None = None
    meter_missing: bool = False
    ct_missing: bool = False
    resets: list[str] = field(default_factory=list)

    def sensor_temperature_c(self) -> float:
        return self.temperature_c

    def cover_open(self) -> bool:
        return self.tamper

    def board_faults(self) -> set[str]:
        return self.faults

    def ct_limit_a(self) -> float | None:
        return self.ct_a

    def external_meter(self) -> MeterData | None:
        return self.meter

    def external_meter_missing(self) -> bool:
        return self.meter_missing

    def external_ct_missing(self) -> bool:
        return self.ct_missing

    async def reset(self, kind: str) -> None:
        self.resets.append(kind)

    async def update_firmware(self, location: str, retrieve: datetime | None) -> None:
        return None

    async def upload_diagnostics(self, location: str, name: str) -> None:
        return None
