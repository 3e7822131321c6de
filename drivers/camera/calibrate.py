"""``rig calibrate camera``: where this bench's camera sees the front panel.

The operator walk, headless (a production PC may have no screen): one frame is
grabbed from the camera and saved as a PNG beside the output file, to be opened
anywhere; then for each region of the model's panel — the display's four corners,
the belt's boxes, each indicator, the RFID area's corners, each unit legend and the
housing's reference patch — the command asks for its pixels, offering the model's
shipped calibration scaled to the frame (Enter keeps it). The regions found are
drawn onto a second PNG (``-regions``). Before anything is written the result must
read the frame: the display as a string of the profile's display formats (with its
unit lit) or one of its fault and upgrade strings, and every light as lit or unlit;
a calibration that does not is refused. The colour looks, exposure reference and
thresholds are the shipped ones (what each colour looks like at the reference's
exposure). The file (``model`` and ``camera``, rig/tables/panel_layout.py) is
written whole to a temporary file, loaded back, then renamed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evrig.rig.errors import RigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from evrig.rig.profile import Profile
    from evrig.rig.tables.panel_layout import CameraCalibration, DisplayGeometry

DEFAULT_OUT = "camera-calibration.yaml"
Ask = Callable[[str], str]
Numbers = tuple[float, ...]


# -- the regions, as the walk asks for them ---------------------------------------------
def regions(cal: CameraCalibration) -> dict[str, Numbers]:
    """Every region of a calibration by its key path (``display``, ``lights.belt[0]``,
    ``units.V``, ``reference``): eight numbers for the display's corners (x y,
    clockwise from the top left), four for a box (x y width height)."""
    out: dict[str, Numbers] = {"display": tuple(v for p in cal.display for v in p)}
    for name, boxes in cal.lights.items():
        for i, box in enumerate(boxes):
            out[f"lights.{name}[{i}]"] = tuple(float(v) for v in box)
    for unit, box in (cal.units or {}).items():
        out[f"units.{unit}"] = tuple(float(v) for v in box)
    if cal.reference is not None:
        out["reference"] = tuple(float(v) for v in cal.reference)
    return out


def scaled_regions(cal: CameraCalibration, width: int, height: int) -> dict[str, Numbers]:
    """The regions for a frame of ``width`` x ``height`` (each axis scaled on its own:
    a default to start from, also for a camera of another aspect)."""
    kx, ky = width / cal.frame[0], height / cal.frame[1]
    out: dict[str, Numbers] = {}
    for key, values in regions(cal).items():
        if key == "display":
            out[key] = tuple(round(v * (kx if i % 2 == 0 else ky), 1)
                             for i, v in enumerate(values))
        else:
            x, y, w, h = values
            out[key] = (round(x * kx), round(y * ky), max(1, round(w * kx)),
                        max(1, round(h * ky)))
    return out


def _show(values: Numbers) -> str:
    return " ".join(f"{v:g}" for v in values)


def _parse(key: str, answer: str, width: int, height: int) -> Numbers:
    """The numbers of one answer; ValueError saying what was expected."""
    try:
        values = tuple(float(v) for v in re.split(r"[,\s]+", answer.strip(" []")) if v)
    except ValueError:
        values = ()
    if key == "display":
        if len(values) != 8 or not all(
                0 <= x <= width and 0 <= y <= height for x, y in zip(values[::2], values[1::2],
                                                                      strict=True)):
            raise ValueError(f"eight numbers, four corners x y clockwise from the top left, "
                             f"inside the {width}x{height} frame")
        return values
    if len(values) != 4 or any(v != int(v) for v in values):
        raise ValueError("four whole numbers: x y width height")
    x, y, w, h = values
    if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > width or y + h > height:
        raise ValueError(f"a box inside the {width}x{height} frame, width and height > 0")
    return values


def ask_regions(defaults: dict[str, Numbers], width: int, height: int, ask: Ask,
                tell: Callable[[str], object] = print) -> dict[str, Numbers]:
    """One answer per region (Enter: the default); a wrong answer is asked again."""
    out: dict[str, Numbers] = {}
    for key, default in defaults.items():
        what = "corners x y x y x y x y" if key == "display" else "box x y width height"
        while key not in out:
            try:
                answer = ask(f"{key} {what} [{_show(default)}]: ")
            except EOFError:
                raise RigError(f"the answers ended at {key}: nothing written") from None
            if not answer.strip():
                out[key] = default
                continue
            try:
                out[key] = _parse(key, answer, width, height)
            except ValueError as exc:
                tell(f"{key}: {answer.strip()!r} is not {exc}")
    return out


def apply(cal: CameraCalibration, answers: dict[str, Numbers], width: int,
          height: int) -> CameraCalibration:
    """``cal`` (its colours and thresholds) with the regions answered, at this frame."""
    def box(key: str) -> tuple[int, int, int, int]:
        x, y, w, h = answers[key]
        return int(x), int(y), int(w), int(h)

    d = answers["display"]
    return dataclasses.replace(
        cal, frame=(width, height),
        display=((d[0], d[1]), (d[2], d[3]), (d[4], d[5]), (d[6], d[7])),
        lights={n: [box(f"lights.{n}[{i}]") for i in range(len(bs))]
                for n, bs in cal.lights.items()},
        units={u: box(f"units.{u}") for u in cal.units} if cal.units is not None else None,
        reference=box("reference") if cal.reference is not None else None)


# -- verifying against the frame ----------------------------------------------------------
def allowed_display(profile: Profile, text: str, unit: str | None) -> bool:
    """Whether a display reading is one the profile's charger can show: a value of a
    rotation item's format with that item's unit lit, or a fault or upgrade string."""
    if profile.display is None:
        return False
    if any(item.parse(text) is not None and item.unit == unit
           for item in profile.display.rotation.values()):
        return True
    strings = {f.display for f in profile.conditions.values() if f.display}
    if profile.upgrade is not None:
        strings |= {r.display for r in profile.upgrade.results.values()}
    return bool(text) and text in {s.rstrip() for s in strings if s}


def verify(image: NDArray[np.uint8], cal: CameraCalibration, geometry: DisplayGeometry,
           profile: Profile, picture: str) -> None:
    """RigError (one line) unless the calibration reads the frame."""
    from evrig.drivers.camera.display_reader import DisplayReader
    from evrig.drivers.camera.light_reader import LightReader
    from evrig.drivers.led.classifier import UNKNOWN

    reading = DisplayReader(geometry, cal).read(image)
    if not allowed_display(profile, reading.text, reading.unit):
        shown = f"{reading.text!r}" + (f" with {reading.unit} lit" if reading.unit else "")
        raise RigError(f"refused, nothing written: the display reads {shown}, not a string "
                       f"the {profile.model} shows (check the display corners and unit "
                       f"boxes against {picture})")
    lights = LightReader(cal).colours(image)
    wrong = [name for name, colour in lights.items() if colour == UNKNOWN]
    if wrong:
        raise RigError(f"refused, nothing written: {', '.join(wrong)} read neither lit nor "
                       f"unlit (check their boxes against {picture})")


# -- files --------------------------------------------------------------------------------
def _number(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def to_data(model: str, cal: CameraCalibration) -> dict[str, Any]:
    """The file's content: ``model`` and the ``camera`` block."""
    def seq(values: Any) -> list[Any]:
        return [seq(v) if isinstance(v, tuple | list) else _number(v) for v in values]

    camera = {"frame": seq(cal.frame), "display": seq(cal.display),
              "reference": seq(cal.reference) if cal.reference else None,
              "reference_colour": seq(cal.reference_colour) if cal.reference_colour else None,
              "lights": {n: seq(bs) for n, bs in cal.lights.items()},
              "units": {u: seq(b) for u, b in cal.units.items()} if cal.units else None,
              "colours": {n: seq(c) for n, c in cal.colours.items()},
              "unlit": {n: seq(c) for n, c in cal.unlit.items()} if cal.unlit else None,
              "lit_fraction": cal.lit_fraction, "max_distance": cal.max_distance,
              "min_contrast": cal.min_contrast}
    return {"model": model, "camera": {k: v for k, v in camera.items() if v is not None}}


