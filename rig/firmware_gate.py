"""The firmware a regression run claims is the firmware the unit runs.

``rig run regression --firmware V`` files its record under V, and a release is gated
on that record (``rig compare``), so before the first testcase the run reads what the
unit reports — the BootNotification's firmwareVersion and, where the rig has it, the
service console's ``version`` — and:

- both say V: the testcases run, and the record notes how V was verified;
- another version and no ``--install``: the run stops (exit code 3) and files nothing
  under V, saying what the unit runs and how V gets onto it;
- ``--install IMAGE``: the image is served from the backend's file server and
  installed through OCPP UpdateFirmware (FirmwareStatusNotification up to
  Installing, then the reboot's BootNotification), and the versions are read again.
  A profile without UpdateFirmware among its operations (EV PLUS: 003 §8.1.4, it
  upgrades through its web app, §12) is told so before the bench starts.

:class:`FirmwareGate` is a pytest plugin (name ``rig-firmware``) whose session-scoped
autouse fixture does this on the run's own bench: the virtual bench's unit is built
with the session, so a check in another session would read another unit.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evrig.rig.errors import RigError

UPDATE_S = 120.0  # spec seconds for download, install and reboot (as the OCPP testcases)
BOOT_S = 60.0  # spec seconds for the unit's boot at the bench's start
FAILED = ("DownloadFailed", "InstallationFailed")  # FirmwareStatus, OCPP 1.6 §7.25


def installs_over_ocpp(profile: Any) -> bool:
    return "UpdateFirmware" in profile.ocpp.operations_csms_to_cp


def how_to_install(profile: Any, version: str) -> str:
    """How ``version`` gets onto a unit of ``profile``: the hint of a refusal."""
    if installs_over_ocpp(profile):
        return (f"Install it first (rig run regression --firmware {version} --install IMAGE: "
                "OCPP UpdateFirmware)")
    return (f"Install it the unit's own way: {profile.model} takes no firmware over OCPP "
            "(UpdateFirmware is not in its profile's ocpp.operations_csms_to_cp)")


def check_installable(config: Any, image: str | None) -> None:
    """Before the bench starts: ``--install`` needs a file and a profile that lists
    UpdateFirmware. A RigError says which is missing."""
    if image is None:
        return
    from evrig.rig.rig_files import profile_of

    profile = profile_of(config)
    if not installs_over_ocpp(profile):
        raise RigError(f"--install {image}: {profile.model} cannot be installed over OCPP "
                       "(UpdateFirmware is not in its profile's ocpp.operations_csms_to_cp); "
                       "install the firmware the unit's own way (EV PLUS: its web app's "
                       "Upgrade page, 003 §12), then run without --install")
    if not Path(image).is_file():
        raise RigError(f"--install {image}: no such file")


def discard(folder: Path) -> None:
    """Remove what a refused run left in its run folder (pytest's junit.xml) and the
    folders themselves once empty: nothing stays filed under a version not tested."""
    (folder / "junit.xml").unlink(missing_ok=True)
    for path in (folder, folder.parent):
        with contextlib.suppress(OSError):
            path.rmdir()


class FirmwareGate:
    """The check (see the module docstring). ``verified`` once the unit runs
    ``claimed``; ``refusal`` says why not; ``notes`` go into the record."""

    name = "rig-firmware"

    def __init__(self, claimed: str, image: str | None = None) -> None:
        self.claimed = claimed
        self.image = image
        self.verified = False
        self.refusal: str | None = None
        self.notes: list[str] = []

    @pytest.fixture(scope="session", autouse=True)
    def _firmware_under_test(self, request: pytest.FixtureRequest) -> Iterator[None]:
        rig = request.getfixturevalue("rig")
        try:
            self.check(rig)
        except (RigError, AssertionError) as exc:
            self.refusal = str(exc)
        except Exception as exc:  # a timeout of the backend, a console that died
            self.refusal = f"the unit's firmware could not be read: {type(exc).__name__}: {exc}"
        if self.refusal is not None:
            pytest.exit(self.refusal, returncode=3)
        yield

    # -- the check -------------------------------------------------------------------
    def check(self, rig: Any) -> None:
        before = self.reported(rig)
        if self._matches(before):
            self.verified = True
            self.notes.append(f"firmware {self.claimed} verified before the testcases: "
                              + self._sources(before))
            return
        if self.image is None:
            raise RigError(f"the unit reports firmware {self._sources(before)}, not "
                           f"{self.claimed}: nothing filed under {self.claimed}. "
                           + how_to_install(rig.profile, self.claimed)
                           + ", or run with --firmware set to what it runs")
        digest = self.install(rig, Path(self.image))
        after = self.reported(rig, since_boot=True)
        if not self._matches(after):
            raise RigError(f"installed {self.image} over OCPP UpdateFirmware; the unit now "
                           f"reports {self._sources(after)}, not {self.claimed}: nothing "
                           f"filed under {self.claimed}")
        self.verified = True
        self.notes.append(f"firmware {self.claimed} installed through OCPP UpdateFirmware "
                          f"from {self.image} (sha256 {digest[:16]}) before the testcases; "
                          f"it ran {self._sources(before)}; now {self._sources(after)}")

    def reported(self, rig: Any, since_boot: bool = False) -> dict[str, str | None]:
        """What the unit says it runs: its last BootNotification's firmwareVersion
        (the boot at the bench's start, or the one after an install) and the service
        console's ``version`` where the rig has a console."""
        csms = rig.csms
        boots = csms.history.calls("BootNotification")
        boot = boots[-1] if boots and since_boot else \
            csms.wait_for("BootNotification", since=0, timeout=BOOT_S)
        out: dict[str, str | None] = {"BootNotification": boot.payload.get("firmwareVersion")}
        if rig.charger is not None:
            out["service console"] = rig.charger.firmware
        return out

    def install(self, rig: Any, image: Path) -> str:
        """Serve ``image`` and install it through UpdateFirmware; returns its sha256
        once the unit is back up (Available) after the reboot."""
        from ocpp.v16 import call

        from evrig.rig.assembly import file_server

        body = image.read_bytes()
        csms, server = rig.csms, file_server()
        try:
            path = f"fw/{image.name}"
            server.files[path] = body
            mark = csms.mark()
            csms.call(call.UpdateFirmware(location=server.url(path),
                                          retrieve_date=csms.state.now_iso()))
            index = mark
            while True:  # up to Installing: a charger may say Installed after the reboot
                status = csms.wait_for("FirmwareStatusNotification", since=index,
                                       timeout=UPDATE_S)
                index = status.index + 1
                if status["status"] in FAILED:
                    raise RigError(f"installing {image} over OCPP UpdateFirmware: "
                                   f"{status['status']}: nothing filed under {self.claimed}")
                if status["status"] in ("Installing", "Installed"):
                    break
            boot = csms.wait_for("BootNotification", since=mark, timeout=UPDATE_S)
            csms.wait_for("StatusNotification", since=boot.index, connectorId=1,
                          status="Available", timeout=UPDATE_S)
        finally:
            server.stop()
        return hashlib.sha256(body).hexdigest()

    def _matches(self, reported: dict[str, str | None]) -> bool:
        return all(version == self.claimed for version in reported.values())

    @staticmethod
    def _sources(reported: dict[str, str | None]) -> str:
        """``1.5.7 (BootNotification and service console)``, or each source's version
        where they differ."""
        by_version: dict[str | None, list[str]] = {}
        for source, version in reported.items():
            by_version.setdefault(version, []).append(source)
        return ", ".join(f"{version} ({' and '.join(sources)})"
                         for version, sources in by_version.items())
