"""The twin's front panel as a camera frame: what the virtual bench's camera films.

A :class:`PanelState` — the display's text and the unit lit beside it, the colour
each light shows right now (belt, indicators, the RFID corners) — becomes a BGR
frame, drawn with OpenCV primitives where the model's panel table
(``rig/tables/panel/<model>.yaml``, ``drawing:``) puts each element. The display is a
dot matrix lit from the font table (``font-<name>.yaml``): the same glyphs the
camera's display reader matches, so renderer and reader share one definition of a
character. Blinking is not drawn here: the state is one instant, and whoever owns
the blink timer (the twin) asks for the colour lit at that instant.

Everything that does not change between frames (wall, housing, glass, unlit LEDs,
labels) is drawn once; a frame copies it and lights what is lit, so a frame costs
a few milliseconds on one core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from evrig.rig.tables.panel_layout import OFF, Drawing, PanelTable

Frame = NDArray[np.uint8]  # height x width x 3, BGR
PX_PER_DOT = 8  # the display is drawn head on at this scale, then warped into its quad
SHIFT = 4  # sub-pixel bits of OpenCV's drawing calls (positions in 1/16 px)


@dataclass(frozen=True)
class PanelState:
    """One instant of the panel. ``lights``: light name -> colour lit now (a name of
    the profiles' vocabulary); a light left out, or ``dark_grey``, is unlit.
    ``unit``: the unit legend lit beside the value (None: none)."""

    display: str = ""
    lights: Mapping[str, str] = field(default_factory=dict)
    unit: str | None = None


def _sub(v: float) -> int:
    return round(v * (1 << SHIFT))


def _rounded(img: NDArray[np.uint8], box: tuple[int, int, int, int], radius: int,
             colour: tuple[int, ...]) -> None:
    """A filled rounded rectangle (OpenCV has none): two bars and four discs."""
    x, y, w, h = box
    r = min(radius, w // 2, h // 2)
    cv2.rectangle(img, (x + r, y), (x + w - 1 - r, y + h - 1), colour, -1)
    cv2.rectangle(img, (x, y + r), (x + w - 1, y + h - 1 - r), colour, -1)
    for cx, cy in ((x + r, y + r), (x + w - 1 - r, y + r), (x + r, y + h - 1 - r),
                   (x + w - 1 - r, y + h - 1 - r)):
        cv2.circle(img, (cx, cy), r, colour, -1, cv2.LINE_AA)


class PanelRenderer:
    """Frames of one model's panel (its table's ``drawing``)."""

    def __init__(self, table: PanelTable) -> None:
        self.table = table
        self.drawing: Drawing = table.drawing
        self.font = table.display.glyphs
        width, height = self.drawing.frame
        self.size = (width, height)
        self._colours = {name: tuple(int(c) for c in bgr)
                         for name, bgr in self.drawing.colours.items()}
        self._masks = self._light_masks()
        # OpenCV's masked copy from a solid image of the colour: 50x faster per frame
        # than numpy's boolean indexing of the same pixels.
        self._mask8 = {name: mask.astype(np.uint8) for name, mask in self._masks.items()}
        self._solid: dict[str, Frame] = {}
        self._halos: dict[tuple[str, str], tuple[tuple[int, int, int, int], Frame]] = {}
        self._base = self._static()
        self._sprites = self._glyph_sprites()
        self._warp, self._display_box, self._display_mask = self._display_warp()

    # -- what never changes --------------------------------------------------------------
    def _light_masks(self) -> dict[str, NDArray[np.bool_]]:
        """Per light, the pixels it lights."""
        d = self.drawing
        width, height = self.size
        masks: dict[str, NDArray[np.bool_]] = {}
        belt = np.zeros((height, width), np.uint8)
        _rounded(belt, d.belt.box, d.belt.radius, (255,))
        x, y, w, h = d.belt.box
        inner = (x + d.belt.width, y + d.belt.width, w - 2 * d.belt.width,
                 h - 2 * d.belt.width)
        _rounded(belt, inner, max(0, d.belt.radius - d.belt.width), (0,))
        masks["belt"] = belt > 127
        for name, (cx, cy) in d.indicators.at.items():
            led = np.zeros((height, width), np.uint8)
            cv2.circle(led, (cx, cy), d.indicators.radius, 255, -1, cv2.LINE_AA)
            masks[name] = led > 127
        corners = np.zeros((height, width), np.uint8)
        x, y, w, h = d.rfid.box
        arm, t = d.rfid.arm, d.rfid.width
        for cx, cy, sx, sy in ((x, y, 1, 1), (x + w - 1, y, -1, 1),
                               (x + w - 1, y + h - 1, -1, -1), (x, y + h - 1, 1, -1)):
            cv2.rectangle(corners, (cx, cy), (cx + sx * (arm - 1), cy + sy * (t - 1)), 255, -1)
            cv2.rectangle(corners, (cx, cy), (cx + sx * (t - 1), cy + sy * (arm - 1)), 255, -1)
        masks["rfid"] = corners > 127
        return masks

    def _static(self) -> Frame:
        d = self.drawing
        width, height = self.size
        img = np.empty((height, width, 3), np.uint8)
        img[:] = d.wall
        _rounded(img, d.belt.box, d.belt.radius, d.belt.unlit)
        _rounded(img, d.body.box, d.body.radius, d.body.colour)
        _rounded(img, d.front.box, d.front.radius, d.front.colour)
        img[self._masks["rfid"]] = d.rfid.unlit
        for name in d.indicators.at:
            img[self._masks[name]] = d.indicators.unlit
        labels = d.indicators.labels or {}
        for name, text in labels.items():
            cx, cy = d.indicators.at[name]
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1)
            cv2.putText(img, text, (cx - tw // 2, cy + d.indicators.radius + 8 + th),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35, d.indicators.label_colour, 1,
                        cv2.LINE_AA)
        units = d.units
        for unit, (cx, cy) in units.at.items():
            self._legend(img, unit, units.unlit)
            (_, th), _ = cv2.getTextSize(unit, cv2.FONT_HERSHEY_SIMPLEX, units.scale, 1)
            cv2.putText(img, unit, (cx + units.radius + 4, cy + th // 2),
                        cv2.FONT_HERSHEY_SIMPLEX, units.scale, units.label_colour, 1,
                        cv2.LINE_AA)
        return img

    def _legend(self, img: Frame, unit: str, colour: tuple[int, int, int]) -> None:
        units = self.drawing.units
        cv2.circle(img, units.at[unit], units.radius, colour, -1, cv2.LINE_AA)

    def _glyph_sprites(self) -> dict[str, Frame]:
        """Each character's cell, head on at PX_PER_DOT, its unlit dots faintly shown."""
        disp = self.drawing.display
        font = self.font
        radius = disp.dot * PX_PER_DOT / 2
        sprites: dict[str, Frame] = {}
        for char, glyph in font.glyphs.items():
            cell = np.empty((font.rows * PX_PER_DOT, font.columns * PX_PER_DOT, 3), np.uint8)
            cell[:] = disp.window
            for row, dots in enumerate(glyph):
                for col, lit in enumerate(dots):
                    centre = (_sub((col + 0.5) * PX_PER_DOT), _sub((row + 0.5) * PX_PER_DOT))
                    cv2.circle(cell, centre, _sub(radius), disp.lit if lit else disp.unlit,
                               -1, cv2.LINE_AA, SHIFT)
            sprites[char] = cell
        return sprites

    def _display_warp(self) -> tuple[NDArray[np.float64], tuple[int, int, int, int],
                                     NDArray[np.uint8]]:
        """The homography from the head-on display into its quad, and the box of the
        frame the quad covers with the quad's pixels in it (warping into the box only
        is 10x cheaper than into the whole frame)."""
        w_dots, h_dots = self.table.display.size_dots
        src = np.array([[0, 0], [w_dots * PX_PER_DOT, 0],
                        [w_dots * PX_PER_DOT, h_dots * PX_PER_DOT],
                        [0, h_dots * PX_PER_DOT]], np.float32)
        dst = np.array(self.drawing.display.corners, np.float32)
        x0, y0 = np.floor(dst.min(axis=0)).astype(int)
        x1, y1 = np.ceil(dst.max(axis=0)).astype(int)
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(self.size[0], int(x1) + 1), min(self.size[1], int(y1) + 1)
        local = dst - np.array([x0, y0], np.float32)
        warp = np.asarray(cv2.getPerspectiveTransform(src, local), np.float64)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round(local * (1 << SHIFT)).astype(np.int32), 255,
                           cv2.LINE_AA, SHIFT)
        return warp, (x0, y0, x1 - x0, y1 - y0), (mask > 127).astype(np.uint8)

    def _halo(self, name: str, colour: str) -> tuple[tuple[int, int, int, int], Frame]:
        """The light a lit LED spills around it, drawn once per light and colour: the
        box it reaches and the light to add there."""
        key = (name, colour)
        if key not in self._halos:
            emission = np.zeros((self.size[1], self.size[0], 3), np.uint8)
            emission[self._masks[name]] = self._colours[colour]
            glow = self.drawing.glow
            halo = np.asarray(cv2.convertScaleAbs(
                cv2.GaussianBlur(emission, (0, 0), glow.sigma), alpha=glow.gain), np.uint8)
            x, y, w, h = cv2.boundingRect(cv2.cvtColor(halo, cv2.COLOR_BGR2GRAY))
            self._halos[key] = ((x, y, w, h), halo[y:y + h, x:x + w].copy())
        return self._halos[key]

    # -- one frame -------------------------------------------------------------------------
    def _check(self, state: PanelState) -> None:
        unknown = set(state.lights) - set(self._masks)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ValueError(f"panel {self.table.model} has no light {names}; it has "
                             f"{', '.join(self._masks)}")
        for name, colour in state.lights.items():
            if colour != OFF and colour not in self._colours:
                raise ValueError(f"light {name}: colour {colour!r} is not in the drawing's "
                                 f"colours ({', '.join(self._colours)})")
        if len(state.display) > self.table.display.cells:
            raise ValueError(f"display text {state.display!r} is longer than the "
                             f"{self.table.display.cells} cells of the display")
        missing = [c for c in state.display if c not in self.font.glyphs]
        if missing:
            raise ValueError(f"display text {state.display!r}: font {self.font.name} has no "
                             f"glyph for {''.join(dict.fromkeys(missing))!r}")
        if state.unit is not None and state.unit not in self.drawing.units.at:
            raise ValueError(f"unit {state.unit!r}: the panel's legends are "
                             f"{', '.join(self.drawing.units.at)}")

    def display_image(self, text: str) -> Frame:
        """The display head on (PX_PER_DOT per dot), ``text`` from the first cell."""
        geometry = self.table.display
        w_dots, h_dots = geometry.size_dots
        img = np.empty((h_dots * PX_PER_DOT, w_dots * PX_PER_DOT, 3), np.uint8)
        img[:] = self.drawing.display.window
        step = (self.font.columns + geometry.cell_gap) * PX_PER_DOT
        top = geometry.margin * PX_PER_DOT
        for i, char in enumerate(text.ljust(geometry.cells)):
            sprite = self._sprites[char]
            left = geometry.margin * PX_PER_DOT + i * step
            img[top:top + sprite.shape[0], left:left + sprite.shape[1]] = sprite
        return img

    def render(self, state: PanelState) -> Frame:
        """The frame of ``state``; ValueError for a light, colour, unit or character
        the panel cannot show (a twin asking for it has a bug)."""
        self._check(state)
        frame = self._base.copy()
        lit = [(name, colour) for name, colour in state.lights.items() if colour != OFF]
        for name, colour in lit:
            (x, y, w, h), halo = self._halo(name, colour)
            region = frame[y:y + h, x:x + w]
            cv2.add(region, halo, dst=region)  # saturates at 255, as a sensor does
        # The LED itself on top: its halo is around it, its own pixels show its colour
        # (a camera exposed for the panel does not saturate them).
        for name, colour in lit:
            cv2.copyTo(self._solid_image(colour), self._mask8[name], frame)
        if state.unit is not None:
            self._legend(frame, state.unit, self.drawing.units.lit)
        x, y, w, h = self._display_box
        display = cv2.warpPerspective(self.display_image(state.display), self._warp, (w, h),
                                      flags=cv2.INTER_LINEAR)
        region = frame[y:y + h, x:x + w].copy()  # contiguous: OpenCV writes into it
        cv2.copyTo(display, self._display_mask, region)
        frame[y:y + h, x:x + w] = region
        return frame

    def _solid_image(self, colour: str) -> Frame:
        if colour not in self._solid:
            image = np.empty((self.size[1], self.size[0], 3), np.uint8)
            image[:] = self._colours[colour]
            self._solid[colour] = image
        return self._solid[colour]
