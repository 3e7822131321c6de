"""Dot-matrix fonts of character displays, as data (``rig/tables/panel/font-<name>.yaml``).

The virtual bench lights a glyph's dots and the camera's display reader matches a
frame's character cells against the same glyphs: one file, so the renderer and the
reader cannot disagree about a character. Kernel code without numpy: a glyph is a
tuple of rows of booleans; the sides turn it into arrays themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated

from evrig.rig.errors import RigFileError
from evrig.rig.typed_yaml import Check, load_yaml
from evrig.rig.typed_yaml import from_data as typed_from_data

Glyph = tuple[tuple[bool, ...], ...]  # rows (top first) of dots (left first); True = lit
LIT, UNLIT = "#", "."


@dataclass(frozen=True)
class Font:
    name: str
    columns: int
    rows: int
    glyphs: dict[str, Glyph]

    @property
    def characters(self) -> str:
        return "".join(self.glyphs)

    def glyph(self, character: str) -> Glyph:
        """The dots of ``character``; KeyError naming the font when it has none."""
        try:
            return self.glyphs[character]
        except KeyError:
            raise KeyError(f"font {self.name} has no glyph for {character!r}; it has "
                           f"{self.characters!r}") from None

    def distance(self, a: str, b: str) -> int:
        """Dots that differ between two glyphs (how far apart a reader sees them)."""
        return sum(x != y for ra, rb in zip(self.glyph(a), self.glyph(b), strict=True)
                   for x, y in zip(ra, rb, strict=True))

    def closest_pair(self) -> tuple[str, str, int]:
        """The two glyphs nearest each other: what limits a reader under noise."""
        chars = self.characters
        return min(((a, b, self.distance(a, b)) for i, a in enumerate(chars)
                    for b in chars[i + 1:]), key=lambda x: x[2])


_positive = Check.where(lambda v: v > 0, "a number > 0")


@dataclass(frozen=True)
class _FontFile:
    """The file's schema (rig/typed_yaml.py: unknown or misspelt keys are refused)."""

    name: str
    columns: Annotated[int, _positive]
    rows: Annotated[int, _positive]
    glyphs: dict[str, list[str]]


def from_data(data: object, file: str) -> Font:
    """A font from parsed YAML; RigFileError naming the file and the glyph."""
    if data is None:
        raise RigFileError(file, "", "the file is empty; expected a font")
    parsed = typed_from_data(_FontFile, data, file=file)
    glyphs: dict[str, Glyph] = {}
    seen: dict[Glyph, str] = {}
    for char, lines in parsed.glyphs.items():
        where = f"glyphs.{char!r}"
        if len(char) != 1:
            raise RigFileError(file, where, "one character per glyph")
        if len(lines) != parsed.rows or any(len(line) != parsed.columns for line in lines):
            raise RigFileError(file, where, f"{parsed.rows} rows of {parsed.columns} dots")
        if any(c not in (LIT, UNLIT) for line in lines for c in line):
            raise RigFileError(file, where, f"dots written {LIT!r} (lit) or {UNLIT!r} (unlit)")
        glyph = tuple(tuple(c == LIT for c in line) for line in lines)
        if glyph in seen:
            raise RigFileError(file, where, f"a glyph of its own; it repeats {seen[glyph]!r}")
        seen[glyph] = char
        glyphs[char] = glyph
    if " " not in glyphs:
        raise RigFileError(file, "glyphs", "a blank glyph ' ' (an unlit cell reads as a space)")
    return Font(parsed.name, parsed.columns, parsed.rows, glyphs)


@cache
def load_font(name: str) -> Font:
    """The shipped font ``rig/tables/panel/font-<name>.yaml``."""
    ref = resources.files("evrig.rig.tables") / "panel" / f"font-{name}.yaml"
    file = f"font-{name}.yaml"
    if not ref.is_file():
        raise RigFileError(file, "", f"no font {name!r} in rig/tables/panel/")
    return from_data(load_yaml(str(ref)), file)
