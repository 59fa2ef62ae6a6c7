"""The mobile access gateway: access-link events and PBAs in, PBUs, RAs and data-plane intents out
(pure; RFC 5213 §6, RFC 5844 §3.2, RFC 5845 §4).

`MobileAccessGateway.handle(event, now) -> list[Action]` is the only entry point. An RA with
the home network prefixes goes out only after the LMA accepted the PBU *and* the data plane
reports the tunnel and routes in place (DataplaneApplied), so the MN never configures an
address that cannot be forwarded yet.
"""

from __future__ import annotations

import itertools
from typing import Any

from pmiprouter.core.actions import Action, CancelTimer, Log, StartTimer, Texts
from pmiprouter.core.binding_update_list import FORWARDING, BindingUpdateList, BulEntry, BulState, Trigger
from pmiprouter.core.responder import handle_rest
from pmiprouter.core.events import DataplaneApplied, DataplaneBatchApplied, DataplaneFailed, MalformedReceived, MessageReceived, MessageSent, TimerFired
from pmiprouter.core.mag_events import (
    AttachHint,
    AttachTrigger,
    DetachReason,
    DhcpDiscover,
    DhcpRelease,
    MagAction,
    MagEvent,
    MobileNodeAttached,
    MobileNodeDetached,
    NeighbourReachable,
    ProbeNeighbour,
    RouterSolicitationReceived,
    SetLinkLocal,
)
from pmiprouter.core.mag_forwarding import Forwarding
from pmiprouter.core.mag_policy import MagPolicy, MagProfile, format_mac
from pmiprouter.core.mag_persistence import (
    DEREGISTERING,
    REGISTERED,
    SIGNALLING,
    entry_from_record,
    entry_to_record,
    signalling_record,
)
from pmiprouter.core.mag_revocation import MagRevocation
from pmiprouter.core.mag_signalling import (
    DEREG_TIMER,
    EXPIRY_TIMER,
    PBU_TIMER,
    PROBE_TIMER,
    RENEW_TIMER,
    SIGNALLING_PORT,
    TIMERS,
    Signalling,
)
from pmiprouter.core.stats import Stats
from pmiprouter.mh.iana import MNIdentifierSubtype
from pmiprouter.mh.messages import (
    BindingAcknowledgement,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    BindingUpdate,
)
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier

__all__ = ['SIGNALLING_PORT', 'TIMERS', 'MobileAccessGateway', 'mn_identifier']

RESTORE_PROBE_DELAY_S = 2.0  # after a restart, before the NUD probe of a restored entry

Event = MagEvent | MessageReceived | MalformedReceived | TimerFired | DataplaneApplied | DataplaneBatchApplied | DataplaneFailed
Out = Action | MagAction


def mn_identifier(profile: MagProfile) -> MobileNodeIdentifier:
    """The profile's NAI, else the MAC as an EUI-48 identifier (RFC 8371) -- the bytes the LMA
    keys `mac-address` profiles by (RFC 5213 §6.6: stable, never shared between devices)."""
    if profile.nai:
        return MobileNodeIdentifier.nai(profile.nai)
    return MobileNodeIdentifier(MNIdentifierSubtype.EUI_48, profile.mac)


