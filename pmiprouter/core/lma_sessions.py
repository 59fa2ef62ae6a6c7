"""The LMA's mobility sessions: opened, programmed, confirmed by the data plane, deleted (pure).

RFC 5213 §5.3: the PBA accepting a registration leaves only once the data plane reports the
binding's routes in place (DataplaneApplied); a change the data plane refuses is answered with
status 130 and the session deleted. §5.3.5/§5.3.6: deleting a session frees its prefixes, its
IPv4 home address and, with its last binding, its tunnel.
"""

from __future__ import annotations

from pmiprouter.core.actions import Action, ApplyDataplane, CancelTimer, Log, SendEncoded, SendMessage, StartTimer
from pmiprouter.core.allocation import AddressAllocator
from pmiprouter.core.binding_cache import BceState, BindingCache, BindingCacheEntry, Trigger
from pmiprouter.core.events import CommonPbuReceived
from pmiprouter.core.grants import grant_of
from pmiprouter.core.lma_books import Books, Owed
from pmiprouter.core.lma_forwarding import LmaForwarding
from pmiprouter.core.pba import build_pba
from pmiprouter.core.policy import LmaPolicy
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.stats import Stats
from pmiprouter.fast.common_pbu import accepted_pba
from pmiprouter.mh.iana import BAStatus
from pmiprouter.mh.messages import BindingAcknowledgement

LIFETIME = 'bce-lifetime'
DELETE = 'bce-delete'
NEW_BCE_WAIT = 'new-bce-wait'


