"""A MAG engine and the real LMA engine talking through the real codec (RFC 5213 end to end).

`Pair.transfer` encodes every Mobility Header with `pmiprouter.mh.encode`, decodes it with
`pmiprouter.mh.decode` and delivers it to the node owning the destination address. Data-plane
work is carried out on one in-memory data plane per node (the real contract with its
invariant checks) and answered with DataplaneApplied or DataplaneFailed; timers are collected
per node and fired in deadline order; the mobile node answers NUD probes while it is
attached where it is probed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Address
from typing import Any, Callable

from pmiprouter import mh
from pmiprouter.runtime.dataplane_worker import apply_changes
from pmiprouter.core.actions import ApplyDataplane, CancelTimer, SendMessage, StartTimer
from pmiprouter.core.binding_cache import BceState
from pmiprouter.core.binding_update_list import BulState
from pmiprouter.core.events import DataplaneApplied, DataplaneFailed, IPAddress, MessageReceived, TimerFired, Transport
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.mag import SIGNALLING_PORT, MobileAccessGateway
from pmiprouter.core.mag_events import (
    AttachHint,
    MobileNodeAttached,
    MobileNodeDetached,
    NeighbourReachable,
    OfferIpv4,
    ProbeNeighbour,
    SendRouterAdvertisement,
)
from pmiprouter.core.policy import GreMode, Service
from pmiprouter.dataplane.interface import DataplaneError, TunnelMode
from pmiprouter.dataplane.memory import MemoryDataplane, MemoryWorld
from pmiprouter.mh import BAStatus, BindingAcknowledgement, BindingUpdate
from tests.core.harness import LMAA, LMAA4, MAG1, MAG1_V4, MAG2, T0, policy
from tests.core.mag_harness import ETH, MAC1, WLAN, mag_policy

Drop = Callable[[SendMessage], bool]


@dataclass
class Pair:
    """One LMA and two MAGs on a lossless (unless `drop` says otherwise) network."""

    lma: LocalMobilityAnchor = field(default_factory=lambda: LocalMobilityAnchor(policy()))
    mags: dict[str, MobileAccessGateway] = field(default_factory=dict)
    timers: dict[tuple[str, tuple[str, int]], float] = field(default_factory=dict)
    access: list[tuple[str, Any]] = field(default_factory=list)  # (mag, RA / offer / ...) seen by MNs
    wire: list[tuple[str, Any]] = field(default_factory=list)  # (sender, decoded message) delivered
    dataplane: dict[str, list[ApplyDataplane]] = field(default_factory=dict)
    attached: set[tuple[str, str, bytes]] = field(default_factory=set)  # (mag, ifname, mac)
    drop: Drop = lambda send: False
    planes: dict[str, MemoryDataplane] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # data-plane errors: none expected here

    @classmethod
    def build(cls, lma_kwargs: dict[str, Any] | None = None, **mag_kwargs: Any) -> Pair:
        pair = cls(LocalMobilityAnchor(policy(**(lma_kwargs or {}))))
        pair.add_mag('mag1', mag_address=MAG1, **mag_kwargs)
        pair.add_mag('mag2', mag_address=MAG2, mag_address_v4=None, **mag_kwargs)
        return pair

    def add_mag(self, name: str, initial_sequence: int = 0, **kwargs: Any) -> None:
        self.mags[name] = MobileAccessGateway(mag_policy(**kwargs), initial_sequence=initial_sequence)
        world = MemoryWorld()
        for interface in self.mags[name].policy.interfaces:
            world.add_link(interface.ifname, 'ether')  # the access links exist before the daemon
        self.planes[name] = MemoryDataplane(world)

    def plane(self, name: str) -> MemoryDataplane:
        return self.planes.setdefault(name, MemoryDataplane())

    def program(self, name: str, change: ApplyDataplane, now: float) -> list[Any]:
        """Apply `change` in the runtime's order (tunnels, routes, removals) and report back."""
        plane = self.plane(name)
        try:
            apply_changes(plane, change)
        except DataplaneError as exc:
            self.failures.append(f'{name}: {exc}')
            failed: list[Any] = self.node(name).handle(DataplaneFailed(change.ticket, str(exc)), now)
            return failed
        applied: list[Any] = self.node(name).handle(DataplaneApplied(change.ticket), now)
        return applied

    def node(self, name: str) -> Any:
        return self.lma if name == 'lma' else self.mags[name]

    def owner(self, address: IPAddress) -> str:
        if address in (LMAA, LMAA4):
            return 'lma'
        for name, mag in self.mags.items():
            if address in (mag.policy.mag_address, mag.policy.mag_address_v4):
                return name
        raise AssertionError(f'nobody has {address}')

    def feed(self, name: str, event: Any, now: float) -> list[tuple[str, Any]]:
        return self.transfer(name, self.node(name).handle(event, now), now)

    def transfer(self, name: str, actions: list[Any], now: float) -> list[tuple[str, Any]]:
        """Carry out `name`'s actions, and those of everything they cause, until quiet."""
        queue = deque((name, action) for action in actions)
        done: list[tuple[str, Any]] = []
        while queue:
            sender, action = queue.popleft()
            done.append((sender, action))
            if isinstance(action, StartTimer):
                self.timers[(sender, action.key)] = action.at
            elif isinstance(action, CancelTimer):
                self.timers.pop((sender, action.key), None)
            elif isinstance(action, ApplyDataplane):
                self.dataplane.setdefault(sender, []).append(action)
                queue.extend((sender, a) for a in self.program(sender, action, now))
            elif isinstance(action, SendMessage):
                if self.drop(action):
                    continue
                receiver = self.owner(action.dst)
                message = mh.decode(mh.encode(action.message))  # the real codec, both ways
                self.wire.append((sender, message))
                sport = SIGNALLING_PORT if action.transport is Transport.UDP4 else None
                event = MessageReceived(action.src, action.dst, message, action.transport, sport)
                queue.extend((receiver, a) for a in self.node(receiver).handle(event, now))
            elif isinstance(action, ProbeNeighbour):
                if (sender, action.ifname, action.mac) in self.attached:
                    reply = NeighbourReachable(action.ifname, action.mac)
                    queue.extend((sender, a) for a in self.node(sender).handle(reply, now))
            elif isinstance(action, (SendRouterAdvertisement, OfferIpv4)):
                self.access.append((sender, action))
        return done

    def advance(self, now: float) -> list[tuple[str, Any]]:
        """Fire every timer of every node due at or before `now`, in deadline order."""
        out: list[tuple[str, Any]] = []
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= now)
            if not due:
                return out
            at, (name, key) = due[0]
            del self.timers[(name, key)]
            out += self.feed(name, TimerFired(key), at)

    def attach(self, mag: str, now: float, ifname: str = ETH, mac: bytes = MAC1, hint: AttachHint | None = None) -> None:
        self.attached.add((mag, ifname, mac))
        self.feed(mag, MobileNodeAttached(ifname, mac, hint=hint), now)

    def detach(self, mag: str, now: float, ifname: str = ETH, mac: bytes = MAC1) -> None:
        self.attached.discard((mag, ifname, mac))
        self.feed(mag, MobileNodeDetached(ifname, mac), now)

    def ras(self, mag: str) -> list[SendRouterAdvertisement]:
        return [a for n, a in self.access if n == mag and isinstance(a, SendRouterAdvertisement)]

    def pbas(self) -> list[BindingAcknowledgement]:
        return [m for _, m in self.wire if isinstance(m, BindingAcknowledgement)]

    def forwarding(self, name: str) -> tuple[int, int]:
        """(tunnels, MN route specs) the node's data plane holds."""
        state = self.plane(name).snapshot()
        return len(state.tunnels), len(state.mn_routes)

    def binding(self) -> Any:
        (entry,) = self.lma.bindings()
        return entry


