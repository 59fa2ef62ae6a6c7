"""The LMA's binding cache: entries, their state table, indexes and the lookup rules (pure).

RFC 5213 §5.1 (entry contents), §5.3 (registration, renewal, handoff, de-registration),
§5.4.1 (which entry a PBU refers to, multihoming), RFC 5844 §3.1.2.7 (IPv4 HoA as key).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import NamedTuple

from pmiprouter.core.errors import InternalInvariantError, Rejection
from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.dataplane.interface import TunnelSpec
from pmiprouter.mh.iana import BAStatus, HandoffIndicator
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier


class BceState(enum.Enum):
    """Life of a binding cache entry."""

    PROGRAMMING = 'programming'  # accepted; the data plane is being set up, the PBA waits for it
    ACTIVE = 'active'
    DEREGISTERED = 'deregistered'  # de-registered; held MinDelayBeforeBCEDelete, data dropped (§5.3.5)
    DELETED = 'deleted'

    # Members are singletons compared by identity: the identity hash (C) agrees with equality
    # and replaces Enum's Python-level one (TRANSITIONS is looked up on every state change).
    __hash__ = object.__hash__


class Trigger(enum.Enum):
    REGISTER = 'register'  # new mobility session accepted
    DATAPLANE_APPLIED = 'dataplane-applied'
    DATAPLANE_FAILED = 'dataplane-failed'
    RENEW = 'renew'  # lifetime extension from the same MAG
    HANDOFF = 'handoff'  # lifetime extension from another MAG
    DEREGISTER = 'deregister'
    REVIVE = 'revive'  # a valid PBU during the MinDelayBeforeBCEDelete wait
    DELETE_TIMER = 'delete-timer'
    LIFETIME_EXPIRED = 'lifetime-expired'
    SELECTIVE = 'selective'  # RFC 5844 §3.1.2.5: only the IPv4 or only the IPv6 part removed
    REVOKED = 'revoked'  # RFC 5846: the MAG acknowledged the revocation, or never answered

    __hash__ = object.__hash__  # as BceState's


# Every allowed (state, trigger) pair; anything else is a bug (InternalInvariantError).
TRANSITIONS: dict[tuple[BceState | None, Trigger], BceState] = {
    (None, Trigger.REGISTER): BceState.PROGRAMMING,
    (BceState.PROGRAMMING, Trigger.DATAPLANE_APPLIED): BceState.ACTIVE,
    (BceState.PROGRAMMING, Trigger.DATAPLANE_FAILED): BceState.DELETED,
    (BceState.PROGRAMMING, Trigger.RENEW): BceState.PROGRAMMING,
    (BceState.PROGRAMMING, Trigger.HANDOFF): BceState.PROGRAMMING,
    (BceState.PROGRAMMING, Trigger.DEREGISTER): BceState.DEREGISTERED,
    (BceState.PROGRAMMING, Trigger.LIFETIME_EXPIRED): BceState.DELETED,
    (BceState.ACTIVE, Trigger.RENEW): BceState.ACTIVE,
    (BceState.ACTIVE, Trigger.HANDOFF): BceState.PROGRAMMING,
    (BceState.ACTIVE, Trigger.SELECTIVE): BceState.PROGRAMMING,
    (BceState.ACTIVE, Trigger.DEREGISTER): BceState.DEREGISTERED,
    (BceState.ACTIVE, Trigger.LIFETIME_EXPIRED): BceState.DELETED,
    (BceState.DEREGISTERED, Trigger.REVIVE): BceState.PROGRAMMING,
    (BceState.DEREGISTERED, Trigger.DEREGISTER): BceState.DEREGISTERED,
    (BceState.DEREGISTERED, Trigger.DELETE_TIMER): BceState.DELETED,
    (BceState.DEREGISTERED, Trigger.DATAPLANE_APPLIED): BceState.DEREGISTERED,
    (BceState.DEREGISTERED, Trigger.DATAPLANE_FAILED): BceState.DEREGISTERED,
    (BceState.PROGRAMMING, Trigger.REVOKED): BceState.DELETED,
    (BceState.ACTIVE, Trigger.REVOKED): BceState.DELETED,
    (BceState.DEREGISTERED, Trigger.REVOKED): BceState.DELETED,
}


def advance(state: BceState | None, trigger: Trigger) -> BceState:
    """The state after `trigger`; raises InternalInvariantError for a pair not in TRANSITIONS."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise InternalInvariantError(f'no transition from {state} on {trigger}') from None


NO_LL_ID = b''