def save(path: Path, model: str, cal: CameraCalibration, note: str) -> None:
    """Written whole to a temporary file, loaded back, then renamed."""
    import yaml

    from evrig.rig.tables.panel_layout import load_camera_calibration

    tmp = path.with_name(path.name + ".tmp")
    text = yaml.safe_dump(to_data(model, cal), sort_keys=False, default_flow_style=None,
                          width=100)
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(f"# {note}\n{text}")
            f.flush()
            os.fsync(f.fileno())
        load_camera_calibration(tmp, model)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def draw(image: NDArray[np.uint8], cal: CameraCalibration) -> NDArray[np.uint8]:
    """The frame with the regions outlined (display green, lights yellow, units cyan,
    reference magenta)."""
    import cv2
    import numpy as np

    out = image.copy()
    cv2.polylines(out, [np.array(cal.display, np.int32)], True, (0, 255, 0), 1)
    boxes = [(b, (0, 255, 255)) for bs in cal.lights.values() for b in bs]
    boxes += [(b, (255, 255, 0)) for b in (cal.units or {}).values()]
    boxes += [(cal.reference, (255, 0, 255))] if cal.reference else []
    for (x, y, w, h), colour in boxes:
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), colour, 1)
    return out


# -- the walk -----------------------------------------------------------------------------
def calibrate(address: int | str, profile: Profile, out: str | Path, ask: Ask | None = None,
              tell: Callable[[str], object] = print) -> CameraCalibration:
    """Grab a frame, ask the regions, verify, write ``out``; the calibration written.
    RigError (nothing written) when the camera cannot be read or the result does not
    read the frame."""
    import cv2

    from evrig.drivers.camera.capture import Camera, describe
    from evrig.rig.tables.panel_layout import load_panel

    table = load_panel(profile.model)
    path = Path(out)
    with Camera(address, name="panel camera") as camera:
        image = camera.frame().image
    height, width = image.shape[:2]
    picture = str(path.with_name(path.stem + ".png"))
    if not cv2.imwrite(picture, image):
        raise RigError(f"cannot write the frame to {picture}")
    tell(f"Frame {width}x{height} from {describe(address)} saved: {picture}. Give each "
         "region in its pixels (Enter keeps the default in brackets).")
    answers = ask_regions(scaled_regions(table.camera, width, height), width, height,
                          ask or input, tell)
    cal = apply(table.camera, answers, width, height)
    marked = str(path.with_name(path.stem + "-regions.png"))
    cv2.imwrite(marked, draw(image, cal))
    verify(image, cal, table.display, profile, marked)
    save(path, table.model, cal, f"rig calibrate camera: {table.model} through "
                                 f"{describe(address)}, frame {width}x{height}")
    return cal


