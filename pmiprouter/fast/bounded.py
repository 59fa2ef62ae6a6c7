"""A value for a key, computed once; the table starts over when it reaches its bound (pure).

Hot paths keep what they derive from values that come back again and again (a parsed peer
address, a decoded small option, an option's encoding, a PBU layout) in a plain dict, and
bound it so that a spray of distinct keys cannot grow it: when full, the table is emptied and
fills again with what is still in use. `Bounded` is that table, written once.

API (``from pmiprouter.fast.bounded import Bounded``)::

    table = Bounded(make, bound)           # make: Callable[[K], V]; bound: int (entries)
    value = table.get(key)                 # the fast lookup: the dict's own `get` (V | None)
    if value is None:
        value = table.remember(key)        # make(key), stored (the table starts over when full)
    value = table(key)                     # the same in one call (a Python frame per hit)
    table.put(key, value)                  # store a value made elsewhere; returns it
    table.forget(key)                      # drop one entry (no error when absent)
    len(table), key in table, table.clear()

Measured on 3.11 (timeit, best of 9, one session, a hit): ``table.get(key)`` costs what a plain
dict's ``get`` costs (it is that bound method, kept in a slot), about 40 ns; ``table(key)`` adds
a Python call, about 100 ns. So hot paths use ``get`` and ``remember`` on a miss; a value that
is never falsy allows ``table.get(key) or table.remember(key)``.

`dropped` (optional) is called with each value thrown away when the table starts over (the
PBA's shared address options, whose encodings the codec keeps until told to forget them).
Tables keyed by object identity (keys whose hash runs Python code) are `ByIdentity`, built on
this one (``pmiprouter/fast/by_identity.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar('K')
V = TypeVar('V')


def _cannot_make(key: object) -> object:
    raise KeyError(key)


class Bounded(Generic[K, V]):
    """`make(key)`, computed once per key, in a table of at most `bound` entries."""

    __slots__ = ('make', 'bound', 'dropped', 'table', 'get')

    def __init__(self, make: Callable[[K], V] | None = None, bound: int = 4096,
                 dropped: Callable[[V], object] | None = None) -> None:
        if bound < 1:
            raise ValueError(f'a bound of {bound} entries holds nothing')
        self.make: Callable[[K], V] = make if make is not None else _cannot_make  # type: ignore[assignment]
        self.bound = bound
        self.dropped = dropped
        self.table: dict[K, V] = {}
        #: The fast lookup: the table's own `get` (emptied in place, so it stays the table's).
        self.get: Callable[[K], V | None] = self.table.get

    def __call__(self, key: K) -> V:
        value = self.table.get(key)
        if value is None:
            return self.remember(key)
        return value

    def remember(self, key: K) -> V:
        """`make(key)`, kept for the next lookups."""
        return self.put(key, self.make(key))

    def put(self, key: K, value: V) -> V:
        """Keep `value` for `key`; a full table starts over first. Returns `value`."""
        table = self.table
        if len(table) >= self.bound and key not in table:
            self.clear()
        table[key] = value
        return value

    def forget(self, key: K) -> None:
        self.table.pop(key, None)

    def clear(self) -> None:
        dropped = self.dropped
        if dropped is not None:
            for value in self.table.values():
                dropped(value)
        self.table.clear()

    def __contains__(self, key: object) -> bool:
        return key in self.table

    def __len__(self) -> int:
        return len(self.table)