def test_attach_registers_programs_and_advertises_the_allocated_prefix() -> None:
    """PBU -> LMA allocates a /64 -> PBA -> MAG tunnel and routes -> RA with that prefix."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    binding = pair.binding()
    assert binding.state is BceState.ACTIVE and binding.proxy_coa == MAG1
    (entry,) = pair.mags['mag1'].entries()
    assert entry.state is BulState.REGISTERED and entry.hnps == binding.hnps
    (ra,) = pair.ras('mag1')
    assert ra.prefixes == binding.hnps and ra.lifetime == 600
    mag_tunnel = pair.dataplane['mag1'][0].ensure_tunnels[0]
    lma_tunnel = pair.dataplane['lma'][0].ensure_tunnels[0]
    assert (mag_tunnel.local, mag_tunnel.remote) == (lma_tunnel.remote, lma_tunnel.local)
    assert pair.forwarding('mag1') == (1, 1) and pair.forwarding('lma') == (1, 1) and not pair.failures


def test_handover_to_another_mag_keeps_the_prefix() -> None:
    """MAG2 registers the MN (same MN-LL-ID and ATT): the LMA moves the binding, the HNP stays."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    hnps = pair.binding().hnps
    pair.attach('mag2', T0 + 30, hint=AttachHint.FROM_OTHER_MAG)
    binding = pair.binding()
    assert binding.proxy_coa == MAG2 and binding.hnps == hnps
    assert pair.ras('mag2')[-1].prefixes == hnps
    # MAG1 notices the MN left; its de-registration is not from the serving MAG and is ignored.
    pair.detach('mag1', T0 + 31)
    pair.advance(T0 + 40)
    assert pair.binding().proxy_coa == MAG2 and pair.binding().state is BceState.ACTIVE
    assert not pair.mags['mag1'].entries() and pair.lma.stats.events['deregistration-not-serving-mag'] == 1
    assert pair.forwarding('mag1') == (0, 0) and pair.forwarding('mag2') == (1, 1) and not pair.failures