class Sessions:
    """The binding cache and what each entry holds elsewhere: addresses, tunnel, timers, PBA owed."""

    def __init__(self, policy: LmaPolicy, cache: BindingCache, books: Books, forwarding: LmaForwarding, stats: Stats) -> None:
        self.policy = policy
        self.cache = cache
        self.books = books
        self.forwarding = forwarding
        self.stats = stats
        self.addresses = AddressAllocator(policy, cache.by_prefix, cache.by_ipv4)
        self.log_sessions = True  # build the per-session info lines (LocalMobilityAnchor.emits)
        self._lifetimes: dict[int, int] = {}

    def reconfigure(self, policy: LmaPolicy) -> None:
        """A new policy: new pools, with the addresses of existing bindings marked in use."""
        self.policy = policy
        self.addresses = AddressAllocator(policy, self.cache.by_prefix, self.cache.by_ipv4)
        for entry in self.cache.entries.values():
            self.addresses.restore(entry.hnps, entry.ipv4)

    def lifetime(self, requested_s: int) -> int:
        """The lifetime granted: at most the policy's, in the 4 s units of the PBA."""
        lifetime = min(requested_s, self.policy.max_lifetime_s)
        lifetime -= lifetime % 4
        return self._lifetimes.setdefault(lifetime, lifetime)  # one int object per value, not one per binding

    def open(self, entry: BindingCacheEntry) -> None:
        self.cache.add(entry)  # state: PROGRAMMING (the default) until the data plane reports
        self.books.dirty.add(entry.binding_id)
        self.stats.events['session-created'] += 1

    @staticmethod
    def created(entry: BindingCacheEntry) -> Log:
        """The session-created line: it goes after the session's data-plane change (with a
        synchronous data plane the PBA leaves within that, and a log write need not delay it)."""
        return Log('info', 'session-created', {'mn': entry.mn_id.text, 'mag': entry.proxy_coa, 'id': entry.binding_id})

    def program(self, entry: BindingCacheEntry, reply: Owed, status: BAStatus) -> list[Action]:
        """Point the MN's routes at its (shared) tunnel; the PBA to `reply` follows DataplaneApplied."""
        forwarding = self.forwarding
        route = forwarding.route(entry)
        old = entry.tunnel
        ensure_tunnels = forwarding.use(entry, route.tunnel)
        remove_tunnels = forwarding.release(old) if old is not None and old is not entry.tunnel else ()
        ticket = self.books.owe(entry.binding_id, reply, status)
        return [
            StartTimer((LIFETIME, entry.binding_id), entry.expires_at),
            ApplyDataplane(ticket, ensure_tunnels=ensure_tunnels, ensure_routes=(route,), remove_tunnels=remove_tunnels),
        ]

    def applied(self, ticket: int, failure: str | None, now: float) -> list[Action]:
        """The data plane answered `ticket`: the PBA owed goes out (or 130 and the session goes)."""
        binding_id = self.books.settle(ticket)
        entry = self.cache.entries.get(binding_id) if binding_id is not None else None
        if entry is None:
            return [] if failure is None else [Log('error', 'dataplane-failed', {'ticket': ticket, 'reason': failure})]
        reply = self.books.replies.pop(entry.binding_id, None)
        if failure is not None:
            self.stats.events['dataplane-failed'] += 1
            actions: list[Action] = [Log('error', 'dataplane-failed', {'mn': entry.mn_id.text, 'reason': failure})]
            # 130 Insufficient resources: the LMA could not set up forwarding (RFC 6275 §6.1.8).
            if reply is not None:
                request = reply[0] if type(reply[0]) is not CommonPbuReceived else ProxyRegistration.parse(reply[0].decoded())
                actions.append(self.send_pba(request, build_pba(request, BAStatus.INSUFFICIENT_RESOURCES, now)))
            return actions + self.delete(entry, Trigger.DATAPLANE_FAILED)
        if entry.state is not BceState.PROGRAMMING:
            return []
        entry.advance(Trigger.DATAPLANE_APPLIED)
        self.books.dirty.add(entry.binding_id)
        if reply is None:
            return []
        request, status = reply
        if type(request) is CommonPbuReceived:
            return [self.send_common_pba(request, entry)]
        return [self.send_pba(request, build_pba(request, status, now, grant_of(entry, self.policy)))]

    def withdraw(self, entry: BindingCacheEntry) -> ApplyDataplane:
        """The MN's routes go, its tunnel and entry stay (§5.3.5: data is dropped while de-registered)."""
        return ApplyDataplane(next(self.books.tickets), remove_routes=(self.forwarding.route(entry),))

    def delete(self, entry: BindingCacheEntry, trigger: Trigger) -> list[Action]:
        """Remove the entry, its routes, its addresses and (if it was the last user) its tunnel."""
        routed = entry.state is not BceState.DEREGISTERED
        entry.advance(trigger)
        self.books.dirty.add(entry.binding_id)
        route = self.forwarding.route(entry)
        self.cache.remove(entry)
        self.books.forget(entry.binding_id)
        self.addresses.release(entry.hnps, entry.ipv4)
        remove_tunnels = self.forwarding.release(entry.tunnel) if entry.tunnel is not None else ()
        entry.tunnel = None
        self.stats.events['session-deleted'] += 1
        return [
            CancelTimer((LIFETIME, entry.binding_id)),
            CancelTimer((DELETE, entry.binding_id)),
            ApplyDataplane(next(self.books.tickets), remove_routes=(route,) if routed else (), remove_tunnels=remove_tunnels),
        ]

    def send_pba(self, request: ProxyRegistration, pba: BindingAcknowledgement) -> SendMessage:
        self.stats.sent['pba'] += 1
        self.stats.pba_status[int(pba.status)] += 1
        return SendMessage(request.src, request.dst, pba, request.transport, request.sport)

    def send_common_pba(self, pbu: CommonPbuReceived, entry: BindingCacheEntry) -> SendEncoded:
        """The PBA accepting a common PBU (one prefix, plain IPv6 tunnelling), written as bytes."""
        self.stats.sent['pba'] += 1
        self.stats.pba_status[0] += 1
        return SendEncoded(pbu.src, pbu.dst, accepted_pba(pbu, entry.hnps[0], entry.lifetime_s))
