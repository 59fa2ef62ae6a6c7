"""Binding revocation, the MAG's side as responder (pure; RFC 5846 §5.2, §6.2, §9.2).

A BRI from the LMA names the bindings to end: one mobile node (per-MN trigger, MN-ID and
optionally its HNPs; V=1 only its IPv4 HoA), or every binding with that LMA (G=1, trigger
Per-Peer Policy), or every MN of a realm (G=1, trigger 129 with an `@realm` MN-ID). The MAG
answers with a BRA (Sequence # and P/V/G copied), withdraws the prefixes with an RA of
lifetime 0, removes the routes and the entry; no de-registration PBU follows, the LMA
already let go.

Whether the MN, if still attached, may register again depends on the trigger:
- Administrative Reason, User-Initiated and Access Network Session Termination, and the
  global triggers end the service: no new PBU for that MN on that link until it detaches
  (a link down, NUD failure, DHCPRELEASE) or the MAG is reconfigured.
- Possible Out-of-Sync BCE State: the LMA lost track; the MAG registers the MN again at once.
- Inter-MAG handover and Unspecified: the MN may come back through any normal attach
  trigger (RS, DHCP, link event).
"""

from __future__ import annotations

from pmiprouter.core.actions import Action, CancelTimer, Log
from pmiprouter.core.binding_update_list import BindingUpdateList, BulEntry, Trigger
from pmiprouter.core.events import MessageReceived
from pmiprouter.core.mag_events import MagAction
from pmiprouter.core.mag_forwarding import Forwarding
from pmiprouter.core.mag_signalling import TIMERS
from pmiprouter.core.revocation import TriggerClass, answer, classify
from pmiprouter.core.stats import Stats
from pmiprouter.mh.iana import BRAStatus, MNIdentifierSubtype, RevocationTrigger
from pmiprouter.mh.messages import BindingRevocationIndication
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import HomeNetworkPrefix

Out = Action | MagAction
Link = tuple[str, bytes]  # (access interface, MAC)

# Triggers after which the MAG must not register the MN again by itself.
ENDS_SERVICE = frozenset({
    RevocationTrigger.ADMINISTRATIVE_REASON,
    RevocationTrigger.USER_INITIATED_SESSION_TERMINATION,
    RevocationTrigger.ACCESS_NETWORK_SESSION_TERMINATION,
    RevocationTrigger.PER_PEER_POLICY,
    RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY,
})


class MagRevocation:
    """Answers BRIs; remembers the links whose MN may not register again until it detaches."""

    def __init__(self, bul: BindingUpdateList, forwarding: Forwarding, stats: Stats) -> None:
        self.bul = bul
        self.forwarding = forwarding
        self.stats = stats
        self.blocked: set[Link] = set()

    def on_bri(self, event: MessageReceived, bri: BindingRevocationIndication) -> tuple[list[Out], list[Link]]:
        """The BRA and clean-up actions, and the links to register again at once (out-of-sync)."""
        mn_id = bri.option(MobileNodeIdentifier)
        status, entries = self._select(event, bri, mn_id)
        reply_id = mn_id if bri.proxy and mn_id is not None and not bri.global_ else None
        self.stats.sent['bra'] += 1
        self.stats.bra_status[int(status)] += 1
        fields = {'src': event.src, 'trigger': int(bri.trigger), 'status': int(status), 'mn': mn_id.text if mn_id else ''}
        actions: list[Out] = [Log('info', 'bri-received', fields)]
        again: list[Link] = []
        for entry in entries:
            actions += self._revoke_ipv4(entry) if bri.ipv4_only and entry.hnps else self._revoke(entry, int(bri.trigger))
            if bri.trigger == RevocationTrigger.POSSIBLE_OUT_OF_SYNC_BCE_STATE and not bri.ipv4_only:
                again.append(entry.key)
        actions.append(answer(event, bri, status, reply_id))
        return actions, again

    def _select(
        self, event: MessageReceived, bri: BindingRevocationIndication, mn_id: MobileNodeIdentifier | None
    ) -> tuple[BRAStatus, list[BulEntry]]:
        """§9.2: which of our entries the BRI names, or the status that refuses it."""
        kind = classify(int(bri.trigger))
        if kind is TriggerClass.UNSUPPORTED:
            return BRAStatus.REVOCATION_TRIGGER_NOT_SUPPORTED, []
        if not bri.proxy:  # a client MIPv6 revocation: the MAG holds proxy bindings only
            return BRAStatus.REVOCATION_FUNCTION_NOT_SUPPORTED, []
        if (kind is TriggerClass.GLOBAL) != bri.global_:  # G with a per-MN trigger, or the reverse
            return BRAStatus.REVOCATION_FUNCTION_NOT_SUPPORTED, []
        ours = [e for e in self.bul.entries.values() if e.lma == event.src]
        if bri.trigger == RevocationTrigger.PER_PEER_POLICY:
            chosen = ours
        elif mn_id is None:
            return BRAStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED, []
        elif kind is TriggerClass.GLOBAL:  # 129: every MN of the realm the MN-ID names
            chosen = [e for e in ours if _in_realm(e.mn_id, mn_id)]
        else:
            chosen = [e for e in ours if e.mn_id == mn_id]
            prefixes = {o.network for o in bri.options_of(HomeNetworkPrefix)}
            if prefixes:
                chosen = [e for e in chosen if prefixes & set(e.hnps or e.requested_prefixes)]
        if bri.ipv4_only:
            chosen = [e for e in chosen if e.ipv4 is not None]
        if not chosen:
            return BRAStatus.BINDING_DOES_NOT_EXIST, []
        return BRAStatus.SUCCESS, sorted(chosen, key=lambda e: e.entry_id)

    def _revoke(self, entry: BulEntry, trigger: int) -> list[Out]:
        """Withdraw the prefixes (RA lifetime 0), the IPv4 lease, the routes; drop the entry."""
        actions: list[Out] = [CancelTimer((kind, entry.entry_id)) for kind in TIMERS]
        actions += self.forwarding.stop_serving(entry)
        entry.advance(Trigger.REVOKED)
        self.bul.remove(entry)
        if trigger in ENDS_SERVICE:
            self.blocked.add(entry.key)
        self.stats.events['binding-revoked'] += 1
        return actions + [Log('info', 'binding-revoked', {'mn': entry.mn_id.text, 'trigger': trigger})]

    def _revoke_ipv4(self, entry: BulEntry) -> list[Out]:
        """V=1: only the IPv4 HoA goes; the prefixes stay registered (RFC 5846 §5.1)."""
        actions: list[Out] = [self.forwarding.revoke(entry)]
        entry.ipv4, entry.ipv4_router, entry.want_ipv4, entry.requested_ipv4 = None, None, False, None
        actions.append(self.forwarding.install(entry))
        self.stats.events['ipv4-revoked'] += 1
        return actions + [Log('info', 'ipv4-revoked', {'mn': entry.mn_id.text})]


def _in_realm(candidate: MobileNodeIdentifier, realm_id: MobileNodeIdentifier) -> bool:
    """RFC 5846 §8.1: an MN-ID of the form `@realm` names every NAI of that realm."""
    if candidate.subtype != MNIdentifierSubtype.NAI or realm_id.subtype != MNIdentifierSubtype.NAI:
        return False
    realm = realm_id.identifier
    return realm.startswith(b'@') and candidate.identifier.lower().endswith(realm.lower())

