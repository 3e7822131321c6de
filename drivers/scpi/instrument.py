"""The generic SCPI instrument: pyvisa (pyvisa-py backend) plus a model table.

Every failure becomes an :class:`InstrumentError` that names the instrument and its
resource string, within the configured timeout: on a real bench "no answer" must be a
one-line message, never a hang or a bare VisaIOError. Every write is followed by
``SYST:ERR?``: an instrument that silently ignored a setpoint would leave a test
believing the charger saw 260 V when it saw 230 V.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from evrig.rig.errors import InstrumentError
from evrig.rig.tables.scpi_models import ModelTable

_ERROR = re.compile(r"\s*([-+]?\d+)\s*,?\s*(.*)")
MAX_QUEUED_ERRORS = 20  # SCPI queues hold about 10-30 entries; stop reading after this
MAX_STALE = 8  # answers read past to get back in step after a query cut short


class Resource(Protocol):
    """What the driver needs of a pyvisa resource (and what a transcript fake offers)."""

    def write(self, message: str) -> Any: ...
    def query(self, message: str) -> str: ...
    def read(self) -> str: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Reading:
    """One measurement at the instrument's terminals. ``None``: the model cannot measure it."""

    voltage: float
    current: float
    power: float
    power_factor: float | None = None
    frequency: float | None = None
    phase_voltages: tuple[float, ...] = ()
    phase_currents: tuple[float, ...] = ()  # L1 first; on a one-phase model (current,)
    phase_powers: tuple[float, ...] = ()  # L1 first; ``power`` is their sum (all phases)
    # The reading's time window in spec seconds (None without a clock): the instrument
    # sampled somewhere between sending the first query and receiving the last answer.
    # An SCPI instrument gives no stamp of its own; a testcase timing an event from
    # readings must allow for the window's width (design §4).
    t_start: float | None = None
    t_end: float | None = None


