"""The Cabur EV PLUS system upgrade through its web app (003 §12, §7.1.2; profile
``upgrade``) on the twin: a ``.bin`` file and its MD5 checksum posted from the
Upgrade page, and the outcome the display shows (``nvm.upgrade_result``, a key of
``upgrade.results``; the front panel prints its string until the next power-on).

Our readings where 003 is silent (also in the profile's ``upgrade`` note):

- the image is ``upgrade.image_header`` + version on its first line (our stand-in for
  the vendor's format, as EV NET's firmware_image);
- the MD5 of the whole file is checked as soon as it has arrived: a mismatch is
  ``checksum_mismatch`` (E02 UP) at once; then the header: an image for another model
  is ``wrong_image`` (E04 UP) at once;
- an empty file is "no valid data": ``timeout`` (E03 UP) after ``no_data_timeout_s``;
- a good image takes ``duration_s`` ("more or less 15 sec."), then its version is
  installed and ``installed`` (100 UP) shows; the charger restarts by itself
  ``RESTART_AFTER_S`` later (§12: "wait for the device to restart automatically"), a
  session in progress stopping as Reboot;
- ``write_failed`` (E01 UP, flash write failed) cannot happen on the twin;
- a power loss during the upgrade loses it: the charger boots with its old firmware
  and shows no result;
- a new upgrade replaces the result of the last one on the display.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
from typing import Any

RESTART_AFTER_S = 3.0  # spec seconds from 100 UP to the restart (our choice, see above)
BUSY = "Upgrading"  # the Upgrade page's Status while an upgrade runs
IDLE = "Idle"  # … with no upgrade since the last power-on


def form_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """A multipart/form-data body (an HTML form with a file input) as {field name:
    (file name or None, bytes)}; empty when the body is not multipart."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            data = part.get_payload(decode=True)
            parts[name] = (part.get_filename(), data if isinstance(data, bytes) else b"")
    return parts


class Upgrader:
    """One upgrade at a time on ``twin`` (a ChargerTwin), run on the bench's loop."""

    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def status(self) -> str:
        """The display string of the result (100 UP too while the restart is pending),
        else Upgrading while one runs, else Idle."""
        result = self.twin.nvm.upgrade_result
        if result is not None:
            return str(self.twin.profile.upgrade.results[result].display)
        return BUSY if self.running else IDLE

    def start(self, image: bytes, checksum: str) -> str | None:
        """Continue (§12 step 7): why the request is refused, or None (the result follows
        on the display and the page's Status)."""
        spec = self.twin.profile.upgrade
        fw = self.twin.fw
        if self.running:
            return "an upgrade is running: wait for its result"
        if fw is None:
            return "the charger is off"
        self._result(None)  # a new upgrade: the last one's result is gone (our reading)
        if not image:
            self._task = asyncio.get_running_loop().create_task(
                self._finish(fw, spec.no_data_timeout_s, "timeout"))
            return None
        if hashlib.md5(image).hexdigest() != checksum.strip().lower() \
                and "evplus_upgrade_ignores_md5" not in self.twin.defects:  # rig selftest
            self._result("checksum_mismatch")
            return None
        header = spec.image_header.encode()
        version = image[len(header):].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if not image.startswith(header) or not version:
            self._result("wrong_image")
            return None
        self._task = asyncio.get_running_loop().create_task(
            self._finish(fw, spec.duration_s, "installed", version))
        return None

    def _result(self, result: str | None) -> None:
        self.twin.nvm.upgrade_result = result
        if self.twin.fw is not None:
            self.twin.fw.kick()  # the display takes it at the next evaluation

    async def _finish(self, fw: Any, after_s: float, result: str,
                      version: str | None = None) -> None:
        await self.twin.clock.asleep(after_s)
        if self.twin.fw is not fw:
            return  # the board lost power meanwhile: no upgrade, no result
        if version is not None:
            self.twin.nvm.firmware_version = version
        self._result(result)
        if not self.twin.profile.upgrade.results[result].restarts:
            return
        await self.twin.clock.asleep(RESTART_AFTER_S)
        if self.twin.fw is fw:
            await self.twin.reset("Soft", stop_reason="Reboot", cause="firmware_update")
