"""Named tuples built from one tuple of all their fields, without their Python-level constructor.

A named tuple's ``__new__`` is a generated Python function (``def __new__(_cls, a, b, c):
return tuple.__new__(_cls, (a, b, c))``); calling the class also goes through ``type.__call__``.
The per-message values (the parsed request, the grant, the LMA's routes and rules, the data
plane's operations) are built by ``tuple.__new__(cls, values)`` directly: on 3.11, a three-field
``RouteEntry`` in about 140-180 ns instead of 230-280 ns (timeit, best of 9, on the shared
2-core machine).

What the generated constructor checked -- the number of values -- :func:`positional` checks
under ``__debug__`` (a wrong count raises ``TypeError`` naming the class; this costs about 50-90 ns
a call, measured in the same session); under ``python -O`` it is ``tuple.__new__`` itself. Only
use it for classes without defaults you rely on (every field must be given) and values already
in field order.

    make_route = positional(RouteEntry)
    route = make_route((table, dst, dev, None)) # == RouteEntry(table, dst, dev)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

T = TypeVar('T', bound=tuple[Any, ...])


def positional(cls: type[T]) -> Callable[[tuple[Any, ...]], T]:
    """A constructor of the named tuple `cls` from one tuple of all its fields, in order."""
    fields = getattr(cls, '_fields', None)
    if not isinstance(fields, tuple) or not issubclass(cls, tuple):
        raise TypeError(f'{cls.__name__} is not a named tuple')
    if not __debug__:
        return partial(tuple.__new__, cls)  # type: ignore[return-value]
    size = len(fields)
    name = cls.__qualname__
    new = tuple.__new__

    def make(values: tuple[Any, ...]) -> T:
        if len(values) != size:
            raise TypeError(f'{name} takes {size} fields ({", ".join(fields)}), got {len(values)}')
        return new(cls, values)  # type: ignore[no-any-return]

    make.__qualname__ = f'positional({name})'
    return make
