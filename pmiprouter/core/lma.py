"""The local mobility anchor: PBU in, PBA and data-plane intents out (pure; RFC 5213 §5).

`LocalMobilityAnchor.handle(event, now) -> list[Action]` is the only entry point. The PBA
of a registration that changes forwarding is sent only after the data plane reports the
change done (DataplaneApplied), so no MAG is told "accepted" before the tunnel exists.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.core.actions import Action, ApplyDataplane, CancelTimer, Log, SendEncoded, SendMessage, StartTimer
from pmiprouter.core.allocation import AddressAllocator
from pmiprouter.core.binding_cache import BceState, BindingCache, BindingCacheEntry, LookupKind, Trigger
from pmiprouter.core.errors import Rejection
from pmiprouter.core.lma_common import CommonRegistrations, CommonReply
from pmiprouter.core.lma_revocation import BindingRevocations
from pmiprouter.core.responder import answer_heartbeat, answer_home_registration, answer_malformed
from pmiprouter.core.grants import grant_of, gre_decision, link_local, stored_mn_id
from pmiprouter.core.events import (
    IPAddress,
    DataplaneApplied,
    DataplaneFailed,
    Event,
    MalformedReceived,
    MessageReceived,
    TimerFired,
    Transport,
)
from pmiprouter.core.ordering import check_order
from pmiprouter.core.persistence import entry_from_record, entry_to_record
from pmiprouter.core.pba import build_pba
from pmiprouter.core.policy import LmaPolicy, MobileNodeProfile
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.revocation import BRI_TIMER, Revocations
from pmiprouter.core.stats import Stats
from pmiprouter.core.validation import check_registration
from pmiprouter.dataplane.interface import MnRouteSpec, TunnelMode, TunnelSpec
from pmiprouter.mh.iana import BAStatus
from pmiprouter.mh.messages import (
    BindingAcknowledgement,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    BindingUpdate,
    Heartbeat,
)

LIFETIME = 'bce-lifetime'
DELETE = 'bce-delete'
NEW_BCE_WAIT = 'new-bce-wait'
_lma_spec = MnRouteSpec.lma  # the LMA's route spec, built once per registration


@dataclass
class Parked:
    """A PBU with HI=4 waiting MaxDelayBeforeNewBCEAssign for the old MAG's de-registration (§5.4.1.2)."""

    park_id: int
    request: ProxyRegistration
    entry_id: int


