"""MAG: retransmission, renewal with NUD, expiry, detach and de-registration (RFC 5213 §6.9.1.3-§6.9.4, §6.13)."""

from __future__ import annotations

from pmiprouter.core.actions import ApplyDataplane, SendMessage
from pmiprouter.core.binding_update_list import BulState
from pmiprouter.core.mag_events import (
    DetachReason,
    MobileNodeDetached,
    NeighbourReachable,
    ProbeNeighbour,
    RevokeIpv4,
)
from pmiprouter.mh import BAStatus, GREKey, HomeNetworkPrefix, IPv4HomeAddressRequest
from tests.core.harness import T0
from tests.core.mag_harness import (
    ETH,
    HNP1,
    HNP2,
    HOA,
    MAC1,
    MAC2,
    MAC_DUAL,
    ROUTER,
    MagHarness,
    logged,
    mag_policy,
    of_type,
    pbus,
    ras,
    stamp,
)


def test_retransmission_backs_off_1_2_4_8_16_32_32_seconds() -> None:
    """INITIAL_BINDACK_TIMEOUT 1 s doubling to MAX_BINDACK_TIMEOUT 32 s, then every 32 s (§6.9.4)."""
    h = MagHarness()
    h.attach()
    h.advance(T0 + 200)
    times = [at for at, _ in h.sent]
    assert [round(b - a, 6) for a, b in zip(times, times[1:])] == [1, 2, 4, 8, 16, 32, 32, 32, 32, 32]
    sequences = [pbu.sequence for _, pbu in h.sent]
    assert sequences == list(range(1, 12))  # a new sequence number each time
    stamps = [stamp(pbu) for _, pbu in h.sent]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # and the latest timestamp


def test_retransmission_stops_when_the_pba_arrives() -> None:
    """After the PBA no retransmission timer is left."""
    h = MagHarness()
    h.attach()
    h.advance(T0 + 3)
    h.reply(now=T0 + 3.5)
    assert not [k for k in h.timers if k[0] == 'mag-pbu']
    assert len(h.sent) == 3


def test_retransmission_stops_when_the_mn_detaches() -> None:
    """A detached MN gets one de-registration instead of further retransmissions."""
    h = MagHarness()
    h.attach()
    h.advance(T0 + 1)
    (dereg,) = pbus(h.feed(MobileNodeDetached(ETH, MAC1), T0 + 2))
    assert dereg.lifetime_s == 0
    assert not pbus(h.advance(T0 + 100)) and not h.mag.entries()


def test_renewal_probes_the_mn_then_re_registers() -> None:
    """Renewal margin 60 s: NUD probe at T0+540; once reachable a PBU with the assigned HNP, HI 5."""
    h = MagHarness()
    h.registered()
    assert h.timers[('mag-renew', 1)] == T0 + 540 and h.timers[('mag-expiry', 1)] == T0 + 600
    actions = h.advance(T0 + 540)
    assert ProbeNeighbour(ETH, MAC1) in actions and not pbus(actions)
    assert h.mag.entries()[0].state is BulState.PROBING
    (renewal,) = pbus(h.feed(NeighbourReachable(ETH, MAC1), T0 + 540.5))
    assert renewal.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix.of(HNP1),) and renewal.lifetime_s == 600
    before = len(h.dataplane)
    actions = h.reply(now=T0 + 541)
    assert len(h.dataplane) == before  # same prefixes: no data-plane work
    assert ras(actions)[0].lifetime == 600  # prefix lifetimes follow the renewed binding
    assert h.timers[('mag-renew', 1)] == T0 + 541 + 540 and h.mag.entries()[0].state is BulState.REGISTERED


def test_renewal_without_probing_when_configured_off() -> None:
    """probe_before_renewal off: the renewal PBU goes out at the renewal time directly."""
    h = MagHarness(mag_policy(probe_before_renewal=False))
    h.registered()
    assert len(pbus(h.advance(T0 + 540))) == 1


def test_renewal_margin_is_capped_at_half_the_lifetime() -> None:
    """A 60 s binding is renewed after 30 s, not at its very end."""
    h = MagHarness()
    h.registered(lifetime=60)
    assert h.timers[('mag-renew', 1)] == T0 + 30


def test_unanswered_probe_de_registers() -> None:
    """§6.9.1.3: the MN cannot be verified: no extension, de-register instead."""
    h = MagHarness()
    h.registered()
    h.advance(T0 + 540)
    actions = h.advance(T0 + 543)
    (dereg,) = pbus(actions)
    assert dereg.lifetime_s == 0 and h.mag.stats.events['nud-failed'] == 1


def test_renewal_retransmits_and_the_binding_expires_without_answer() -> None:
    """Unanswered renewals back off; at expiry the HNP is withdrawn and the routes go."""
    h = MagHarness(mag_policy(probe_before_renewal=False))
    h.registered()
    h.advance(T0 + 599)
    assert len(h.sent) == 1 + 6  # initial, renewal at 540, retries at 541, 543, 547, 555, 571
    actions = h.advance(T0 + 600)
    (ra,) = ras(actions)
    assert ra.lifetime == 0 and ra.prefixes == (HNP1,)
    assert of_type(actions, ApplyDataplane)[0].remove_routes and not h.mag.entries()
    assert not pbus(h.advance(T0 + 700))


