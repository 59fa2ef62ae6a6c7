"""Drive the LMA engine with explicit time: build PBUs, feed events, acknowledge the data plane."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pmiprouter.core.actions import Action, ApplyDataplane, SendMessage, StartTimer
from pmiprouter.core.events import DataplaneApplied, Event, MessageReceived, TimerFired, Transport
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.policy import LmaPolicy, MobileNodeProfile, Service
from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    BindingAcknowledgement,
    BindingUpdate,
    BUFlags,
    GREKey,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    IPv4HomeAddressRequest,
    LinkLocalAddress,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    MobilityOption,
    Timestamp,
)
from tests.addresses import LMAA, LMAA4, MAG1, MAG1_V4, MAG2

T0 = 1_700_000_000.0
MAC1 = '00:11:22:33:44:55'


def profile(nai: str = 'mn1@example.com', **kwargs: object) -> MobileNodeProfile:
    return MobileNodeProfile(nai.encode(), **kwargs)  # type: ignore[arg-type]


def policy(**kwargs: object) -> LmaPolicy:
    base = LmaPolicy(
        lma_addresses=frozenset({LMAA, LMAA4}),
        profiles={
            b'mn1@example.com': profile(),
            b'mn2@example.com': profile('mn2@example.com'),
            b'v4only@example.com': profile('v4only@example.com', service=Service.IPV4),
            b'v6only@example.com': profile('v6only@example.com', service=Service.IPV6),
            b'static@example.com': profile(
                'static@example.com', home_prefixes=(IPv6Network('2001:db8:ffff:1::/64'),)
            ),
            b'off@example.com': profile('off@example.com', proxy_enabled=False),
        },
        authorized_mags=frozenset({MAG1, MAG2, MAG1_V4}),
        hnp_pools=((IPv6Network('2001:db8:aaaa::/48'), 64),),
        ipv4_pools=(IPv4Network('10.1.0.0/24'),),
    )
    return replace(base, **kwargs)  # type: ignore[arg-type]


def pbu(
    seq: int = 1,
    lifetime: int = 600,
    nai: str | None = 'mn1@example.com',
    hnps: tuple[str, ...] = ('::/0',),
    hi: int | None = 1,
    att: int | None = 3,
    mac: str | None = MAC1,
    ts: float | None = T0,
    extra: tuple[MobilityOption, ...] = (),
    flags: BUFlags = BUFlags(0),
    link_local: str | None = None,
) -> BindingUpdate:
    """A PBU like a MAG sends; None leaves an option out."""
    options: list[MobilityOption] = []
    if nai is not None:
        options.append(MobileNodeIdentifier.nai(nai))
    options += [HomeNetworkPrefix.of(p) for p in hnps]
    if hi is not None:
        options.append(HandoffIndicatorOption(hi))
    if att is not None:
        options.append(AccessTechnologyTypeOption(att))
    if mac is not None:
        options.append(MobileNodeLinkLayerIdentifier.mac(mac))
    if link_local is not None:
        options.append(LinkLocalAddress(IPv6Address(link_local)))
    if ts is not None:
        options.append(Timestamp.from_unix(ts))
    options += extra
    return BindingUpdate.proxy(seq, lifetime, tuple(options), flags)


def ipv4_request(address: str = '0.0.0.0', prefix_length: int = 0) -> IPv4HomeAddressRequest:
    return IPv4HomeAddressRequest(prefix_length, IPv4Address(address))


def gre(key: int | None) -> GREKey:
    return GREKey(key)


@dataclass
class Harness:
    """An LMA plus its pending timers; `send` feeds a PBU and acknowledges data-plane work."""

    lma: LocalMobilityAnchor = field(default_factory=lambda: LocalMobilityAnchor(policy()))
    timers: dict[tuple[str, int], float] = field(default_factory=dict)
    dataplane: list[ApplyDataplane] = field(default_factory=list)
    auto_apply: bool = True

    def feed(self, event: Event, now: float) -> list[Action]:
        actions = self.lma.handle(event, now)
        out = list(actions)
        for action in actions:
            if isinstance(action, StartTimer):
                self.timers[action.key] = action.at
            elif type(action).__name__ == 'CancelTimer':
                self.timers.pop(action.key, None)  # type: ignore[union-attr]
            elif isinstance(action, ApplyDataplane):
                self.dataplane.append(action)
                if self.auto_apply:
                    out += self.feed(DataplaneApplied(action.ticket), now)
        return out

    def send(
        self, message: BindingUpdate, now: float = T0, src: object = MAG1, transport: Transport = Transport.IPV6, sport: int | None = None
    ) -> list[Action]:
        dst = LMAA if transport is Transport.IPV6 else LMAA4
        return self.feed(MessageReceived(src, dst, message, transport, sport), now)  # type: ignore[arg-type]

    def advance(self, now: float) -> list[Action]:
        """Fire every timer due at or before `now`, in deadline order."""
        out: list[Action] = []
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= now)
            if not due:
                return out
            at, key = due[0]
            del self.timers[key]
            out += self.feed(TimerFired(key), at)


def pbas(actions: list[Action]) -> list[BindingAcknowledgement]:
    return [a.message for a in actions if isinstance(a, SendMessage) and isinstance(a.message, BindingAcknowledgement)]


def only_pba(actions: list[Action]) -> BindingAcknowledgement:
    found = pbas(actions)
    assert len(found) == 1, f'expected one PBA, got {found}'
    return found[0]
