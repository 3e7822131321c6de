"""The master's end of Modbus RTU framing on the twin's RS-485 channel 1: given the
request, pymodbus is handed only the one answer it allows, found wherever it lies in
the noise (sim/charger/modbus_master.py)."""

from __future__ import annotations

from collections.abc import Callable


class AnswerFramer:
    """The master's end of RTU framing, as pymodbus's ``trace_packet`` hook.

    pymodbus passes the request through it (``sending``), then, on every read, all bytes
    received since that request, and frames what the hook returns. This returns nothing
    until the bytes hold the one answer the request allows — this id, this function
    (or its exception), the byte count asked for, a good CRC — and then exactly that
    frame, found wherever it lies in the noise. Each byte is looked at a bounded number
    of times, so no burst can hold the loop; bytes of no answer (noise, bad CRC, late
    answers between requests) are counted in :attr:`stray`.
    """

    def __init__(self) -> None:
        from pymodbus.framer import FramerRTU

        self._check_crc = FramerRTU.check_CRC
        self._expect: list[tuple[bytes, int]] = []  # (header, frame size) allowed
        self._passthrough = True  # a request this does not know: pymodbus frames it
        self._seen = 0  # of the bytes pymodbus holds, those already looked at
        self._tail = b""  # the last bytes, where an answer may have begun
        self.received = 0  # bytes since the request
        self.stray = 0
        # Called once an answer's worth of bytes has crossed the cable (a valid frame,
        # or as many bytes as the longest allowed answer): the request's flight ends.
        self.on_answer: Callable[[], None] | None = None

    def reset(self) -> None:
        """A new connection: pymodbus starts from an empty buffer."""
        self._expect, self._seen, self._tail = [], 0, b""

    def __call__(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self.reset()
            self.received = 0
            self._passthrough = not (len(data) >= 6 and data[1] in (3, 4))
            if not self._passthrough:  # read registers: the count is in bytes 4..5
                size = 5 + 2 * int.from_bytes(data[4:6], "big")
                self._expect = [(data[:2] + bytes((size - 5,)), size),
                                (bytes((data[0], data[1] | 0x80)), 5)]
            return data
        new = data[self._seen:] if len(data) >= self._seen else data
        self._seen = len(data)
        self.received += len(new)
        if self._passthrough:
            self._answered()
            return data
        self.stray += len(new)
        longest = max((size for _header, size in self._expect), default=0)
        frame = self._hunt(self._tail + new) if self._expect else b""
        if frame or self.received >= longest:
            self._answered()
        return frame

    def _answered(self) -> None:
        on_answer, self.on_answer = self.on_answer, None
        if on_answer is not None:
            on_answer()

    def _hunt(self, window: bytes) -> bytes:
        """The allowed answer in ``window`` (the kept tail + new bytes), or b""."""
        for header, size in self._expect:
            start = window.find(header)
            while 0 <= start <= len(window) - size:
                frame = window[start:start + size]
                if self._check_crc(frame[:-2], int.from_bytes(frame[-2:], "big")):
                    self._expect, self._tail = [], b""
                    self.stray -= size
                    self._seen -= size  # pymodbus drops the frame it decodes
                    return frame
                start = window.find(header, start + 1)
        longest = max(size for _header, size in self._expect)
        self._tail = window[-(longest - 1):]
        return b""
