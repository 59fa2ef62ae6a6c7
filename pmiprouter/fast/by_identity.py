"""Values derived from a few objects that come back again and again, found by identity (pure).

The ports parse each peer's address once and hand the same object on with every message; the
engines and ports then derive things from it (its text, its socket address, its interned copy).
Hashing an `ipaddress` object runs Python code (it formats the integer), so those derived values
are kept by `id()` instead. Each entry holds its key, so no other object can take that id while
the entry exists. The table is bounded and starts over when full, so a spray of distinct keys
cannot grow it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar('K')
V = TypeVar('V')


class ByIdentity(Generic[K, V]):
    """`derive(key)`, computed once per key object (up to `bound` of them at a time)."""

    def __init__(self, derive: Callable[[K], V], bound: int = 4096) -> None:
        self.derive = derive
        self.bound = bound
        self._values: dict[int, tuple[K, V]] = {}

    def __call__(self, key: K) -> V:
        known = self._values.get(id(key))
        if known is not None and known[0] is key:
            return known[1]
        if len(self._values) >= self.bound:
            self._values.clear()
        value = self.derive(key)
        self._values[id(key)] = (key, value)
        return value

    def __len__(self) -> int:
        return len(self._values)
