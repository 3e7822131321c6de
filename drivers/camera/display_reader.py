"""The character display read from a camera frame.

The calibration's four corners of the display window are straightened into a
head-on picture (a camera off the axis sees a quadrilateral); each character cell's
dots are sampled where the model's display geometry puts them (the same dot centres
the virtual bench lights, rig/tables/panel_layout.py); each cell is the glyph of
the font table nearest to its dots. Matching dots, not pixels: a dot is lit or not
whatever the camera's resolution, so the same table reads a 640x480 virtual frame
and a real camera's.

Levels are the display's own: the unlit dots (most of a display) set dark, the
brightest strokes set lit, and each cell's dots are compared on that scale — so the
exposure and the display's colour do not matter, only the contrast between its lit
and unlit dots. A display darker than ``min_contrast`` reads blank. A cell like no
glyph reads ``?``, so a wrong reading shows as one rather than as a wrong string.
The sampling grid is tried at small offsets (a third of a dot) and the sharpest
kept: a calibration a pixel off still reads. A camera out of focus spreads each
dot's light onto its neighbours (an unlit dot beside a stroke looks half lit, a lone
lit dot half dark), so the glyphs are also matched as such a camera would show them
— each dot's light spread onto its neighbours by a share — and the share that fits
the whole display best is taken: the frame says how blurred it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from evrig.drivers.camera.exposure import brightest_level, gain
from evrig.rig.tables.panel_layout import CameraCalibration, DisplayGeometry

PX_PER_DOT = 6  # the straightened display's scale (about a real frame's: no upsampling)
UNREADABLE = "?"
MAX_DISTANCE = 0.15  # mean squared dot error above which a cell matches no glyph
SHIFTS = (-2, 0, 2)  # pixels of the straightened display: a third of a dot
SPREADS = (0.0, 0.1, 0.2, 0.3)  # share of a dot's light on each neighbour (blur)
DARK_PERCENTILE = 20  # most dots of any string are unlit
LIT_RANK = 5  # the 5th brightest dot is "lit": a few hot pixels do not set the scale


@dataclass(frozen=True)
class DisplayReading:
    """``text``: the cells left to right, blanks at the end dropped (a value's leading
    blanks kept, as the format puts them); ``unit``: the lit unit legend, None if
    none; ``contrast``: grey levels between lit and unlit dots at the calibration's
    exposure; ``distance``: the worst cell's match distance (0 = perfect)."""

    text: str
    unit: str | None
    contrast: float
    distance: float

    @property
    def readable(self) -> bool:
        return UNREADABLE not in self.text


