"""A camera facing the charger's front panel, through OpenCV (design §1).

One class for both benches: ``Camera(0)`` or ``Camera("/dev/video0")`` opens a USB
camera (V4L2), ``Camera("http://host:port/video")`` an MJPEG network camera — the
virtual bench's camera server (sim/instruments/camera_server.py) or a real IP camera
— through OpenCV's FFmpeg backend. Nothing else in the rig touches ``cv2.VideoCapture``.

Why a grabbing thread: OpenCV hands frames over in the order they arrived, and a
stream read more slowly than it is sent queues up in the socket — a reader that
sampled now and then would look at the past, seconds old. The thread reads every
frame as it comes and keeps the newest, stamped with the rig clock's spec time on
arrival (OpenCV does not pass on a stream's own timestamps), so a reader gets what
the panel shows now and a blink is timed from the stamps.

Why the bounded open: OpenCV's FFmpeg open can hang on a host that accepts and then
says nothing. A network address is first probed with a plain TCP connect (its
failure names the cause: refused, unreachable, timed out), FFmpeg gets open and
read timeouts, and the open runs in a thread that is given up on after the timeout.
Every failure is an :class:`InstrumentError` naming the camera and its address.
Transport timeouts are wall seconds (a network's time); observation windows are
spec seconds on the rig clock (design §4).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
from numpy.typing import NDArray

from evrig.rig.clock import Clock
from evrig.rig.errors import InstrumentError

OPEN_TIMEOUT_S = 5.0  # wall seconds for the camera to deliver its first frame
READ_TIMEOUT_S = 5.0  # wall seconds without a frame before the camera counts as gone
DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554}


@dataclass(frozen=True)
class Frame:
    """One picture: spec time of its arrival (rig clock), the BGR pixels, and its
    number since the camera was opened (a reader asks for a frame newer than the last)."""

    t: float
    image: NDArray[np.uint8] = field(repr=False)
    index: int


def describe(address: int | str) -> str:
    """The camera's address as a person reads it (index 0 is /dev/video0 on Linux)."""
    if isinstance(address, int):
        return f"/dev/video{address}"
    return address


def _probe(url: str, timeout_s: float) -> str | None:
    """Why a network camera cannot be reached (None: it accepts connections)."""
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:
        return "not a camera URL (expected http://host:port/path)"
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    if port is None:
        return f"no port for scheme {parts.scheme!r}"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except TimeoutError:
        return f"no answer within {timeout_s:g} s (is the camera on the network?)"
    except OSError as exc:
        return f"cannot connect ({exc.strerror or exc})"


class FrameWindow:
    """What the panel's readers need of a camera (drivers/camera/panel.py): the newest
    frame, a newer one, and every frame over a window of spec seconds."""

    clock: Clock

    def latest(self) -> Frame | None:
        raise NotImplementedError

    def frame(self, newer_than: int = 0) -> Frame:
        raise NotImplementedError

    def frames(self, seconds: float) -> list[Frame]:
        """Every frame that arrives over ``seconds`` spec seconds, from the next one
        on, in order (the window a blink is read from)."""
        last = self.latest()
        first = self.frame(newer_than=last.index if last is not None else 0)
        out = [first]
        while out[-1].t < first.t + seconds:
            out.append(self.frame(newer_than=out[-1].index))
        return out

    def close(self) -> None:
        raise NotImplementedError


