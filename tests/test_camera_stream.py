"""The camera driver over the network (issue 13 item 2): the free-running MJPEG camera
(drivers/camera/capture.py) against the virtual bench's camera server
(sim/instruments/camera_server.py) — the display and the lights read over HTTP, a
stream that stops, a camera nobody answers — each failure an InstrumentError naming
the camera within its timeout. The readers' accuracy is tests/test_camera_reader.py;
the snapshot camera tests/test_panel_camera.py."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from itertools import pairwise

import cv2
import numpy as np
import pytest

from evrig.drivers.camera import STEADY, Camera, PanelObserver, blink_class
from evrig.rig.clock import Clock
from evrig.rig.errors import InstrumentError
from evrig.rig.loop import LoopThread
from evrig.rig.tables.panel_layout import OFF
from evrig.sim.instruments.camera_server import CameraServer
from evrig.sim.instruments.panel_render import PanelState
from tests.test_camera_reader import profile, reader, renderer, table


# -- (d) over HTTP: the driver reads the virtual bench's camera server ------------------
class Panel:
    """A panel whose display text can change and whose belt blinks fast on the wall
    clock (the server's frames are wall-time)."""

    def __init__(self, period: float) -> None:
        self.text = "230.0"
        self.period = period
        self.t0 = time.monotonic()

    def frame(self) -> np.ndarray:
        on = ((time.monotonic() - self.t0) % self.period) < self.period / 2
        state = PanelState(self.text, {"belt": "blue" if on else OFF, "fault": "red"}, "V")
        return renderer().render(state)


@pytest.fixture
def served() -> Iterator[tuple[CameraServer, Panel, LoopThread]]:
    loop = LoopThread("camera-server")
    panel = Panel(profile().lights["belt"].blink["fast"].period_s)
    clock = Clock()
    server = CameraServer(panel.frame, fps=20, now=clock.now)
    loop.run(server.start())
    try:
        yield server, panel, loop
    finally:
        loop.run(server.stop())
        loop.stop()


def test_driver_reads_the_camera_server_over_http(
        served: tuple[CameraServer, Panel, LoopThread]) -> None:
    server, panel, _ = served
    with Camera(server.url, clock=Clock(), name="panel camera") as camera:
        observer = PanelObserver(camera, table().display, table().camera,
                                 profile().lights)
        reading = observer.reading()
        assert (reading.text, reading.unit) == ("230.0", "V")
        threading.Timer(0.3, lambda: setattr(panel, "text", "ERR OCP")).start()
        assert observer.wait_for(r"^ERR \w+$", timeout=5.0) == "ERR OCP"
        belt = observer.observe("belt", 1.6)
        assert belt.matches(("blue", OFF)), belt
        assert blink_class(belt, profile().lights["belt"]) == "fast"
        fault = observer.observe("fault", 0.5)
        assert fault.colors == ("red",) and blink_class(fault, None) == STEADY
        frames = camera.frames(0.3)
        assert all(b.t > a.t and b.index > a.index for a, b in pairwise(frames))
    with urllib.request.urlopen(server.snapshot_url, timeout=5) as answer:
        assert answer.headers["Content-Type"] == "image/jpeg"
        assert float(answer.headers["X-Spec-Time"]) >= 0
        image = cv2.imdecode(np.frombuffer(answer.read(), np.uint8), cv2.IMREAD_COLOR)
    assert reader().read(np.asarray(image, np.uint8)).text == "ERR OCP"
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/nothing", timeout=5)


def test_a_stream_that_stops_is_an_instrument_error(
        served: tuple[CameraServer, Panel, LoopThread]) -> None:
    server, _, loop = served
    camera = Camera(server.url, read_timeout_s=2.0)
    try:
        loop.run(server.stop())
        start = time.monotonic()
        with pytest.raises(InstrumentError, match=f"camera at {server.url}: (the stream "
                                                  "ended|no frame)"):
            for _ in range(100):
                camera.frame(newer_than=camera.frame().index)
        assert time.monotonic() - start < 4.0
    finally:
        camera.close()


# -- (e) nobody answers ------------------------------------------------------------------
def _timed(action: Callable[[], object]) -> tuple[InstrumentError, float]:
    start = time.monotonic()
    with pytest.raises(InstrumentError) as error:
        action()
    return error.value, time.monotonic() - start


def test_a_camera_nobody_answers_fails_within_the_timeout() -> None:
    """A host that accepts the connection and never sends a frame; a port nobody
    listens on; a USB camera that is not plugged in."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/video"
        error, took = _timed(lambda: Camera(url, name="panel camera", open_timeout_s=1.0,
                                            read_timeout_s=1.0))
        assert str(error).startswith(f"panel camera at {url}: no video stream within 1 s")
        assert took < 3.5
    error, took = _timed(lambda: Camera(url, open_timeout_s=1.0))
    assert "cannot connect" in str(error) and took < 1.0
    error, took = _timed(lambda: Camera(63))
    assert str(error).startswith("camera at /dev/video63: no such video device")
    assert took < 1.0
