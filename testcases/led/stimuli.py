"""Real stimuli that bring the charger into each connector status of the LED table,
with the backend online or gone (design §1: EV emulator, OCPP, service console only).

Offline means the mock CSMS dropped the link and refuses reconnects while the charger
keeps running; sessions then start by offline authorization, prepared before the
stimulus (``Bench.prepare_offline``) with what the profile has: LocalAuthorizeOffline /
AllowOfflineTxForUnknownId (OCPP 1.6 §3.5.3, EV NET) with the offline plug-in charge
(profile offline_mode) switched off, or the card paired in the web app (EV PLUS 003
§8.1.2 step 11, profile ``rfid`` note) — pairing works only in stand-by, so it comes
before the stimulus leaves Available.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from typing import Any

from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, allow_offline, without_charge_times

SETTLE_S = 20.0  # spec seconds a status may take to follow its stimulus
_profile_ids = count(9100)
_reservation_ids = count(9200)


@dataclass
class Bench:
    csms: Any
    ev: Any
    charger: Any
    clock: Any
    online: bool
    spec: Any = None
    # The web client: to switch Plug & Charge off (EV NET) or to pair the card (EV
    # PLUS) for the offline rows (steps.offline_needs_web).
    web: Any = None

    def connector(self) -> str:
        return self.charger.status().get("connector", "")

    def wait_connector(self, status: str) -> None:
        assert self.clock.wait_until(lambda: self.connector() == status, SETTLE_S, poll=0.25), \
            f"connector never reached {status}: {self.charger.status()}"

    def prepare_offline(self) -> None:
        """Before the stimulus, in Available and online: offline authorization of the
        card (steps.allow_offline), no charge-off periods."""
        allow_offline(self.csms, self.spec, self.charger, self.web, self.clock)
        without_charge_times(self.csms, self.spec)
        if self.web is not None and self.spec.offline_mode is not None:
            # Offline plug-in charge would start a session on plug-in by itself: the
            # rows reached by a card (Preparing …) need it off (the keeper restores it).
            self.web.set_plug_and_charge(False)

    def go_offline(self) -> None:
        """Drop the backend and wait until the charger knows it is offline."""
        self.csms.disconnect(refuse_reconnect=True)
        self.csms.wait_disconnected(10)
        assert self.clock.wait_until(lambda: self.charger.status().get("backend") == "offline",
                                     SETTLE_S, poll=0.25), "the charger did not notice"

    def offline_now(self) -> None:
        if not self.online:
            self.go_offline()

    def charge(self) -> None:
        """Plug in, present a card, EV asks for power (state C)."""
        self.ev.plug(cable_amps=32)
        self.wait_connector("Preparing")
        self.charger.present_tag(ACCEPTED_TAG)
        assert self.clock.wait_until(lambda: self.connector() != "Preparing", SETTLE_S,
                                     poll=0.25), "no transaction started"
        self.ev.set_state("C")


def available(b: Bench) -> None:
    b.offline_now()


def preparing(b: Bench) -> None:
    b.offline_now()
    b.ev.plug(cable_amps=32)


def charging(b: Bench) -> None:
    b.offline_now()
    b.charge()


def suspended_ev(b: Bench) -> None:
    charging(b)
    b.wait_connector("Charging")
    b.ev.set_state("B")  # the EV stops asking for power


def suspended_evse(b: Bench) -> None:
    """A TxDefaultProfile of 0 A: the charger offers nothing to a session."""
    profile = {"chargingProfileId": next(_profile_ids), "stackLevel": 0,
               "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
               "chargingSchedule": {"chargingRateUnit": "A",
                                    "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                "limit": 0.0}]}}
    result = b.csms.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=profile))
    assert result.status == "Accepted", f"SetChargingProfile 0 A: {result.status}"
    charging(b)


def finishing(b: Bench) -> None:
    """The session ends (the same card again) while the EV stays plugged."""
    charging(b)
    b.wait_connector("Charging")
    b.charger.present_tag(ACCEPTED_TAG)


def unavailable(b: Bench) -> None:
    result = b.csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert result.status == "Accepted", f"ChangeAvailability Inoperative: {result.status}"
    b.wait_connector("Unavailable")
    b.offline_now()


def reserved(b: Bench) -> None:
    """ReserveNow for connector 1, an hour ahead (OCPP 1.6 §5.13); the reservation
    stays while the backend is gone (the keeper cancels it after the test)."""
    expiry = b.csms.state.utcnow() + timedelta(hours=1)
    result = b.csms.call(call.ReserveNow(
        connector_id=1, expiry_date=expiry.isoformat().replace("+00:00", "Z"),
        id_tag=ACCEPTED_TAG, reservation_id=next(_reservation_ids)))
    assert result.status == "Accepted", f"ReserveNow: {result.status}"
    b.wait_connector("Reserved")
    b.offline_now()


def faulted(b: Bench) -> None:
    """A shorted pilot (state E, the profile's cp_level_invalid fault, RTM 0x0080 on
    EV NET): a fault that shows without a session (the diode fault needs the PWM,
    design §8)."""
    b.offline_now()
    b.ev.plug(cable_amps=32)
    b.ev.set_state("E")


STIMULI: dict[str, Callable[[Bench], None]] = {
    "Available": available,
    "Preparing": preparing,
    "Charging": charging,
    "SuspendedEV": suspended_ev,
    "SuspendedEVSE": suspended_evse,
    "Finishing": finishing,
    "Reserved": reserved,
    "Unavailable": unavailable,
    "Faulted": faulted,
}
