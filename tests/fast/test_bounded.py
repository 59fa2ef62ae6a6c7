"""Bounded: a value per key, computed once, in a table that starts over at its bound -- held to a
plain dict that never forgets (the reference) on generated sequences of lookups."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.fast.bounded import Bounded
from pmiprouter.fast.by_identity import ByIdentity


@settings(deadline=None)  # timings vary on a shared machine
@given(st.lists(st.integers(0, 20), max_size=200), st.integers(1, 8))
def test_values_are_the_reference_and_the_table_stays_bounded(keys: list[int], bound: int) -> None:
    made: list[int] = []

    def make(key: int) -> str:
        made.append(key)
        return f'v{key}'

    table = Bounded(make, bound)
    for key in keys:
        fast = table.get(key)
        if fast is None:
            fast = table.remember(key)
        assert fast == f'v{key}' == table(key)
        assert 1 <= len(table) <= bound and key in table
    # Computed once per key while it stays: a key is made again only after a start-over.
    assert len(made) <= len(keys) and set(made) == set(keys)
    if len(set(keys)) <= bound:
        assert sorted(made) == sorted(set(keys))


def test_a_start_over_hands_the_dropped_values_on() -> None:
    dropped: list[str] = []
    table = Bounded(str, 2, dropped.append)
    table(1), table(2)
    assert dropped == []
    table(3)  # full: starts over, then keeps 3
    assert sorted(dropped) == ['1', '2'] and len(table) == 1 and table.get(3) == '3'
    table.put(3, 'x')  # a key already kept never starts it over
    assert table.get(3) == 'x' and len(dropped) == 2
    table.forget(3)
    table.forget(3)  # absent: no error
    assert table.get(3) is None and len(table) == 0


def test_get_stays_the_tables_own_after_a_start_over() -> None:
    table = Bounded(str, 1)
    get = table.get
    table(1), table(2)
    assert get(2) == '2' and get(1) is None


def test_no_make_and_no_room_are_refused() -> None:
    with pytest.raises(KeyError):
        Bounded()('missing')
    with pytest.raises(ValueError):
        Bounded(str, 0)


def test_by_identity_get_each_put_forget_and_dropped() -> None:
    dropped: list[str] = []
    table = ByIdentity[object, str](None, 2, dropped.append)
    one, two, three = object(), object(), object()
    assert table.put(one, 'one') == 'one' and table.get(one) == 'one' and table.get(two) is None
    assert list(table.get_each([one, two])) == [(one, 'one'), two]  # an entry, or the key itself
    table.put(two, 'two')
    table.put(three, 'three')  # full: starts over
    assert sorted(dropped) == ['one', 'two'] and one not in table and three in table
    table.forget(three)
    assert len(table) == 0 and table.bound == 2
