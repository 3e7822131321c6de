"""A camera facing the charger's front panel (design §1, §3): the character display,
the LED belt and the indicators, read from frames — a USB camera through OpenCV on a
real bench, the virtual bench's MJPEG camera server on a laptop, the same code.

- capture.py: the camera (``cv2.VideoCapture`` on an index, a device or a URL);
- display_reader.py: the display's text (and lit unit) from one frame;
- light_reader.py: each light's colour per frame, its blink over a window;
- exposure.py: measuring a region with the frame's exposure taken out;
- panel.py: the three together over a live camera (``text``, ``wait_for``,
  ``observe``).
- calibrate.py: ``rig calibrate camera``, the operator walk that places the regions.

Where each element is in a frame and what each colour looks like is the bench's
camera calibration (rig/tables/panel_layout.py; the virtual camera's is the model's
panel table, ``rig/tables/panel/<model>.yaml``).
"""

from __future__ import annotations

from evrig.drivers.camera.capture import Camera, Frame
from evrig.drivers.camera.display_reader import DisplayReader, DisplayReading
from evrig.drivers.camera.light_reader import STEADY, LightReader, blink_class
from evrig.drivers.camera.panel import DisplayTimeout, PanelObserver
from evrig.rig.tables.panel_layout import (
    CameraCalibration,
    PanelTable,
    load_camera_calibration,
    load_panel,
)

__all__ = ["STEADY", "Camera", "CameraCalibration", "DisplayReader", "DisplayReading",
           "DisplayTimeout", "Frame", "LightReader", "PanelObserver", "PanelTable",
           "blink_class", "load_camera_calibration", "load_panel"]
