"""The LMA's side of binding revocation (RFC 5846): BRIs out, BRAs and MAG-initiated BRIs in (pure).

The outstanding BRIs and their retries are `revocation.Revocations`; a revoked binding is deleted
by the LMA's `Sessions` like any other.
"""

from __future__ import annotations

from pmiprouter.core.actions import Action, Log, SendMessage
from pmiprouter.core.binding_cache import BceState, BindingCacheEntry, Trigger
from pmiprouter.core.events import IPAddress, MessageReceived
from pmiprouter.core.lma_sessions import Sessions
from pmiprouter.core.revocation import Finished, Peer, Revocations, answer
from pmiprouter.mh.iana import BRAStatus, RevocationTrigger
from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingRevocationIndication


class BindingRevocations:
    """Revocations the LMA starts, and what it does with the MAGs' answers."""

    def __init__(self, sessions: Sessions, revocations: Revocations) -> None:
        self.sessions = sessions
        self.stats = sessions.stats
        self.revocations = revocations

    def _bindings(self) -> list[BindingCacheEntry]:
        return sorted(self.sessions.cache.entries.values(), key=lambda e: e.binding_id)

    def revoke(
        self, nai: str | None, now: float, trigger: RevocationTrigger = RevocationTrigger.ADMINISTRATIVE_REASON
    ) -> tuple[int, list[Action]]:
        """Revoke the bindings of `nai` (all when None): a BRI to each binding's MAG; the binding,
        its addresses and its routes go on the BRA or after the last retry (see revocation.py).

        Returns how many bindings are being revoked, and the actions.
        """
        count, actions = 0, list[Action]()
        for entry in self._bindings():
            if nai is not None and entry.mn_id.text != nai:
                continue
            count += 1
            if self.revocations.revoking(entry.binding_id):
                continue  # a BRI is already out for it
            if entry.state is BceState.DEREGISTERED:  # the MAG let go already: nothing to tell it
                actions += self.sessions.delete(entry, Trigger.REVOKED)
                continue
            peer = Peer(entry.proxy_coa, entry.local, entry.transport, entry.sport)
            self.stats.sent['bri'] += 1
            self.stats.events['revocation-started'] += 1
            fields = {'mn': entry.mn_id.text, 'mag': entry.proxy_coa, 'trigger': int(trigger)}
            actions.append(Log('info', 'revocation-started', fields))
            actions += self.revocations.start(peer, (entry.binding_id,), entry.mn_id, entry.hnps, trigger, now)
        return count, actions

    def revoke_mag(self, mag: IPAddress, now: float) -> tuple[int, list[Action]]:
        """Revoke every binding with one MAG in one BRI: G=1, trigger Per-Peer Policy, no MN-ID
        (RFC 5846 §8.1). Returns how many bindings it covers, and the actions."""
        groups: dict[Peer, list[int]] = {}
        actions: list[Action] = []
        for entry in self._bindings():
            if entry.proxy_coa != mag or self.revocations.revoking(entry.binding_id):
                continue
            if entry.state is BceState.DEREGISTERED:
                actions += self.sessions.delete(entry, Trigger.REVOKED)
                continue
            groups.setdefault(Peer(entry.proxy_coa, entry.local, entry.transport, entry.sport), []).append(entry.binding_id)
        for peer, ids in groups.items():
            self.stats.sent['bri'] += 1
            self.stats.events['revocation-started'] += len(ids)
            actions.append(Log('info', 'peer-revocation-started', {'mag': mag, 'bindings': len(ids)}))
            trigger = RevocationTrigger.PER_PEER_POLICY
            actions += self.revocations.start(peer, tuple(ids), None, (), trigger, now)
        return sum(len(ids) for ids in groups.values()), actions

    def on_timer(self, ident: int, now: float) -> list[Action]:
        """A BRI's retransmission timer: send it again, or give up on its MAG (§8.1)."""
        sends, finished = self.revocations.on_timer(ident, now)
        self.stats.sent['bri'] += sum(1 for a in sends if isinstance(a, SendMessage))
        return [*sends, *self._revoked(finished)] if finished is not None else list(sends)

    def on_bra(self, event: MessageReceived, bra: BindingRevocationAcknowledgement) -> list[Action]:
        cancels, finished = self.revocations.on_bra(event, bra)
        if finished is None:  # §8.1: no outstanding BRI with that Sequence # from that MAG
            self.stats.events['bra-unmatched'] += 1
            return [Log('info', 'bra-unmatched', {'src': event.src, 'sequence': bra.sequence})]
        self.stats.bra_status[int(bra.status)] += 1
        return [*cancels, *self._revoked(finished)]

    def _revoked(self, finished: Finished) -> list[Action]:
        """Delete what the revocation covered: whatever the BRA said (an administrative
        revocation is not negotiable) or without one after the last retry (§8.1)."""
        outcome = 'acknowledged' if finished.status is not None else 'unanswered'
        self.stats.events[f'revocation-{outcome}'] += 1
        actions: list[Action] = []
        for binding_id in finished.binding_ids:
            entry = self.sessions.cache.entries.get(binding_id)
            if entry is None or entry.proxy_coa != finished.mag:
                continue  # it expired meanwhile, or moved to another MAG: the new binding stays
            fields = {'mn': entry.mn_id.text, 'mag': finished.mag, 'status': finished.status}
            actions += [Log('info', f'revocation-{outcome}', fields), *self.sessions.delete(entry, Trigger.REVOKED)]
        return actions

    def on_bri(self, event: MessageReceived, bri: BindingRevocationIndication) -> list[Action]:
        """MAG-initiated revocation (RFC 5846 §9.1.2) is not implemented: say so (§6.2, status 134)."""
        self.stats.sent['bra'] += 1
        self.stats.events['bri-refused'] += 1
        return [answer(event, bri, BRAStatus.REVOCATION_FUNCTION_NOT_SUPPORTED)]
