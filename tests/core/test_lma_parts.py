"""The LMA's collaborators on their own: the common entry constructor, the books of tickets owed,
and the shared tunnels (the engine tests drive them together)."""

from __future__ import annotations

from ipaddress import IPv6Network

from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.core.binding_cache import BceState, BindingCacheEntry
from pmiprouter.core.events import Transport
from pmiprouter.core.lma_books import Books
from pmiprouter.core.lma_forwarding import LmaForwarding
from pmiprouter.dataplane.interface import TunnelMode
from pmiprouter.mh.iana import BAStatus
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from tests.addresses import LMAA, MAG1, MAG2


@given(
    binding_id=st.integers(1, 2**40), att=st.integers(0, 255), ll_id=st.binary(max_size=8), handoff=st.integers(0, 255),
    lifetime=st.integers(0, 65535 * 4), now=st.floats(0, 2e9), timestamp=st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    sequence=st.integers(0, 65535), prefixes=st.integers(0, 2),
)
def test_over_ipv6_is_the_constructor_with_every_field_named(
    binding_id: int, att: int, ll_id: bytes, handoff: int, lifetime: int, now: float, timestamp: int | None,
    sequence: int, prefixes: int,
) -> None:
    """The common PBU's positional constructor puts each value in its field."""
    mn_id = MobileNodeIdentifier.nai('mn1@example.com')
    hnps = tuple(IPv6Network(f'2001:db8:aaaa:{i}::/64') for i in range(prefixes))
    named = BindingCacheEntry(
        binding_id=binding_id, mn_id=mn_id, att=att, mn_ll_id=ll_id, handoff=handoff, proxy_coa=MAG1, local=LMAA,
        transport=Transport.IPV6, sport=None, hnps=hnps, ipv4=None, ipv4_router=None, link_local=None,
        lifetime_s=lifetime, expires_at=now + lifetime, timestamp=timestamp, sequence=sequence, registered_at=now,
    )
    made = BindingCacheEntry.over_ipv6(binding_id, mn_id, att, ll_id, handoff, MAG1, LMAA, hnps, lifetime, now, timestamp, sequence)
    assert made == named and made.state is BceState.PROGRAMMING and made.gre_key_in is None


def test_a_newer_change_supersedes_the_ticket_owed_before_it() -> None:
    """A binding reprogrammed before the data plane answered: only the newest ticket finds it."""
    books = Books()
    first = books.owe(7, 'first PBU', BAStatus.ACCEPTED)  # type: ignore[arg-type]
    second = books.owe(7, 'second PBU', BAStatus.ACCEPTED)  # type: ignore[arg-type]
    assert books.settle(first) is None
    assert books.replies[7] == ('second PBU', BAStatus.ACCEPTED)
    assert books.settle(second) == 7 and not books.pending and not books.ticket_of


def test_a_forgotten_binding_owes_nothing() -> None:
    books = Books()
    ticket = books.owe(3, 'PBU', BAStatus.ACCEPTED)  # type: ignore[arg-type]
    books.forget(3)
    assert books.settle(ticket) is None and not books.replies


def test_restored_ids_are_skipped_and_none_when_nothing_was_restored() -> None:
    books = Books()
    books.skip_ids(0)
    assert next(books.ids) == 1
    books.skip_ids(41)
    assert next(books.ids) == 42


def _entry(mag: object, use_gre: bool = False, binding_id: int = 1) -> BindingCacheEntry:
    entry = BindingCacheEntry.over_ipv6(binding_id, MobileNodeIdentifier.nai('m@x'), 3, b'', 1, mag, LMAA, (), 600, 0.0, None, 1)  # type: ignore[arg-type]
    entry.use_gre = use_gre
    return entry


def test_one_shared_tunnel_object_per_mag_and_mode_and_one_per_mn_with_gre() -> None:
    forwarding = LmaForwarding()
    a, b, other = _entry(MAG1), _entry(MAG1, binding_id=2), _entry(MAG2)
    assert forwarding.tunnel(a) is forwarding.tunnel(b) and forwarding.tunnel(a).mode is TunnelMode.IP6_ANY
    assert forwarding.tunnel(other) is not forwarding.tunnel(a)
    assert forwarding.tunnel(a) is forwarding.tunnel(_entry(MAG1, binding_id=3))  # found again after MAG2's
    keyed = forwarding.tunnel(_entry(MAG1, use_gre=True, binding_id=4))
    assert keyed.mode is TunnelMode.GRE6 and keyed.gre_key_in == 4


def test_a_tunnel_is_created_with_its_first_user_and_removed_with_its_last() -> None:
    forwarding = LmaForwarding()
    a, b = _entry(MAG1), _entry(MAG1, binding_id=2)
    tunnel = forwarding.tunnel(a)
    assert forwarding.use(a, tunnel) == (tunnel,) and forwarding.use(b, tunnel) == ()
    assert forwarding.use(a, tunnel) == ()  # counted once per binding
    assert forwarding.release(tunnel) == () and forwarding.release(tunnel) == (tunnel,)
    assert forwarding.release(tunnel) == () and forwarding.tunnel_users == {}


def test_a_common_pbu_the_codec_refuses_is_counted_malformed() -> None:
    """The reader checks the layout, the codec also the values: a datagram the engine cannot take as
    read and the codec refuses is a malformed one (counted, logged), not an exception."""
    from pmiprouter.core.events import CommonPbuReceived
    from pmiprouter.core.lma import LocalMobilityAnchor
    from tests.core.harness import policy

    lma = LocalMobilityAnchor(policy())
    event = CommonPbuReceived(1, 600, b'nobody@example.com', 1, 3, None, None, MAG1, LMAA, b'\x3b\x00\x05')  # no profile: declined
    actions = lma.handle(event, 0.0)
    assert lma.stats.received['malformed'] == 1 and not lma.bindings()
    assert [a.event for a in actions] == ['malformed']  # type: ignore[union-attr]
