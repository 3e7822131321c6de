"""What a real camera does to the picture of a panel: defocus, exposure, sensor noise.

The virtual bench's frames are perfect; a camera on a real bench is slightly out of
focus, exposes for the room (LEDs and housing come out brighter or darker together)
and adds noise. :class:`Optics` applies the three in the order light meets them —
the lens blurs, the exposure scales the light, the sensor adds noise and clips at
full scale — so the readers are measured against frames a real bench gives
(tests/test_camera_reader.py) and a virtual bench can film through it too.
JPEG compression is the camera server's (sim/instruments/camera_server.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Frame = NDArray[np.uint8]


@dataclass(frozen=True)
class Optics:
    """``blur_sigma``: Gaussian defocus in pixels (0 = sharp); ``exposure``: the gain
    on all light (1 = as drawn); ``noise_sd``: sensor noise, grey levels rms."""

    blur_sigma: float = 0.0
    exposure: float = 1.0
    noise_sd: float = 0.0

    def __post_init__(self) -> None:
        if self.blur_sigma < 0 or self.exposure <= 0 or self.noise_sd < 0:
            raise ValueError(f"optics: blur_sigma and noise_sd >= 0, exposure > 0; got {self}")

    def apply(self, frame: Frame, rng: np.random.Generator | None = None) -> Frame:
        """``frame`` as this camera sees it; ``rng`` (seeded by the caller) seeds the
        noise; without one the frame gets no noise."""
        light = frame.astype(np.float32)
        if self.blur_sigma > 0:
            light = np.asarray(cv2.GaussianBlur(light, (0, 0), self.blur_sigma), np.float32)
        noise = np.zeros_like(light)
        if self.noise_sd > 0 and rng is not None:
            # OpenCV's generator, seeded from the caller's: 3x faster than numpy's
            # normal draws for a frame's million values.
            cv2.setRNGSeed(int(rng.integers(1, 2**31)))
            cv2.randn(noise, np.zeros(3), np.full(3, self.noise_sd))
        # exposure x light + noise, rounded and clipped to 0..255 as a sensor's ADC.
        return np.asarray(cv2.addWeighted(light, self.exposure, noise, 1.0, 0.0,
                                          dtype=cv2.CV_8U), np.uint8)
