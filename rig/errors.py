"""Errors the rig shows to a person: one short line, no traceback."""

from __future__ import annotations


class RigError(Exception):
    """Base of every error the CLI and the pytest plugin print as one line."""


class RigFileError(RigError):
    """A rig file or a profile is malformed.

    The message names the file, the key path (``instruments.ac_source.resource``)
    and what was expected, so the person can fix it without reading code.
    """

    def __init__(self, file: str, key_path: str, expected: str) -> None:
        self.file = file
        self.key_path = key_path
        self.expected = expected
        where = f"{file}: {key_path}" if key_path else file
        super().__init__(f"{where}: {expected}")


class InstrumentError(RigError):
    """An instrument did not answer, or answered with an error.

    Always names the instrument and its address (resource string, port, URL).
    """

    def __init__(self, instrument: str, address: str, problem: str) -> None:
        self.instrument = instrument
        self.address = address
        super().__init__(f"{instrument} at {address}: {problem}")


class MissingWire(RigError):
    """The configured rig lacks the instrument or wire a testcase needs.

    The pytest plugin turns it into a skip that names what is missing; on the
    virtual bench every wire exists, so nothing skips there.
    """


def one_line(exc: RigError, rig_file: str | None = None) -> str:
    """The line a person sees for ``exc``: ``rig file FILE: key.path: fix`` when it is
    about the rig file ``rig_file``, else ``rig: ...`` — never more than one line."""
    about_file = isinstance(exc, RigFileError) and rig_file is not None \
        and exc.file == str(rig_file)
    text = f"rig file {exc}" if about_file else f"rig: {exc}"
    return " ".join(text.split())
