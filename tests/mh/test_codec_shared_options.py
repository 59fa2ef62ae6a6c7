"""Small options decoded once are shared by identical later ones; the cache stays bounded."""

from __future__ import annotations

import pytest

from pmiprouter.mh import shared_options
from pmiprouter.mh.codec import decode, encode
from pmiprouter.mh.messages import BindingUpdate
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import AccessTechnologyTypeOption, HandoffIndicatorOption


def pbu(handoff: int, nai: str = 'mn1@example.com') -> bytes:
    return encode(BindingUpdate.proxy(1, 100, (MobileNodeIdentifier.nai(nai), HandoffIndicatorOption(handoff), AccessTechnologyTypeOption(3))))


def test_identical_small_options_are_one_object_and_different_ones_are_not() -> None:
    first, second, other = decode(pbu(1)), decode(pbu(1, 'mn2@example.com')), decode(pbu(4))
    assert first.options[1] is second.options[1] and first.options[2] is second.options[2]
    assert other.options[1] == HandoffIndicatorOption(4) and other.options[1] is not first.options[1]
    assert first.options[0] != second.options[0]  # the MN-ID (longer than a shared option) is its own


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_options.decoded, 'bound', 4)
    shared_options.decoded.clear()
    for handoff in range(1, 10):
        assert decode(pbu(handoff)).options[1] == HandoffIndicatorOption(handoff)
        assert len(shared_options.decoded) <= 4
