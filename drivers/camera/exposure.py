"""How bright a region of a frame is, with the frame's exposure taken out.

A camera's exposure (set by hand, or by its automatic exposure reacting to the room)
scales every pixel. The calibration names a patch of the housing that no LED lights
and records its colour at calibration time; the ratio of that to what the patch
shows in a frame is the frame's gain, per channel (a change of white balance is
taken out too). The display and light readers both measure through it.

A region's colour is the mean of its brightest quarter of pixels: an operator's box
around an LED holds dark panel too, and the LED is what is bright in it.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from evrig.rig.tables.panel_layout import CameraCalibration

Box = tuple[int, int, int, int]
BRIGHTEST = 0.25  # share of a region's pixels that is its light


def crop(image: NDArray[np.uint8], box: Box) -> NDArray[np.uint8]:
    x, y, w, h = box
    return image[y:y + h, x:x + w]


def brightest_colour(image: NDArray[np.uint8], box: Box) -> NDArray[np.float64]:
    """Mean BGR of the brightest quarter of the box's pixels (by their top channel)."""
    pixels = crop(image, box).reshape(-1, 3).astype(np.float64)
    if pixels.size == 0:
        return np.zeros(3)
    level = pixels.max(axis=1)
    keep = max(1, int(round(len(level) * BRIGHTEST)))
    top = np.argpartition(level, len(level) - keep)[len(level) - keep:]
    result: NDArray[np.float64] = pixels[top].mean(axis=0)
    return result


def brightest_level(image: NDArray[np.uint8], box: Box) -> float:
    """Brightness of a small light in the box: its brightest quarter of pixels, each
    averaged with its neighbours first (noise would otherwise pick the brightest
    pixels of an unlit box)."""
    grey = crop(image, box).max(axis=2).astype(np.float32)
    if grey.size == 0:
        return 0.0
    smooth = cv2.blur(grey, (3, 3)).ravel()
    keep = max(1, int(round(len(smooth) * BRIGHTEST)))
    return float(np.partition(smooth, len(smooth) - keep)[len(smooth) - keep:].mean())


def gain(image: NDArray[np.uint8], calibration: CameraCalibration) -> NDArray[np.float64]:
    """Per-channel factor that brings this frame to the calibration's exposure (ones
    when the calibration has no reference patch)."""
    if calibration.reference is None or calibration.reference_colour is None:
        return np.ones(3)
    seen = crop(image, calibration.reference).reshape(-1, 3).astype(np.float64)
    measured = np.median(seen, axis=0) if seen.size else np.zeros(3)
    ref = np.array(calibration.reference_colour, np.float64)
    result: NDArray[np.float64] = ref / np.maximum(measured, 1.0)
    return result