class Camera(FrameWindow):
    """An open camera; frames flow until :meth:`close`. ``address``: a device index,
    a device path or a stream URL. ``clock`` stamps frames (default: the wall clock)."""

    def __init__(self, address: int | str, *, clock: Clock | None = None,
                 name: str = "camera", open_timeout_s: float = OPEN_TIMEOUT_S,
                 read_timeout_s: float = READ_TIMEOUT_S,
                 size: tuple[int, int] | None = None) -> None:
        if isinstance(address, str) and address.isdigit():
            address = int(address)  # "0" in a rig file is the first USB camera
        self.address = address
        self.name = name
        self.clock = clock or Clock(1.0)
        self.read_timeout_s = read_timeout_s
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._error: str | None = None
        self._closed = False
        self._capture = self._open(open_timeout_s, size)
        self._thread = threading.Thread(target=self._grab, name=f"{name} grabber", daemon=True)
        self._thread.start()
        try:
            self.frame()  # the first frame within the read timeout, or a clear error
        except InstrumentError:
            self.close()
            raise

    def _fail(self, problem: str) -> InstrumentError:
        return InstrumentError(self.name, describe(self.address), problem)

    # -- opening ---------------------------------------------------------------------------
    def _open(self, timeout_s: float, size: tuple[int, int] | None) -> cv2.VideoCapture:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our error says it
        address = self.address
        if isinstance(address, int) or address.startswith("/dev/"):
            path = describe(address)
            if not Path(path).exists():
                raise self._fail("no such video device (is the USB camera plugged in? "
                                 "`ls /dev/video*` lists the cameras)")
            source: int | str = address
            backend, params = cv2.CAP_V4L2, []
        else:
            problem = _probe(address, timeout_s)
            if problem is not None:
                raise self._fail(problem)
            source, backend = address, cv2.CAP_FFMPEG
            ms = int(max(timeout_s, self.read_timeout_s) * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        opened: list[cv2.VideoCapture] = []

        def work() -> None:
            opened.append(cv2.VideoCapture(source, backend, params))

        worker = threading.Thread(target=work, name=f"{self.name} open", daemon=True)
        start = time.monotonic()
        worker.start()
        worker.join(timeout_s + 1.0)  # FFmpeg's own timeout first; this one if it hangs
        timed_out = time.monotonic() - start >= 0.9 * timeout_s
        if worker.is_alive() or not opened or (timed_out and not opened[0].isOpened()):
            if opened:
                opened[0].release()
            raise self._fail(f"no video stream within {timeout_s:g} s (it accepts "
                             "connections but sends no frames: is this the stream's URL?)")
        capture = opened[0]
        if not capture.isOpened():
            capture.release()
            raise self._fail("opened no video stream (not a camera, or another program "
                             "holds it)")
        if size is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        return capture

    # -- the grabbing thread ---------------------------------------------------------------
    def _grab(self) -> None:
        """Read frames until closed or the stream ends; the capture is released here,
        by the only thread that reads it (releasing it under a blocked read is not safe)."""
        index = 0
        try:
            while not self._closed:
                ok, image = self._capture.read()
                if self._closed:
                    break
                if not ok or image is None:
                    with self._cond:
                        self._error = ("the stream ended (camera unplugged, or the server "
                                       "stopped)")
                        self._cond.notify_all()
                    return
                index += 1
                frame = Frame(self.clock.now(), np.asarray(image, np.uint8), index)
                with self._cond:
                    self._latest = frame
                    self._cond.notify_all()
        finally:
            self._capture.release()

    # -- frames ----------------------------------------------------------------------------
    def latest(self) -> Frame | None:
        """The newest frame so far, without waiting."""
        with self._cond:
            return self._latest

    def frame(self, newer_than: int = 0) -> Frame:
        """The newest frame whose index is above ``newer_than`` (0: any), waiting up to
        the read timeout (wall seconds) for one."""

        def ready() -> bool:
            return (self._latest is not None and self._latest.index > newer_than) \
                or self._error is not None or self._closed

        with self._cond, self.clock.waiting(ready):
            self._cond.wait_for(ready, self.read_timeout_s)
            latest = self._latest
            if latest is not None and latest.index > newer_than:
                return latest
            if self._closed:
                raise self._fail("the camera is closed")
            if self._error is not None:
                raise self._fail(self._error)
        raise self._fail(f"no frame for {self.read_timeout_s:g} s")

    def close(self) -> None:
        """Stop grabbing; waits up to the read timeout for a read in progress."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(self.read_timeout_s + 1.0)

    def __enter__(self) -> Camera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