def test_rejected_renewal_withdraws_and_re_registers_the_same_prefix() -> None:
    """§6.9.1.2 step 5: a rejected renewal stops advertising and forwarding; the retry asks for the old HNP."""
    h = MagHarness(mag_policy(probe_before_renewal=False))
    h.registered()
    h.advance(T0 + 540)
    actions = h.reply(BAStatus.INSUFFICIENT_RESOURCES, now=T0 + 540.2)
    assert ras(actions)[0].lifetime == 0 and of_type(actions, ApplyDataplane)[0].remove_routes
    assert h.mag.entries()[0].state is BulState.REGISTERING
    (retry,) = pbus(h.advance(T0 + 541))
    assert retry.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix.of(HNP1),)
    h.reply(now=T0 + 541.1)
    assert h.mag.entries()[0].state is BulState.REGISTERED


def test_renewal_granting_other_prefixes_reprograms() -> None:
    """An accepted renewal with a different HNP replaces the route and advertises the new prefix."""
    h = MagHarness(mag_policy(probe_before_renewal=False))
    h.registered()
    h.advance(T0 + 540)
    actions = h.reply(now=T0 + 541, prefixes=(HNP2,))
    apply = of_type(actions, ApplyDataplane)[0]
    assert apply.ensure_routes[0].hnps == (HNP2,) and apply.remove_routes[0].hnps == (HNP1,)
    assert ras(actions)[0].prefixes == (HNP2,)


def test_detach_withdraws_and_de_registers_then_cleans_up_on_the_pba() -> None:
    """Detach: RA lifetime 0, PBU lifetime 0 / HI 4 / assigned HNP / no GRE; routes and tunnel go after the PBA."""
    h = MagHarness(mag_policy(gre=True))
    h.registered(use_gre=True, gre_key_in=900)
    actions = h.feed(MobileNodeDetached(ETH, MAC1), T0 + 10)
    (ra,) = ras(actions)
    assert (ra.lifetime, ra.router_lifetime) == (0, 0)
    (dereg,) = pbus(actions)
    assert dereg.lifetime_s == 0 and dereg.option(GREKey) is None
    assert dereg.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix.of(HNP1),)
    assert not of_type(actions, ApplyDataplane)  # routes stay until the PBA or the 1 s timeout
    actions = h.reply(now=T0 + 10.1)
    (apply,) = of_type(actions, ApplyDataplane)
    assert apply.remove_routes and apply.remove_tunnels and not h.mag.entries()


def test_detach_without_answer_cleans_up_after_one_second() -> None:
    """No PBA for the de-registration: cleanup at INITIAL_BINDACK_TIMEOUT, no retransmission."""
    h = MagHarness()
    h.registered()
    h.feed(MobileNodeDetached(ETH, MAC1, DetachReason.NUD_FAILURE), T0 + 10)
    actions = h.advance(T0 + 11)
    assert of_type(actions, ApplyDataplane)[0].remove_routes and not pbus(actions) and not h.mag.entries()


def test_shared_tunnel_stays_while_another_mn_uses_it() -> None:
    """Removing one MN keeps the tunnel; removing the last removes it."""
    h = MagHarness()
    h.registered()
    h.attach(MAC2)
    h.reply(prefixes=(HNP2,))
    h.feed(MobileNodeDetached(ETH, MAC1), T0 + 1)
    first = of_type(h.advance(T0 + 2), ApplyDataplane)[0]
    h.feed(MobileNodeDetached(ETH, MAC2), T0 + 3)
    last = of_type(h.advance(T0 + 4), ApplyDataplane)[0]
    assert not first.remove_tunnels and last.remove_tunnels


def test_reattach_during_de_registration_starts_a_new_registration() -> None:
    """The MN comes back before its de-registration finished: clean up, register afresh."""
    h = MagHarness()
    h.registered()
    h.feed(MobileNodeDetached(ETH, MAC1), T0 + 10)
    actions = h.attach(now=T0 + 10.5)
    assert logged(actions, 'entry-deleted') and pbus(actions)[0].lifetime_s == 600
    assert h.mag.entries()[0].state is BulState.REGISTERING


def test_dhcp_release_de_registers_only_ipv4() -> None:
    """RFC 5844 §3.4: a lifetime-0 PBU naming only the IPv4 HoA; the HNP stays routed."""
    h = MagHarness()
    h.attach(MAC_DUAL)
    h.reply(ipv4=HOA, ipv4_router=ROUTER)
    from pmiprouter.core.mag_events import DhcpRelease

    actions = h.feed(DhcpRelease(ETH, MAC_DUAL), T0 + 5)
    (pbu,) = pbus(actions)
    assert pbu.lifetime_s == 0 and not pbu.options_of(HomeNetworkPrefix) and pbu.option(IPv4HomeAddressRequest)
    assert RevokeIpv4(ETH, MAC_DUAL) in actions
    route = of_type(actions, ApplyDataplane)[0].ensure_routes[0]
    assert route.hnps == (HNP1,) and route.ipv4_hoa is None
    assert logged(h.reply(now=T0 + 5.1, pbu=pbu), 'ipv4-deregistered')
    assert h.mag.entries()[0].state is BulState.REGISTERED


def test_send_message_for_every_pbu_goes_to_the_same_lma() -> None:
    """Registration, retransmission and de-registration all go to the MN's LMA."""
    h = MagHarness()
    actions = h.attach() + h.advance(T0 + 1) + h.feed(MobileNodeDetached(ETH, MAC1), T0 + 2)
    assert len({a.dst for a in of_type(actions, SendMessage)}) == 1
