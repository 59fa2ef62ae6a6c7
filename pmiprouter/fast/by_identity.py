"""Values derived from a few objects that come back again and again, found by identity (pure).

The ports parse each peer's address once and hand the same object on with every message; the
engines and ports then derive things from it (its text, its socket address, its interned copy,
an option's encoding). Hashing an `ipaddress` object or a frozen dataclass runs Python code, so
those derived values are kept by `id()` instead: a C-level hash. Each entry holds its key, so
no other object can take that id while the entry exists (so a hit needs no `is` check). The
table is a `Bounded` one: it starts over when full, so a spray of distinct keys cannot grow it.

API (``from pmiprouter.fast.by_identity import ByIdentity``)::

    table = ByIdentity(derive, bound=4096, dropped=None)
    value = table(key)             # derive(key), once per key object
    value = table.get(key)         # the kept value, or None (nothing derived)
    table.put(key, value)          # keep a value made elsewhere; returns it
    table.forget(key)
    entries = table.entries        # the raw table: id(key) -> (key, value), for a hot loop
                                   # inside this package only (see `get_each`)
    values = table.get_each(keys)  # [get(key) for key in keys], in one call

    index = IdentityIndex(items)   # where each object of a list is, by identity
    position = index[item]         # (equal objects at two places stay apart)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from pmiprouter.fast.bounded import Bounded

K = TypeVar('K')
V = TypeVar('V')


class ByIdentity(Generic[K, V]):
    """`derive(key)`, computed once per key object (up to `bound` of them at a time)."""

    __slots__ = ('derive', '_table', 'entries')

    def __init__(self, derive: Callable[[K], V] | None = None, bound: int = 4096,
                 dropped: Callable[[V], object] | None = None) -> None:
        self.derive = derive
        self._table = Bounded[int, tuple[K, V]](None, bound, None if dropped is None else lambda entry: dropped(entry[1]))
        self.entries = self._table.table

    @property
    def bound(self) -> int:
        return self._table.bound

    @bound.setter
    def bound(self, bound: int) -> None:
        self._table.bound = bound

    def __call__(self, key: K) -> V:
        known = self.entries.get(id(key))
        if known is not None:
            return known[1]
        assert self.derive is not None, 'a ByIdentity without derive is filled by put'
        return self.put(key, self.derive(key))

    def get(self, key: K) -> V | None:
        known = self.entries.get(id(key))
        return None if known is None else known[1]

    def get_each(self, keys: Sequence[K]) -> Iterator[tuple[K, V] | K]:
        """For each of `keys`, its entry ``(key, value)``, or the key itself when nothing is kept
        for it (tell them apart by type), lazily: one Python call for a whole sequence (the
        encoder looks up every option of a message), the rest in C."""
        return map(self.entries.get, map(id, keys), keys)

    def put(self, key: K, value: V) -> V:
        self._table.put(id(key), (key, value))
        return value

    def forget(self, key: K) -> None:
        self._table.forget(id(key))

    def clear(self) -> None:
        self._table.clear()

    def __contains__(self, key: object) -> bool:
        return id(key) in self.entries

    def __len__(self) -> int:
        return len(self._table)


class IdentityIndex(Generic[K]):
    """The position of each object of `items` by identity: equal objects (two changes adding the
    same route) keep their own places, and no object's own hash runs. Holds `items`, so no other
    object can take one of their ids meanwhile."""

    __slots__ = ('_items', '_at')

    def __init__(self, items: Sequence[K]) -> None:
        self._items = items
        self._at = {id(item): at for at, item in enumerate(items)}

    def __getitem__(self, item: K) -> int:
        """Where `item` (this very object) is; KeyError when it is not one of them."""
        return self._at[id(item)]

