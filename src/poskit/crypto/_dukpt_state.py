"""The future-key register machine shared by TDES and AES DUKPT originating devices.

Both standards keep one register per counter bit. Register ``i`` holds the key for the counter
formed by the bits above ``i`` that are already set plus bit ``i``. Using counter ``c`` takes the
register of its lowest set bit; if ``c`` has fewer one bits than the limit (10 for X9.24-1,
16 for X9.24-3), the keys for ``c | 1<<j`` (every ``j`` below that bit) are derived from it
before it is erased and the counter steps by one; otherwise the counter jumps by the lowest set
bit, which skips every counter with too many one bits. ``derive(parent, counter)`` is the
scheme's one-way step (the non-reversible key generation process, or the AES derivation).
"""

from __future__ import annotations

from collections.abc import Callable

from poskit.crypto.errors import DukptExhaustedError, InputError

__all__ = ["FutureKeyRegisters", "chain_key"]

Derive = Callable[[bytes, int], bytes]


def chain_key(initial_key: bytes, counter: int, width: int, derive: Derive) -> bytes:
    """The host-side derivation: walk the counter's set bits from the top."""
    key = initial_key
    acc = 0
    for bit in range(width - 1, -1, -1):
        mask = 1 << bit
        if counter & mask:
            acc |= mask
            key = derive(key, acc)
    return key


def _lowest_bit(counter: int) -> int:
    return (counter & -counter).bit_length() - 1


class FutureKeyRegisters:
    """Registers, counter and the advance rules of a DUKPT originating device."""

    __slots__ = ("_derive", "counter", "max_ones", "registers", "scheme", "width")

    def __init__(
        self,
        *,
        scheme: str,
        width: int,
        max_ones: int,
        derive: Derive,
        counter: int,
        registers: list[bytes | None],
    ) -> None:
        self.scheme = scheme
        self.width = width
        self.max_ones = max_ones
        self._derive = derive
        self.counter = counter
        self.registers = registers

    def __repr__(self) -> str:
        return f"FutureKeyRegisters({self.scheme}, counter={self.counter:#x})"

    @property
    def limit(self) -> int:
        return (1 << self.width) - 1

    @classmethod
    def at_counter(
        cls,
        initial_key: bytes,
        counter: int,
        *,
        scheme: str,
        width: int,
        max_ones: int,
        derive: Derive,
    ) -> FutureKeyRegisters:
        """The register state of a device loaded with ``initial_key`` and about to use ``counter``.

        Counter 0 is a freshly loaded key (its first transaction is counter 1).
        """
        if not 0 <= counter < (1 << width):
            raise InputError("ksn", f"transaction counter {counter:#x} does not fit {width} bits")
        low = _lowest_bit(counter) if counter else 0
        registers: list[bytes | None] = [None] * width
        for i in range(low, width):
            if i != low and counter & (1 << i):
                continue  # that key was used and erased
            prefix = counter & ~((1 << (i + 1)) - 1)
            if prefix.bit_count() >= max_ones:
                continue  # never generated: its counter would have too many one bits
            registers[i] = chain_key(initial_key, prefix | (1 << i), width, derive)
        return cls(
            scheme=scheme,
            width=width,
            max_ones=max_ones,
            derive=derive,
            counter=counter or 1,
            registers=registers,
        )

    def current(self) -> tuple[int, bytes]:
        """The counter and key of the next transaction, skipping erased registers."""
        while True:
            if self.counter > self.limit:
                raise DukptExhaustedError(self.scheme, self.limit)
            i = _lowest_bit(self.counter)
            key = self.registers[i]
            if key is not None:
                return self.counter, key
            self.counter += 1 << i

    def advance(self) -> None:
        """Erase the current key after deriving the ones below it (the "new key" process)."""
        counter, key = self.current()
        i = _lowest_bit(counter)
        if counter.bit_count() < self.max_ones:
            for j in range(i - 1, -1, -1):
                self.registers[j] = self._derive(key, counter | (1 << j))
            self.registers[i] = None
            self.counter = counter + 1
        else:
            self.registers[i] = None
            self.counter = counter + (1 << i)

    def dump(self) -> bytes:
        """Counter (4 bytes), a bitmap of filled registers (4 bytes), then the keys."""
        bitmap = 0
        keys = []
        for i, key in enumerate(self.registers):
            if key is not None:
                bitmap |= 1 << i
                keys.append(key)
        return self.counter.to_bytes(5, "big") + bitmap.to_bytes(4, "big") + b"".join(keys)

    @classmethod
    def load(
        cls,
        data: bytes,
        *,
        key_length: int,
        scheme: str,
        width: int,
        max_ones: int,
        derive: Derive,
    ) -> FutureKeyRegisters:
        """Rebuild registers from :meth:`dump` output."""
        if len(data) < 9:
            raise InputError("state", "truncated DUKPT state")
        counter = int.from_bytes(data[:5], "big")
        bitmap = int.from_bytes(data[5:9], "big")
        if bitmap >> width:
            raise InputError("state", "register bitmap wider than the scheme")
        body = data[9:]
        if len(body) != bitmap.bit_count() * key_length:
            raise InputError("state", "register data length does not match its bitmap")
        registers: list[bytes | None] = [None] * width
        pos = 0
        for i in range(width):
            if bitmap & (1 << i):
                registers[i] = body[pos : pos + key_length]
                pos += key_length
        return cls(
            scheme=scheme,
            width=width,
            max_ones=max_ones,
            derive=derive,
            counter=counter,
            registers=registers,
        )
