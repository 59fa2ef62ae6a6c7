"""The rtnetlink link/neighbour parser: the fields the MAG needs, and junk never raises."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.access.netlink_events import (
    IFF_LOWER_UP,
    IFF_UP,
    NUD_REACHABLE,
    RTM_DELLINK,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    LinkChange,
    NeighbourChange,
    link_message,
    neighbour_message,
    parse,
)

MAC = bytes.fromhex('020000000101')


def test_link_up_down_and_deleted() -> None:
    """Carrier needs both IFF_UP and IFF_LOWER_UP; DELLINK is a deletion."""
    data = (
        link_message(RTM_NEWLINK, 4, 'acc0', IFF_UP | IFF_LOWER_UP)
        + link_message(RTM_NEWLINK, 4, 'acc0', IFF_UP)
        + link_message(RTM_DELLINK, 4, 'acc0', 0)
    )
    assert parse(data) == [
        LinkChange(4, 'acc0', True, False), LinkChange(4, 'acc0', False, False), LinkChange(4, 'acc0', False, True)
    ]


def test_neighbour_with_mac_and_state() -> None:
    """A neighbour message yields its interface, MAC and NUD state."""
    assert parse(neighbour_message(RTM_NEWNEIGH, 4, MAC, NUD_REACHABLE)) == [NeighbourChange(4, MAC, NUD_REACHABLE, False)]


@given(st.binary(max_size=300))
def test_junk_never_raises(data: bytes) -> None:
    """Any bytes parse to a (possibly empty) list of events."""
    assert isinstance(parse(data), list)
