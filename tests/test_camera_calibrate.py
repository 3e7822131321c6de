"""``rig calibrate camera`` (issue 13 item 2): the operator walk against the virtual
bench's camera server, answers scripted. The defaults (the shipped calibration scaled
to the frame) read a rendered panel and are written; a display box beside the
display is refused and nothing is written; the file loads back with
``load_camera_calibration``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from evrig.drivers.camera.calibrate import calibrate, regions
from evrig.rig.cli import main
from evrig.rig.errors import RigError
from evrig.rig.loop import LoopThread
from evrig.rig.profile import load_profile
from evrig.rig.tables.panel_layout import load_camera_calibration, load_panel
from evrig.sim.instruments.camera_server import CameraServer
from evrig.sim.instruments.panel_render import PanelRenderer, PanelState

PROFILE = load_profile("evplus")
TABLE = load_panel(PROFILE.model)
FRAME = PanelRenderer(TABLE).render(PanelState("230.0", {"belt": "blue", "fault": "red"},
                                               "V"))
REGIONS = len(regions(TABLE.camera))


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    loop = LoopThread("camera-server")
    server = CameraServer(lambda: FRAME, fps=20)
    loop.run(server.start())
    try:
        yield server.url
    finally:
        loop.run(server.stop())
        loop.stop()


def scripted(answers: list[str]) -> tuple[list[str], Callable[[str], str]]:
    """(the prompts asked, an ``ask`` giving ``answers`` then Enter)."""
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return answers.pop(0) if answers else ""

    return prompts, ask


def test_the_defaults_verify_and_are_written(url: str, tmp_path: Path) -> None:
    out = tmp_path / "bench" / "camera.yaml"
    out.parent.mkdir()
    told: list[str] = []
    # A wrong answer is asked again; "0 0 5" is not a box.
    prompts, ask = scripted(["", "0 0 5"])
    calibrate(url, PROFILE, out, ask, told.append)
    assert len(prompts) == REGIONS + 1 and prompts[0].startswith("display corners")
    assert any("'0 0 5' is not four whole numbers" in t for t in told)
    png = cv2.imread(str(out.with_name("camera.png")))
    assert png is not None and png.shape == FRAME.shape
    assert out.with_name("camera-regions.png").is_file()
    cal = load_camera_calibration(out, "EVPLUS")
    shipped = TABLE.camera
    assert cal.frame == shipped.frame and cal.display == shipped.display
    assert cal.lights == shipped.lights and cal.units == shipped.units
    assert cal.reference == shipped.reference and cal.colours == shipped.colours
    assert set(cal.lights) == {"belt", "wifi", "plug", "charging", "fault", "rfid"}
    assert not list(out.parent.glob("*.tmp"))


def test_a_display_box_beside_the_display_is_refused(url: str, tmp_path: Path) -> None:
    out = tmp_path / "camera.yaml"
    # The display's corners moved down onto the indicators.
    _, ask = scripted(["94 170 546 170 546 226 94 226"])
    with pytest.raises(RigError, match=r"refused, nothing written: the display reads"):
        calibrate(url, PROFILE, out, ask, lambda _: None)
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))
    assert (tmp_path / "camera-regions.png").is_file()  # to see what was wrong


def test_the_command_line(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    """``rig calibrate camera`` reads the answers from stdin; a wrong box, one line
    and exit 1; ``rig calibrate led`` is still there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n" * REGIONS))
    assert main(["calibrate", "camera", "--camera", url]) == 0
    assert "camera calibration written: camera-calibration.yaml" in capsys.readouterr().out
    assert load_camera_calibration(tmp_path / "camera-calibration.yaml", "EVPLUS").lights \
        == TABLE.camera.lights
    wrong = "94 170 546 170 546 226 94 226\n" + "\n" * (REGIONS - 1)
    monkeypatch.setattr("sys.stdin", io.StringIO(wrong))
    assert main(["calibrate", "camera", "--camera", url, "--out", "bad.yaml"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rig calibrate: refused"), err
    assert not (tmp_path / "bad.yaml").exists()
    with pytest.raises(SystemExit):
        main(["calibrate", "led", "--help"])
    assert "--rig" in capsys.readouterr().out


def test_a_frame_of_another_size_gets_scaled_defaults() -> None:
    from evrig.drivers.camera.calibrate import scaled_regions

    big = scaled_regions(TABLE.camera, 1280, 960)
    assert big["display"] == tuple(2 * v for v in regions(TABLE.camera)["display"])
    assert big["lights.fault[0]"] == (918, 350, 44, 44)
    assert np.allclose(scaled_regions(TABLE.camera, 640, 480)["reference"], (54, 180, 14, 120))
