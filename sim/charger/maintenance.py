"""Firmware management feature: UpdateFirmware and GetDiagnostics (OCPP 1.6 §5.19,
§5.9); the board carries them out (twin.py), the statuses go out from here."""

from __future__ import annotations

import urllib.request
from typing import ClassVar

from evrig.sim.charger.auth import parse_time
from evrig.sim.charger.fw_base import FirmwareBase, Reply
from evrig.sim.charger.ocpp_link import Payload


class Maintenance(FirmwareBase):
    ANSWERS: ClassVar[dict[str, str]] = {
        "GetDiagnostics": "on_get_diagnostics",
        "UpdateFirmware": "on_update_firmware",
    }

    def firmware_status_is(self, status: str) -> None:
        self.firmware_status = status
        self.send("FirmwareStatusNotification", lambda: {"status": status})

    def diagnostics_status_is(self, status: str) -> None:
        self.diagnostics_status = status
        self.send("DiagnosticsStatusNotification", lambda: {"status": status})

    def on_get_diagnostics(self, p: Payload) -> Reply:
        name = f"diagnostics-{self.serial}.log"
        return {"fileName": name}, self.spawn(self.board.upload_diagnostics(p["location"], name))

    def on_update_firmware(self, p: Payload) -> Reply:
        when = parse_time(p["retrieveDate"])
        return {}, self.spawn(self.board.update_firmware(p["location"], when))


def http_get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (test backend URL)
        return bytes(r.read())


def http_put(url: str, data: bytes, timeout: float) -> None:
    req = urllib.request.Request(url, data=data, method="PUT")
    with urllib.request.urlopen(req, timeout=timeout):  # noqa: S310
        pass
