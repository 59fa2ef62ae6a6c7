"""The LMA's processing of Proxy Binding Updates (pure; RFC 5213 §5.3, §5.4, RFC 5844 §3.1).

Every PBU is checked (validation.py, each rejection naming its §5.3.1 step), matched to a
binding (binding_cache.lookup, §5.4.1), and then opens a session, renews, moves, revives or
de-registers it. A PBU with HI=4 for an MN still bound elsewhere waits
MaxDelayBeforeNewBCEAssign for the old MAG's de-registration (§5.4.1.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from pmiprouter.core.actions import Action, CancelTimer, Log, StartTimer
from pmiprouter.core.binding_cache import BceState, BindingCacheEntry, LookupKind, Trigger
from pmiprouter.core.errors import Rejection
from pmiprouter.core.events import Transport
from pmiprouter.core.grants import grant_of, gre_decision, link_local, stored_mn_id
from pmiprouter.core.lma_sessions import DELETE, LIFETIME, NEW_BCE_WAIT, Sessions
from pmiprouter.core.ordering import check_order
from pmiprouter.core.pba import build_pba
from pmiprouter.core.policy import MobileNodeProfile
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.validation import check_registration
from pmiprouter.mh.iana import BAStatus


@dataclass
class Parked:
    """A PBU with HI=4 waiting MaxDelayBeforeNewBCEAssign for the old MAG's de-registration (§5.4.1.2)."""

    park_id: int
    request: ProxyRegistration
    entry_id: int


