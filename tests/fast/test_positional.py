"""positional: a named tuple built from one tuple of its fields equals the class call, and a
wrong count is refused (under __debug__, as the tests run)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.core.pba import Grant
from pmiprouter.dataplane.interface import RouteEntry, RuleEntry
from pmiprouter.fast.positional import positional


class Point(NamedTuple):
    x: int
    y: Any = None


anything = st.integers() | st.text(max_size=5) | st.none() | st.builds(IPv6Network, st.just('2001:db8::/64'))


@pytest.mark.parametrize('cls', [Point, RouteEntry, RuleEntry, Grant])
@settings(deadline=None)  # timings vary on a shared machine
@given(data=st.data())
def test_the_result_equals_the_class_call(cls: type[tuple[Any, ...]], data: st.DataObject) -> None:
    values = tuple(data.draw(anything) for _ in cls._fields)  # type: ignore[attr-defined]
    made = positional(cls)(values)
    plain = cls(*values)
    assert type(made) is cls and made == plain and hash(made) == hash(plain)
    assert made._asdict() == plain._asdict()  # type: ignore[attr-defined]


debug_only = pytest.mark.skipif(not __debug__, reason='python -O builds without the check')


@debug_only
@pytest.mark.parametrize('count', [0, 1, 3, 5, 7])
def test_a_wrong_count_raises_naming_the_class(count: int) -> None:
    with pytest.raises(TypeError, match='^RouteEntry takes 4 fields'):
        positional(RouteEntry)(tuple(range(count)))


@debug_only
def test_defaults_are_not_filled_in() -> None:
    with pytest.raises(TypeError, match='Point takes 2 fields'):
        positional(Point)((1,))  # the class call would default y: here every field is given


def test_only_named_tuples() -> None:
    with pytest.raises(TypeError, match='not a named tuple'):
        positional(tuple)  # type: ignore[arg-type]
    assert positional(RuleEntry)((1, 2, 10, None, IPv4Network('10.0.0.0/8'), None)).dst == IPv4Network('10.0.0.0/8')