class DisplayReader:
    def __init__(self, geometry: DisplayGeometry, calibration: CameraCalibration,
                 alphabet: str | None = None) -> None:
        """``alphabet``: the characters the display can show (default: the font's);
        a smaller one leaves fewer glyphs to confuse."""
        self.geometry = geometry
        self.calibration = calibration
        font = geometry.glyphs
        chars = [c for c in (alphabet or font.characters) if c in font.glyphs]
        if " " not in chars:
            chars.append(" ")
        self.characters = "".join(chars)
        glyphs = np.array([[float(d) for row in font.glyph(c) for d in row] for c in chars])
        self._templates = [_spread(glyphs, font.rows, font.columns, k) for k in SPREADS]
        w_dots, h_dots = geometry.size_dots
        self._size = (w_dots * PX_PER_DOT, h_dots * PX_PER_DOT)
        centres = np.array(geometry.dot_centres()) * PX_PER_DOT  # cells x dots x (x, y)
        self._cx = centres[..., 0]
        self._cy = centres[..., 1]
        self._scaled: dict[tuple[int, int], tuple[CameraCalibration, NDArray[np.float64]]] = {}

    def _for_size(self, width: int, height: int
                  ) -> tuple[CameraCalibration, NDArray[np.float64]]:
        """The calibration at this frame size and the homography frame -> head on."""
        if (width, height) not in self._scaled:
            cal = self.calibration.scaled(width, height)
            w, h = self._size
            dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
            warp = np.asarray(cv2.getPerspectiveTransform(
                np.array(cal.display, np.float32), dst), np.float64)
            self._scaled[(width, height)] = (cal, warp)
        return self._scaled[(width, height)]

    def straighten(self, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The display window head on, PX_PER_DOT per dot (what the reader samples)."""
        _, warp = self._for_size(image.shape[1], image.shape[0])
        return np.asarray(cv2.warpPerspective(image, warp, self._size,
                                              flags=cv2.INTER_LINEAR), np.uint8)

    def dots(self, image: NDArray[np.uint8]) -> NDArray[np.float64]:
        """Brightness of every dot (cells x dots), the sharpest of the grid offsets."""
        head_on = self.straighten(image)
        grey = cv2.blur(head_on.max(axis=2).astype(np.float32), (3, 3))
        h, w = grey.shape
        best: NDArray[np.float64] | None = None
        for dx in SHIFTS:
            for dy in SHIFTS:
                xs = np.clip(np.round(self._cx + dx).astype(int), 0, w - 1)
                ys = np.clip(np.round(self._cy + dy).astype(int), 0, h - 1)
                values = grey[ys, xs].astype(np.float64)
                if best is None or values.var() > best.var():
                    best = values
        assert best is not None
        return best

    def read(self, image: NDArray[np.uint8]) -> DisplayReading:
        cal, _ = self._for_size(image.shape[1], image.shape[0])
        k = float(gain(image, cal).mean())
        values = self.dots(image)
        flat = np.sort(values.ravel())
        dark = float(np.percentile(flat, DARK_PERCENTILE))
        lit = float(flat[-min(LIT_RANK, len(flat))])
        contrast = (lit - dark) * k
        unit = self._unit(image, cal, k)
        if contrast < cal.min_contrast:
            return DisplayReading("", unit, contrast, 0.0)
        z = np.clip((values - dark) / (lit - dark), 0.0, 1.0)
        # Mean squared difference of each cell's dots to each glyph (cells x glyphs),
        # with the templates of the spread that fits the whole display best.
        distance = min((((z[:, None, :] - t[None, :, :]) ** 2).mean(axis=2)
                        for t in self._templates), key=lambda d: float(d.min(axis=1).sum()))
        best = distance.argmin(axis=1)
        best_d = distance[np.arange(len(best)), best]
        chars = [self.characters[g] if d <= MAX_DISTANCE else UNREADABLE
                 for g, d in zip(best, best_d, strict=True)]
        return DisplayReading("".join(chars).rstrip(" "), unit, contrast, float(best_d.max()))

    def _unit(self, image: NDArray[np.uint8], cal: CameraCalibration,
              k: float) -> str | None:
        """The unit legend that outshines the others by ``min_contrast`` (one at most
        is lit: one value is on show)."""
        if not cal.units:
            return None
        levels = {u: brightest_level(image, box) * k for u, box in cal.units.items()}
        brightest = max(levels, key=lambda u: levels[u])
        others = sorted(v for u, v in levels.items() if u != brightest)
        rest = others[len(others) // 2] if others else 0.0
        return brightest if levels[brightest] - rest >= cal.min_contrast else None


def _spread(glyphs: NDArray[np.float64], rows: int, columns: int,
            share: float) -> NDArray[np.float64]:
    """The glyphs (one row of dots each) as a camera that spreads ``share`` of a dot's
    light onto each of its four neighbours (share squared onto the diagonal ones)
    shows them, scaled so a glyph's brightest dot is 1."""
    if share == 0:
        return glyphs
    kernel = np.array([[share * share, share, share * share], [share, 1.0, share],
                       [share * share, share, share * share]], np.float32)
    out = []
    for glyph in glyphs:
        spread = cv2.filter2D(glyph.reshape(rows, columns).astype(np.float32), -1, kernel,
                              borderType=cv2.BORDER_CONSTANT)
        peak = float(spread.max())
        out.append(spread.ravel() / peak if peak > 0 else spread.ravel())
    return np.array(out, np.float64)
