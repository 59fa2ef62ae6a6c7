"""Codepoints named in the configuration language agree with the IANA registry the codec is generated from."""

from __future__ import annotations

from pmiprouter.config.model import ACCESS_TECHNOLOGIES
from pmiprouter.mh.iana import AccessTechnologyType


def test_access_technology_keywords_map_to_registered_values() -> None:
    """The `access-tech` keywords cover exactly the registered ATT values (0 is reserved)."""
    assert sorted(ACCESS_TECHNOLOGIES.values()) == sorted(m.value for m in AccessTechnologyType if m.value)
    assert ACCESS_TECHNOLOGIES['ieee-802.11'] == AccessTechnologyType.IEEE_802_11
    assert ACCESS_TECHNOLOGIES['3gpp-eutran'] == AccessTechnologyType.E_UTRAN
