"""What the fake meter was asked: one :class:`Poll` per request for its id, and one line
per poll for a person (``rig emulate meter`` prints them as they come).

Apart from :mod:`drivers.meter.emulator` so that the emulator is about serving and
misbehaving, and this about the record it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymodbus.constants import ExcCodes

from evrig.rig.tables.meter_maps import MeterMap, address_to_register, words_to_float


@dataclass(frozen=True)
class Poll:
    """One request the meter received (for its own id), in arrival order.

    ``address`` is the PDU address (0 = register 30001 for function 4);
    ``registers`` the words served (empty on an exception); ``silent`` that no answer
    went out (``silence``). ``timestamp`` is spec seconds on the emulator's clock.
    """

    timestamp: float
    function: int
    address: int
    count: int
    registers: tuple[int, ...] = ()
    exception: int | None = None
    silent: bool = False

    @property
    def register(self) -> int:
        """The first register as the manuals number it (30001 for input address 0;
        writes 0x06/0x10 count as holding registers)."""
        function = 3 if self.function in (6, 16, 22, 23) else self.function
        return address_to_register(function, self.address) \
            if function in (3, 4) else self.address


def describe_poll(poll: Poll, meter_map: MeterMap) -> str:
    """One line for a person: function, register range, what was answered.

    Words that line up with the map's values are shown as ``name=value``; others as
    hex: ``fc04 30001-30012 voltage_l1=231.5 voltage_l2=230 ...`` (the caller adds
    the time).
    """
    last = poll.register + max(poll.count, 1) - 1
    head = f"fc{poll.function:02d} {poll.register}-{last}"
    if poll.exception is not None:
        text = f"{head} exception {poll.exception:02d} ({ExcCodes(poll.exception).name})"
    else:
        parts: list[str] = []
        i = 0
        words = poll.registers
        while i < len(words):
            reg = meter_map.at(poll.function, poll.address + i)
            if reg is not None and i + 1 < len(words):
                parts.append(f"{reg.name}={words_to_float(words[i], words[i + 1]):g}")
                i += 2
            else:
                parts.append(f"0x{words[i]:04X}")
                i += 1
        text = f"{head} {' '.join(parts)}"
    return f"{text} (not answered: silenced)" if poll.silent else text
