"""Driver for the charger's service console (serial line, one command per line)."""

from __future__ import annotations

import threading

import serial

from evrig.rig.errors import InstrumentError


class ServiceConsole:
    def __init__(self, port: str, baud: int = 115200, timeout_s: float = 2.0) -> None:
        self.port = port
        self._timeout = timeout_s
        self._lock = threading.Lock()
        try:
            self._serial = serial.Serial(port, baud, timeout=timeout_s)
        except serial.SerialException as exc:
            raise InstrumentError("charger service console", port, str(exc)) from exc

    def command(self, line: str) -> str:
        """Send one command; return the text after ``OK``; raise on ``ERR`` or silence."""
        with self._lock:
            self._serial.reset_input_buffer()
            self._serial.write((line + "\n").encode())
            answer = self._serial.readline().decode("utf-8", "replace").strip()
        if not answer:
            raise InstrumentError("charger service console", self.port,
                                  f"no answer to '{line}' within {self._timeout} s")
        if answer.startswith("ERR"):
            raise InstrumentError("charger service console", self.port,
                                  f"'{line}' refused: {answer[3:].strip()}")
        return answer[2:].strip() if answer.startswith("OK") else answer

    def close(self) -> None:
        self._serial.close()
