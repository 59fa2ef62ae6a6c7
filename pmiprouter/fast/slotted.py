"""Frozen, slotted dataclasses filled without their ``__init__``: a writable twin, then its class switched.

A frozen dataclass refuses attribute stores, so its ``__init__`` fills each slot through
``object.__setattr__`` (or, with `quick_init`, a descriptor call each). A class with the same
slots on the same bases but no frozen ``__setattr__`` -- a writable twin -- takes plain
attribute stores; once filled, its ``__class__`` is switched to the frozen class (CPython allows
it between classes of the same layout). For the data plane's route spec, built once per
registration with its derived values (ADR 0010, third pass, and ADR 0013 for the figures).

API (``from pmiprouter.fast.slotted import slot_builder``)::

    build = slot_builder(Spec)            # Spec: frozen dataclass with __slots__ (its own and its bases')
    spec = build(Spec, v1, v2, ...)       # every slot, in `build.slots` order (fields, then the bases')

A subclass (which may have another layout, e.g. a ``__dict__``) is filled slot by slot through
``object.__setattr__``: ``build(Sub, ...)`` gives a ``Sub``. Nothing is checked or derived here:
the caller's constructor does that, and the reference test holds the result equal to the one
the dataclass machinery builds (equality, hash, pickle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar('T')


def slots_of(cls: type) -> tuple[str, ...]:
    """Every slot of `cls`: its own, then those of its bases (most derived first)."""
    names: list[str] = []
    for klass in cls.__mro__:
        for name in klass.__dict__.get('__slots__', ()):
            if name not in names:
                names.append(name)
    return tuple(names)


def slot_builder(cls: type[T]) -> Callable[..., T]:
    """`build(cls, *values)`: an instance of `cls` (or a subclass) with its slots set to `values`."""
    if '__slots__' not in cls.__dict__:
        raise TypeError(f'{cls.__name__} has no slots of its own')
    slots = slots_of(cls)
    twin = type(f'_Writable{cls.__name__}', cls.__bases__, {'__slots__': cls.__dict__['__slots__'],
                                                            '__module__': cls.__module__})
    # Plain stores into the twin, then the switch: generated once, so each store is one bytecode.
    source = (f'def build(kind, {", ".join(slots)}):\n'
              '    if kind is not cls:\n'
              f'        return by_slot(kind, ({", ".join(slots)},))\n'
              '    made = twin()\n'
              + ''.join(f'    made.{name} = {name}\n' for name in slots)
              + '    made.__class__ = cls\n'
              '    return made\n')

    def by_slot(kind: type[T], values: tuple[Any, ...]) -> T:
        made = object.__new__(kind)
        for name, value in zip(slots, values):
            object.__setattr__(made, name, value)
        return made

    scope: dict[str, Any] = {'cls': cls, 'twin': twin, 'by_slot': by_slot}
    exec(source, scope)  # noqa: S102 - the text is built from the class's own slot names only
    build = scope['build']
    build.__qualname__ = f'slot_builder({cls.__qualname__})'
    build.slots = slots
    return build  # type: ignore[no-any-return]
