"""A virtual null-modem cable: two serial ports whose bytes cross over.

``socat -d -d pty,raw,echo=0 pty,raw,echo=0`` in pure Python, so the virtual bench
and CI need no socat. Two pseudo-terminals are opened; a thread copies what is
written to one port's far end to the other's. Both ends are ordinary tty paths
(``/dev/pts/N``) that pyserial — and so pymodbus's serial client and server — open
like a USB–RS485 adapter: the meter emulator takes ``pair.ports[0]``, the Modbus
master (the twin, or a test's client) ``pair.ports[1]``.

The pair keeps its own handle on both ttys open: without it, the moment one side
closes (a test restarting the emulator), reads on the master fail with EIO and the
cable would be cut for good. Line settings (baud, parity) are accepted and ignored,
as on any pty — there is no line timing: the meter emulator frames by length and
takes a gap between reads as a silence (drivers/meter/rtu.py).

On the virtual bench the crossing runs on the bench's event loop (``loop``), not on a
thread of its own: the bench clock's barrier then covers the bytes on the cable too,
so a busy host cannot let spec time run past an answer that is still on its way
(rig/bench_clock.py). Without a loop (a framework test) a thread does the copying.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable


class PtyPair:
    """Two linked serial ports; ``ports`` are their paths. Close with :meth:`close`
    (or use as a context manager)."""

    def __init__(self, name: str = "pty-pair",
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._masters: list[int] = []
        self._slaves: list[int] = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing, no CR/LF translation
            os.set_blocking(master, False)
            self._masters.append(master)
            self._slaves.append(slave)
        self.ports: tuple[str, str] = (os.ttyname(self._slaves[0]),
                                       os.ttyname(self._slaves[1]))
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._loop = loop
        a, b = self._masters
        self._peer = {a: b, b: a}
        self._pending: dict[int, bytes] = {a: b"", b: b""}  # bytes waiting to go OUT of fd
        self._thread: threading.Thread | None = None
        if loop is not None:
            self._on_loop(self._attach)
        else:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    # -- on the bench's loop ---------------------------------------------------------------
    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop and wait for it (add_reader is not thread-safe)."""
        assert self._loop is not None
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        if not done.wait(5.0):
            raise TimeoutError("pty pair: the bench loop did not answer")

    def _attach(self) -> None:
        assert self._loop is not None
        for fd in self._masters:
            self._loop.add_reader(fd, self._readable, fd)

    def _detach(self) -> None:
        assert self._loop is not None
        for fd in self._masters:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, OSError):
            return
        peer = self._peer[fd]
        self._pending[peer] += data
        self._flush(peer)

    def _flush(self, fd: int) -> None:
        assert self._loop is not None
        try:
            sent = os.write(fd, self._pending[fd]) if self._pending[fd] else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self._pending[fd], sent = b"", 0
        self._pending[fd] = self._pending[fd][sent:]
        if self._pending[fd]:
            self._loop.add_writer(fd, self._flush, fd)
        else:
            self._loop.remove_writer(fd)

    # -- on a thread of its own ------------------------------------------------------------

    def _run(self) -> None:
        a, b = self._masters
        peer, pending = self._peer, self._pending
        while True:
            writers = [fd for fd, data in pending.items() if data]
            readers = [self._wake_r, a, b]
            try:
                readable, writable, _ = select.select(readers, writers, [])
            except (OSError, ValueError):
                return
            if self._wake_r in readable:
                return
            for fd in readable:
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                except OSError:  # EIO: nobody has the tty open (cannot happen: we do)
                    continue
                pending[peer[fd]] += data
            for fd in writable:
                try:
                    sent = os.write(fd, pending[fd])
                except BlockingIOError:
                    continue
                except OSError:
                    pending[fd] = b""
                    continue
                pending[fd] = pending[fd][sent:]

    def close(self) -> None:
        """Stop copying and close both ports. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._loop is not None:
            if not self._loop.is_closed():
                with contextlib.suppress(RuntimeError, TimeoutError):
                    if threading.current_thread() is self._loop_thread():
                        self._detach()
                    else:
                        self._on_loop(self._detach)
        else:
            os.write(self._wake_w, b"x")
            if self._thread is not None:
                self._thread.join(2.0)
        for fd in (*self._masters, *self._slaves, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _loop_thread(self) -> threading.Thread | None:
        """The thread running the loop, if it is this one's caller (close on the loop)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return threading.current_thread() if running is self._loop else None

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