def test_handover_across_access_technologies_waits_for_the_old_mag() -> None:
    """HI 4 on another ATT: the LMA waits MaxDelayBeforeNewBCEAssign; MAG1's de-registration lets it keep the HNP."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    hnps = pair.binding().hnps
    pair.attach('mag2', T0 + 30, ifname=WLAN, hint=AttachHint.UNKNOWN)
    assert pair.lma.registrations.parked and not pair.ras('mag2')
    pair.detach('mag1', T0 + 30.5)
    binding = pair.binding()
    assert binding.proxy_coa == MAG2 and binding.hnps == hnps and binding.att == 4
    assert pair.ras('mag2')[-1].prefixes == hnps


def test_renewal_extends_the_binding_after_a_neighbour_probe() -> None:
    """At 540 s the MAG probes the MN, re-registers with HI 5 and the LMA extends the lifetime."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    pair.advance(T0 + 541)
    renewal = [m for s, m in pair.wire if isinstance(m, BindingUpdate)][-1]
    assert renewal.lifetime_s == 600
    assert pair.binding().expires_at == T0 + 540 + 600
    assert pair.mags['mag1'].entries()[0].state is BulState.REGISTERED
    assert len(pair.dataplane['mag1']) == 1  # renewal needs no data-plane change
    pair.advance(T0 + 5000)  # renewals keep it alive as long as the MN answers
    assert pair.binding().state is BceState.ACTIVE


def test_detach_de_registers_and_both_sides_clean_up() -> None:
    """Detach: lifetime-0 PBU, PBA 0, MAG removes routes and tunnel; the LMA deletes after 10 s."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    pair.detach('mag1', T0 + 60)
    assert not pair.mags['mag1'].entries()
    assert pair.pbas()[-1].status == BAStatus.ACCEPTED and pair.pbas()[-1].lifetime_s == 0
    assert pair.dataplane['mag1'][-1].remove_tunnels
    assert pair.binding().state is BceState.DEREGISTERED
    pair.advance(T0 + 71)
    assert not pair.lma.bindings()
    assert pair.forwarding('mag1') == (0, 0) and pair.forwarding('lma') == (0, 0) and not pair.failures


def test_unanswered_probe_de_registers_at_the_lma() -> None:
    """The MN vanished silently: the probe before renewal fails and the binding is given back."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    pair.attached.clear()
    pair.advance(T0 + 544)
    assert pair.binding().state is BceState.DEREGISTERED and not pair.mags['mag1'].entries()


