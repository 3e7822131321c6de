"""A virtual SCPI instrument: a TCP socket on 127.0.0.1 speaking a model's table.

It parses exactly the commands of ``rig/tables/scpi/<model>.yaml`` — the table the
driver sends from — and keeps an SCPI error queue with the standard codes, so a
driver bug (a wrong header, a setpoint out of range) shows up on the virtual bench
the way it would on the real instrument: in ``SYST:ERR?``, not as silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque

from evrig.rig.tables.scpi_models import ModelTable
from evrig.sim.electrical import Circuit
from evrig.sim.instruments.behaviour import LoadBehaviour, SourceBehaviour, Verb

NO_ERROR = '0,"No error"'
UNDEFINED_HEADER = '-113,"Undefined header"'
ILLEGAL_PARAMETER = '-224,"Illegal parameter value"'
OUT_OF_RANGE = '-222,"Data out of range"'
QUEUE_OVERFLOW = '-350,"Queue overflow"'
QUEUE_SIZE = 10
RANGED = {"set_voltage": "voltage", "set_frequency": "frequency", "set_current": "current"}


class VirtualScpiInstrument:
    """One instrument. :meth:`handle` is the whole protocol; :meth:`start` serves it."""

    def __init__(self, model: ModelTable, circuit: Circuit) -> None:
        self.model = model
        behaviour = (SourceBehaviour if model.kind == "ac_source" else LoadBehaviour)(
            model, circuit)
        self._verbs: dict[str, Verb] = {
            "identify": lambda p: model.idn_answer,
            "clear_status": lambda p: self.errors.clear(),
            "error_query": lambda p: self.errors.popleft() if self.errors else NO_ERROR,
            **behaviour.verbs(),
        }
        self._matchers = [(verb, model.matcher(verb)) for verb in model.commands
                          if verb in self._verbs]
        self._headers = {t.split()[0].lstrip(":").upper() for t in model.commands.values()}
        self.errors: deque[str] = deque()
        self.received: list[str] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    # -- protocol --------------------------------------------------------------------------
    def handle(self, line: str) -> str | None:
        """One program message (units separated by ';'); the answer line, if any."""
        answers = [a for unit in line.split(";") if unit.strip()
                   if (a := self._unit(unit.strip())) is not None]
        return ";".join(answers) if answers else None

    def _unit(self, text: str) -> str | None:
        self.received.append(text)
        for verb, pattern in self._matchers:
            match = pattern.fullmatch(text)
            if match is None:
                continue
            params = {k: float(v) if k == "value" else int(v)
                      for k, v in match.groupdict().items()}
            quantity = RANGED.get(verb)
            if quantity in self.model.ranges:
                low, high = self.model.ranges[quantity]
                if not low <= params["value"] <= high:
                    self._push(OUT_OF_RANGE)
                    return None
            try:
                return self._verbs[verb](params)
            except ValueError:
                self._push(OUT_OF_RANGE)
                return None
        header = re.split(r"[\s?]", text.lstrip(":"), maxsplit=1)[0].upper()
        self._push(ILLEGAL_PARAMETER if header in self._headers else UNDEFINED_HEADER)
        return None

    def _push(self, error: str) -> None:
        if len(self.errors) >= QUEUE_SIZE:
            self.errors[-1] = QUEUE_OVERFLOW
        else:
            self.errors.append(error)

    # -- transport -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._client, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while line := await reader.readline():
                answer = self.handle(line.decode("ascii", "replace").strip())
                if answer is not None:
                    writer.write(answer.encode("ascii") + b"\n")
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