class LocalMobilityAnchor(CommonRegistrations, BindingRevocations):
    """The LMA engine. Mutable state lives here and in its BindingCache; nothing else."""

    def __init__(self, policy: LmaPolicy, restart_counter: int = 0) -> None:
        self.policy = policy
        self.restart_counter = restart_counter
        self.cache = BindingCache()
        self.addresses = AddressAllocator(policy, self.cache.by_prefix, self.cache.by_ipv4)
        self.stats = Stats()
        self.revocations = Revocations(timing=policy.bri_timing)  # outstanding BRIs (RFC 5846)
        self.tunnel_users: dict[TunnelSpec, int] = {}  # how many bindings use each tunnel (entry.tunnel)
        self.parked: dict[int, Parked] = {}
        self._ids = itertools.count(1)
        self._tickets = itertools.count(1)
        self._replies: dict[int, tuple[ProxyRegistration | CommonReply, BAStatus]] = {}  # binding id -> PBA owed after programming
        self._pending: dict[int, int] = {}  # data-plane ticket -> binding id
        self._ticket_of: dict[int, int] = {}  # binding id -> its outstanding ticket (only while programming)
        self.revision = 0  # bumped on every event: the daemon saves state when it moves
        self.dirty: set[int] = set()  # bindings changed (or removed) since the daemon last saved them
        self._addresses: dict[IPAddress, IPAddress] = {}  # one object per peer address, shared by its bindings
        # One object per peer address, found by identity first: the ports reuse one object per peer,
        # and hashing an ip_address runs Python code (it formats the integer).
        interned = self._addresses
        self._intern = ByIdentity[IPAddress, IPAddress](lambda address: interned.setdefault(address, address), 1024)
        self._lifetimes: dict[int, int] = {}
        self._shared_tunnels: dict[tuple[IPAddress, IPAddress, TunnelMode], TunnelSpec] = {}
        self._last_tunnel: tuple[IPAddress, IPAddress, TunnelMode, TunnelSpec] | None = None

    # ---- entry point -------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Action]:
        self.revision += 1
        # The two events of every registration skip the pattern match (the hot path).
        kind = type(event)
        if kind is MessageReceived:
            message = event.message  # type: ignore[union-attr]
            if type(message) is BindingUpdate and message.is_proxy:
                self.stats.received['pbu'] += 1
                return self._on_pbu(ProxyRegistration.parse(event), now)  # type: ignore[arg-type]
        elif kind is DataplaneApplied:
            return self._on_dataplane(event.ticket, None, now)  # type: ignore[union-attr]
        match event:
            case MessageReceived(message=BindingUpdate() as bu) if bu.is_proxy:
                self.stats.received['pbu'] += 1
                return self._on_pbu(ProxyRegistration.parse(event), now)
            case MessageReceived(message=BindingUpdate()):
                self.stats.received['bu'] += 1
                return answer_home_registration(event, self.stats)
            case MessageReceived(message=Heartbeat() as hb):
                self.stats.received['heartbeat'] += 1
                return answer_heartbeat(event, hb, self.restart_counter, self.stats)
            case MessageReceived(message=BindingRevocationAcknowledgement() as bra):
                self.stats.received['bra'] += 1
                return self._on_bra(event, bra)
            case MessageReceived(message=BindingRevocationIndication() as bri):
                self.stats.received['bri'] += 1
                return self._on_bri(event, bri)
            case MessageReceived():
                self.stats.received['other'] += 1
                return [Log('debug', 'message-ignored', {'type': type(event.message).__name__, 'src': event.src})]
            case MalformedReceived():
                return answer_malformed(event, self.stats)
            case TimerFired(key=(kind, ident)):
                return self._on_timer(kind, ident, now)
            case DataplaneApplied(ticket=ticket):
                return self._on_dataplane(ticket, None, now)
            case DataplaneFailed(ticket=ticket, reason=reason):
                return self._on_dataplane(ticket, reason, now)
        return [Log('debug', 'event-ignored', {'event': type(event).__name__})]

    # ---- PBU processing (RFC 5213 §5.3) ------------------------------------------------

    def _on_pbu(self, request: ProxyRegistration, now: float) -> list[Action]:
        try:
            profile = check_registration(request, self.policy, now)
            lookup = self.cache.lookup(request)
            if lookup.kind is LookupKind.IGNORE:
                self.stats.events['deregistration-unmatched'] += 1
                return [Log('info', 'deregistration-ignored', {'mn': request.mn_id.text if request.mn_id else ''})]
            if lookup.kind is LookupKind.WAIT and self.policy.wait_for_deregistration:
                assert lookup.entry is not None
                return self._park(request, lookup.entry, now)
            if lookup.kind is not LookupKind.UPDATE or lookup.entry is None:
                return self._new_session(request, profile, now)
            entry = lookup.entry
            check_order(request, entry, self.policy)
            if request.is_deregistration:
                return self._deregister(request, entry, now)
            if entry.state is BceState.DEREGISTERED:
                return self._update(request, entry, Trigger.REVIVE, now)
            # Interned addresses: the same MAG is usually the same object (ipaddress's == is Python code).
            same_mag = request.proxy_coa is entry.proxy_coa or request.proxy_coa == entry.proxy_coa
            trigger = Trigger.RENEW if same_mag else Trigger.HANDOFF
            return self._update(request, entry, trigger, now)
        except Rejection as rejection:
            return self._reject(request, rejection, now)

    def _reject(self, request: ProxyRegistration, rejection: Rejection, now: float) -> list[Action]:
        self.stats.events['pbu-rejected'] += 1
        fields = {'src': request.src, 'status': int(rejection.status), 'reason': rejection.reason}
        pba = build_pba(request, rejection.status, now, sequence=rejection.sequence)
        return [self._send_pba(request, pba), Log('info', 'pbu-rejected', fields)]

    def _new_session(self, request: ProxyRegistration, profile: MobileNodeProfile, now: float) -> list[Action]:
        assert request.mn_id is not None
        if request.is_deregistration:
            return []
        if request.gre_key is None:  # the usual case, without the call
            status, use_gre, tlv = BAStatus.ACCEPTED, False, False
        else:
            status, use_gre, tlv = gre_decision(self.policy, request)
        granted = self.addresses.allocate(request, profile)
        lifetime = self._granted_lifetime(request.lifetime_s)
        entry = BindingCacheEntry(
            binding_id=next(self._ids),
            mn_id=stored_mn_id(request.mn_id, profile),
            att=request.att or 0,
            mn_ll_id=request.mn_ll_id or b'',
            handoff=request.handoff or 0,
            proxy_coa=self._intern(request.proxy_coa),
            local=self._intern(request.dst),
            transport=request.transport,
            sport=request.sport,
            hnps=granted.prefixes,
            ipv4=granted.ipv4,
            ipv4_router=granted.ipv4_router,
            link_local=link_local(self.policy, request, None) if request.link_local is not None else None,
            lifetime_s=lifetime,
            expires_at=now + lifetime,
            timestamp=request.timestamp,
            sequence=request.sequence,
            gre_key_out=request.gre_key.key if use_gre and request.gre_key is not None else None,
            use_gre=use_gre,
            tlv=tlv,
            udp=request.transport is Transport.UDP4 and request.force_udp,
            registered_at=now,
        )
        self._open(entry)
        # Log lines after the data-plane change: with a synchronous change the PBA goes out
        # within _program's actions, and a log write (~0.2 ms in the daemon) need not delay it.
        return [*self._program(entry, request, status, now), self.session_created(entry)]

    def _open(self, entry: BindingCacheEntry) -> None:
        self.cache.add(entry)  # state: PROGRAMMING (the default) until the data plane reports
        self.dirty.add(entry.binding_id)
        self.stats.events['session-created'] += 1

    @staticmethod
    def session_created(entry: BindingCacheEntry) -> Log:
        return Log('info', 'session-created', {'mn': entry.mn_id.text, 'mag': entry.proxy_coa, 'id': entry.binding_id})

    def _update(self, request: ProxyRegistration, entry: BindingCacheEntry, trigger: Trigger, now: float) -> list[Action]:
        tunnel_before = self._tunnel(entry)
        if trigger is Trigger.REVIVE:
            actions: list[Action] = [CancelTimer((DELETE, entry.binding_id))]
        else:
            actions = []
        entry.advance(trigger)
        self.dirty.add(entry.binding_id)
        lifetime = self._granted_lifetime(request.lifetime_s)
        moved = trigger is Trigger.HANDOFF or (trigger is Trigger.REVIVE and request.proxy_coa != entry.proxy_coa)
        entry.proxy_coa, entry.local = self._intern(request.proxy_coa), self._intern(request.dst)
        entry.transport, entry.sport = request.transport, request.sport
        entry.handoff, entry.att = request.handoff or 0, request.att or entry.att
        entry.mn_ll_id = request.mn_ll_id or entry.mn_ll_id
        entry.timestamp = request.timestamp if request.timestamp is not None else entry.timestamp
        entry.sequence = request.sequence
        entry.link_local = link_local(self.policy, request, entry)
        entry.lifetime_s, entry.expires_at = lifetime, now + lifetime
        status = BAStatus.ACCEPTED
        if request.gre_key is not None and entry.use_gre:
            entry.gre_key_out = request.gre_key.key
        actions.append(StartTimer((LIFETIME, entry.binding_id), entry.expires_at))
        tunnel_after = self._tunnel(entry)
        if trigger is Trigger.RENEW and tunnel_after is not tunnel_before and tunnel_after != tunnel_before:
            # Same MAG, other tunnel (another LMA address, transport or GRE key): reprogram, or the
            # installed routes would no longer match the entry (and outlive its deletion).
            entry.advance(Trigger.HANDOFF)  # to PROGRAMMING: the PBA waits for the new routes, as on a move
            self.stats.events['session-retunnelled'] += 1
            log = Log('info', 'session-retunnelled', {'mn': entry.mn_id.text, 'mag': entry.proxy_coa})
            return [*actions, *self._program(entry, request, status, now), log]
        if trigger is Trigger.RENEW and entry.state is BceState.ACTIVE:
            self.stats.events['session-renewed'] += 1
            return actions + [self._send_pba(request, build_pba(request, status, now, grant_of(entry, self.policy)))]
        if trigger is Trigger.RENEW:  # still programming: answer this latest PBU when the data plane is done
            self._replies[entry.binding_id] = (request, status)
            return actions
        self.stats.events['session-handoff' if moved else 'session-revived'] += 1
        log = Log('info', 'session-moved' if moved else 'session-revived', {'mn': entry.mn_id.text, 'mag': entry.proxy_coa})
        return [*actions, *self._program(entry, request, status, now), log]

    def _deregister(self, request: ProxyRegistration, entry: BindingCacheEntry, now: float) -> list[Action]:
        if request.proxy_coa != entry.proxy_coa:  # §5.3.5: only the serving MAG may de-register
            self.stats.events['deregistration-not-serving-mag'] += 1
            return [Log('info', 'deregistration-ignored', {'mn': entry.mn_id.text, 'from': request.proxy_coa})]
        entry.timestamp = request.timestamp if request.timestamp is not None else entry.timestamp
        entry.sequence = request.sequence
        if entry.state is BceState.ACTIVE and self._selective(request, entry):
            return self._deregister_part(request, entry, now)
        entry.advance(Trigger.DEREGISTER)
        self.dirty.add(entry.binding_id)
        self._replies.pop(entry.binding_id, None)
        self.stats.events['session-deregistered'] += 1
        ticket = next(self._tickets)
        actions: list[Action] = [
            CancelTimer((LIFETIME, entry.binding_id)),
            StartTimer((DELETE, entry.binding_id), now + self.policy.min_delay_before_bce_delete_s),
            # §5.3.5: data for the MN is dropped during the wait: its routes go, the entry stays.
            ApplyDataplane(ticket, remove_routes=(self._route(entry),)),
            self._send_pba(request, build_pba(request, BAStatus.ACCEPTED, now, grant_of(entry, self.policy, lifetime_s=0))),
            Log('info', 'session-deregistered', {'mn': entry.mn_id.text, 'id': entry.binding_id}),
        ]
        # A PBU parked for this MN was waiting for exactly this: it is a handoff of this session.
        for parked in [p for p in self.parked.values() if p.entry_id == entry.binding_id]:
            del self.parked[parked.park_id]
            actions.append(CancelTimer((NEW_BCE_WAIT, parked.park_id)))
            actions += self._update(parked.request, entry, Trigger.REVIVE, now)
        return actions

    @staticmethod
    def _selective(request: ProxyRegistration, entry: BindingCacheEntry) -> bool:
        """RFC 5844 §3.1.2.5: a de-registration naming only the IPv4 or only the IPv6 part of a dual binding."""
        dual = bool(entry.hnps) and entry.ipv4 is not None
        return dual and (request.wants_ipv4 != request.wants_ipv6)

    def _deregister_part(self, request: ProxyRegistration, entry: BindingCacheEntry, now: float) -> list[Action]:
        """Release only the IPv4 HoA (or only the prefixes); the binding lives on with the rest."""
        self.cache.unindex_addresses(entry)
        if request.wants_ipv4:
            self.addresses.release((), entry.ipv4)
            entry.ipv4, entry.ipv4_router, part = None, None, 'ipv4'
        else:
            self.addresses.release(entry.hnps, None)
            entry.hnps, part = (), 'ipv6'
        self.cache.index_addresses(entry)
        entry.advance(Trigger.SELECTIVE)
        self.dirty.add(entry.binding_id)
        self.stats.events[f'selective-deregistration-{part}'] += 1
        log = Log('info', 'selective-deregistration', {'mn': entry.mn_id.text, 'part': part})
        return [*self._program(entry, request, BAStatus.ACCEPTED, now), log]

    def _park(self, request: ProxyRegistration, entry: BindingCacheEntry, now: float) -> list[Action]:
        existing = next((p for p in self.parked.values() if p.entry_id == entry.binding_id), None)
        if existing is not None:  # a retransmission: keep the first deadline, answer the latest PBU
            existing.request = request
            return []
        parked = Parked(next(self._ids), request, entry.binding_id)
        self.parked[parked.park_id] = parked
        self.stats.events['pbu-parked'] += 1
        deadline = now + self.policy.max_delay_before_new_bce_assign_s
        return [StartTimer((NEW_BCE_WAIT, parked.park_id), deadline), Log('info', 'pbu-parked', {'mn': entry.mn_id.text})]

    # ---- data plane --------------------------------------------------------------------

    def _tunnel(self, entry: BindingCacheEntry) -> TunnelSpec:
        """The entry's tunnel: shared by every MN of its MAG, except with per-MN GRE keys (RFC 5845)."""
        if entry.transport is Transport.IPV6:
            mode = TunnelMode.GRE6 if entry.use_gre else TunnelMode.IP6_ANY
        elif entry.use_gre:
            mode = TunnelMode.UDP4_TLV if entry.tlv else TunnelMode.GRE4
        else:
            mode = TunnelMode.UDP4 if entry.udp else TunnelMode.IP4
        if entry.use_gre:  # per-MN keys: a tunnel of its own
            return TunnelSpec(entry.local, entry.proxy_coa, mode, gre_key_in=entry.gre_key_in, gre_key_out=entry.gre_key_out)
        # Shared tunnels (a few: one per MAG and mode) are built once, not per registration;
        # the last one used is recognised by identity (interned addresses) without hashing.
        last = self._last_tunnel
        if last is not None and last[0] is entry.local and last[1] is entry.proxy_coa and last[2] is mode:
            return last[3]
        key = (entry.local, entry.proxy_coa, mode)
        spec = self._shared_tunnels.get(key)
        if spec is None:
            spec = self._shared_tunnels[key] = TunnelSpec(entry.local, entry.proxy_coa, mode)
        self._last_tunnel = (entry.local, entry.proxy_coa, mode, spec)
        return spec

    def _route(self, entry: BindingCacheEntry) -> MnRouteSpec:
        ipv4 = entry.ipv4.ip if entry.ipv4 is not None else None
        return _lma_spec(self._tunnel(entry), entry.hnps, ipv4, entry.mn_id.text)

    def _program(
        self, entry: BindingCacheEntry, request: ProxyRegistration, status: BAStatus, now: float
    ) -> list[Action]:
        """Point the MN's routes at its (shared) tunnel; the PBA follows DataplaneApplied."""
        route = self._route(entry)
        old = entry.tunnel
        ensure_tunnels = self._use_tunnel(entry, route.tunnel)
        remove_tunnels = self._release_tunnel(old) if old is not None and old is not entry.tunnel else ()
        ticket = next(self._tickets)
        stale = self._ticket_of.get(entry.binding_id)
        if stale is not None:  # superseded: its DataplaneApplied will find nothing
            self._pending.pop(stale, None)
        self._ticket_of[entry.binding_id] = ticket
        self._pending[ticket] = entry.binding_id
        self._replies[entry.binding_id] = (request, status)
        return [
            StartTimer((LIFETIME, entry.binding_id), entry.expires_at),
            ApplyDataplane(ticket, ensure_tunnels=ensure_tunnels, ensure_routes=(route,), remove_tunnels=remove_tunnels),
        ]

    def _use_tunnel(self, entry: BindingCacheEntry, tunnel: TunnelSpec) -> tuple[TunnelSpec, ...]:
        """Make `tunnel` the one `entry` is counted on (a count, not a set of ids: ~40 bytes less per
        binding); returns it when it has to be created (its first user). The caller releases the old one."""
        if entry.tunnel is not None and (entry.tunnel is tunnel or entry.tunnel == tunnel):
            return ()
        users = self.tunnel_users.get(tunnel, 0)
        self.tunnel_users[tunnel] = users + 1
        entry.tunnel = tunnel
        return () if users else (tunnel,)

    def _release_tunnel(self, tunnel: TunnelSpec) -> tuple[TunnelSpec, ...]:
        """One binding less on `tunnel`; returns it when that was the last one (remove it)."""
        users = self.tunnel_users.get(tunnel)
        if users is None:
            return ()
        if users > 1:
            self.tunnel_users[tunnel] = users - 1
            return ()
        del self.tunnel_users[tunnel]
        return (tunnel,)

    def _on_dataplane(self, ticket: int, failure: str | None, now: float) -> list[Action]:
        binding_id = self._pending.pop(ticket, None)
        entry = self.cache.entries.get(binding_id) if binding_id is not None else None
        if entry is None:
            return [] if failure is None else [Log('error', 'dataplane-failed', {'ticket': ticket, 'reason': failure})]
        self._ticket_of.pop(entry.binding_id, None)
        reply = self._replies.pop(entry.binding_id, None)
        if failure is not None:
            self.stats.events['dataplane-failed'] += 1
            actions: list[Action] = [Log('error', 'dataplane-failed', {'mn': entry.mn_id.text, 'reason': failure})]
            # 130 Insufficient resources: the LMA could not set up forwarding (RFC 6275 §6.1.8).
            if reply is not None:
                request = reply[0] if type(reply[0]) is not CommonReply else reply[0].request()
                actions.append(self._send_pba(request, build_pba(request, BAStatus.INSUFFICIENT_RESOURCES, now)))
            return actions + self._delete(entry, Trigger.DATAPLANE_FAILED)
        if entry.state is not BceState.PROGRAMMING:
            return []
        entry.advance(Trigger.DATAPLANE_APPLIED)
        self.dirty.add(entry.binding_id)
        if reply is None:
            return []
        request, status = reply
        if type(request) is CommonReply:
            return [SendEncoded(request.src, request.dst, self.common_pba(request, entry))]
        return [self._send_pba(request, build_pba(request, status, now, grant_of(entry, self.policy)))]

    # ---- timers ------------------------------------------------------------------------

    def _on_timer(self, kind: str, ident: int, now: float) -> list[Action]:
        if kind == BRI_TIMER:
            sends, finished = self.revocations.on_timer(ident, now)
            self.stats.sent['bri'] += sum(1 for a in sends if isinstance(a, SendMessage))
            return [*sends, *self._revoked(finished)] if finished is not None else list(sends)
        if kind == NEW_BCE_WAIT:
            parked = self.parked.pop(ident, None)
            if parked is None:
                return []
            self.stats.events['new-bce-after-wait'] += 1
            assert parked.request.mn_id is not None  # checked before it was parked
            profile = self.policy.profile(parked.request.mn_id.identifier)
            try:
                if profile is None:  # the policy changed while the PBU waited
                    raise Rejection(BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE, 'profile removed')
                return self._new_session(parked.request, profile, now)
            except Rejection as rejection:
                return self._reject(parked.request, rejection, now)
        entry = self.cache.entries.get(ident)
        if entry is None:
            return []
        if kind == LIFETIME and entry.state is not BceState.DEREGISTERED:
            self.stats.events['session-expired'] += 1
            return [Log('info', 'session-expired', {'mn': entry.mn_id.text})] + self._delete(entry, Trigger.LIFETIME_EXPIRED)
        if kind == DELETE and entry.state is BceState.DEREGISTERED:
            return self._delete(entry, Trigger.DELETE_TIMER)
        return []

    def _delete(self, entry: BindingCacheEntry, trigger: Trigger) -> list[Action]:
        """Remove the entry, its routes, its addresses and (if it was the last user) its tunnel."""
        routed = entry.state is not BceState.DEREGISTERED
        entry.advance(trigger)
        self.dirty.add(entry.binding_id)
        route = self._route(entry)
        self.cache.remove(entry)
        stale = self._ticket_of.pop(entry.binding_id, None)
        if stale is not None:
            self._pending.pop(stale, None)
        self._replies.pop(entry.binding_id, None)
        self.addresses.release(entry.hnps, entry.ipv4)
        remove_tunnels = self._release_tunnel(entry.tunnel) if entry.tunnel is not None else ()
        entry.tunnel = None
        self.stats.events['session-deleted'] += 1
        return [
            CancelTimer((LIFETIME, entry.binding_id)),
            CancelTimer((DELETE, entry.binding_id)),
            ApplyDataplane(next(self._tickets), remove_routes=(route,) if routed else (), remove_tunnels=remove_tunnels),
        ]

    # ---- helpers -----------------------------------------------------------------------

    def _granted_lifetime(self, requested_s: int) -> int:
        lifetime = min(requested_s, self.policy.max_lifetime_s)
        lifetime -= lifetime % 4
        return self._lifetimes.setdefault(lifetime, lifetime)  # one int object per value, not one per binding

    def _send_pba(self, request: ProxyRegistration, pba: BindingAcknowledgement) -> SendMessage:
        self.stats.sent['pba'] += 1
        self.stats.pba_status[int(pba.status)] += 1
        return SendMessage(request.src, request.dst, pba, request.transport, request.sport)

    # ---- configuration -----------------------------------------------------------------

    def reconfigure(self, policy: LmaPolicy) -> list[Action]:
        """Adopt a new policy (SIGHUP); existing bindings keep their addresses until they end."""
        self.policy = policy
        self.revocations.timing = policy.bri_timing  # BRIs already out keep theirs
        self.addresses = AddressAllocator(policy, self.cache.by_prefix, self.cache.by_ipv4)
        for entry in self.cache.entries.values():
            self.addresses.restore(entry.hnps, entry.ipv4)
        self.revision += 1
        return [Log('info', 'policy-reloaded', {'profiles': len(policy.profiles), 'bindings': len(self.cache)})]

    # ---- persistence -------------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        """Every binding as a JSON-able record (the daemon's state file)."""
        return [entry_to_record(entry) for entry in self.bindings()]

    def restore(self, records: list[dict[str, Any]], now: float) -> list[Action]:
        """Re-create bindings saved by `export` before a restart; expired or damaged ones are dropped.

        Returns the actions that re-program their tunnels and routes and restart their timers.
        """
        actions: list[Action] = []
        for record in records:
            try:
                entry = entry_from_record(record)
            except (KeyError, ValueError, TypeError) as exc:
                actions.append(Log('warn', 'state-record-dropped', {'error': repr(exc)}))
                continue
            if entry.expires_at <= now or entry.binding_id in self.cache.entries:
                continue
            profile = self.policy.profile(entry.mn_id.identifier)
            if profile is not None:  # as a registration stores it (the MN-ID shared with the profile)
                entry.mn_id = stored_mn_id(entry.mn_id, profile)
            self.cache.add(entry)
            self.dirty.add(entry.binding_id)
            self.addresses.restore(entry.hnps, entry.ipv4)
            self._ids = itertools.count(max(next(self._ids), entry.binding_id + 1))
            route = self._route(entry)
            tunnels = self._use_tunnel(entry, route.tunnel)
            if entry.state is BceState.DEREGISTERED:
                actions.append(StartTimer((DELETE, entry.binding_id), now + self.policy.min_delay_before_bce_delete_s))
                actions.append(ApplyDataplane(next(self._tickets), ensure_tunnels=tunnels))
            else:
                actions.append(StartTimer((LIFETIME, entry.binding_id), entry.expires_at))
                actions.append(ApplyDataplane(next(self._tickets), ensure_tunnels=tunnels, ensure_routes=(route,)))
        self.revision += 1
        actions.append(Log('info', 'state-restored', {'bindings': len(self.cache)}))
        return actions

    # ---- snapshot for show commands ----------------------------------------------------

    def bindings(self) -> list[BindingCacheEntry]:
        """The binding cache, oldest first (read-only use)."""
        return sorted(self.cache.entries.values(), key=lambda e: e.binding_id)
