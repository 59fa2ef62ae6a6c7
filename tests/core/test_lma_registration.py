"""LMA: new sessions, renewals, handoffs and the PBA contents (RFC 5213 §5.3.2-§5.3.4, §5.3.6)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmiprouter.core.actions import ApplyDataplane, SendMessage
from pmiprouter.dataplane.interface import TunnelMode
from pmiprouter.core.binding_cache import BceState
from pmiprouter.core.events import Transport
from pmiprouter.mh import (
    BAFlags,
    BAStatus,
    GREKey,
    HomeNetworkPrefix,
    IPv4DefaultRouterAddress,
    IPv4HomeAddressReply,
    LinkLocalAddress,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    NATDetection,
    Timestamp,
)
from tests.core.harness import LMAA, MAG1, MAG1_V4, MAG2, T0, Harness, gre, ipv4_request, only_pba, pbu


def test_initial_attach_allocates_a_prefix_and_answers_after_the_dataplane() -> None:
    """ALL_ZERO HNP: a /64 from the pool; the PBA waits for DataplaneApplied."""
    h = Harness(auto_apply=False)
    actions = h.send(pbu())
    assert not [a for a in actions if isinstance(a, SendMessage)]  # nothing before the tunnel exists
    (apply,) = [a for a in actions if isinstance(a, ApplyDataplane)]
    assert apply.ensure_tunnels[0].remote == MAG1 and apply.ensure_tunnels[0].mode is TunnelMode.IP6_ANY
    assert apply.ensure_routes[0].hnps == (IPv6Network('2001:db8:aaaa::/64'),)
    from pmiprouter.core.events import DataplaneApplied

    pba = only_pba(h.feed(DataplaneApplied(apply.ticket), T0))
    assert pba.status == BAStatus.ACCEPTED and pba.flags & BAFlags.P and pba.sequence == 1 and pba.lifetime_s == 600
    assert pba.option(HomeNetworkPrefix) == HomeNetworkPrefix.of('2001:db8:aaaa::/64')
    assert h.lma.bindings()[0].state is BceState.ACTIVE


def test_pba_echoes_the_pbu_options() -> None:
    """MN-ID, HI, ATT, MN-LL-ID and Timestamp come back as sent (RFC 5213 §5.3.6)."""
    pba = only_pba(Harness().send(pbu()))
    assert pba.option(MobileNodeIdentifier) == MobileNodeIdentifier.nai('mn1@example.com')
    assert int(pba.options[2].indicator) == 1  # type: ignore[attr-defined]
    assert pba.option(MobileNodeLinkLayerIdentifier) == MobileNodeLinkLayerIdentifier.mac('00:11:22:33:44:55')
    assert pba.option(Timestamp) == Timestamp.from_unix(T0)


def test_link_local_all_zero_gets_the_configured_address() -> None:
    """A Link-local Address option with ALL_ZERO is answered with the domain's MAG link-local (RFC 6543 default)."""
    pba = only_pba(Harness().send(pbu(link_local='::')))
    assert pba.option(LinkLocalAddress) == LinkLocalAddress(IPv6Address('fe80::200:5eff:fe00:5213'))


def test_link_local_non_zero_is_stored_and_returned_later() -> None:
    """A NON_ZERO link-local is stored; a later ALL_ZERO request from another MAG gets it back."""
    h = Harness()
    h.send(pbu(link_local='fe80::1'))
    pba = only_pba(h.send(pbu(seq=2, ts=T0 + 1, hnps=('2001:db8:aaaa::/64',), hi=3, link_local='::'), T0 + 1, src=MAG2))
    assert pba.option(LinkLocalAddress) == LinkLocalAddress(IPv6Address('fe80::1'))


def test_renewal_from_the_same_mag_answers_at_once() -> None:
    """A lifetime extension (HI=5, assigned HNP) is answered without data-plane work."""
    h = Harness()
    h.send(pbu())
    before = len(h.dataplane)
    pba = only_pba(h.send(pbu(seq=2, ts=T0 + 300, hnps=('2001:db8:aaaa::/64',), hi=5), T0 + 300))
    assert pba.status == BAStatus.ACCEPTED and len(h.dataplane) == before
    # The lifetime timer is not moved by an extension: when it fires it runs on to the new expiry.
    assert h.timers[('bce-lifetime', 1)] == T0 + 600 and h.lma.cache.entries[1].expires_at == T0 + 300 + 600
    h.advance(T0 + 600)
    assert h.timers[('bce-lifetime', 1)] == T0 + 300 + 600 and len(h.lma.bindings()) == 1
    h.advance(T0 + 300 + 600)
    assert h.lma.bindings() == []


