"""The LMA's common PBU, acted on from its bytes: a new session or a renewal (pure; ADR 0012).

`CommonRegistrations` is part of `LocalMobilityAnchor` (a mixin, kept apart because it is the
one place that states some of the engine's rules a second time, for this shape only). It uses
the engine's own pieces (checks, allocator, entry, indexes, route spec, order check) and does
what `handle` would do with the same PBU, without building message, request, action or event
objects. Everything else returns None, with nothing changed, and goes to `handle`.
tests/runtime/test_common_path.py holds the two paths to the same bytes and state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from ipaddress import IPv6Address
from typing import NamedTuple, Protocol

from pmiprouter.core.actions import Action, ApplyDataplane
from pmiprouter.core.allocation import AddressAllocator
from pmiprouter.core.binding_cache import BceState, BindingCache, BindingCacheEntry, Trigger
from pmiprouter.core.common_pbu import CommonPbu, accepted_pba
from pmiprouter.core.errors import Rejection
from pmiprouter.core.events import DataplaneFailed, Event, IPAddress, MessageReceived, Transport
from pmiprouter.core.ordering import check_order
from pmiprouter.core.policy import LmaPolicy, MobileNodeProfile
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.stats import Stats
from pmiprouter.core.validation import common_registration_allowed
from pmiprouter.dataplane.interface import MnRouteSpec, TunnelSpec
from pmiprouter.mh.codec import decode
from pmiprouter.mh.iana import BAStatus


_new_tuple = tuple.__new__  # a named tuple built without its Python-level __new__ (once per PBU)


class CommonSession(NamedTuple):
    """A session `register_common` opened: what the caller installs, and the ticket it used."""

    entry: BindingCacheEntry
    route: MnRouteSpec
    tunnels: tuple[TunnelSpec, ...]  # to create first (the MAG's first binding)
    ticket: int


class CommonReply(NamedTuple):
    """The PBA owed to a common PBU while a worker thread installs its route (kept where the
    engine's path keeps the parsed request)."""

    pbu: CommonPbu
    wire: bytes
    src: IPv6Address
    dst: IPv6Address

    def request(self) -> ProxyRegistration:
        """The PBU as the engine parses it (a rejection's PBA echoes what the PBU carried)."""
        return ProxyRegistration.parse(MessageReceived(self.src, self.dst, decode(self.wire), Transport.IPV6))


class CommonRenewal(NamedTuple):
    """A binding `register_common` renewed: the caller restarts its lifetime timer and sends the PBA."""

    entry: BindingCacheEntry
    pba: bytes


class _Engine(Protocol):
    """What of LocalMobilityAnchor the common path uses."""

    policy: LmaPolicy
    cache: BindingCache
    addresses: AddressAllocator
    stats: Stats
    dirty: set[int]
    revision: int
    _ids: Iterator[int]
    _tickets: Iterator[int]
    _replies: dict[int, tuple[ProxyRegistration | CommonReply, BAStatus]]
    _pending: dict[int, int]
    _ticket_of: dict[int, int]
    _intern: Callable[[IPAddress], IPAddress]

    def handle(self, event: Event, now: float) -> list[Action]: ...

    def _open(self, entry: BindingCacheEntry) -> None: ...

    def _route(self, entry: BindingCacheEntry) -> MnRouteSpec: ...

    def _use_tunnel(self, entry: BindingCacheEntry, tunnel: TunnelSpec) -> tuple[TunnelSpec, ...]: ...

    def _granted_lifetime(self, requested_s: int) -> int: ...


class CommonRegistrations:
    """LocalMobilityAnchor's methods for the common PBU."""

    def register_common(
        self: _Engine, pbu: CommonPbu, src: IPv6Address, dst: IPv6Address, now: float
    ) -> CommonSession | CommonRenewal | None:
        """What `handle` would do with a common PBU from `src` to `dst`, without the message objects,
        when it is one of the two usual cases:

        - a new MN: the session is opened (the same checks, entry, addresses, tunnel count,
          counters and ticket); the caller installs its tunnels and route, then calls
          `common_applied` for the PBA (a synchronous data plane), `common_failed`, or
          `common_programming` (a worker thread);
        - a lifetime extension from the MAG serving the MN's binding on this interface (RFC 5213
          §5.3.3): the binding is renewed; the caller restarts its lifetime timer and sends the PBA.

        None when `handle` must take the PBU (nothing changed then): a handover, another
        interface, a binding not active, a check that would reject it, no prefix left.
        """
        profile = self.policy.profiles.get(pbu.identifier)
        if profile is None:  # §5.3.1 step 7: the engine answers
            return None
        mn_id = profile.nai  # what the MN's bindings keep (stored_mn_id), equal to the PBU's
        held = self.cache.by_mn.get(mn_id)
        if held is not None:  # §5.4.1: not NEW
            return _renew(self, held, pbu, profile, src, dst, now)
        if not common_registration_allowed(profile, src, pbu.timestamp, self.policy, now):
            return None
        prefixes = self.addresses.any_prefix(profile)
        if prefixes is None:
            return None
        self.revision += 1
        self.stats.received['pbu'] += 1
        lifetime = self._granted_lifetime(pbu.lifetime_s)
        entry = BindingCacheEntry(  # positional (binding_id ... sequence, then gre_key_out ... registered_at): once per PBU
            next(self._ids), mn_id, pbu.att, pbu.mn_ll_id, pbu.handoff, self._intern(src), self._intern(dst),
            Transport.IPV6, None, prefixes, None, None, None, lifetime, now + lifetime, pbu.timestamp, pbu.sequence,
            None, False, False, False, BceState.PROGRAMMING, now,
        )
        self._open(entry)
        route = self._route(entry)
        tunnels = self._use_tunnel(entry, route.tunnel)
        return _new_tuple(CommonSession, (entry, route, tunnels, next(self._tickets)))

    def common_applied(self: _Engine, session: CommonSession, pbu: CommonPbu, now: float) -> bytes:
        """The session's route is in place (a synchronous data plane): it is active; its PBA."""
        self.revision += 1
        entry = session.entry
        entry.advance(Trigger.DATAPLANE_APPLIED)
        return _pba(self, pbu, entry)

    def common_programming(self: _Engine, session: CommonSession, reply: CommonReply) -> ApplyDataplane:
        """The session's route goes to a worker thread: as for any PBU, the PBA (`reply`) is owed
        until DataplaneApplied (or DataplaneFailed) comes back through `handle`."""
        binding_id = session.entry.binding_id
        self._ticket_of[binding_id] = session.ticket
        self._pending[session.ticket] = binding_id
        self._replies[binding_id] = (reply, BAStatus.ACCEPTED)
        return ApplyDataplane(session.ticket, ensure_tunnels=session.tunnels, ensure_routes=(session.route,))

    def common_failed(self: _Engine, session: CommonSession, reply: CommonReply, reason: str, now: float) -> list[Action]:
        """Installing the session's route failed (a synchronous data plane): what
        `handle(DataplaneFailed)` does (PBA 130, the session deleted)."""
        CommonRegistrations.common_programming(self, session, reply)
        return self.handle(DataplaneFailed(session.ticket, reason), now)

    def common_pba(self: _Engine, reply: CommonReply, entry: BindingCacheEntry) -> bytes:
        """The PBA owed to `reply` now that its session's route is in place (a worker thread's)."""
        return _pba(self, reply.pbu, entry)


def _renew(
    engine: _Engine, held: int | tuple[int, ...], pbu: CommonPbu, profile: MobileNodeProfile,
    src: IPv6Address, dst: IPv6Address, now: float,
) -> CommonRenewal | None:
    """`_update(request, entry, Trigger.RENEW)` for a common PBU, when that is what `_on_pbu` would
    come to: the binding named by MN-ID, ATT and link-layer ID (§5.4.1.2), active, from the MAG
    and to the address it already uses over IPv6, so the tunnel stays; plain IPv6 tunnelling, so
    the PBA has no GRE, T or UDP part, and one prefix (the PBA template has one)."""
    ll_id = pbu.mn_ll_id
    if not ll_id:  # §5.4.1.3 (MN-ID only): the Handoff Indicator decides, the engine's case
        return None
    entry = None
    for binding_id in (held,) if isinstance(held, int) else held:  # the MN's bindings, in lookup order
        candidate = engine.cache.entries[binding_id]
        if candidate.att == pbu.att and candidate.mn_ll_id == ll_id:
            entry = candidate
            break
    if (
        entry is None
        or entry.state is not BceState.ACTIVE
        or entry.proxy_coa is not src
        or entry.local is not dst
        or entry.transport is not Transport.IPV6
        or entry.use_gre or entry.tlv or entry.udp
        or len(entry.hnps) != 1
        or not common_registration_allowed(profile, src, pbu.timestamp, engine.policy, now)
    ):
        return None
    try:
        check_order(pbu, entry, engine.policy)
    except Rejection:
        return None
    engine.revision += 1
    engine.stats.received['pbu'] += 1
    entry.advance(Trigger.RENEW)
    engine.dirty.add(entry.binding_id)
    lifetime = engine._granted_lifetime(pbu.lifetime_s)
    entry.handoff = pbu.handoff
    if pbu.timestamp is not None:
        entry.timestamp = pbu.timestamp
    entry.sequence = pbu.sequence
    entry.lifetime_s, entry.expires_at = lifetime, now + lifetime
    engine.stats.events['session-renewed'] += 1
    return _new_tuple(CommonRenewal, (entry, _pba(engine, pbu, entry)))


def _pba(engine: _Engine, pbu: CommonPbu, entry: BindingCacheEntry) -> bytes:
    engine.stats.sent['pba'] += 1
    engine.stats.pba_status[0] += 1
    return accepted_pba(pbu, entry.hnps[0], entry.lifetime_s)