def test_dual_stack_mn_gets_an_ipv4_home_address() -> None:
    """RFC 5844: the LMA allocates an IPv4 HoA; the MAG routes it and hands it to its DHCP server."""
    pair = Pair.build()
    mag = pair.mags['mag1']
    profiles = {**mag.policy.profiles, MAC1: replace(mag.policy.profiles[MAC1], service=Service.DUAL)}
    mag.reconfigure(replace(mag.policy, profiles=profiles))
    pair.attach('mag1', T0)
    hoa = pair.binding().ipv4
    assert hoa is not None and hoa.ip in IPv4Network('10.1.0.0/24')
    (offer,) = [a for n, a in pair.access if isinstance(a, OfferIpv4)]
    assert offer.address == hoa.ip and pair.dataplane['mag1'][0].ensure_routes[0].ipv4_hoa == hoa.ip


def test_gre_keys_are_exchanged_and_mirrored() -> None:
    """RFC 5845: our downlink key is the LMA's outgoing key and its uplink key is ours."""
    pair = Pair.build(gre=True)
    pair.attach('mag1', T0)
    mag_tunnel = pair.dataplane['mag1'][0].ensure_tunnels[0]
    lma_tunnel = pair.dataplane['lma'][0].ensure_tunnels[0]
    assert mag_tunnel.mode is TunnelMode.GRE6 and lma_tunnel.mode is TunnelMode.GRE6
    assert (mag_tunnel.gre_key_in, mag_tunnel.gre_key_out) == (lma_tunnel.gre_key_out, lma_tunnel.gre_key_in)


def test_lma_requiring_gre_gets_a_key_after_163() -> None:
    """An LMA that requires GRE answers 163; the MAG resends with its key and is accepted."""
    pair = Pair.build(lma_kwargs={'gre': GreMode.REQUIRED})
    pair.attach('mag1', T0)
    assert [int(p.status) for p in pair.pbas()] == [163, 0]
    assert pair.dataplane['mag1'][0].ensure_tunnels[0].mode is TunnelMode.GRE6


def test_lost_pbu_is_retransmitted_after_one_second() -> None:
    """The first PBU is lost; the retransmission at +1 s registers the MN."""
    pair = Pair.build()
    lost: list[SendMessage] = []

    def drop_first_pbu(send: SendMessage) -> bool:
        if isinstance(send.message, BindingUpdate) and not lost:
            lost.append(send)
            return True
        return False

    pair.drop = drop_first_pbu
    pair.attach('mag1', T0)
    assert not pair.lma.bindings()
    pair.advance(T0 + 1)
    assert pair.binding().state is BceState.ACTIVE and pair.ras('mag1')


def test_lost_pba_is_recovered_by_the_retransmission() -> None:
    """The PBA is lost; the LMA takes the retransmitted PBU (newer timestamp) as a renewal and answers."""
    pair = Pair.build()
    pair.drop = lambda send: isinstance(send.message, BindingAcknowledgement) and len(pair.pbas()) == 0 and send.src == LMAA
    pair.attach('mag1', T0)
    assert pair.mags['mag1'].entries()[0].state is BulState.REGISTERING
    pair.drop = lambda send: False
    pair.advance(T0 + 1)
    assert pair.mags['mag1'].entries()[0].state is BulState.REGISTERED
    assert pair.ras('mag1')[0].prefixes == pair.binding().hnps


def test_sequence_number_domain_recovers_from_135_on_handover() -> None:
    """Without timestamps, MAG2's counter is behind MAG1's: 135, jump above the LMA's number, accepted."""
    pair = Pair(LocalMobilityAnchor(policy(use_timestamps=False)))
    pair.add_mag('mag1', mag_address=MAG1, use_timestamps=False, initial_sequence=1000)
    pair.add_mag('mag2', mag_address=MAG2, mag_address_v4=None, use_timestamps=False)
    pair.attach('mag1', T0)
    pair.attach('mag2', T0 + 30)
    assert [int(p.status) for p in pair.pbas()] == [0, 135, 0]
    assert pair.binding().proxy_coa == MAG2 and pair.binding().sequence == 1002