@dataclass(slots=True)
class BindingCacheEntry:
    """One mobility session (RFC 5213 §5.1): one MN interface, its prefixes and IPv4 HoA."""

    binding_id: int
    mn_id: MobileNodeIdentifier
    att: int
    mn_ll_id: bytes  # NO_LL_ID when none was received (RFC 5213 stores ALL_ZERO)
    handoff: int
    proxy_coa: IPAddress
    local: IPAddress  # our address the MAG talks to (the LMAA)
    transport: Transport
    sport: int | None
    hnps: tuple[IPv6Network, ...]
    ipv4: Ipv4HomeAddress | None
    ipv4_router: IPv4Address | None
    link_local: IPv6Address | None
    lifetime_s: int
    expires_at: float
    timestamp: int | None
    sequence: int
    gre_key_out: int | None = None  # downlink key the MAG chose (LMA -> MAG)
    use_gre: bool = False
    tlv: bool = False
    udp: bool = False  # IPv4-UDP encapsulation forced by the MAG (F flag, RFC 5844 §4.1.3.1)
    state: BceState = BceState.PROGRAMMING
    registered_at: float = 0.0
    # The (often shared) tunnel this binding is counted on in LocalMobilityAnchor.tunnel_users.
    tunnel: TunnelSpec | None = field(default=None, compare=False, repr=False)

    @classmethod
    def over_ipv6(
        cls, binding_id: int, mn_id: MobileNodeIdentifier, att: int, mn_ll_id: bytes, handoff: int, proxy_coa: IPAddress,
        local: IPAddress, hnps: tuple[IPv6Network, ...], lifetime_s: int, now: float, timestamp: int | None, sequence: int,
    ) -> BindingCacheEntry:
        """A new IPv6-only binding over IPv6 transport without GRE (the common PBU's), registered `now`.
        Positional, in the fields' order: keywords for 18 fields cost ~0.8 us per registration."""
        return cls(binding_id, mn_id, att, mn_ll_id, handoff, proxy_coa, local, Transport.IPV6, None, hnps, None, None, None,
                   lifetime_s, now + lifetime_s, timestamp, sequence, None, False, False, False, BceState.PROGRAMMING, now)

    def advance(self, trigger: Trigger) -> BceState:
        self.state = advance(self.state, trigger)
        return self.state

    @property
    def gre_key_in(self) -> int | None:
        """The uplink GRE key we chose (MAG -> LMA): the binding id, unique per binding (RFC 5845
        §5.2). Derived rather than stored: one slot less keeps the entry in a smaller size class."""
        return self.binding_id if self.use_gre else None


class LookupKind(enum.Enum):
    NEW = 'new'  # create a mobility session
    UPDATE = 'update'  # the PBU refers to `entry`
    WAIT = 'wait'  # HI=4: wait MaxDelayBeforeNewBCEAssign for `entry`'s old MAG to de-register
    IGNORE = 'ignore'  # a de-registration that matches nothing: silently ignored (§5.3.5)


class Lookup(NamedTuple):
    """The outcome of a lookup (a named tuple: one is built per PBU)."""

    kind: LookupKind
    entry: BindingCacheEntry | None = None