class MobileAccessGateway:
    """The MAG engine. Mutable state lives here, in its BindingUpdateList and Forwarding."""

    def __init__(self, policy: MagPolicy, restart_counter: int = 0, initial_sequence: int = 0) -> None:
        self.policy = policy
        self.restart_counter = restart_counter
        self.bul = BindingUpdateList()
        self.forwarding = Forwarding(policy)
        self.stats = Stats()
        self.signalling = Signalling(policy, self.bul, self.forwarding, self.stats, initial_sequence)
        self.revocation = MagRevocation(self.bul, self.forwarding, self.stats)
        self._ids = itertools.count(1)
        self.revision = 0  # bumped on every event: the daemon saves state when it moved
        self.unconfirmed: set[int] = set()  # restored entries whose MN has not shown itself yet

    # ---- entry point -------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Out]:
        self.revision += 1
        match event:
            case MobileNodeAttached():
                return self._on_attach(event, now)
            case MobileNodeDetached(ifname=ifname, mac=mac, reason=reason):
                return self._on_detach(ifname, mac, reason, now)
            case RouterSolicitationReceived(ifname=ifname, mac=mac):
                return self._on_solicitation(ifname, mac, now)
            case NeighbourReachable(ifname=ifname, mac=mac):
                return self._on_reachable(ifname, mac, now)
            case DhcpDiscover(ifname=ifname, mac=mac):
                return self._on_discover(ifname, mac, now)
            case DhcpRelease(ifname=ifname, mac=mac):
                return self._on_release(ifname, mac, now)
            case MessageSent(message=BindingUpdate() as pbu):
                return self.signalling.on_sent(pbu, now)
            case MessageReceived(message=BindingAcknowledgement() as pba):
                self.stats.received['pba'] += 1
                return self.signalling.on_pba(event, pba, now)
            case MessageReceived(message=BindingRevocationIndication() as bri):
                self.stats.received['bri'] += 1
                return self._on_revocation(event, bri, now)
            case MessageReceived(message=BindingRevocationAcknowledgement()):
                self.stats.received['bra'] += 1  # we send no BRIs: nothing can be waiting for it
                return [Log('info', 'bra-unmatched', {'src': event.src})]
        return handle_rest(  # type: ignore[no-any-return]
            event, now, self.stats, self.restart_counter, self._on_timer, self._on_dataplane, binding_error=False)

    # ---- attachment (RFC 5213 §6.9.1.1) ------------------------------------------------

    def _on_attach(self, event: MobileNodeAttached, now: float) -> list[Out]:
        actions: list[Out] = []
        existing = self.bul.at(event.ifname, event.mac)
        if existing is not None and existing.entry_id in self.unconfirmed:
            return self._confirmed(existing, now)
        if existing is not None:
            if existing.state is not BulState.DEREGISTERING:
                return []  # already served, or halted until administrative action
            actions += self.signalling.cleanup(existing, 'reattached')  # back before its de-registration ended
        fields = self._fields(event.ifname, event.mac)
        interface = self.policy.interface(event.ifname)
        profile = self.policy.profile(event.mac)
        if interface is None or profile is None or not profile.enabled:
            # §6.9.1.1 step 2: no PMIPv6 service for this MN (plain local access is §6.14's business).
            self.stats.events['attach-not-served'] += 1
            return actions + [Log('info', 'mn-not-served', {**fields, 'trigger': event.trigger.value})]
        mn_id = mn_identifier(profile)
        if (event.ifname, event.mac) in self.revocation.blocked:  # RFC 5846: revoked until it detaches
            self.stats.events['attach-revoked'] += 1
            return actions + [Log('info', 'mn-revoked', {**fields, 'mn': mn_id.text})]
        if mn_id in self.signalling.denied:
            self.stats.events['attach-denied'] += 1
            return actions + [Log('info', 'mn-denied', {**fields, 'mn': mn_id.text})]
        try:
            local, lma = self.policy.endpoints(profile)
        except ValueError as exc:
            return actions + [Log('error', 'no-lma', {**fields, 'error': str(exc)})]
        hint = event.hint or (AttachHint.NEW if event.trigger is AttachTrigger.LINK else AttachHint.UNKNOWN)
        entry = BulEntry(
            entry_id=next(self._ids),
            ifname=event.ifname,
            mac=event.mac,
            mn_id=mn_id,
            profile=profile,
            att=interface.att,
            mn_ll_id=event.mac,
            local=local,
            lma=lma,
            transport=self.policy.transport,
            hint=hint,
            want_ipv6=profile.service.ipv6,
            want_ipv4=profile.service.ipv4,
            requested_prefixes=profile.home_prefixes,
            requested_ipv4=profile.ipv4_home_address,
            use_gre=self.policy.gre,
        )
        # The downlink key is ours to choose (RFC 5845 §4.1): the profile's, else unique per entry.
        entry.gre_key_in = profile.gre_key if profile.gre_key is not None else entry.entry_id
        entry.advance(Trigger.SEND)
        self.bul.add(entry)
        self.stats.events['attach'] += 1
        pbu, retransmit = self.signalling.start_attempt(entry, now)
        # The PBU first, then the log line: the handover waits for the PBA, not for a log write
        # (~0.2 ms with the daemon's log observers). The line is written ~0.1 ms after the
        # detection (encoding and sending the PBU).
        attached = Log('info', 'mn-attached', {**fields, 'mn': mn_id.text, 'trigger': event.trigger.value})
        return actions + [pbu, attached, retransmit]

    def _on_detach(self, ifname: str, mac: bytes, reason: DetachReason, now: float) -> list[Out]:
        self.revocation.blocked.discard((ifname, mac))  # gone: a later attach is a new session
        entry = self.bul.at(ifname, mac)
        if entry is None or entry.state is BulState.DEREGISTERING:
            return []
        if entry.state is BulState.HALTED:  # it sends nothing until administrative action
            return self.signalling.cleanup(entry, reason.value)
        self.stats.events['detach'] += 1
        log = Log('info', 'mn-detached', {**self._fields(ifname, mac), 'reason': reason.value})
        return [log, *self.signalling.deregister(entry, now, Trigger.DETACH)]

    # ---- data plane and lifetime -------------------------------------------------------

    def _on_dataplane(self, ticket: int, failure: str | None, now: float) -> list[Out]:
        entry_id = self.forwarding.pending.pop(ticket, None)
        entry = self.bul.entries.get(entry_id) if entry_id is not None else None
        if entry is None:
            return [] if failure is None else [Log('error', 'dataplane-failed', {'ticket': ticket, 'reason': failure})]
        entry.pending_ticket = None
        if entry.state is not BulState.PROGRAMMING:
            return []
        if failure is not None:
            # The LMA has a binding we cannot forward for: give it back (§6.9.1.4) rather than
            # leave the MN with an address that goes nowhere.
            self.stats.events['dataplane-failed'] += 1
            log = Log('error', 'dataplane-failed', {'mn': entry.mn_id.text, 'reason': failure})
            return [log, *self.signalling.deregister(entry, now, Trigger.DATAPLANE_FAILED)]
        entry.advance(Trigger.APPLIED)
        self.stats.events['registered'] += 1
        # The signalling round trip (our PBU out -> its PBA in, reactor clock): the operator's
        # figure for the LMA's responsiveness, and the lab's PBU -> PBA without a debug trace.
        fields = {'mn': entry.mn_id.text, 'hnps': Texts(entry.hnps), 'pbu_pba_ms': entry.pbu_to_pba_ms}
        # What the MN waits for first, the log line after: a roaming host holds its packets
        # until the RA (its source link-layer address) or the gratuitous ARP re-resolves its
        # router, so writing the log first would delay its data by the cost of a log write.
        actions: list[Out] = []
        if entry.link_local is not None and self.forwarding.source(entry) == entry.link_local:
            actions.append(SetLinkLocal(entry.ifname, entry.link_local))  # from the LMA (§6.9.1.2 step 6)
        if entry.hnps:
            actions.append(self.forwarding.advertise(entry, now))
        offer = self.forwarding.offer(entry)
        if offer is not None:
            actions.append(offer)
        actions.append(Log('info', 'mn-registered', fields))
        return actions + self.signalling.arm_lifetime(entry, now)

    # ---- timers ------------------------------------------------------------------------

    def _on_timer(self, kind: str, ident: int, now: float) -> list[Out]:
        entry = self.bul.entries.get(ident)
        if entry is None:
            return []
        if kind == PBU_TIMER:
            return self.signalling.on_retransmit(entry, now)
        if kind == DEREG_TIMER and entry.state is BulState.DEREGISTERING:
            return self.signalling.cleanup(entry, 'deregistration-timeout')
        if kind == RENEW_TIMER and entry.state is BulState.REGISTERED:
            self.unconfirmed.discard(ident)
            if not self.policy.probe_before_renewal:
                return self._renew(entry, now)
            entry.advance(Trigger.RENEW_DUE)  # §6.9.1.3: first verify the MN is still attached
            deadline = now + self.policy.probe_timeout_s
            return [ProbeNeighbour(entry.ifname, entry.mac), StartTimer((PROBE_TIMER, ident), deadline)]
        if kind == PROBE_TIMER and entry.state is BulState.PROBING:
            self.stats.events['nud-failed'] += 1
            fields = {**self._fields(entry.ifname, entry.mac), 'reason': DetachReason.NUD_FAILURE.value}
            log = Log('info', 'mn-detached', fields)
            return [log, *self.signalling.deregister(entry, now, Trigger.DETACH)]  # SHOULD de-register
        if kind == EXPIRY_TIMER and entry.state in (*FORWARDING, BulState.PROGRAMMING):
            self.stats.events['binding-expired'] += 1
            actions = [Log('warn', 'binding-expired', {'mn': entry.mn_id.text}), *self.signalling.teardown(entry)]
            entry.advance(Trigger.EXPIRED)
            self.bul.remove(entry)
            return actions + [CancelTimer((PBU_TIMER, ident))]
        return []

    def _renew(self, entry: BulEntry, now: float) -> list[Out]:
        entry.advance(Trigger.RENEW)
        self.stats.events['renewal-sent'] += 1
        return self.signalling.start_attempt(entry, now)

    def _on_reachable(self, ifname: str, mac: bytes, now: float) -> list[Out]:
        entry = self.bul.at(ifname, mac)
        if entry is None or entry.state is not BulState.PROBING:
            return []
        return [CancelTimer((PROBE_TIMER, entry.entry_id)), *self._renew(entry, now)]

    # ---- access link: RS, DHCP (RFC 5213 §6.9.2, RFC 5844 §3.4) -------------------------

    def _on_solicitation(self, ifname: str, mac: bytes, now: float) -> list[Out]:
        """Answer with the HNPs once registered; before the PBA, stay silent (§6.9.2): the
        unsolicited RA after the PBA answers it."""
        entry = self.bul.at(ifname, mac)
        if entry is None:
            return self._on_attach(MobileNodeAttached(ifname, mac, AttachTrigger.ROUTER_SOLICITATION), now)
        confirmed = self._confirmed(entry, now) if entry.entry_id in self.unconfirmed else []
        if entry.state in FORWARDING and entry.hnps:
            return [*confirmed, self.forwarding.advertise(entry, now)]
        state = entry.state.value if entry.state is not None else ''
        return [Log('debug', 'rs-not-answered', {**self._fields(ifname, mac), 'state': state})]

    def _on_discover(self, ifname: str, mac: bytes, now: float) -> list[Out]:
        """A DISCOVER triggers the PBU; until the IPv4 HoA is known DISCOVERs are dropped."""
        entry = self.bul.at(ifname, mac)
        if entry is None:
            return self._on_attach(MobileNodeAttached(ifname, mac, AttachTrigger.DHCP), now)
        if entry.state not in FORWARDING:
            return [Log('debug', 'dhcp-discover-dropped', self._fields(ifname, mac))]
        # A DHCP client asking again (a DHCPv6 SOLICIT/RENEW too) is on the link: re-advertise its
        # prefixes, which also tells a DHCPv6 relay the MN's HNPs after a restart restored it.
        actions: list[Out] = [self.forwarding.advertise(entry, now)] if entry.hnps else []
        offer = self.forwarding.offer(entry)
        if offer is not None:
            actions.append(offer)
        return actions or [Log('debug', 'dhcp-discover-dropped', self._fields(ifname, mac))]

    def _on_release(self, ifname: str, mac: bytes, now: float) -> list[Out]:
        """DHCPRELEASE de-registers the IPv4 part only; an IPv4-only MN is gone altogether."""
        entry = self.bul.at(ifname, mac)
        if entry is None or entry.ipv4 is None or entry.state not in FORWARDING:
            return []
        if not entry.hnps:
            return self._on_detach(ifname, mac, DetachReason.DHCP_RELEASE, now)
        return self.signalling.release_ipv4(entry, now)

    # ---- binding revocation and administrative clear (RFC 5846) ------------------------

    def _on_revocation(self, event: MessageReceived, bri: BindingRevocationIndication, now: float) -> list[Out]:
        actions, again = self.revocation.on_bri(event, bri)
        for ifname, mac in again:  # out-of-sync state at the LMA: register the MN anew
            actions += self._on_attach(MobileNodeAttached(ifname, mac, AttachTrigger.LINK, AttachHint.NEW), now)
        return actions

    def clear(self, nai: str | None, now: float) -> tuple[int, list[Out]]:
        """`clear ... mag binding`: de-register the MN(s) (PBU lifetime 0, §6.9.1.4) and clean up.

        The MN, if still attached, registers again on its next attach trigger (RS, DHCP).
        Returns how many entries were cleared, and the actions.
        """
        self.revision += 1
        count, actions = 0, list[Out]()
        for entry in self.entries():
            if nai is not None and entry.mn_id.text != nai:
                continue
            count += 1
            if entry.state is BulState.DEREGISTERING:
                continue  # already on its way out
            self.stats.events['cleared'] += 1
            actions.append(Log('info', 'binding-cleared', {'mn': entry.mn_id.text, 'ifname': entry.ifname}))
            if entry.state is BulState.HALTED:
                actions += self.signalling.cleanup(entry, 'cleared')
            else:
                actions += self.signalling.deregister(entry, now, Trigger.DETACH)
        return count, actions

    # ---- persistence (the daemon's state file) -----------------------------------------

    def export(self) -> list[dict[str, Any]]:
        """The signalling counters and every entry worth keeping across a restart, as JSON-able records."""
        records = [signalling_record(self.signalling.sequence, self.signalling.last_timestamp)]
        records += [r for r in (entry_to_record(e) for e in self.entries()) if r is not None]
        return records

    def restore(self, records: list[dict[str, Any]], now: float) -> list[Out]:
        """Re-create entries saved by `export` before a restart.

        Registered ones get their tunnel and routes back and, RESTORE_PROBE_DELAY_S later, a
        NUD probe: the MN answers and the binding is renewed, or it does not and the binding
        is de-registered (RFC 5213 §6.9.1.3, §6.13). A de-registration that was in flight is sent again. Expired,
        damaged, or no longer configured entries are dropped (the LMA lets them expire).
        """
        actions: list[Out] = []
        for record in records:
            try:
                if record.get('kind') == SIGNALLING:
                    self.signalling.restore_counters(int(record['sequence']), int(record['timestamp']))
                    continue
                actions += self._restore_entry(record, now)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                actions.append(Log('warn', 'state-record-dropped', {'error': repr(exc)}))
        self.revision += 1
        actions.append(Log('info', 'state-restored', {'entries': len(self.bul)}))
        return actions

    def _restore_entry(self, record: dict[str, Any], now: float) -> list[Out]:
        profile = self.policy.profile(bytes.fromhex(record['mac']))
        if profile is None or not profile.enabled or self.policy.interface(record['ifname']) is None:
            return [Log('info', 'state-entry-dropped', {'ifname': record['ifname'], 'why': 'not configured'})]
        entry = entry_from_record(record, profile)
        if entry.expires_at <= now or entry.key in self.bul.by_link or entry.entry_id in self.bul.entries:
            return []
        self._ids = itertools.count(max(next(self._ids), entry.entry_id + 1))
        entry.advance(Trigger.RESTORED)
        self.bul.add(entry)
        if record['state'] == DEREGISTERING:
            return self.signalling.deregister(entry, now, Trigger.DETACH)
        if record['state'] != REGISTERED:
            raise ValueError(f'state {record["state"]!r}')
        self.stats.events['entry-restored'] += 1
        actions: list[Out] = [self.forwarding.install(entry), StartTimer((EXPIRY_TIMER, entry.entry_id), entry.expires_at)]
        if entry.link_local is not None and self.forwarding.source(entry) == entry.link_local:
            actions.append(SetLinkLocal(entry.ifname, entry.link_local))
        offer = self.forwarding.offer(entry)
        if offer is not None:
            actions.append(offer)
        # The MN showing itself on the link (RS, an answer to the runtime's Echo Request, DHCP)
        # renews at once; failing that the renewal timer probes first (§6.9.1.3), a little later
        # so the access link can hear from the MN (the kernel's neighbour cache did not survive).
        self.unconfirmed.add(entry.entry_id)
        return actions + [StartTimer((RENEW_TIMER, entry.entry_id), now + RESTORE_PROBE_DELAY_S)]

    def _confirmed(self, entry: BulEntry, now: float) -> list[Out]:
        """A restored entry's MN is on its link: renew the binding now."""
        self.unconfirmed.discard(entry.entry_id)
        if entry.state is not BulState.REGISTERED:
            return []
        self.stats.events['restored-mn-present'] += 1
        return [CancelTimer((RENEW_TIMER, entry.entry_id)), *self._renew(entry, now)]

    # ---- configuration and snapshot ----------------------------------------------------

    def reconfigure(self, policy: MagPolicy) -> list[Out]:
        """Adopt a new policy; this is the administrative action that lifts 152-style stops."""
        self.policy = policy
        self.forwarding.policy = policy
        self.signalling.policy = policy
        self.signalling.denied.clear()
        self.revocation.blocked.clear()
        actions: list[Out] = []
        for entry in [e for e in self.bul.entries.values() if e.state is BulState.HALTED]:
            actions += self.signalling.cleanup(entry, 'reconfigured')
        return actions + [Log('info', 'policy-reloaded', {'profiles': len(policy.profiles), 'entries': len(self.bul)})]

    def entries(self) -> list[BulEntry]:
        """The Binding Update List, oldest first (read-only use)."""
        return sorted(self.bul.entries.values(), key=lambda e: e.entry_id)

    @staticmethod
    def _fields(ifname: str, mac: bytes) -> dict[str, Any]:
        return {'ifname': ifname, 'mac': format_mac(mac)}
