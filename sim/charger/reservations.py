"""Reservation feature: ReserveNow and CancelReservation (OCPP 1.6 §5.13), and the
reservation's expiry."""

from __future__ import annotations

from typing import ClassVar

from evrig.sim.charger.auth import parse_time
from evrig.sim.charger.fw_base import FirmwareBase, Reply, Reservation
from evrig.sim.charger.ocpp_link import Payload


class Reservations(FirmwareBase):
    ANSWERS: ClassVar[dict[str, str]] = {
        "ReserveNow": "on_reserve_now",
        "CancelReservation": "on_cancel_reservation",
    }

    def _reservation_expiry(self) -> None:
        res = self.reservation
        if res is not None and self.utc() >= res.expiry:
            self.reservation = None

    def on_reserve_now(self, p: Payload) -> Reply:
        cid = p["connectorId"]
        if cid == 0 and not self.config.bool("ReserveConnectorZeroSupported"):
            return {"status": "Rejected"}, None
        if not self.valid_connector(cid):
            return {"status": "Rejected"}, None
        status = self.connector_status()
        res = self.reservation
        if status == "Faulted":
            return {"status": "Faulted"}, None
        if status == "Unavailable":
            return {"status": "Unavailable"}, None
        if res is not None and res.reservation_id == p["reservationId"]:
            pass  # replaces the existing reservation (§5.13)
        elif status != "Available":
            return {"status": "Occupied"}, None
        expiry = parse_time(p["expiryDate"])
        assert expiry is not None
        self.reservation = Reservation(p["reservationId"], cid, p["idTag"],
                                     p.get("parentIdTag"), expiry)
        self.kick()
        return {"status": "Accepted"}, None

    def on_cancel_reservation(self, p: Payload) -> Reply:
        res = self.reservation
        if res is None or res.reservation_id != p["reservationId"]:
            return {"status": "Rejected"}, None
        self.reservation = None
        self.kick()
        return {"status": "Accepted"}, None
