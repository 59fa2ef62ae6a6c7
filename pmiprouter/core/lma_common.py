"""The LMA's common PBU: a new session or a renewal, decided from the values read (pure; ADR 0012).

A MAG's usual PBU (CommonPbuReceived) is handled here when it is one of the two usual cases, with
the engine's own collaborators (the checks, the allocator, the sessions and their data-plane
programming); anything else returns None with nothing changed, and the engine decodes the PBU and
takes it the general way. The one rule this module restates for this shape is
`validation.common_registration_allowed`; tests/runtime/test_common_path.py holds both ways to
the same bytes and state.
"""

from __future__ import annotations

from pmiprouter.core.actions import Action, StartTimer
from pmiprouter.core.binding_cache import BceState, BindingCacheEntry, Trigger
from pmiprouter.core.errors import Rejection
from pmiprouter.core.events import CommonPbuReceived, Transport
from pmiprouter.core.lma_sessions import LIFETIME, Sessions
from pmiprouter.core.ordering import check_order
from pmiprouter.core.policy import MobileNodeProfile
from pmiprouter.core.validation import common_registration_allowed
from pmiprouter.mh.iana import BAStatus


class CommonRegistrations:
    """`register(pbu, now)`: the actions `on_pbu` would return for it, or None (not the usual case)."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.handled = 0  # PBUs this way answered (the rest went the general way)

    def register(self, pbu: CommonPbuReceived, now: float) -> list[Action] | None:
        """- a new MN: the session opens as `Registrations.new_session` opens it (the same checks,
          entry, addresses, tunnel count, counters and data-plane change; the PBA follows
          DataplaneApplied);
        - a lifetime extension from the MAG serving the MN's binding on this interface (RFC 5213
          §5.3.3): the binding is renewed and the PBA sent.

        None when the general path must take the PBU (nothing changed then): a handover, another
        interface, a binding not active, a check that would reject it, no prefix left.
        """
        sessions = self.sessions
        profile = sessions.policy.profiles.get(pbu.identifier)
        if profile is None:  # §5.3.1 step 7: the general path answers
            return None
        mn_id = profile.nai  # what the MN's bindings keep (stored_mn_id), equal to the PBU's
        held = sessions.cache.by_mn.get(mn_id)
        if held is not None:  # §5.4.1: not NEW
            return self._renew(held, pbu, profile, now)
        if not common_registration_allowed(profile, pbu.src, pbu.timestamp, sessions.policy, now):
            return None
        prefixes = sessions.addresses.any_prefix(profile)
        if prefixes is None:
            return None
        sessions.stats.received['pbu'] += 1
        books = sessions.books
        lifetime = sessions.lifetime(pbu.lifetime_s)
        entry = BindingCacheEntry.over_ipv6(
            next(books.ids), mn_id, pbu.att, pbu.mn_ll_id, pbu.handoff, books.intern(pbu.src), books.intern(pbu.dst),
            prefixes, lifetime, now, pbu.timestamp, pbu.sequence,
        )
        sessions.open(entry)
        self.handled += 1
        actions = sessions.program(entry, pbu, BAStatus.ACCEPTED)
        if sessions.log_sessions:
            actions.append(sessions.created(entry))
        return actions

    def _renew(
        self, held: int | tuple[int, ...], pbu: CommonPbuReceived, profile: MobileNodeProfile, now: float
    ) -> list[Action] | None:
        """`Registrations._update(request, entry, Trigger.RENEW)` when that is what `on_pbu` would
        come to: the binding named by MN-ID, ATT and link-layer ID (§5.4.1.2), active, from the MAG
        and to the address it already uses over IPv6, so the tunnel stays; plain IPv6 tunnelling,
        so the PBA has no GRE, T or UDP part, and one prefix (the PBA written as bytes has one)."""
        sessions = self.sessions
        ll_id = pbu.mn_ll_id
        if not ll_id:  # §5.4.1.3 (MN-ID only): the Handoff Indicator decides, the general path's case
            return None
        entry = None
        for binding_id in (held,) if isinstance(held, int) else held:  # the MN's bindings, in lookup order
            candidate = sessions.cache.entries[binding_id]
            if candidate.att == pbu.att and candidate.mn_ll_id == ll_id:
                entry = candidate
                break
        if (
            entry is None
            or entry.state is not BceState.ACTIVE
            or entry.proxy_coa is not pbu.src
            or entry.local is not pbu.dst
            or entry.transport is not Transport.IPV6
            or entry.use_gre or entry.tlv or entry.udp
            or len(entry.hnps) != 1
            or not common_registration_allowed(profile, pbu.src, pbu.timestamp, sessions.policy, now)
        ):
            return None
        try:
            check_order(pbu, entry, sessions.policy)
        except Rejection:
            return None
        sessions.stats.received['pbu'] += 1
        entry.advance(Trigger.RENEW)
        sessions.books.dirty.add(entry.binding_id)
        lifetime = sessions.lifetime(pbu.lifetime_s)
        entry.handoff = pbu.handoff
        if pbu.timestamp is not None:
            entry.timestamp = pbu.timestamp
        entry.sequence = pbu.sequence
        expired_at = entry.expires_at
        entry.lifetime_s, entry.expires_at = lifetime, now + lifetime
        sessions.stats.events['session-renewed'] += 1
        self.handled += 1
        if entry.expires_at < expired_at:  # shorter than before: the lifetime timer comes forward
            return [StartTimer((LIFETIME, entry.binding_id), entry.expires_at), sessions.send_common_pba(pbu, entry)]
        return [sessions.send_common_pba(pbu, entry)]  # later: the timer re-arms when it fires (LocalMobilityAnchor._on_timer)
