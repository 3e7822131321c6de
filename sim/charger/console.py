"""The charger's service console on a serial line (a pty on the virtual bench).

Real EVNET boards have a debug UART; the rig uses it for what no other wire
offers: holding a tag to the reader, sensor overrides, factory data. One
command per line, one answer line: ``OK …`` or ``ERR …``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable

Command = Callable[[list[str]], str]


class ConsolePty:
    """Serves ``commands`` on the master end of a pty; ``port`` is the slave's path."""

    def __init__(self, commands: dict[str, Command]) -> None:
        self.commands = commands
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        os.set_blocking(self._master, False)
        self._buffer = b""
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self._master, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            answer = self.execute(line.decode("utf-8", "replace").strip())
            os.write(self._master, (answer + "\r\n").encode())

    def execute(self, line: str) -> str:
        if not line:
            return "ERR empty command"
        name, *args = line.split()
        command = self.commands.get(name.lower())
        if command is None:
            return f"ERR unknown command '{name}' (try: {', '.join(sorted(self.commands))})"
        try:
            return command(args)
        except Exception as exc:  # a console never dies on a bad line
            return f"ERR {exc}"

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._master)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