def open_visa(instrument: str, resource: str, timeout_s: float) -> Resource:
    """Open ``resource`` with pyvisa-py, bounded by ``timeout_s`` for connect and I/O."""
    import pyvisa  # imported here: the virtual bench and the tests need it only when used
    from pyvisa.resources import MessageBasedResource

    ms = max(1, int(timeout_s * 1000))
    try:
        manager = pyvisa.ResourceManager("@py")
        handle = manager.open_resource(resource, open_timeout=ms, timeout=ms,
                                       read_termination="\n", write_termination="\n")
    except Exception as exc:  # pyvisa raises VisaIOError, OSError, ValueError …
        raise InstrumentError(instrument, resource,
                              f"cannot connect within {timeout_s:g} s ({_reason(exc)})") from None
    if not isinstance(handle, MessageBasedResource):  # SCPI needs write/query
        handle.close()
        raise InstrumentError(instrument, resource, "not a message-based (SCPI) resource")
    if resource.upper().endswith("::SOCKET"):
        # Without it a command and the SYST:ERR? behind it meet Nagle's algorithm and the
        # peer's delayed ACK: every checked write would cost ~40 ms.
        # pyvisa-py 0.8 does not dispatch VI_ATTR_TCPIP_NODELAY: set it on its socket.
        # The session table belongs to the pyvisa-py backend (untyped), not to pyvisa's
        # VisaLibraryBase: hence Any.
        visalib: Any = handle.visalib
        with contextlib.suppress(Exception):
            sock = visalib.sessions[handle.session].interface
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return handle


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class ScpiInstrument:
    """An instrument driven by its model table: identify, write-and-check, query."""

    label = "SCPI instrument"

    def __init__(self, model: ModelTable, resource: str, timeout_s: float = 2.0, *,
                 link: Resource | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.model = model
        self._now = clock  # spec time, for the windows of readings
        self.resource = resource
        self.timeout_s = timeout_s
        self.name = f"{self.label} {model.model}"
        self._link: Resource | None = (link if link is not None
                                       else open_visa(self.name, resource, timeout_s))
        self._cut_short = False  # a query's answer not read (yet): see _resync
        try:
            self.identity = self._check_identity()
            self.send("clear_status")
        except BaseException:
            self.close()
            raise

    # -- transport -----------------------------------------------------------------------
    def _error(self, problem: str) -> InstrumentError:
        return InstrumentError(self.name, self.resource, problem)

    def _open_link(self) -> Resource:
        if self._link is None:
            raise self._error("the connection is closed")
        return self._link

    def query(self, text: str) -> str:
        """Send a query, return its answer stripped; InstrumentError on silence."""
        link = self._open_link()
        if self._cut_short:
            self._resync(link)
        self._cut_short = True  # until its answer is read
        try:
            answer = str(link.query(text)).strip()
        except OSError as exc:  # refused, reset, unreachable: not a slow instrument
            raise self._error(f"connection failed on {text!r} ({_reason(exc)})") from None
        except Exception as exc:
            raise self._error(f"no answer to {text!r} within {self.timeout_s:g} s "
                              f"({_reason(exc)})") from None
        self._cut_short = False
        return answer

    def _resync(self, link: Resource) -> None:
        """A query cut short — Ctrl-C or SIGTERM between it and its answer, the signal
        handler's safe state querying meanwhile, a timeout — may leave its answer on the
        way, and the next query would read it as its own (an ``OUTP?`` reading
        ``0,"No error"``). Ask for the identity and read up to it: back in step."""
        self._cut_short = False
        try:
            link.write(self.model.command("identify"))
            for _ in range(MAX_STALE):
                if str(link.read()).strip() == self.identity:
                    return
        except Exception as exc:
            raise self._error(f"out of step after a query cut short ({_reason(exc)})") \
                from None
        raise self._error(f"out of step after a query cut short: no *IDN? answer "
                          f"within {MAX_STALE} answers")

    def write(self, text: str) -> None:
        """Send a command, then read the error queue; InstrumentError if it complained."""
        link = self._open_link()
        try:
            link.write(text)
        except Exception as exc:
            raise self._error(f"cannot send {text!r} ({_reason(exc)})") from None
        errors = self._drain_errors()
        if errors:
            raise self._error(f"{text!r} was refused: {'; '.join(errors)}")

    def _drain_errors(self) -> list[str]:
        query = self.model.command("error_query")
        errors: list[str] = []
        for _ in range(MAX_QUEUED_ERRORS):
            answer = self.query(query)
            match = _ERROR.fullmatch(answer)
            if match is None:
                raise self._error(f"unreadable answer to {query!r}: {answer!r}")
            if int(match.group(1)) == 0:
                break
            errors.append(answer)
        return errors

    # -- verbs ---------------------------------------------------------------------------
    def send(self, verb: str, **params: Any) -> None:
        self.write(self.model.command(verb, **params))

    def ask(self, verb: str, **params: Any) -> str:
        return self.query(self.model.command(verb, **params))

    def ask_float(self, verb: str, **params: Any) -> float:
        answer = self.ask(verb, **params)
        try:
            return float(answer.split(",")[0])
        except ValueError:
            raise self._error(f"expected a number from {self.model.command(verb, **params)!r}, "
                              f"got {answer!r}") from None

    def ask_optional(self, verb: str) -> float | None:
        return self.ask_float(verb) if self.model.has(verb) else None

    def ask_bool(self, verb: str) -> bool:
        answer = self.ask(verb).upper()
        if answer in ("1", "ON"):
            return True
        if answer in ("0", "OFF"):
            return False
        raise self._error(f"expected 0/1 from {self.model.command(verb)!r}, got {answer!r}")

    # -- phases (a multi-phase model: all coupled, or one selected) ---------------------
    def address(self, phase: int | None) -> None:
        """Before a setting: every phase (``None``: coupled, where the model couples) or
        ``phase`` (1-based) alone; ValueError for a phase the model does not have."""
        if phase is None:
            if self.model.has("couple_phases"):
                self.send("couple_phases")
            return
        if not 1 <= phase <= self.model.phases or not self.model.has("select_phase"):
            if phase == 1 and self.model.phases == 1:
                return  # a one-phase model: its only phase
            raise ValueError(f"{self.model.model}: phase {phase} does not exist (the model has "
                             f"{self.model.phases} phase(s), {self.model.file})")
        if self.model.has("decouple_phases"):
            self.send("decouple_phases")
        self.send("select_phase", phase=phase)

    def per_phase(self, *verbs: str) -> list[tuple[float, ...]]:
        """Each of ``verbs`` read on every phase, L1 first; ends with phase 1 selected,
        so the plain readings that follow are L1's. A one-phase model: no selection."""
        if self.model.phases == 1 or not self.model.has("select_phase"):
            return [(self.ask_float(verb),) for verb in verbs]
        columns: list[list[float]] = [[] for _ in verbs]
        for phase in range(self.model.phases, 0, -1):
            self.send("select_phase", phase=phase)
            for column, verb in zip(columns, verbs, strict=True):
                column.append(self.ask_float(verb))
        return [tuple(reversed(column)) for column in columns]

    def timed(self, measure: Callable[[], Reading]) -> Reading:
        """``measure()`` with the reading's time window (Reading.t_start/t_end)."""
        if self._now is None:
            return measure()
        t_start = self._now()
        reading = measure()
        return replace(reading, t_start=t_start, t_end=self._now())

    def _check_identity(self) -> str:
        answer = self.ask("identify")
        if not re.search(self.model.idn_pattern, answer):
            raise self._error(f"is not a {self.model.model}: *IDN? answered {answer!r} "
                              f"(expected to match {self.model.idn_pattern!r}, "
                              f"{self.model.file})")
        return answer

    def close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            with contextlib.suppress(Exception):  # a dead connection: nothing left to do
                link.close()
