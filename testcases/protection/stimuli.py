"""How each RTM code of the profile is produced on a rig: through the instruments
(AC source, AC load, fault board, EV emulator) or, for a fault inside the charger,
its fault-board wire or service console (drivers/faults.py falls back to it).

One :class:`Stimulus` per code: the state it starts from, what causes the fault,
and what removes the cause (None: the user cannot — calibration data needs a
technician, 000 App. I 0x8000). Codes no rig can produce are in ``NOT_PRODUCIBLE``
with the reason (README.md of this package says more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evrig.testcases.ocpp.steps import ACCEPTED_TAG
from evrig.testcases.protection.checks import (
    BOOT_S,
    REACT_S,
    VOLT_MARGIN_V,
    Bench,
    offered_a,
    wait_booted,
)


@dataclass(frozen=True)
class Stimulus:
    code: int
    label: str
    setup: str  # "charging" (session, load drawing) or "idle" (nothing plugged)
    apply: Callable[[Bench], None]
    remove: Callable[[Bench], None] | None
    socketed: bool = False  # only a socketed unit can raise it
    outlet_dead: bool = True  # after the fault the load draws nothing
    timeout: float = REACT_S  # spec seconds until SN Faulted

    @property
    def id(self) -> str:
        return f"0x{self.code:04X}-{self.label}"


def _volts(b: Bench, which: str) -> float:
    low, high = b.spec.protections.voltage.limits(0)
    return high + VOLT_MARGIN_V if which == "high" else low - VOLT_MARGIN_V


def _nominal(b: Bench) -> None:
    b.ac_source.set_voltage(float(b.spec.ratings["nominal_voltage_v"].value))


def _overcurrent(b: Bench) -> None:
    oc = b.spec.protections.overcurrent
    b.ac_load.set_current(offered_a(b.spec) * (1 + oc.margin_pct / 100) + 1.0)


def _back_to_offer(b: Bench) -> None:
    b.ac_load.set_current(offered_a(b.spec))


def _weld(b: Bench) -> None:
    """The contactor welds during the session; the EV stops asking (C → B, load off):
    the charger commands the relay open and still sees the outlet live."""
    b.faults.relay_weld(True)
    b.ac_load.enable(False)
    b.ev.set_state("B")


def _neutral_weld(b: Bench) -> None:
    """The relay's neutral pole welds during the session; the EV stops asking: the
    charger commands the relay open, its live pole opens (the outlet is dead), and
    it still senses the neutral pole closed."""
    b.faults.neutral_weld(True)
    b.ac_load.enable(False)
    b.ev.set_state("B")


def _unlock_jam(b: Bench) -> None:
    """The actuator jams during the session; the driver ends it with the card: the
    plug cannot be unlocked (002 §2.4)."""
    b.faults.lock_jam(True)
    b.charger.present_tag(ACCEPTED_TAG)


def _lock_jam(b: Bench) -> None:
    """The actuator jams before the session: plug, card — the plug cannot be locked."""
    b.faults.lock_jam(True)
    b.ev.plug(cable_amps=32)
    b.csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    b.charger.present_tag(ACCEPTED_TAG)


def _no_pp(b: Bench) -> None:
    """A cable whose PP resistor is missing (open): plug, PP open, card."""
    b.ev.plug(cable_amps=32)
    b.ev.set_pp(None)
    b.charger.present_tag(ACCEPTED_TAG)


def _calibration(b: Bench) -> None:
    """NV calibration data unreadable: seen at the next boot (001 VendorID2 0x8000)."""
    b.charger.calibration_fail(True)
    b.charger.power_cycle()
    wait_booted(b)


def _temperature(b: Bench) -> None:
    b.charger.set_temperature(b.spec.temperature_derating.fault_above_c + 1)


def _host_link_lost(b: Bench) -> None:
    """001 VendorID2 0x0400: while the RTM–application CPU link is down, the RTM
    "won't be able to send the error ... until communication is restored": nothing
    Faulted reaches the backend meanwhile; the CPU reads and sends it once the link
    is back (the cause is gone then; recovery is the profile's)."""
    b.faults.host_link_lost(True)
    b.csms.assert_none("StatusNotification", REACT_S, connectorId=1, status="Faulted")
    b.faults.host_link_lost(False)


STIMULI: tuple[Stimulus, ...] = (
    Stimulus(0x0001, "rcd_ac", "charging",
             lambda b: b.faults.leakage(1.1 * b.spec.protections.rcd.ac_ma),
             lambda b: b.faults.leakage(0)),
    Stimulus(0x0002, "n_pe_voltage", "charging",
             lambda b: b.faults.neutral_voltage(b.spec.protections.neutral.n_pe_max_v + 5),
             lambda b: b.faults.neutral_voltage(0)),
    Stimulus(0x0004, "overcurrent", "charging", _overcurrent, _back_to_offer,
             timeout=REACT_S + 6 * 2),  # the profile's delay (6 s) with room
    Stimulus(0x0008, "rcd_dc", "charging",
             lambda b: b.faults.leakage(1.1 * b.spec.protections.rcd.dc_ma, dc=True),
             lambda b: b.faults.leakage(0, dc=True)),
    Stimulus(0x0010, "relay_weld", "charging", _weld, lambda b: b.faults.relay_weld(False),
             outlet_dead=False),
    Stimulus(0x0020, "lock_jam", "idle", _lock_jam, lambda b: b.faults.lock_jam(False),
             socketed=True),
    Stimulus(0x0040, "unlock_jam", "charging", _unlock_jam, lambda b: b.faults.lock_jam(False),
             socketed=True),
    Stimulus(0x0080, "cp_state_e", "charging", lambda b: b.ev.set_state("E"),
             lambda b: b.ev.set_state("C")),
    Stimulus(0x0100, "diode_short", "charging", lambda b: b.ev.diode(False),
             lambda b: b.ev.diode(True)),
    Stimulus(0x0200, "pp_open", "idle", _no_pp, lambda b: b.ev.plug(cable_amps=32),
             socketed=True),
    Stimulus(0x0800, "over_temperature", "charging", _temperature,
             lambda b: b.charger.set_temperature(None)),
    Stimulus(0x1000, "overvoltage", "charging",
             lambda b: b.ac_source.set_voltage(_volts(b, "high")), _nominal),
    Stimulus(0x2000, "undervoltage", "charging",
             lambda b: b.ac_source.set_voltage(_volts(b, "low")), _nominal),
    Stimulus(0x8000, "calibration", "idle", _calibration, None, timeout=BOOT_S),
    Stimulus(0x40000, "relay_weld", "charging", _weld, lambda b: b.faults.relay_weld(False),
             outlet_dead=False),
    Stimulus(0x80000, "relay_stuck_open", "charging",
             lambda b: b.faults.relay_stuck_open(True),
             lambda b: b.faults.relay_stuck_open(False)),
    Stimulus(0x10000, "neutral_weld", "charging", _neutral_weld,
             lambda b: b.faults.neutral_weld(False)),
    Stimulus(0x20000, "neutral_stuck_open", "charging",
             lambda b: b.faults.neutral_stuck_open(True),
             lambda b: b.faults.neutral_stuck_open(False)),
    Stimulus(0x0060, "pcm_missing", "idle", lambda b: b.faults.pcm_missing(True),
             lambda b: b.faults.pcm_missing(False), socketed=True),
    Stimulus(0x0400, "host_link_lost", "charging", _host_link_lost, lambda b: None),
    Stimulus(0x200000, "service_cover", "charging", lambda b: b.faults.service_cover(True),
             lambda b: b.faults.service_cover(False)),
    Stimulus(0x100000, "tamper", "charging", lambda b: b.faults.tamper(True),
             lambda b: b.faults.tamper(False)),
)

# Codes no instrument of any rig can produce, with the reason (README.md).
NOT_PRODUCIBLE: dict[int, str] = {
    0x400000: "external meter missing: covered with the external-meter (RS-485) testcases",
}
