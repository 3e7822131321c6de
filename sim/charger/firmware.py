"""The charger twin's firmware: the behaviour of OCPP 1.6 and of the EVNET manuals,
composed from one module per feature (fw_base.py lists them). Each feature owns the
messages it sends and the CSMS CALLs it answers; the firmware is built in one place
(twin.py) with its board and its link, and nothing is wired into it afterwards.

Inputs arrive as they do on the real board: the pilot and proximity circuit
(relays of the EV emulator on the pin bank), the service console (a tag held to
the reader), and the backend's CALLs. Outputs leave the same way: OCPP messages,
the contactor, the diagnostics the web client and console show.
"""

from __future__ import annotations

from evrig.sim.charger.authorization import Authorizing
from evrig.sim.charger.charge_times import ChargeTimes
from evrig.sim.charger.charging import Charging
from evrig.sim.charger.charging_profiles import ChargingProfiles
from evrig.sim.charger.core import TICK_S, CoreSession
from evrig.sim.charger.faults import CP_DEBOUNCE_S, Faults
from evrig.sim.charger.fw_base import (
    Authorization,
    FirmwareBase,
    Nvm,
    Reservation,
    Transaction,
    iso,
)
from evrig.sim.charger.maintenance import Maintenance
from evrig.sim.charger.meter_values import MeterValues
from evrig.sim.charger.reservations import Reservations
from evrig.sim.charger.transactions import Transactions

__all__ = ["CP_DEBOUNCE_S", "TICK_S", "Authorization", "Firmware", "FirmwareBase", "Nvm",
           "Reservation", "Transaction", "iso"]


class Firmware(CoreSession, Authorizing, Transactions, Reservations, ChargingProfiles,
               Maintenance, MeterValues, Faults, ChargeTimes, Charging):
    """One connector, one transaction at a time (the EVNET has one outlet)."""
