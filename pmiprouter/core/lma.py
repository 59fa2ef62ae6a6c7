"""The local mobility anchor: PBU in, PBA and data-plane intents out (pure; RFC 5213 §5).

`LocalMobilityAnchor.handle(event, now) -> list[Action]` is the only entry point for what the
network says; the daemon's management calls are `revoke`, `revoke_mag`, `reconfigure`, `export`
and `restore`. The PBA of a registration that changes forwarding is sent only after the data
plane reports the change done (DataplaneApplied), so no MAG is told "accepted" before the tunnel
exists.

The engine is composed like the MAG's: `Sessions` (the binding cache, addresses, data-plane
programming, with `Books` and `LmaForwarding`), `Registrations` (§5.3 PBU processing),
`CommonRegistrations` (the usual PBU, read from its bytes) and `BindingRevocations` (RFC 5846).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pmiprouter.core.actions import Action, ApplyDataplane, Log, StartTimer
from pmiprouter.core.binding_cache import BceState, BindingCache, BindingCacheEntry, Trigger
from pmiprouter.core.events import CommonPbuReceived, DataplaneApplied, DataplaneBatchApplied, Event, MalformedReceived, MessageReceived
from pmiprouter.core.grants import stored_mn_id
from pmiprouter.core.lma_books import Books
from pmiprouter.core.lma_common import CommonRegistrations
from pmiprouter.core.lma_forwarding import LmaForwarding
from pmiprouter.core.lma_registrations import Registrations
from pmiprouter.core.lma_revocation import BindingRevocations
from pmiprouter.core.lma_sessions import DELETE, LIFETIME, NEW_BCE_WAIT, Sessions
from pmiprouter.core.persistence import entry_from_record, entry_to_record
from pmiprouter.core.policy import LmaPolicy
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.responder import answer_home_registration, handle_rest
from pmiprouter.core.revocation import BRI_TIMER, Revocations
from pmiprouter.core.stats import Stats
from pmiprouter.dataplane.interface import TunnelSpec
from pmiprouter.mh.errors import DecodeError
from pmiprouter.mh.iana import RevocationTrigger
from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingRevocationIndication, BindingUpdate

__all__ = ['DELETE', 'LIFETIME', 'NEW_BCE_WAIT', 'LocalMobilityAnchor']


class LocalMobilityAnchor:
    """The LMA engine. Mutable state lives in its collaborators; nothing else."""

    def __init__(self, policy: LmaPolicy, restart_counter: int = 0) -> None:
        self.policy = policy
        self.restart_counter = restart_counter
        self.cache = BindingCache()
        self.stats = Stats()
        self.books = Books()
        self.forwarding = LmaForwarding()
        self.sessions = Sessions(policy, self.cache, self.books, self.forwarding, self.stats)
        self.registrations = Registrations(self.sessions)
        self.common = CommonRegistrations(self.sessions)
        self.revocation = BindingRevocations(self.sessions, Revocations(timing=policy.bri_timing))
        self.revision = 0  # bumped on every event: the daemon saves state when it moves
        self.dirty = self.books.dirty  # bindings changed (or removed) since the daemon last saved them

    # ---- entry point -------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Action]:
        self.revision += 1
        # The events of every registration are recognised by their exact type (the hot path).
        kind = type(event)
        if kind is CommonPbuReceived:
            actions = self.common.register(event, now)  # type: ignore[arg-type]
            if actions is not None:
                return actions
            try:  # not the usual case: the general path, on the decoded PBU
                event = event.decoded()  # type: ignore[union-attr]
            except DecodeError as error:
                event = MalformedReceived(event.src, event.dst, error)  # type: ignore[union-attr]
        elif kind is DataplaneBatchApplied:  # a burst of registrations, programmed together
            applied = self.sessions.applied
            actions = []
            for ticket in event.tickets:  # type: ignore[union-attr]
                actions += applied(ticket, None, now)
            return actions
        elif kind is DataplaneApplied:
            return self.sessions.applied(event.ticket, None, now)  # type: ignore[union-attr]
        if type(event) is MessageReceived:
            message = event.message  # type: ignore[union-attr]
            if type(message) is BindingUpdate:
                if message.is_proxy:
                    self.stats.received['pbu'] += 1
                    return self.registrations.on_pbu(ProxyRegistration.parse(event), now)  # type: ignore[arg-type]
                self.stats.received['bu'] += 1
                return answer_home_registration(event, self.stats)  # type: ignore[arg-type]
            if type(message) is BindingRevocationAcknowledgement:
                self.stats.received['bra'] += 1
                return self.revocation.on_bra(event, message)  # type: ignore[arg-type]
            if type(message) is BindingRevocationIndication:
                self.stats.received['bri'] += 1
                return self.revocation.on_bri(event, message)  # type: ignore[arg-type]
        return handle_rest(event, now, self.stats, self.restart_counter, self._on_timer, self.sessions.applied)

    # ---- timers ------------------------------------------------------------------------

    def _on_timer(self, kind: str, ident: int, now: float) -> list[Action]:
        if kind == BRI_TIMER:
            return self.revocation.on_timer(ident, now)
        if kind == NEW_BCE_WAIT:
            return self.registrations.on_wait_over(ident, now)
        entry = self.cache.entries.get(ident)
        if entry is None:
            return []
        if kind == LIFETIME and entry.state is not BceState.DEREGISTERED:
            if entry.expires_at > now:  # renewed since the timer was started: it runs on to the new expiry
                return [StartTimer((LIFETIME, ident), entry.expires_at)]
            self.stats.events['session-expired'] += 1
            return [Log('info', 'session-expired', {'mn': entry.mn_id.text})] + self.sessions.delete(entry, Trigger.LIFETIME_EXPIRED)
        if kind == DELETE and entry.state is BceState.DEREGISTERED:
            return self.sessions.delete(entry, Trigger.DELETE_TIMER)
        return []

    # ---- management --------------------------------------------------------------------

    def revoke(
        self, nai: str | None, now: float, trigger: RevocationTrigger = RevocationTrigger.ADMINISTRATIVE_REASON
    ) -> tuple[int, list[Action]]:
        """Revoke the bindings of `nai` (all when None): how many, and the actions (BindingRevocations.revoke)."""
        self.revision += 1
        return self.revocation.revoke(nai, now, trigger)

    def revoke_mag(self, mag: Any, now: float) -> tuple[int, list[Action]]:
        """Revoke every binding with one MAG in one BRI (BindingRevocations.revoke_mag)."""
        self.revision += 1
        return self.revocation.revoke_mag(mag, now)

    def emits(self, levels: frozenset[str]) -> None:
        """The log levels the runtime writes: lines of other levels need not be built."""
        self.sessions.log_sessions = 'info' in levels

    @property
    def tunnel_users(self) -> dict[TunnelSpec, int]:
        return self.forwarding.tunnel_users

    def reconfigure(self, policy: LmaPolicy) -> list[Action]:
        """Adopt a new policy (SIGHUP); existing bindings keep their addresses until they end."""
        self.policy = policy
        self.sessions.reconfigure(policy)
        self.revocation.revocations.timing = policy.bri_timing  # BRIs already out keep theirs
        self.revision += 1
        return [Log('info', 'policy-reloaded', {'profiles': len(policy.profiles), 'bindings': len(self.cache)})]

    # ---- persistence -------------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        """Every binding as a JSON-able record (the daemon's state file)."""
        return [entry_to_record(entry) for entry in self.bindings()]

    def restore(self, records: Iterable[Any], now: float, report: bool = True) -> list[Action]:
        """Re-create bindings saved by `export` before a restart; expired or damaged ones are dropped.

        Returns the actions that re-program their tunnels and routes and restart their timers, and
        (`report`) a log line with the number of bindings (a restore in chunks reports once, last).
        """
        actions: list[Action] = []
        books, forwarding = self.books, self.forwarding
        newest = 0
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
            books.dirty.add(entry.binding_id)
            self.sessions.addresses.restore(entry.hnps, entry.ipv4)
            newest = max(newest, entry.binding_id)
            route = forwarding.route(entry)
            tunnels = forwarding.use(entry, route.tunnel)
            if entry.state is BceState.DEREGISTERED:
                actions.append(StartTimer((DELETE, entry.binding_id), now + self.policy.min_delay_before_bce_delete_s))
                actions.append(ApplyDataplane(next(books.tickets), ensure_tunnels=tunnels))
            else:
                actions.append(StartTimer((LIFETIME, entry.binding_id), entry.expires_at))
                actions.append(ApplyDataplane(next(books.tickets), ensure_tunnels=tunnels, ensure_routes=(route,)))
        books.skip_ids(newest)
        self.revision += 1
        if report:
            actions.append(Log('info', 'state-restored', {'bindings': len(self.cache)}))
        return actions

    # ---- snapshot for show commands ----------------------------------------------------

    def bindings(self) -> list[BindingCacheEntry]:
        """The binding cache, oldest first (read-only use)."""
        return sorted(self.cache.entries.values(), key=lambda e: e.binding_id)