def test_a_renewal_that_shortens_the_lifetime_brings_the_timer_forward() -> None:
    h = Harness()
    h.send(pbu())
    only_pba(h.send(pbu(seq=2, ts=T0 + 300, lifetime=100, hnps=('2001:db8:aaaa::/64',), hi=5), T0 + 300))
    assert h.timers[('bce-lifetime', 1)] == T0 + 300 + 100
    h.advance(T0 + 400)
    assert h.lma.bindings() == []


def test_lifetime_is_clamped_to_the_maximum() -> None:
    """A requested lifetime above the LMA's maximum is granted at the maximum."""
    assert only_pba(Harness().send(pbu(lifetime=65532))).lifetime_s == 3600


def test_handoff_moves_routes_and_keeps_the_prefix_and_the_shared_tunnel_rule() -> None:
    """From MAG2 with HI=3 the prefix stays, routes move; MAG1's tunnel goes with its last user."""
    h = Harness()
    h.send(pbu())
    h.send(pbu(nai='mn2@example.com', mac='00:00:00:00:00:02'))
    actions = h.send(pbu(seq=2, ts=T0 + 1, hnps=('2001:db8:aaaa::/64',), hi=3), T0 + 1, src=MAG2)
    pba = only_pba(actions)
    assert pba.option(HomeNetworkPrefix) == HomeNetworkPrefix.of('2001:db8:aaaa::/64')
    move = h.dataplane[-1]
    assert move.ensure_routes[0].tunnel.remote == MAG2 and move.ensure_tunnels[0].remote == MAG2
    assert move.remove_tunnels == ()  # mn2 still uses MAG1's tunnel: never torn down under it
    assert h.lma.bindings()[0].proxy_coa == MAG2


def test_one_tunnel_per_mag_is_shared() -> None:
    """The second MN behind the same MAG reuses the tunnel: no second ensure_tunnels."""
    h = Harness()
    h.send(pbu())
    h.send(pbu(nai='mn2@example.com', mac='00:00:00:00:00:02'))
    assert len(h.dataplane[0].ensure_tunnels) == 1 and h.dataplane[1].ensure_tunnels == ()


def test_multihoming_gives_each_interface_its_own_session() -> None:
    """The same MN on a second interface (other MN-LL-ID, HI=1) gets a second BCE and prefix."""
    h = Harness()
    h.send(pbu())
    pba = only_pba(h.send(pbu(seq=2, ts=T0 + 1, mac='00:11:22:33:44:66', att=4), T0 + 1))
    assert pba.option(HomeNetworkPrefix) == HomeNetworkPrefix.of('2001:db8:aaaa:1::/64')
    assert len(h.lma.bindings()) == 2


def test_static_prefix_from_the_profile() -> None:
    """A profile's static HNP is assigned for ALL_ZERO."""
    pba = only_pba(Harness().send(pbu(nai='static@example.com')))
    assert pba.option(HomeNetworkPrefix) == HomeNetworkPrefix.of('2001:db8:ffff:1::/64')


def test_ipv4_home_address_request_gets_address_and_router() -> None:
    """IPv4 HoA Request 0.0.0.0 gets the first free address of the pool, prefix length and default router."""
    pba = only_pba(Harness().send(pbu(extra=(ipv4_request(),))))
    reply = pba.option(IPv4HomeAddressReply)
    assert reply is not None and reply.status == 0 and reply.address == IPv4Address('10.1.0.2') and reply.prefix_length == 24
    assert pba.option(IPv4DefaultRouterAddress) == IPv4DefaultRouterAddress(IPv4Address('10.1.0.1'))


def test_ipv4_only_pbu_gets_no_hnp_in_the_pba() -> None:
    """A PBU with only an IPv4 HoA Request gets an IPv4 HoA Reply and no HNP (RFC 5844 §3.1.2.6)."""
    pba = only_pba(Harness().send(pbu(nai='v4only@example.com', hnps=(), extra=(ipv4_request(),))))
    assert pba.status == 0 and pba.option(HomeNetworkPrefix) is None and pba.option(IPv4HomeAddressReply) is not None


