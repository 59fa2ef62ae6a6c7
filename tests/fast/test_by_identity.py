"""ByIdentity: a value derived once per key object, bounded."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.fast.by_identity import ByIdentity, IdentityIndex


def test_derives_once_per_object_and_tells_equal_objects_apart() -> None:
    calls: list[IPv6Address] = []

    def text(address: IPv6Address) -> str:
        calls.append(address)
        return str(address)

    cached = ByIdentity(text)
    first, twin = IPv6Address('2001:db8::1'), IPv6Address('2001:db8::1')
    assert cached(first) == cached(first) == '2001:db8::1'
    assert cached(twin) == '2001:db8::1'  # equal but another object: derived again
    assert calls == [first, twin] and calls[1] is twin


def test_the_table_starts_over_when_full() -> None:
    cached = ByIdentity(lambda key: ('derived', key), bound=3)
    keys = [object() for _ in range(10)]
    for count, key in enumerate(keys, 1):
        assert cached(key) == ('derived', key)
        assert len(cached) == (count - 1) % 3 + 1


def test_an_entry_holds_its_key_so_its_id_is_never_reused_for_another() -> None:
    cached = ByIdentity(lambda key: id(key))
    values = {cached(object()) for _ in range(1000)}  # each temporary object stays alive in the table
    assert len(values) == 1000


@given(st.lists(st.sampled_from([(1, 'a'), (2, 'b'), (3, 'c')]), max_size=20))
def test_an_identity_index_finds_each_object_where_it_is(values: list[tuple[int, str]]) -> None:
    """The reference: a linear scan by identity. Equal objects at two places keep their own."""
    items = [tuple(list(value)) for value in values]  # fresh objects, some of them equal
    index = IdentityIndex(items)
    for item in items:
        assert index[item] == next(at for at, other in enumerate(items) if other is item)
    with pytest.raises(KeyError):
        index[(1, 'a')]  # an equal object that is not one of them
