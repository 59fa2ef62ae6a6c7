"""quick_init: the faster __init__ of frozen, slotted dataclasses changes nothing else."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import InitVar, dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from pmiprouter.fast.frozen import quick_init


def twins(**options: Any) -> tuple[type, type]:
    """The same class twice: as dataclasses makes it, and with quick_init."""

    def make() -> type:
        @dataclass(frozen=True, slots=True, **options)
        class Value:
            a: int
            b: str = 'b'
            c: list[int] = field(default_factory=list, hash=False)
            hidden: int = field(default=7, init=False)
            later: tuple[int, ...] = field(default=(), init=False, repr=False)
            k: int = field(default=3, kw_only=True)

            def __post_init__(self) -> None:
                if self.a < 0:
                    raise ValueError('a < 0')
                object.__setattr__(self, 'later', (self.a, self.k))

        return make_class(Value)

    make_class = lambda cls: cls  # noqa: E731 - the plain twin
    plain = make()
    make_class = quick_init
    return plain, make()


def test_the_signature_is_the_dataclass_one() -> None:
    plain, quick = twins()
    assert plain.__init__ is not quick.__init__
    ours, theirs = inspect.signature(quick), inspect.signature(plain)
    assert [(p.name, p.kind, repr(p.default)) for p in ours.parameters.values()] == [
        (p.name, p.kind, repr(p.default)) for p in theirs.parameters.values()]


PLAIN, QUICK = twins()  # made once: building a dataclass costs milliseconds


@settings(deadline=None)  # a loaded CI machine, not the code, decides how long an example takes
@given(st.integers(min_value=0, max_value=10**6), st.text(max_size=5), st.lists(st.integers(), max_size=3), st.integers())
def test_values_are_built_the_same(a: int, b: str, c: list[int], k: int) -> None:
    plain, quick = PLAIN, QUICK
    for args, kwargs in (((a,), {}), ((a, b), {}), ((a, b, c), {'k': k}), ((), {'a': a, 'c': c})):
        mine, theirs = quick(*args, **kwargs), plain(*args, **kwargs)
        assert dataclasses.astuple(mine) == dataclasses.astuple(theirs)
        assert repr(mine).split('(', 1)[1] == repr(theirs).split('(', 1)[1]
        assert hash(mine) == hash(theirs)
        assert mine == quick(*args, **kwargs)
    assert quick(a).c is not quick(a).c  # a fresh list from the factory each time


def test_frozen_after_construction_and_the_same_errors() -> None:
    plain, quick = twins()
    value = quick(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 2  # type: ignore[misc]
    for cls in (plain, quick):
        with pytest.raises(ValueError, match='a < 0'):  # __post_init__ still runs
            cls(-1)
        with pytest.raises(TypeError):
            cls()  # a missing argument
        with pytest.raises(TypeError):
            cls(1, 'b', [], 4)  # k is keyword-only


def test_classes_it_cannot_speed_up_come_back_unchanged() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        scale: InitVar[int] = 1

    for cls in (Mutable, Unslotted, WithInitVar):
        init = cls.__init__
        assert quick_init(cls) is cls and cls.__init__ is init
