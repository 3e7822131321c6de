"""The front-panel camera as a bench uses it: the snapshot camera driver
(drivers/camera/snapshot.py) against the virtual bench's camera
(sim/instruments/panel_camera.py), its failures, and the rig file's camera section.

What the panel shows per connector status and fault is asserted by testcases
(testcases/panel/) through the fixtures; here, the instrument itself.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from evrig.drivers.camera import SnapshotCamera, load_panel, open_panel
from evrig.rig.clock import Clock
from evrig.rig.config import load_rig
from evrig.rig.errors import InstrumentError, RigError, RigFileError
from evrig.rig.loop import LoopThread
from evrig.rig.profile import load_profile
from evrig.sim.instruments.panel_camera import PanelCamera

SPEC = load_profile("evplus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served() -> object:
    """A PanelCamera of a twin that is off (the panel unlit), served on 127.0.0.1."""
    loop = LoopThread("panel-camera-test")
    camera = PanelCamera(SPEC, Clock(), lambda: None)
    loop.run(camera.start())
    yield camera
    loop.run(camera.stop())
    loop.stop()


def test_snapshots_are_pictures_of_the_panel_stamped_on_the_rig_clock(served) -> None:
    clock = Clock()
    with SnapshotCamera(served.url, clock=clock, fps=20) as camera:
        frames = camera.frames(0.5)
    width, height = load_panel(SPEC.model).drawing.frame
    assert all(f.image.shape == (height, width, 3) for f in frames)
    steps = [b.t - a.t for a, b in zip(frames, frames[1:], strict=False)]
    assert len(frames) >= 10 and min(steps) >= 0.05 * 0.9  # at most fps per second
    assert [f.index for f in frames] == list(range(frames[0].index, frames[-1].index + 1))
    assert not served.panel.facts.powered  # a twin that is off: an unlit panel


def test_each_look_is_rendered_once(served) -> None:
    first, again = served.frame(), served.frame()
    assert first is again  # the same look: the cached picture, encoded once by the server


def test_a_camera_that_is_not_there_is_named_within_its_timeout() -> None:
    url = f"http://127.0.0.1:{_free_port()}/snapshot"
    start = time.monotonic()
    with pytest.raises(InstrumentError) as err:
        SnapshotCamera(url, name="panel camera", timeout_s=1.0)
    assert time.monotonic() - start < 3.0
    assert "panel camera" in str(err.value) and url in str(err.value)


def test_an_address_that_is_not_a_snapshot_says_so(served) -> None:
    url = served.url.replace("/snapshot", "/nothing")
    with pytest.raises(InstrumentError, match="HTTP 404"):
        SnapshotCamera(url, name="panel camera", timeout_s=2.0)


def _rig_file(tmp_path: Path, camera: str) -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text(f"profile: evplus\nvariant: 7S\ninstruments:\n  camera:\n{camera}")
    return path


@pytest.mark.parametrize("address", ["'/dev/vid0'", "ftp://cam/x", "-1"])
def test_a_malformed_camera_address_is_refused(tmp_path: Path, address: str) -> None:
    with pytest.raises(RigFileError, match="instruments.camera.address"):
        load_rig(_rig_file(tmp_path, f"    address: {address}\n"))


def test_a_real_camera_without_its_calibration_is_refused(tmp_path: Path) -> None:
    """The model's table places the regions of the virtual camera's frame only: a real
    camera read with it would read the wrong places."""
    config = load_rig(_rig_file(tmp_path, "    address: http://10.0.0.9/snapshot.jpg\n"
                                          "    trigger: snapshot\n"))
    with pytest.raises(RigError, match="rig calibrate camera"):
        open_panel(config, Clock(), SPEC)


def test_sim_needs_the_virtual_bench(tmp_path: Path) -> None:
    config = load_rig(_rig_file(tmp_path, "    address: sim\n"))
    with pytest.raises(RigError, match="no virtual bench"):
        open_panel(config, Clock(), SPEC)
