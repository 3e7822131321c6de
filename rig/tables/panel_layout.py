"""A charger model's front panel as a camera sees it, as data
(``rig/tables/panel/<model>.yaml``, design §1: "display, LED belt, indicators").

One file per model holds three things:

- ``display``: the character display's geometry in dots (cells, the font of
  ``font-<name>.yaml``, the dark columns between cells, the dark border) — a fact of
  the model, the same on every bench;
- ``drawing``: how the virtual bench draws the panel into a frame (housing, belt,
  front glass, where the display and each LED sit, the LEDs' colours): read by the
  renderer only (sim/instruments/panel_render.py);
- ``camera``: where a camera finds each element in a frame and what each colour
  looks like to it — the *calibration*. The one here is the virtual camera's; a real
  bench keeps its own in a file with just ``model`` and ``camera`` (``rig calibrate
  camera`` writes it), loaded with :func:`load_camera_calibration`.

The renderer draws where the drawing says and the readers look where the calibration
says, so a virtual bench whose two disagree reads wrong — as a real bench with a
moved camera does. Boxes are ``[x, y, width, height]`` in pixels of ``frame``;
the display's corners are clockwise from the top left (a camera off the axis sees a
quadrilateral, which the reader straightens). Colours are ``[blue, green, red]``
0..255 (OpenCV's order), named from the profiles' colour vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from evrig.rig.errors import RigFileError
from evrig.rig.profile_vocabulary import COLOURS
from evrig.rig.tables.panel_font import Font, load_font
from evrig.rig.typed_yaml import Check, between, load_yaml
from evrig.rig.typed_yaml import from_data as typed_from_data

OFF = "dark_grey"  # the manuals' swatch for an unlit light
Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]
Bgr = Annotated[tuple[int, int, int],
                Check.where(lambda v: all(0 <= x <= 255 for x in v),
                            "[blue, green, red], each 0..255")]
Box = Annotated[tuple[int, int, int, int],
                Check.where(lambda v: v[2] > 0 and v[3] > 0 and v[0] >= 0 and v[1] >= 0,
                            "[x, y, width, height] in pixels, width and height > 0")]
Size = Annotated[tuple[int, int], Check.where(lambda v: v[0] > 0 and v[1] > 0,
                                              "[width, height] in pixels, both > 0")]
_positive = Check.where(lambda v: v > 0, "a number > 0")
_colour_names = Check.where(lambda v: set(v) <= COLOURS,
                            f"colour names of the vocabulary ({', '.join(sorted(COLOURS))})")


# -- the display (a fact of the model) -------------------------------------------------
@dataclass(frozen=True)
class DisplayGeometry:
    """A dot-matrix character display: ``cells`` characters of the font side by side,
    ``cell_gap`` dark dot columns between two cells, ``margin`` dark dots all round."""

    cells: Annotated[int, _positive]
    font: str
    cell_gap: Annotated[int, between(0, 10)] = 1
    margin: Annotated[int, between(0, 10)] = 1

    @property
    def glyphs(self) -> Font:
        return load_font(self.font)

    @property
    def size_dots(self) -> tuple[int, int]:
        """(width, height) of the display window in dot pitches."""
        font = self.glyphs
        width = self.cells * font.columns + (self.cells - 1) * self.cell_gap
        return width + 2 * self.margin, font.rows + 2 * self.margin

    def dot_centres(self) -> list[list[tuple[float, float]]]:
        """Per cell, the centre of each dot (row by row) in dot pitches from the
        window's top-left corner: where the renderer lights and the reader looks."""
        font = self.glyphs
        out = []
        for cell in range(self.cells):
            x0 = self.margin + cell * (font.columns + self.cell_gap)
            out.append([(x0 + col + 0.5, self.margin + row + 0.5)
                        for row in range(font.rows) for col in range(font.columns)])
        return out


