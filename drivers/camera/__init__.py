"""A camera facing the charger's front panel (design §1, §3): the character display,
the LED belt and the indicators, read from frames — a USB camera through OpenCV on a
real bench, the virtual bench's MJPEG camera server on a laptop, the same code.

- capture.py: the camera (``cv2.VideoCapture`` on an index, a device or a URL);
- display_reader.py: the display's text (and lit unit) from one frame;
- light_reader.py: each light's colour per frame, its blink over a window;
- exposure.py: measuring a region with the frame's exposure taken out;
- snapshot.py: a camera triggered per frame (an IP camera's snapshot URL; the
  virtual bench's camera);
- panel.py: the three together over a live camera (``text``, ``wait_for``,
  ``observe``); panel_views.py: the ``display``, ``indicators`` and belt ``led``
  fixtures on it.
- calibrate.py: ``rig calibrate camera``, the operator walk that places the regions.

Where each element is in a frame and what each colour looks like is the bench's
camera calibration (rig/tables/panel_layout.py; the virtual camera's is the model's
panel table, ``rig/tables/panel/<model>.yaml``).
"""

from __future__ import annotations

from typing import Any

from evrig.drivers.camera.capture import Camera, Frame
from evrig.drivers.camera.display_reader import DisplayReader, DisplayReading
from evrig.drivers.camera.light_reader import STEADY, LightReader, blink_class
from evrig.drivers.camera.panel import DisplayTimeout, PanelObserver
from evrig.drivers.camera.snapshot import SnapshotCamera
from evrig.rig.errors import RigError
from evrig.rig.tables.panel_layout import (
    CameraCalibration,
    PanelTable,
    load_camera_calibration,
    load_panel,
)

__all__ = ["STEADY", "Camera", "CameraCalibration", "DisplayReader", "DisplayReading",
           "DisplayTimeout", "Frame", "LightReader", "PanelObserver", "PanelTable",
           "SnapshotCamera", "blink_class", "load_camera_calibration", "load_panel",
           "open_panel"]


def open_panel(config: Any, clock: Any, profile: Any,
               sim_url: str | None = None) -> PanelObserver | None:
    """The rig's front-panel camera from ``instruments.camera`` (None when not
    configured). ``address: sim`` is the virtual bench's snapshot camera at
    ``sim_url``. A real camera needs its calibration (`rig calibrate camera`): the
    model's own table places the regions of the virtual camera's frame only."""
    cam = config.instruments.camera
    if cam is None:
        return None
    name = "panel camera"
    if cam.address == "sim":
        if sim_url is None:
            raise RigError("instruments.camera.address is 'sim' but there is no virtual "
                           "bench (bench: virtual) serving a camera")
        camera: Camera | SnapshotCamera = SnapshotCamera(sim_url, clock=clock, name=name,
                                                         fps=cam.fps)
    elif cam.calibration is None:
        raise RigError("instruments.camera: no calibration for this camera; run `rig "
                       "calibrate camera --rig <rig file> --camera <address>` and set "
                       "instruments.camera.calibration")
    elif cam.trigger == "snapshot":
        camera = SnapshotCamera(str(cam.address), clock=clock, name=name, fps=cam.fps)
    else:
        camera = Camera(cam.address, clock=clock, name=name)
    path = config.resolve(cam.calibration) if cam.calibration is not None else None
    try:
        calibration = load_camera_calibration(path, profile.model)
        geometry = load_panel(profile.model).display
    except BaseException:
        camera.close()
        raise
    return PanelObserver(camera, geometry, calibration, profile.lights)