@dataclass
class BindingCache:
    """Entries by id, with the indexes the §5.4.1 lookups need."""

    entries: dict[int, BindingCacheEntry] = field(default_factory=dict)
    # One id for the usual single-interface MN, a tuple when it is multihomed (a set per MN
    # would cost ~200 bytes for every binding).
    by_mn: dict[MobileNodeIdentifier, int | tuple[int, ...]] = field(default_factory=dict)
    by_prefix: dict[IPv6Network, int] = field(default_factory=dict)
    by_ipv4: dict[IPv4Address, int] = field(default_factory=dict)

    def add(self, entry: BindingCacheEntry) -> None:
        binding_id = entry.binding_id
        self.entries[binding_id] = entry
        ids = self.by_mn.setdefault(entry.mn_id, binding_id)  # one hash of the MN-ID (Python code)
        if ids is not binding_id:  # the MN's next interface (multihoming)
            self.by_mn[entry.mn_id] = (*self._ids(ids), binding_id)
        self.index_addresses(entry)

    def index_addresses(self, entry: BindingCacheEntry) -> None:
        for prefix in entry.hnps:
            self.by_prefix[prefix] = entry.binding_id
        if entry.ipv4 is not None:
            self.by_ipv4[entry.ipv4.ip] = entry.binding_id

    def unindex_addresses(self, entry: BindingCacheEntry) -> None:
        for prefix in entry.hnps:
            if self.by_prefix.get(prefix) == entry.binding_id:
                del self.by_prefix[prefix]
        if entry.ipv4 is not None and self.by_ipv4.get(entry.ipv4.ip) == entry.binding_id:
            del self.by_ipv4[entry.ipv4.ip]

    def remove(self, entry: BindingCacheEntry) -> None:
        self.entries.pop(entry.binding_id, None)
        ids = self.by_mn.get(entry.mn_id)
        if ids is not None:
            rest = tuple(i for i in self._ids(ids) if i != entry.binding_id)
            if not rest:
                del self.by_mn[entry.mn_id]
            else:
                self.by_mn[entry.mn_id] = rest[0] if len(rest) == 1 else rest
        self.unindex_addresses(entry)

    @staticmethod
    def _ids(ids: int | tuple[int, ...]) -> tuple[int, ...]:
        return (ids,) if isinstance(ids, int) else ids

    def of_mn(self, mn_id: MobileNodeIdentifier) -> list[BindingCacheEntry]:
        ids = self.by_mn.get(mn_id)
        return [] if ids is None else [self.entries[i] for i in self._ids(ids)]

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, request: ProxyRegistration) -> Lookup:
        """Which entry a PBU refers to: RFC 5213 §5.4.1.1-§5.4.1.3 and RFC 5844 §3.1.2.7.

        Raises:
            Rejection: 155 (prefix bound to another MN) or 159 (prefix sets differ).
        """
        assert request.mn_id is not None
        ipv4 = request.ipv4_request
        if request.non_zero_prefixes or (ipv4 is not None and int(ipv4.address) and not request.hnps):
            return self._lookup_by_address(request)
        if request.mn_ll_id is not None:
            return self._lookup_by_link_layer_id(request)
        return self._lookup_by_identifier(request)

    def _new(self, request: ProxyRegistration) -> Lookup:
        return Lookup(LookupKind.IGNORE if request.is_deregistration else LookupKind.NEW)

    def _lookup_by_address(self, request: ProxyRegistration) -> Lookup:
        """Case A (§5.4.1.1): a NON_ZERO prefix (or IPv4 HoA) names the session."""
        wanted = {h.network for h in request.non_zero_prefixes}
        found = next((self.by_prefix[p] for p in wanted if p in self.by_prefix), None)
        ipv4 = request.ipv4_request
        if found is None and not wanted and ipv4 is not None:
            found = self.by_ipv4.get(ipv4.address)
        if found is None:
            return self._new(request)
        entry = self.entries[found]
        if entry.mn_id != request.mn_id:
            raise Rejection(BAStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, 'prefix bound to another mobile node')
        if wanted and wanted != set(entry.hnps):
            raise Rejection(BAStatus.BCE_PBU_PREFIX_SET_DO_NOT_MATCH, 'prefix set differs from the binding')
        same_att = request.att == entry.att
        if (
            (request.mn_ll_id is not None and request.mn_ll_id == entry.mn_ll_id and same_att)
            or request.handoff == HandoffIndicator.HANDOFF_BETWEEN_INTERFACES
            or (
                request.mn_ll_id is None
                and entry.mn_ll_id == NO_LL_ID
                and same_att
                and request.handoff == HandoffIndicator.HANDOFF_BETWEEN_MAGS_SAME_INTERFACE
            )
            or (request.proxy_coa == entry.proxy_coa and same_att)
        ):
            return Lookup(LookupKind.UPDATE, entry)
        return self._new(request)

    def _lookup_by_link_layer_id(self, request: ProxyRegistration) -> Lookup:
        """Case B (§5.4.1.2): MN-ID, ATT and MN-LL-ID name the session."""
        assert request.mn_id is not None
        entries = self.of_mn(request.mn_id)
        for entry in entries:
            if entry.att == request.att and entry.mn_ll_id == request.mn_ll_id:
                return Lookup(LookupKind.UPDATE, entry)
        return self._by_handoff(request, entries, (HandoffIndicator.HANDOFF_BETWEEN_INTERFACES,))

    def _lookup_by_identifier(self, request: ProxyRegistration) -> Lookup:
        """Case C (§5.4.1.3): only the MN-ID is known."""
        assert request.mn_id is not None
        entries = self.of_mn(request.mn_id)
        allowed = (HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, HandoffIndicator.HANDOFF_BETWEEN_MAGS_SAME_INTERFACE)
        return self._by_handoff(request, entries, allowed)

    def _by_handoff(self, request: ProxyRegistration, entries: list[BindingCacheEntry], update_on: tuple[int, ...]) -> Lookup:
        if len(entries) == 1:
            if request.handoff in update_on:
                return Lookup(LookupKind.UPDATE, entries[0])
            if request.handoff == HandoffIndicator.HANDOFF_STATE_UNKNOWN and not request.is_deregistration:
                return Lookup(LookupKind.WAIT, entries[0])
        return self._new(request)