class Registrations:
    """PBU in, the binding's new state and the PBA (now, or once the data plane is done) out."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.parked: dict[int, Parked] = {}

    def on_pbu(self, request: ProxyRegistration, now: float) -> list[Action]:
        sessions = self.sessions
        try:
            profile = check_registration(request, sessions.policy, now)
            lookup = sessions.cache.lookup(request)
            if lookup.kind is LookupKind.IGNORE:
                sessions.stats.events['deregistration-unmatched'] += 1
                return [Log('info', 'deregistration-ignored', {'mn': request.mn_id.text if request.mn_id else ''})]
            if lookup.kind is LookupKind.WAIT and sessions.policy.wait_for_deregistration:
                assert lookup.entry is not None
                return self._park(request, lookup.entry, now)
            if lookup.kind is not LookupKind.UPDATE or lookup.entry is None:
                return self.new_session(request, profile, now)
            entry = lookup.entry
            check_order(request, entry, sessions.policy)
            if request.is_deregistration:
                return self._deregister(request, entry, now)
            if entry.state is BceState.DEREGISTERED:
                return self._update(request, entry, Trigger.REVIVE, now)
            # Interned addresses: the same MAG is usually the same object (ipaddress's == is Python code).
            same_mag = request.proxy_coa is entry.proxy_coa or request.proxy_coa == entry.proxy_coa
            return self._update(request, entry, Trigger.RENEW if same_mag else Trigger.HANDOFF, now)
        except Rejection as rejection:
            return self.reject(request, rejection, now)

    def reject(self, request: ProxyRegistration, rejection: Rejection, now: float) -> list[Action]:
        self.sessions.stats.events['pbu-rejected'] += 1
        fields = {'src': request.src, 'status': int(rejection.status), 'reason': rejection.reason}
        pba = build_pba(request, rejection.status, now, sequence=rejection.sequence)
        return [self.sessions.send_pba(request, pba), Log('info', 'pbu-rejected', fields)]

    def new_session(self, request: ProxyRegistration, profile: MobileNodeProfile, now: float) -> list[Action]:
        assert request.mn_id is not None
        if request.is_deregistration:
            return []
        sessions, books = self.sessions, self.sessions.books
        if request.gre_key is None:  # the usual case, without the call
            status, use_gre, tlv = BAStatus.ACCEPTED, False, False
        else:
            status, use_gre, tlv = gre_decision(sessions.policy, request)
        granted = sessions.addresses.allocate(request, profile)
        lifetime = sessions.lifetime(request.lifetime_s)
        entry = BindingCacheEntry(
            binding_id=next(books.ids),
            mn_id=stored_mn_id(request.mn_id, profile),
            att=request.att or 0,
            mn_ll_id=request.mn_ll_id or b'',
            handoff=request.handoff or 0,
            proxy_coa=books.intern(request.proxy_coa),
            local=books.intern(request.dst),
            transport=request.transport,
            sport=request.sport,
            hnps=granted.prefixes,
            ipv4=granted.ipv4,
            ipv4_router=granted.ipv4_router,
            link_local=link_local(sessions.policy, request, None) if request.link_local is not None else None,
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
        sessions.open(entry)
        actions = sessions.program(entry, request, status)
        if sessions.log_sessions:
            actions.append(sessions.created(entry))
        return actions

    def _update(self, request: ProxyRegistration, entry: BindingCacheEntry, trigger: Trigger, now: float) -> list[Action]:
        sessions, books = self.sessions, self.sessions.books
        tunnel_before = sessions.forwarding.tunnel(entry)
        actions: list[Action] = [CancelTimer((DELETE, entry.binding_id))] if trigger is Trigger.REVIVE else []
        entry.advance(trigger)
        books.dirty.add(entry.binding_id)
        lifetime = sessions.lifetime(request.lifetime_s)
        moved = trigger is Trigger.HANDOFF or (trigger is Trigger.REVIVE and request.proxy_coa != entry.proxy_coa)
        entry.proxy_coa, entry.local = books.intern(request.proxy_coa), books.intern(request.dst)
        entry.transport, entry.sport = request.transport, request.sport
        entry.handoff, entry.att = request.handoff or 0, request.att or entry.att
        entry.mn_ll_id = request.mn_ll_id or entry.mn_ll_id
        entry.timestamp = request.timestamp if request.timestamp is not None else entry.timestamp
        entry.sequence = request.sequence
        entry.link_local = link_local(sessions.policy, request, entry)
        expired_at = entry.expires_at
        entry.lifetime_s, entry.expires_at = lifetime, now + lifetime
        status = BAStatus.ACCEPTED
        if request.gre_key is not None and entry.use_gre:
            entry.gre_key_out = request.gre_key.key
        # A live lifetime timer re-arms itself when it fires before the entry expires (LocalMobilityAnchor._on_timer):
        # it is started again only when it was stopped (a de-registered entry revived) or comes forward.
        if trigger is Trigger.REVIVE or entry.expires_at < expired_at:
            actions.append(StartTimer((LIFETIME, entry.binding_id), entry.expires_at))
        tunnel_after = sessions.forwarding.tunnel(entry)
        if trigger is Trigger.RENEW and tunnel_after is not tunnel_before and tunnel_after != tunnel_before:
            # Same MAG, other tunnel (another LMA address, transport or GRE key): reprogram, or the
            # installed routes would no longer match the entry (and outlive its deletion).
            entry.advance(Trigger.HANDOFF)  # to PROGRAMMING: the PBA waits for the new routes, as on a move
            sessions.stats.events['session-retunnelled'] += 1
            log = Log('info', 'session-retunnelled', {'mn': entry.mn_id.text, 'mag': entry.proxy_coa})
            return [*actions, *sessions.program(entry, request, status), log]
        if trigger is Trigger.RENEW and entry.state is BceState.ACTIVE:
            sessions.stats.events['session-renewed'] += 1
            return actions + [sessions.send_pba(request, build_pba(request, status, now, grant_of(entry, sessions.policy)))]
        if trigger is Trigger.RENEW:  # still programming: answer this latest PBU when the data plane is done
            books.replies[entry.binding_id] = (request, status)
            return actions
        sessions.stats.events['session-handoff' if moved else 'session-revived'] += 1
        log = Log('info', 'session-moved' if moved else 'session-revived', {'mn': entry.mn_id.text, 'mag': entry.proxy_coa})
        return [*actions, *sessions.program(entry, request, status), log]

    def _deregister(self, request: ProxyRegistration, entry: BindingCacheEntry, now: float) -> list[Action]:
        sessions = self.sessions
        if request.proxy_coa != entry.proxy_coa:  # §5.3.5: only the serving MAG may de-register
            sessions.stats.events['deregistration-not-serving-mag'] += 1
            return [Log('info', 'deregistration-ignored', {'mn': entry.mn_id.text, 'from': request.proxy_coa})]
        entry.timestamp = request.timestamp if request.timestamp is not None else entry.timestamp
        entry.sequence = request.sequence
        if entry.state is BceState.ACTIVE and _selective(request, entry):
            return self._deregister_part(request, entry)
        entry.advance(Trigger.DEREGISTER)
        sessions.books.dirty.add(entry.binding_id)
        sessions.books.replies.pop(entry.binding_id, None)
        sessions.stats.events['session-deregistered'] += 1
        pba = build_pba(request, BAStatus.ACCEPTED, now, grant_of(entry, sessions.policy, lifetime_s=0))
        actions: list[Action] = [
            CancelTimer((LIFETIME, entry.binding_id)),
            StartTimer((DELETE, entry.binding_id), now + sessions.policy.min_delay_before_bce_delete_s),
            sessions.withdraw(entry),
            sessions.send_pba(request, pba),
            Log('info', 'session-deregistered', {'mn': entry.mn_id.text, 'id': entry.binding_id}),
        ]
        # A PBU parked for this MN was waiting for exactly this: it is a handoff of this session.
        for parked in [p for p in self.parked.values() if p.entry_id == entry.binding_id]:
            del self.parked[parked.park_id]
            actions.append(CancelTimer((NEW_BCE_WAIT, parked.park_id)))
            actions += self._update(parked.request, entry, Trigger.REVIVE, now)
        return actions

    def _deregister_part(self, request: ProxyRegistration, entry: BindingCacheEntry) -> list[Action]:
        """Release only the IPv4 HoA (or only the prefixes); the binding lives on with the rest."""
        sessions = self.sessions
        sessions.cache.unindex_addresses(entry)
        if request.wants_ipv4:
            sessions.addresses.release((), entry.ipv4)
            entry.ipv4, entry.ipv4_router, part = None, None, 'ipv4'
        else:
            sessions.addresses.release(entry.hnps, None)
            entry.hnps, part = (), 'ipv6'
        sessions.cache.index_addresses(entry)
        entry.advance(Trigger.SELECTIVE)
        sessions.books.dirty.add(entry.binding_id)
        sessions.stats.events[f'selective-deregistration-{part}'] += 1
        log = Log('info', 'selective-deregistration', {'mn': entry.mn_id.text, 'part': part})
        return [*sessions.program(entry, request, BAStatus.ACCEPTED), log]

    def _park(self, request: ProxyRegistration, entry: BindingCacheEntry, now: float) -> list[Action]:
        existing = next((p for p in self.parked.values() if p.entry_id == entry.binding_id), None)
        if existing is not None:  # a retransmission: keep the first deadline, answer the latest PBU
            existing.request = request
            return []
        parked = Parked(next(self.sessions.books.ids), request, entry.binding_id)
        self.parked[parked.park_id] = parked
        self.sessions.stats.events['pbu-parked'] += 1
        deadline = now + self.sessions.policy.max_delay_before_new_bce_assign_s
        return [StartTimer((NEW_BCE_WAIT, parked.park_id), deadline), Log('info', 'pbu-parked', {'mn': entry.mn_id.text})]

    def on_wait_over(self, park_id: int, now: float) -> list[Action]:
        """MaxDelayBeforeNewBCEAssign passed without the old MAG's de-registration: a new session."""
        parked = self.parked.pop(park_id, None)
        if parked is None:
            return []
        self.sessions.stats.events['new-bce-after-wait'] += 1
        assert parked.request.mn_id is not None  # checked before it was parked
        profile = self.sessions.policy.profile(parked.request.mn_id.identifier)
        try:
            if profile is None:  # the policy changed while the PBU waited
                raise Rejection(BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE, 'profile removed')
            return self.new_session(parked.request, profile, now)
        except Rejection as rejection:
            return self.reject(parked.request, rejection, now)


def _selective(request: ProxyRegistration, entry: BindingCacheEntry) -> bool:
    """RFC 5844 §3.1.2.5: a de-registration naming only the IPv4 or only the IPv6 part of a dual binding."""
    dual = bool(entry.hnps) and entry.ipv4 is not None
    return dual and (request.wants_ipv4 != request.wants_ipv6)
