"""A virtual I2C bus with the call surface of ``smbus2.SMBus``.

The LED observer driver talks to whatever bus object it is given through the
SMBus methods a Pi offers (``read_byte_data``, ``read_i2c_block_data`` …). On the
virtual bench this object stands in for ``/dev/i2c-1``: devices are registered by
their 7-bit address, and an address nobody answers raises the same ``OSError``
(errno 121, Remote I/O error) the Linux driver raises for a missing ACK.
"""

from __future__ import annotations

import errno
import threading
from typing import Protocol


class I2cDevice(Protocol):
    """A register-based I2C slave: a command byte, then bytes read or written."""

    def read(self, command: int, length: int) -> list[int]: ...

    def write(self, command: int, data: list[int]) -> None: ...


class VirtualI2cBus:
    def __init__(self) -> None:
        self._devices: dict[int, I2cDevice] = {}
        self._lock = threading.Lock()
        self._last_command: dict[int, int] = {}
        self.closed = False

    def attach(self, address: int, device: I2cDevice) -> None:
        self._devices[address] = device

    def _device(self, address: int) -> I2cDevice:
        if self.closed:
            raise OSError(errno.EBADF, "I2C bus closed")
        device = self._devices.get(address)
        if device is None:
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (no device at 0x{address:02x})")
        return device

    # -- smbus2.SMBus surface ---------------------------------------------------------
    def write_byte(self, i2c_addr: int, value: int) -> None:
        """A command byte alone: sets the device's register pointer."""
        with self._lock:
            self._device(i2c_addr).write(value & 0xFF, [])
            self._last_command[i2c_addr] = value & 0xFF

    def read_byte(self, i2c_addr: int) -> int:
        with self._lock:
            device = self._device(i2c_addr)
            return device.read(self._last_command.get(i2c_addr, 0), 1)[0]

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        with self._lock:
            return self._device(i2c_addr).read(register & 0xFF, 1)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        with self._lock:
            self._device(i2c_addr).write(register & 0xFF, [value & 0xFF])

    def read_word_data(self, i2c_addr: int, register: int) -> int:
        """Little-endian, as SMBus defines a word."""
        with self._lock:
            low, high = self._device(i2c_addr).read(register & 0xFF, 2)
        return low | high << 8

    def write_word_data(self, i2c_addr: int, register: int, value: int) -> None:
        with self._lock:
            self._device(i2c_addr).write(register & 0xFF, [value & 0xFF, value >> 8 & 0xFF])

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        if not 1 <= length <= 32:
            raise ValueError("I2C block length must be 1..32")
        with self._lock:
            return self._device(i2c_addr).read(register & 0xFF, length)

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        with self._lock:
            self._device(i2c_addr).write(register & 0xFF, [d & 0xFF for d in data])

    def close(self) -> None:
        self.closed = True