# -- the calibration (where a camera finds each element) -------------------------------
@dataclass(frozen=True)
class CameraCalibration:
    """Where a camera sees the panel. ``lights``: per light one or more boxes (the belt
    at a few places, the RFID area's four corners); ``reference``: a patch of the
    housing, unlit by any LED, whose brightness tells the exposure of each frame;
    ``colours``: what each colour (``dark_grey`` = unlit) looks like in a box at the
    calibration's exposure, ``unlit`` the unlit look of a light that differs (a belt's
    diffuser is lighter than an LED under dark glass); ``lit_fraction``: a light is
    lit when its brightest channel is this share of the way from unlit to the dimmest
    colour; ``max_distance``:
    farther than this (chromaticity) from every colour reads ``unknown``;
    ``min_contrast``: grey levels between lit and unlit dots below which the display
    reads blank, and by which a lit unit legend (``units``) outshines the others."""

    frame: Size
    display: Quad
    lights: dict[str, list[Box]]
    colours: Annotated[dict[str, Bgr], _colour_names]
    units: dict[str, Box] | None = None
    unlit: dict[str, Bgr] | None = None  # per light, when its unlit look is not dark_grey's
    reference: Box | None = None
    reference_colour: Bgr | None = None
    lit_fraction: Annotated[float, between(0.05, 0.95)] = 0.5
    max_distance: Annotated[float, _positive] = 0.15
    min_contrast: Annotated[float, _positive] = 40.0

    def scaled(self, width: int, height: int) -> CameraCalibration:
        """The regions for frames of another size with the same aspect (a camera set
        to another resolution); ValueError when the aspect differs."""
        w0, h0 = self.frame
        if (width, height) == (w0, h0):
            return self
        if abs(width / height - w0 / h0) > 0.01:
            raise ValueError(f"frames are {width}x{height}, the calibration's {w0}x{h0}: "
                             "another aspect ratio, recalibrate the camera")
        k = width / w0

        def box(b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
            return (round(b[0] * k), round(b[1] * k), max(1, round(b[2] * k)),
                    max(1, round(b[3] * k)))

        quad = tuple((x * k, y * k) for x, y in self.display)
        return CameraCalibration(
            (width, height), quad,  # type: ignore[arg-type]  # four points in, four out
            {n: [box(b) for b in boxes] for n, boxes in self.lights.items()},
            self.colours,
            {u: box(b) for u, b in self.units.items()} if self.units is not None else None,
            self.unlit,
            box(self.reference) if self.reference else None,
            self.reference_colour, self.lit_fraction, self.max_distance, self.min_contrast)


def _check_calibration(cal: CameraCalibration, file: str, path: str) -> None:
    """What the schema cannot say: everything inside the frame, the references there."""
    width, height = cal.frame
    where = f"{path}." if path else ""
    for i, (x, y) in enumerate(cal.display):
        if not (0 <= x <= width and 0 <= y <= height):
            raise RigFileError(file, f"{where}display[{i}]", f"a point inside the "
                               f"{width}x{height} frame, got [{x:g}, {y:g}]")
    boxes = [(f"lights.{n}[{i}]", b) for n, bs in cal.lights.items() for i, b in enumerate(bs)]
    if cal.reference is not None:
        boxes.append(("reference", cal.reference))
    boxes += [(f"units.{u}", b) for u, b in (cal.units or {}).items()]
    for key, (x, y, w, h) in boxes:
        if x + w > width or y + h > height:
            raise RigFileError(file, f"{where}{key}", f"a box inside the {width}x{height} "
                               f"frame, got [{x}, {y}, {w}, {h}]")
    for name, bs in cal.lights.items():
        if not bs:
            raise RigFileError(file, f"{where}lights.{name}", "at least one box")
    if OFF not in cal.colours or len(cal.colours) < 2:
        raise RigFileError(file, f"{where}colours", f"{OFF} (the unlit look) and at least "
                           "one lit colour")
    strays = set(cal.unlit or {}) - set(cal.lights)
    if strays:
        raise RigFileError(file, f"{where}unlit", f"names of lights; "
                           f"{', '.join(sorted(strays))} is not one")
    if (cal.reference is None) != (cal.reference_colour is None):
        raise RigFileError(file, f"{where}reference_colour", "reference and "
                           "reference_colour together (the patch and its calibrated look)")


# -- the virtual bench's drawing -------------------------------------------------------
@dataclass(frozen=True)
class Plate:
    """A filled rounded rectangle (housing, front glass)."""

    box: Box
    colour: Bgr
    radius: Annotated[int, between(0, 200)] = 0


@dataclass(frozen=True)
class Band:
    """The belt: a rounded rectangular band of light around the housing."""

    box: Box
    width: Annotated[int, _positive]
    unlit: Bgr
    radius: Annotated[int, between(0, 200)] = 0


@dataclass(frozen=True)
class DisplayDrawing:
    corners: Quad
    window: Bgr  # the display's glass between the dots
    lit: Bgr
    unlit: Bgr  # an unlit dot shows faintly, as on a real LED matrix
    dot: Annotated[float, between(0.2, 1.0)] = 0.7  # dot diameter / dot pitch


@dataclass(frozen=True)
class Indicators:
    at: dict[str, tuple[int, int]]  # light name -> centre in pixels
    radius: Annotated[int, _positive]
    unlit: Bgr
    labels: dict[str, str] | None = None  # printed under each LED (decoration)
    label_colour: Bgr = (150, 150, 150)


@dataclass(frozen=True)
class UnitLegends:
    """The unit of the value on show: a small LED beside each printed unit, the one
    of the value on show lit (a meter's annunciators; a round light a blurred camera
    still sees, where thin lit letters would fade)."""

    at: dict[str, tuple[int, int]]  # unit -> centre of its LED, pixels; label to its right
    radius: Annotated[int, _positive]
    lit: Bgr
    unlit: Bgr
    label_colour: Bgr = (150, 150, 150)
    scale: Annotated[float, between(0.2, 2.0)] = 0.4  # OpenCV Hershey font scale


@dataclass(frozen=True)
class CornerLights:
    """The RFID tap area's four lit corners (EV PLUS 003 §7.1.4)."""

    box: Box
    arm: Annotated[int, _positive]
    width: Annotated[int, _positive]
    unlit: Bgr


@dataclass(frozen=True)
class Glow:
    """Light a lit LED spills around it (a camera sees a halo): Gaussian ``sigma`` in
    pixels, ``gain`` of the halo over the LED."""

    sigma: Annotated[float, _positive]
    gain: Annotated[float, between(0.0, 2.0)]


@dataclass(frozen=True)
class Drawing:
    frame: Size
    wall: Bgr
    belt: Band
    body: Plate
    front: Plate
    display: DisplayDrawing
    indicators: Indicators
    units: UnitLegends
    rfid: CornerLights
    glow: Glow
    colours: Annotated[dict[str, Bgr], _colour_names]  # what each LED colour emits

    @property
    def lights(self) -> tuple[str, ...]:
        """The light names the drawing can light."""
        return ("belt", *self.indicators.at, "rfid")


@dataclass(frozen=True)
class PanelTable:
    model: str
    source: str
    note: str
    display: DisplayGeometry
    drawing: Drawing
    camera: CameraCalibration


@dataclass(frozen=True)
class _CalibrationFile:
    """A real bench's camera calibration: the ``camera`` block of its own."""

    model: str
    camera: CameraCalibration


def panel_file(model: str) -> Path:
    """The shipped table of a profile's ``model`` (EVPLUS → panel/evplus.yaml)."""
    ref = resources.files("evrig.rig.tables") / "panel" / f"{model.lower()}.yaml"
    return Path(str(ref))


@cache
def load_panel(model: str) -> PanelTable:
    """The panel table of ``model``; RigFileError naming the file and key path."""
    path = panel_file(model)
    file = f"panel/{path.name}"
    if not path.is_file():
        raise RigFileError(file, "", f"no front-panel table for model {model!r}")
    data = load_yaml(path)
    if data is None:
        raise RigFileError(file, "", "the file is empty; expected a front-panel table")
    table = typed_from_data(PanelTable, data, file=file)
    _check_calibration(table.camera, file, "camera")
    missing = [n for n in table.camera.lights if n not in table.drawing.lights]
    if missing:
        drawn = ", ".join(table.drawing.lights)
        raise RigFileError(file, "camera.lights", f"lights the drawing has ({drawn}); "
                           f"{', '.join(missing)} is not drawn")
    legends = set(table.camera.units or {}) - set(table.drawing.units.at)
    if legends:
        raise RigFileError(file, "camera.units", f"units the drawing has; "
                           f"{', '.join(sorted(legends))} is not drawn")
    unknown = set(table.camera.colours) - set(table.drawing.colours) - {OFF}
    if unknown:
        raise RigFileError(file, "camera.colours", f"colours the drawing lights; "
                           f"{', '.join(sorted(unknown))} is not in drawing.colours")
    return table


def load_camera_calibration(path: str | Path | None, model: str) -> CameraCalibration:
    """A bench's camera calibration file; None = the virtual camera's (the model's
    table). The file must be for ``model``: a calibration of another charger's panel
    would read the wrong places."""
    if path is None:
        return load_panel(model).camera
    file = str(path)
    if not Path(path).is_file():
        raise RigFileError(file, "", "no camera calibration here; run `rig calibrate "
                           "camera` to make one")
    data = load_yaml(path)
    if data is None:
        raise RigFileError(file, "", "the file is empty; run `rig calibrate camera`")
    parsed = typed_from_data(_CalibrationFile, data, file=file)
    if parsed.model.lower() != model.lower():
        raise RigFileError(file, "model", f"{model} (the charger on this bench), got "
                           f"{parsed.model}")
    _check_calibration(parsed.camera, file, "camera")
    return parsed.camera