def test_ipv4_transport_over_udp() -> None:
    """RFC 5844 §4: signalling over IPv4/UDP 5436 and an IPv4 tunnel between the IPv4 addresses."""
    pair = Pair(LocalMobilityAnchor(policy()))
    pair.add_mag('mag1', mag_address=MAG1, transport=Transport.UDP4)
    pair.attach('mag1', T0)
    assert pair.binding().proxy_coa == MAG1_V4 and pair.binding().state is BceState.ACTIVE
    tunnel = pair.dataplane['mag1'][0].ensure_tunnels[0]
    assert (tunnel.local, tunnel.remote, tunnel.mode) == (MAG1_V4, LMAA4, TunnelMode.IP4)


def test_link_local_from_the_lma_is_the_same_on_both_mags() -> None:
    """No fixed link-local in the domain: both MAGs get the LMA's address for the MN's link."""
    pair = Pair.build(fixed_link_local=None)
    pair.attach('mag1', T0)
    pair.attach('mag2', T0 + 30)
    sources = {ra.source for ra in pair.ras('mag1') + pair.ras('mag2')}
    assert sources == {IPv6Address('fe80::200:5eff:fe00:5213')}


def test_ping_pong_handover_keeps_the_prefix() -> None:
    """MAG1 -> MAG2 -> MAG1 within seconds: each move is a handoff of the same binding."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    hnps = pair.binding().hnps
    pair.attach('mag2', T0 + 10)
    pair.detach('mag1', T0 + 10.2)
    pair.attach('mag1', T0 + 10.5)  # back before MAG1's de-registration wait ended
    pair.detach('mag2', T0 + 10.7)
    pair.advance(T0 + 20)
    binding = pair.binding()
    assert binding.proxy_coa == MAG1 and binding.hnps == hnps and binding.state is BceState.ACTIVE
    assert pair.mags['mag1'].entries()[0].state is BulState.REGISTERED and not pair.mags['mag2'].entries()
    assert pair.ras('mag1')[-1].prefixes == hnps and pair.ras('mag1')[-1].lifetime > 0
    assert pair.forwarding('mag1') == (1, 1) and pair.forwarding('mag2') == (0, 0) and not pair.failures


def test_forced_udp_encapsulation_is_agreed_by_both_ends() -> None:
    """F flag accepted by the LMA: its NAT Detection option makes both tunnels IPv4-UDP (RFC 5844 §4)."""
    pair = Pair(LocalMobilityAnchor(policy(accept_forced_udp=True)))
    pair.add_mag('mag1', mag_address=MAG1, transport=Transport.UDP4, force_udp=True)
    pair.attach('mag1', T0)
    assert pair.dataplane['mag1'][0].ensure_tunnels[0].mode is TunnelMode.UDP4
    assert pair.dataplane['lma'][0].ensure_tunnels[0].mode is TunnelMode.UDP4


def test_dhcp_release_removes_only_the_ipv4_home_address_at_the_lma() -> None:
    """RFC 5844 §3.4: DHCPRELEASE -> IPv4-only de-registration; the LMA keeps the prefixes."""
    from pmiprouter.core.mag_events import DhcpRelease

    pair = Pair.build()
    mag = pair.mags['mag1']
    profiles = {**mag.policy.profiles, MAC1: replace(mag.policy.profiles[MAC1], service=Service.DUAL)}
    mag.reconfigure(replace(mag.policy, profiles=profiles))
    pair.attach('mag1', T0)
    hnps = pair.binding().hnps
    pair.feed('mag1', DhcpRelease(ETH, MAC1), T0 + 5)
    binding = pair.binding()
    assert binding.ipv4 is None and binding.hnps == hnps and binding.state is BceState.ACTIVE
    assert mag.stats.events['pba-unmatched'] == 0 and mag.entries()[0].ipv4 is None
    (route,) = pair.plane('mag1').snapshot().mn_routes
    assert route.ipv4_hoa is None and route.hnps == hnps and not pair.failures


def test_dataplane_failure_on_the_mag_gives_the_binding_back() -> None:
    """The MAG cannot route (its access link is missing): no RA, and the LMA gets a de-registration."""
    pair = Pair.build()
    pair.planes['mag1'] = MemoryDataplane()  # a world without eth1
    pair.attach('mag1', T0)
    assert pair.failures and not pair.ras('mag1')
    assert pair.binding().state is BceState.DEREGISTERED
    assert not pair.mags['mag1'].entries()