# -- the CLI subcommand -------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """``camera`` under ``rig calibrate`` (``sub``: its subparsers)."""
    cam = sub.add_parser("camera", help="place the front panel's regions in a camera "
                                        "frame and save a calibration",
                         description=__doc__.split("\n\n")[1] if __doc__ else None)
    cam.add_argument("--camera", required=True, metavar="ADDRESS",
                     help="the camera: a device index, /dev/videoN or a stream URL")
    cam.add_argument("--rig", help="rig file (its profile; and its camera calibration "
                                   "file, if it names one)")
    cam.add_argument("--profile", default="evplus",
                     help="charger profile when no --rig (default: evplus)")
    cam.add_argument("--out", help=f"calibration file to write (default: the rig file's, "
                                   f"else {DEFAULT_OUT})")


def run_command(args: argparse.Namespace) -> int:
    from evrig.rig.profile import load_profile

    out: str | None = args.out
    profile_name: str = args.profile
    if args.rig:
        from evrig.rig.config import load_rig

        config = load_rig(args.rig)
        profile_name = config.profile
        named = getattr(getattr(config.instruments, "camera", None), "calibration", None)
        if out is None and named:
            out = str(config.resolve(named))
    cal = calibrate(args.camera, load_profile(profile_name), out or DEFAULT_OUT)
    print(f"camera calibration written: {out or DEFAULT_OUT} ({cal.frame[0]}x"
          f"{cal.frame[1]}, {len(regions(cal))} regions)")
    return 0
