"""OCTT modules 19 (Firmware Management) and 20 (Diagnostics).

The backend's files live on the rig's HTTP file server (``file_server``): the
charger downloads firmware images from it and PUTs diagnostics to
``location + "/" + fileName``.
"""

from __future__ import annotations

import pytest
from ocpp.v16 import call

# Spec seconds: download + install + reboot of the charger, generous.
UPDATE_S = 120
# Firmware and diagnostics over OCPP only where the profile lists the operations (EV
# PLUS upgrades through its web app, 003 §12, and lists neither, §8.1.4).
pytestmark = pytest.mark.applies(operations=("UpdateFirmware", "GetDiagnostics"))


def _needs_fw(spec) -> None:
    if "FirmwareManagement" not in spec.ocpp.feature_profiles:
        pytest.skip(f"{spec.model} does not support the FirmwareManagement profile")


def _image(spec, version: str) -> bytes:
    """An image the charger installs: the profile's header, the version, a body."""
    return spec.firmware_image.header.encode() + version.encode() + b"\n" + bytes(range(256)) * 4


def _update(csms, location: str, retries: int | None = None) -> None:
    # UpdateFirmware.conf has no fields: a CALLERROR (raised by call) is the only failure.
    csms.call(call.UpdateFirmware(location=location, retrieve_date=csms.state.now_iso(),
                                  retries=retries))


def _install(csms, file_server, spec, version: str) -> None:
    """Download and install ``version``; returns when the charger booted with it."""
    path = f"fw/evnet-{version}{spec.firmware_image.file_type}"
    file_server.files[path] = _image(spec, version)
    mark = csms.mark()
    _update(csms, file_server.url(path))
    for status in ("Downloading", "Downloaded", "Installing"):
        csms.wait_for("FirmwareStatusNotification", status=status, timeout=UPDATE_S)
    boot = csms.wait_for("BootNotification", timeout=UPDATE_S, since=mark)
    assert boot["firmwareVersion"] == version
    csms.wait_for("FirmwareStatusNotification", status="Installed", since=mark, timeout=UPDATE_S)
    assert [r.path for r in file_server.requested("GET")].count(path) >= 1
    csms.wait_for("StatusNotification", connectorId=1, status="Available", since=boot.index,
                  timeout=UPDATE_S)


@pytest.mark.octt("TC_044_1_CS")
def test_firmware_update_download_install(csms, charger, file_server, spec):
    """UpdateFirmware(location, retrieveDate now) → conf → FirmwareStatusNotification
    Downloading → Downloaded → Installing → reboot: BootNotification with the new
    firmwareVersion → Installed. The original image is put back afterwards."""
    _needs_fw(spec)
    original = charger.firmware
    new = f"{original}-rig"
    try:
        _install(csms, file_server, spec, new)
        assert charger.firmware == new
    finally:
        if charger.firmware != original:
            _install(csms, file_server, spec, original)
    assert charger.firmware == original


@pytest.mark.octt("TC_044_2_CS")
def test_firmware_update_download_failed(csms, charger, file_server, spec):
    """UpdateFirmware with a location nobody serves (404), retries 0 → Downloading →
    DownloadFailed; no reboot, the firmware is unchanged, and a triggered
    FirmwareStatusNotification afterwards reports Idle (OCPP 1.6 FirmwareStatus)."""
    _needs_fw(spec)
    original = charger.firmware
    path = "fw/missing-image.bin"
    mark = csms.mark()
    _update(csms, file_server.url(path), retries=0)
    csms.wait_for("FirmwareStatusNotification", status="Downloading", timeout=UPDATE_S)
    csms.wait_for("FirmwareStatusNotification", status="DownloadFailed", timeout=UPDATE_S)
    assert [(r.path, r.status) for r in file_server.requested("GET")] == [(path, 404)]
    csms.assert_none("FirmwareStatusNotification", 5, status="Installing")
    assert not [m for m in csms.history if m.index >= mark and m.action == "BootNotification"]
    assert charger.firmware == original
    if "RemoteTrigger" in spec.ocpp.feature_profiles:
        trig = csms.mark()
        assert csms.call(call.TriggerMessage(
            requested_message="FirmwareStatusNotification")).status == "Accepted"
        csms.wait_for("FirmwareStatusNotification", status="Idle", since=trig, timeout=5)


@pytest.mark.octt("TC_044_3_CS")
def test_firmware_update_installation_failed(csms, charger, file_server, spec):
    """An image the charger cannot install (no EVNET-FW header) → Downloading →
    Downloaded → Installing → InstallationFailed; the firmware is unchanged."""
    _needs_fw(spec)
    original = charger.firmware
    path = "fw/corrupt-image.bin"
    file_server.files[path] = b"NOT-AN-IMAGE " + bytes(range(256)) * 4
    mark = csms.mark()
    _update(csms, file_server.url(path), retries=0)
    for status in ("Downloading", "Downloaded", "Installing", "InstallationFailed"):
        csms.wait_for("FirmwareStatusNotification", status=status, timeout=UPDATE_S)
    csms.assert_none("FirmwareStatusNotification", 5, status="Installed")
    assert not [m for m in csms.history if m.index >= mark and m.action == "BootNotification"]
    assert charger.firmware == original


@pytest.mark.octt("TC_045_1_CS")
def test_get_diagnostics(csms, file_server, spec):
    """GetDiagnostics(location) → conf with a fileName → DiagnosticsStatusNotification
    Uploading → Uploaded, and the file arrived at location/fileName."""
    _needs_fw(spec)
    result = csms.call(call.GetDiagnostics(location=file_server.url("diag"), retries=0))
    assert result.file_name
    csms.wait_for("DiagnosticsStatusNotification", status="Uploading", timeout=UPDATE_S)
    csms.wait_for("DiagnosticsStatusNotification", status="Uploaded", timeout=UPDATE_S)
    uploaded = file_server.uploads.get(f"diag/{result.file_name}")
    assert uploaded, f"nothing uploaded as diag/{result.file_name}: {file_server.requests}"


@pytest.mark.octt("TC_045_2_CS")
def test_get_diagnostics_upload_failed(csms, file_server, spec):
    """GetDiagnostics to a location that refuses the upload (HTTP 403), retries 0 →
    Uploading → UploadFailed."""
    _needs_fw(spec)
    file_server.accept_uploads = False
    result = csms.call(call.GetDiagnostics(location=file_server.url("diag"), retries=0))
    csms.wait_for("DiagnosticsStatusNotification", status="Uploading", timeout=UPDATE_S)
    csms.wait_for("DiagnosticsStatusNotification", status="UploadFailed", timeout=UPDATE_S)
    puts = file_server.requested("PUT")
    assert puts and all(r.status == 403 for r in puts), puts
    assert not file_server.uploads
    if result.file_name:
        assert puts[0].path == f"diag/{result.file_name}"
    csms.assert_none("DiagnosticsStatusNotification", 5, status="Uploaded")
