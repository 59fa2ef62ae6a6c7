"""Keyed tuples of the config model stay sorted and unique under any sequence of upserts and removals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.config.model import PeerConfig, find, key_of, remove, upsert

names = st.text(alphabet='abcdefgh', min_size=1, max_size=3)


@given(st.lists(st.tuples(st.booleans(), names)))
def test_upsert_remove_find_agree_with_a_dict(operations: list[tuple[bool, str]]) -> None:
    """The tuple always equals the sorted values of a dict that saw the same operations."""
    items: tuple[PeerConfig, ...] = ()
    model: dict[str, PeerConfig] = {}
    for is_upsert, name in operations:
        if is_upsert:
            peer = PeerConfig(name)
            items, model[name] = upsert(items, peer), peer
        else:
            items = remove(items, name)
            model.pop(name, None)
        assert items == tuple(model[k] for k in sorted(model))
        assert [key_of(i) for i in items] == sorted(model)
    for name in 'abcdefgh':
        assert find(items, name) == model.get(name)
