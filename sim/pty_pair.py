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
as on any pty — there is no line timing either, which RTU framing over a pty does
not need (pymodbus frames by length).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty


class PtyPair:
    """Two linked serial ports; ``ports`` are their paths. Close with :meth:`close`
    (or use as a context manager)."""

    def __init__(self, name: str = "pty-pair") -> None:
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
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        a, b = self._masters
        peer = {a: b, b: a}
        pending: dict[int, bytes] = {a: b"", b: b""}  # bytes waiting to go OUT of fd
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
        os.write(self._wake_w, b"x")
        self._thread.join(2.0)
        for fd in (*self._masters, *self._slaves, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