def test_gre_key_negotiation() -> None:
    """A downlink key in the PBU is answered with our uplink key; the routes carry both."""
    h = Harness()
    pba = only_pba(h.send(pbu(extra=(gre(0x1111),))))
    key = pba.option(GREKey)
    assert key is not None and key.key == 1
    tunnel = h.dataplane[0].ensure_routes[0].tunnel
    assert tunnel.gre_key_out == 0x1111 and tunnel.gre_key_in == 1 and tunnel.mode is TunnelMode.GRE6
    assert h.dataplane[0].ensure_tunnels == (tunnel,)  # a keyed tunnel is per mobile node


def test_renewal_with_a_new_downlink_gre_key_moves_the_routes_to_the_new_tunnel() -> None:
    """Same MAG, new GRE key: the routes are reprogrammed (the old keyed tunnel goes) before the PBA,
    so what is installed always matches the binding."""
    h = Harness()
    h.send(pbu(extra=(gre(0x1111),)))
    old = h.dataplane[-1].ensure_routes[0].tunnel
    pba = only_pba(h.send(pbu(seq=2, ts=T0 + 300, hnps=('2001:db8:aaaa::/64',), hi=5, extra=(gre(0x2222),)), T0 + 300))
    assert pba.status == BAStatus.ACCEPTED
    change = h.dataplane[-1]
    assert change.ensure_routes[0].tunnel.gre_key_out == 0x2222 and change.ensure_tunnels == (change.ensure_routes[0].tunnel,)
    assert change.remove_tunnels == (old,)
    assert h.lma.bindings()[0].state is BceState.ACTIVE


def test_gre_key_without_identifier() -> None:
    """A GRE Key option without a key is answered with one without a key (RFC 5845 §5.2)."""
    assert only_pba(Harness().send(pbu(extra=(gre(None),)))).option(GREKey) == GREKey(None)


def test_ipv4_transport_answers_over_udp_to_the_source_port() -> None:
    """A PBU over IPv4/UDP is answered over UDP to its source port from the address it was sent to."""
    h = Harness()
    actions = h.send(pbu(extra=(ipv4_request(),)), src=MAG1_V4, transport=Transport.UDP4, sport=5436)
    (send,) = [a for a in actions if isinstance(a, SendMessage)]
    assert send.transport is Transport.UDP4 and send.dport == 5436 and send.dst == MAG1_V4
    assert h.dataplane[0].ensure_tunnels[0].mode is TunnelMode.IP4


def test_forced_udp_when_accepted() -> None:
    """F flag with AcceptForcedIPv4UDPEncapsulationRequest: UDP tunnel and a NAT Detection option with F."""
    from pmiprouter.core.lma import LocalMobilityAnchor
    from pmiprouter.mh import BUFlags
    from tests.core.harness import policy

    h = Harness(lma=LocalMobilityAnchor(policy(accept_forced_udp=True)))
    pba = only_pba(h.send(pbu(flags=BUFlags.F), src=MAG1_V4, transport=Transport.UDP4, sport=5436))
    assert pba.status == 0 and pba.option(NATDetection) == NATDetection(True, 0)
    assert h.dataplane[0].ensure_tunnels[0].mode is TunnelMode.UDP4


def test_answers_come_from_the_address_the_pbu_was_sent_to() -> None:
    """The PBA's source is the PBU's destination, its destination the PBU's source."""
    (send,) = [a for a in Harness().send(pbu()) if isinstance(a, SendMessage)]
    assert (send.src, send.dst) == (LMAA, MAG1)


def test_static_ipv4_home_address_outside_the_pools_gets_its_networks_router() -> None:
    """A profile's IPv4 HoA outside every pool is granted with the first host of its network as router."""
    from dataclasses import replace

    from pmiprouter.core.lma import LocalMobilityAnchor
    from pmiprouter.core.policy import Ipv4HomeAddress
    from tests.core.harness import policy, profile

    base = policy()
    static = profile('fixed4@example.com', ipv4_home_address=Ipv4HomeAddress(IPv4Address('172.16.5.9'), 24))
    h = Harness(lma=LocalMobilityAnchor(replace(base, profiles={**base.profiles, b'fixed4@example.com': static})))
    pba = only_pba(h.send(pbu(nai='fixed4@example.com', extra=(ipv4_request(),))))
    assert pba.option(IPv4HomeAddressReply) == IPv4HomeAddressReply(0, 24, IPv4Address('172.16.5.9'))
    assert pba.option(IPv4DefaultRouterAddress) == IPv4DefaultRouterAddress(IPv4Address('172.16.5.1'))
