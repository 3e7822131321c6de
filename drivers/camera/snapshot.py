"""A camera triggered frame by frame: one JPEG per HTTP GET (design §1).

Industrial inspection cameras are triggered, and most IP cameras answer a snapshot
URL with the picture of that moment. :class:`SnapshotCamera` takes a picture when the
rig wants one, at most ``fps`` per spec second while it watches — the same
:class:`~evrig.drivers.camera.capture.Frame` (stamped with the rig clock) as the
free-running :class:`~evrig.drivers.camera.capture.Camera`, so the display and light
readers do not know which one filmed.

Why the virtual bench's camera is one (rig/config_instruments.py CameraConfig): its
spec time runs up to 30x wall time, so a free-running camera would have to send
hundreds of frames per wall second to show a 0.5 s blink, all the time. Triggered,
it costs CPU only while a test looks, and the picture is of the spec instant it is
stamped with: the test's thread holds spec time while it is busy (rig/bench_clock.py),
the GET included. On a real camera the stamp is the middle of the request.

Every failure is an :class:`InstrumentError` naming the camera and its address,
within ``timeout_s`` wall seconds (a network's time).
"""

from __future__ import annotations

import urllib.error
import urllib.request

import cv2
import numpy as np

from evrig.drivers.camera.capture import READ_TIMEOUT_S, Frame, FrameWindow
from evrig.rig.clock import Clock
from evrig.rig.errors import InstrumentError

MAX_PICTURE_BYTES = 16 * 1024 * 1024  # a snapshot larger than this is not a camera's


class SnapshotCamera(FrameWindow):
    """``url``: the camera's snapshot address (one JPEG or PNG per GET)."""

    def __init__(self, url: str, *, clock: Clock | None = None, name: str = "camera",
                 fps: float = 10.0, timeout_s: float = READ_TIMEOUT_S) -> None:
        if fps <= 0:
            raise ValueError(f"{name}: fps must be > 0, got {fps}")
        self.address = url
        self.name = name
        self.clock = clock or Clock(1.0)
        self.period_s = 1.0 / fps
        self.timeout_s = timeout_s
        self._latest: Frame | None = None
        self._closed = False
        self.frame()  # the first picture now, or a clear error

    def _fail(self, problem: str) -> InstrumentError:
        return InstrumentError(self.name, self.address, problem)

    def _shoot(self) -> Frame:
        if self._closed:
            raise self._fail("the camera is closed")
        before = self.clock.now()
        try:
            with urllib.request.urlopen(self.address, timeout=self.timeout_s) as answer:
                data = answer.read(MAX_PICTURE_BYTES)
        except urllib.error.HTTPError as exc:
            raise self._fail(f"HTTP {exc.code} {exc.reason} (is this the snapshot URL?)") \
                from None
        except urllib.error.URLError as exc:
            raise self._fail(f"cannot get a picture ({exc.reason})") from None
        except (TimeoutError, OSError) as exc:
            raise self._fail(f"no picture within {self.timeout_s:g} s ({exc})") from None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise self._fail(f"the answer ({len(data)} bytes) is not a JPEG or PNG picture")
        index = self._latest.index + 1 if self._latest is not None else 1
        self._latest = Frame((before + self.clock.now()) / 2, np.asarray(image, np.uint8),
                             index)
        return self._latest

    def latest(self) -> Frame | None:
        return self._latest

    def frame(self, newer_than: int = 0) -> Frame:
        """A picture newer than frame ``newer_than``: the latest if it is (and is at
        most one frame period old), else the next one, taken one period after the
        latest (so a window of frames is ``fps`` per spec second)."""
        last = self._latest
        now = self.clock.now()
        if last is not None and last.index > newer_than and now - last.t <= self.period_s:
            return last
        if last is not None:
            self.clock.sleep(last.t + self.period_s - now)
        return self._shoot()

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> SnapshotCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
