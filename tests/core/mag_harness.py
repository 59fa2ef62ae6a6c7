"""Drive the MAG engine with explicit time: attach MNs, answer PBUs like an LMA, fire timers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from pmiprouter.core.actions import ApplyDataplane, CancelTimer, SendMessage, StartTimer
from pmiprouter.core.events import DataplaneApplied, MessageReceived, TimerFired, Transport
from pmiprouter.core.mag import MobileAccessGateway
from pmiprouter.core.mag_events import AttachHint, AttachTrigger, MobileNodeAttached, SendRouterAdvertisement
from pmiprouter.core.mag_policy import AccessInterface, MagPolicy, MagProfile, parse_mac
from pmiprouter.core.pba import Grant, build_pba
from pmiprouter.core.policy import Ipv4HomeAddress, Service
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    BAStatus,
    BindingAcknowledgement,
    BindingUpdate,
    HandoffIndicatorOption,
    Timestamp,
)
from tests.core.harness import LMAA, LMAA4, MAG1, MAG1_V4, T0
from tests.addresses import HNP1, HNP2, HOA_ADDRESS, HOA_PREFIX_LENGTH, ROUTER  # noqa: F401 (re-exported)

MAC1 = parse_mac('00:11:22:33:44:55')
MAC2 = parse_mac('00:11:22:33:44:66')
MAC_DUAL = parse_mac('00:11:22:33:44:77')
MAC_V4 = parse_mac('00:11:22:33:44:88')
MAC_STATIC = parse_mac('00:11:22:33:44:99')
MAC_UNKNOWN = parse_mac('02:00:00:00:00:01')
ETH = 'eth1'
WLAN = 'wlan0'
STATIC_HNP = IPv6Network('2001:db8:ffff:1::/64')
HOA = Ipv4HomeAddress(HOA_ADDRESS, HOA_PREFIX_LENGTH)


def mag_policy(**kwargs: Any) -> MagPolicy:
    """A MAG on MAG1 serving eth1 (802.3) and wlan0 (802.11, MTU 1400) for a few profiles."""
    base = MagPolicy(
        mag_address=MAG1,
        mag_address_v4=MAG1_V4,
        lma_address=LMAA,
        lma_address_v4=LMAA4,
        interfaces=(AccessInterface(ETH, att=3), AccessInterface(WLAN, att=4, mtu=1400)),
        profiles={
            MAC1: MagProfile(MAC1, nai='mn1@example.com'),
            MAC2: MagProfile(MAC2, nai='mn2@example.com'),
            MAC_DUAL: MagProfile(MAC_DUAL, nai='dual@example.com', service=Service.DUAL),
            MAC_V4: MagProfile(MAC_V4, nai='v4only@example.com', service=Service.IPV4),
            MAC_STATIC: MagProfile(MAC_STATIC, nai='static@example.com', home_prefixes=(STATIC_HNP,)),
        },
    )
    return replace(base, **kwargs)


@dataclass
class MagHarness:
    """A MAG plus its pending timers; data-plane work is acknowledged unless told otherwise."""

    policy: MagPolicy = field(default_factory=mag_policy)
    auto_apply: bool = True
    initial_sequence: int = 0
    timers: dict[tuple[str, int], float] = field(default_factory=dict)
    dataplane: list[ApplyDataplane] = field(default_factory=list)
    sent: list[tuple[float, BindingUpdate]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mag = MobileAccessGateway(self.policy, initial_sequence=self.initial_sequence)

    def feed(self, event: Any, now: float = T0) -> list[Any]:
        actions = self.mag.handle(event, now)
        out = list(actions)
        for action in actions:
            if isinstance(action, StartTimer):
                self.timers[action.key] = action.at
            elif isinstance(action, CancelTimer):
                self.timers.pop(action.key, None)
            elif isinstance(action, SendMessage) and isinstance(action.message, BindingUpdate):
                self.sent.append((now, action.message))
            elif isinstance(action, ApplyDataplane):
                self.dataplane.append(action)
                if self.auto_apply:
                    out += self.feed(DataplaneApplied(action.ticket), now)
        return out

    def attach(
        self, mac: bytes = MAC1, now: float = T0, ifname: str = ETH, trigger: AttachTrigger = AttachTrigger.LINK, hint: AttachHint | None = None
    ) -> list[Any]:
        return self.feed(MobileNodeAttached(ifname, mac, trigger, hint), now)

    @property
    def last(self) -> BindingUpdate:
        return self.sent[-1][1]

    def reply(
        self,
        status: int = BAStatus.ACCEPTED,
        now: float = T0,
        pbu: BindingUpdate | None = None,
        prefixes: tuple[IPv6Network, ...] | None = None,
        lifetime: int | None = None,
        **grant: Any,
    ) -> list[Any]:
        """Answer `pbu` (default: the last one sent) the way the real LMA builds a PBA."""
        message = pbu or self.last
        src = LMAA if self.policy.transport is Transport.IPV6 else LMAA4
        dst = MAG1 if self.policy.transport is Transport.IPV6 else MAG1_V4
        request = ProxyRegistration.parse(MessageReceived(dst, src, message))
        if prefixes is None:
            prefixes = (HNP1,) if request.hnps else ()
        values: dict[str, Any] = dict(
            lifetime_s=message.lifetime_s if lifetime is None else lifetime,
            prefixes=prefixes,
            ipv4=None,
            ipv4_router=None,
            link_local=None,
            gre_key_in=None,
            use_gre=False,
            tlv=False,
            udp=False,
            dhcp_server_mode=None,
        )
        values.update(grant)
        code = BAStatus(status) if status in BAStatus._value2member_map_ else status
        pba = build_pba(request, code, now, Grant(**values) if status < 128 else None)  # type: ignore[arg-type]
        return self.receive(pba, now, src)

    def receive(self, pba: BindingAcknowledgement, now: float = T0, src: Any = None) -> list[Any]:
        if src is None:
            src = LMAA if self.policy.transport is Transport.IPV6 else LMAA4
        dst = MAG1 if isinstance(src, IPv6Address) else MAG1_V4
        return self.feed(MessageReceived(src, dst, pba, self.policy.transport), now)

    def advance(self, now: float) -> list[Any]:
        """Fire every timer due at or before `now`, in deadline order."""
        out: list[Any] = []
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= now)
            if not due:
                return out
            at, key = due[0]
            del self.timers[key]
            out += self.feed(TimerFired(key), at)

    def registered(self, mac: bytes = MAC1, now: float = T0, **grant: Any) -> list[Any]:
        """Attach and accept: the MN ends REGISTERED with HNP1 (or what `grant` says)."""
        return self.attach(mac, now) + self.reply(now=now, **grant)


def of_type(actions: list[Any], kind: type) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def pbus(actions: list[Any]) -> list[BindingUpdate]:
    return [a.message for a in actions if isinstance(a, SendMessage) and isinstance(a.message, BindingUpdate)]


def ras(actions: list[Any]) -> list[SendRouterAdvertisement]:
    return of_type(actions, SendRouterAdvertisement)


def logged(actions: list[Any], name: str) -> bool:
    return any(getattr(a, 'event', None) == name for a in actions)


def stamp(pbu: BindingUpdate) -> int:
    """The PBU's Timestamp option value (it must have one)."""
    option = pbu.option(Timestamp)
    assert option is not None
    return option.timestamp


def hi_of(pbu: BindingUpdate) -> int:
    """The PBU's Handoff Indicator (it must have one)."""
    option = pbu.option(HandoffIndicatorOption)
    assert option is not None
    return int(option.indicator)


def att_of(pbu: BindingUpdate) -> int:
    """The PBU's Access Technology Type (it must have one)."""
    option = pbu.option(AccessTechnologyTypeOption)
    assert option is not None
    return int(option.access_technology)
