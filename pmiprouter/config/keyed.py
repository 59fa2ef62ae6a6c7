"""Keyed collections of the configuration model: sorted tuples, and drafts for bulk loading.

Pure module (no twisted, socket or time; it knows no model class). Readers only ever see
tuples sorted by key. Each edit of a tuple copies it, which is fine at the prompt but
quadratic when a startup-config adds thousands of MN profiles one line at a time. While a
file is replayed the loader therefore `thaw`s the configuration: its keyed tuples become
`KeyedDraft`s, which `find`, `upsert` and `remove` edit in place in constant time, and
`freeze` turns them back into sorted tuples at the end. A draft never escapes the loader.
This keeps every handler unchanged and the frozen model the only thing readers get (an
index over the tuples would only speed up lookups: each insertion would still copy).
"""

from __future__ import annotations

import bisect
import dataclasses
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, overload

T = TypeVar('T')


def key_of(item: Any) -> Any:
    """The canonical key of a keyed item: its `key` property, else its `name`."""
    return item.key if hasattr(item, 'key') else item.name


class KeyedDraft(Sequence[T]):
    """A mutable stand-in for a keyed tuple while a startup-config is loaded.

    Items live in a dict by key (constant-time lookup and replacement whatever the order
    of the file); the sorted key order is computed only when the draft is read in order
    (iteration, indexing, `freeze`) and kept until the next insertion or removal.
    """

    __slots__ = ('_by_key', '_order')

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._by_key: dict[Any, T] = {}
        self._order: list[Any] | None = []
        for item in items:
            self.put(item)

    def _keys(self) -> list[Any]:
        if self._order is None:
            self._order = sorted(self._by_key)
        return self._order

    def get(self, key: Any) -> T | None:
        """The item whose key is `key`, or None."""
        try:
            return self._by_key.get(key)
        except TypeError:  # an unhashable key matches nothing, as in a tuple
            return None

    def put(self, item: T) -> None:
        """Add `item` (thawed, so that its own keyed tuples are drafts too) or replace the
        item with the same key."""
        item = thaw(item)
        key = key_of(item)
        if key not in self._by_key:
            self._order = None
        self._by_key[key] = item

    def drop(self, key: Any) -> None:
        """Remove the item whose key is `key` (nothing if absent)."""
        if self.get(key) is not None:
            del self._by_key[key]
            self._order = None

    def __len__(self) -> int:
        return len(self._by_key)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        if isinstance(index, slice):
            return tuple(self._by_key[k] for k in self._keys()[index])
        return self._by_key[self._keys()[index]]

    def __iter__(self) -> Iterator[T]:
        by_key = self._by_key
        return iter([by_key[k] for k in self._keys()])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (KeyedDraft, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f'KeyedDraft({list(self)!r})'


def _position(items: Sequence[T], key: Any) -> tuple[int, bool]:
    """Where `key` is (True) or would go (False) in the sorted `items`."""
    index = bisect.bisect_left(items, key, key=key_of)
    return index, index < len(items) and key_of(items[index]) == key


def find(items: Sequence[T], key: Any) -> T | None:
    """The item of `items` whose key is `key`, or None."""
    if isinstance(items, KeyedDraft):
        return items.get(key)
    index, present = _position(items, key)
    return items[index] if present else None


def upsert(items: tuple[T, ...], item: T) -> tuple[T, ...]:
    """`items` with `item` added or replacing the one with the same key, sorted by key.

    A tuple is copied; a draft is edited in place and returned (typed as the tuple it
    stands in for, so that callers need not know drafts exist).
    """
    if isinstance(items, KeyedDraft):
        items.put(item)
        return items  # type: ignore[return-value]
    index, present = _position(items, key_of(item))
    return items[:index] + (item,) + items[index + 1 if present else index :]


def remove(items: tuple[T, ...], key: Any) -> tuple[T, ...]:
    """`items` without the item whose key is `key` (unchanged if absent); a draft is
    edited in place."""
    if isinstance(items, KeyedDraft):
        items.drop(key)
        return items  # type: ignore[return-value]
    index, present = _position(items, key)
    return items[:index] + items[index + 1 :] if present else items


# -- thaw / freeze -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Shape:
    """Which fields of a dataclass hold keyed tuples, and which hold dataclasses that do."""

    keyed: tuple[str, ...]
    nested: tuple[str, ...]


_SHAPES: dict[type, _Shape] = {}


def _dataclass_types(hint: Any) -> list[type]:
    """The dataclass types a field annotation admits (`X`, `X | None`)."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return [hint]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [t for t in typing.get_args(hint) if isinstance(t, type) and dataclasses.is_dataclass(t)]
    return []


def _shape(cls: type) -> _Shape:
    """The `_Shape` of `cls`, read once from its type hints: a keyed field is a
    `tuple[X, ...]` of dataclass `X`; a nested one admits a dataclass with keyed content."""
    shape = _SHAPES.get(cls)
    if shape is None:
        _SHAPES[cls] = _Shape((), ())  # provisional, against recursive types
        keyed, nested = [], []
        for name, hint in typing.get_type_hints(cls).items():
            args = typing.get_args(hint)
            if typing.get_origin(hint) is tuple and args and _dataclass_types(args[0]):
                keyed.append(name)
            elif any(_shape(t).keyed or _shape(t).nested for t in _dataclass_types(hint)):
                nested.append(name)
        shape = _SHAPES[cls] = _Shape(tuple(keyed), tuple(nested))
    return shape


def thaw(obj: T) -> T:
    """`obj` with every keyed tuple inside it (at any depth) turned into a `KeyedDraft`.

    Cheap on an object already thawed or without keyed fields, since drafts thaw each
    item they receive.
    """
    shape = _SHAPES.get(type(obj))
    if shape is None:
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            return obj
        shape = _shape(type(obj))
    if not shape.keyed and not shape.nested:
        return obj  # the common case: an MN profile entering its draft
    changes: dict[str, Any] = {}
    for name in shape.keyed:
        value = getattr(obj, name)
        if not isinstance(value, KeyedDraft):
            changes[name] = KeyedDraft(value)
    for name in shape.nested:
        value = getattr(obj, name)
        thawed = thaw(value)
        if thawed is not value:
            changes[name] = thawed
    return dataclasses.replace(obj, **changes) if changes else obj  # type: ignore[type-var]


def freeze(obj: T) -> T:
    """`obj` with every `KeyedDraft` inside it turned back into a tuple sorted by key."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    shape = _shape(type(obj))
    changes: dict[str, Any] = {}
    for name in shape.keyed:
        value = getattr(obj, name)
        frozen = tuple(freeze(item) for item in value)
        if isinstance(value, KeyedDraft) or any(a is not b for a, b in zip(frozen, value)):
            changes[name] = frozen
    for name in shape.nested:
        value = getattr(obj, name)
        frozen_value = freeze(value)
        if frozen_value is not value:
            changes[name] = frozen_value
    return dataclasses.replace(obj, **changes) if changes else obj  # type: ignore[type-var]
