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

from pmiprouter.core.actions import Action, CancelTimer, Log, SendMessage, StartTimer
from pmiprouter.core.binding_update_list import FORWARDING, BindingUpdateList, BulEntry, BulState, Trigger
from pmiprouter.core.events import DataplaneApplied, DataplaneFailed, MalformedReceived, MessageReceived, TimerFired
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
from pmiprouter.mh.messages import BindingAcknowledgement, Heartbeat
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import RestartCounter

__all__ = ['SIGNALLING_PORT', 'TIMERS', 'MobileAccessGateway', 'mn_identifier']

Event = MagEvent | MessageReceived | MalformedReceived | TimerFired | DataplaneApplied | DataplaneFailed
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
        self._ids = itertools.count(1)

    # ---- entry point -------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Out]:
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
            case MessageReceived(message=BindingAcknowledgement() as pba):
                self.stats.received['pba'] += 1
                return self.signalling.on_pba(event, pba, now)
            case MessageReceived(message=Heartbeat() as heartbeat):
                self.stats.received['heartbeat'] += 1
                return self._on_heartbeat(event, heartbeat)
            case MessageReceived():
                self.stats.received['other'] += 1
                return [Log('debug', 'message-ignored', {'type': type(event.message).__name__, 'src': event.src})]
            case MalformedReceived():
                self.stats.received['malformed'] += 1
                return [Log('warn', 'malformed', {'src': event.src, 'error': str(event.error)})]
            case TimerFired(key=(kind, ident)):
                return self._on_timer(kind, ident, now)
            case DataplaneApplied(ticket=ticket):
                return self._on_dataplane(ticket, None, now)
            case DataplaneFailed(ticket=ticket, reason=reason):
                return self._on_dataplane(ticket, reason, now)
        return [Log('debug', 'event-ignored', {'event': type(event).__name__})]

    # ---- attachment (RFC 5213 §6.9.1.1) ------------------------------------------------

    def _on_attach(self, event: MobileNodeAttached, now: float) -> list[Out]:
        actions: list[Out] = []
        existing = self.bul.at(event.ifname, event.mac)
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
        actions.append(Log('info', 'mn-attached', {**fields, 'mn': mn_id.text, 'trigger': event.trigger.value}))
        return actions + self.signalling.start_attempt(entry, now)

    def _on_detach(self, ifname: str, mac: bytes, reason: DetachReason, now: float) -> list[Out]:
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
        fields = {'mn': entry.mn_id.text, 'hnps': [str(p) for p in entry.hnps]}
        actions: list[Out] = [Log('info', 'mn-registered', fields)]
        if entry.link_local is not None and self.forwarding.source(entry) == entry.link_local:
            actions.append(SetLinkLocal(entry.ifname, entry.link_local))  # from the LMA (§6.9.1.2 step 6)
        if entry.hnps:
            actions.append(self.forwarding.advertise(entry, now))
        offer = self.forwarding.offer(entry)
        if offer is not None:
            actions.append(offer)
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
        if entry.state in FORWARDING and entry.hnps:
            return [self.forwarding.advertise(entry, now)]
        state = entry.state.value if entry.state is not None else ''
        return [Log('debug', 'rs-not-answered', {**self._fields(ifname, mac), 'state': state})]

    def _on_discover(self, ifname: str, mac: bytes, now: float) -> list[Out]:
        """A DISCOVER triggers the PBU; until the IPv4 HoA is known DISCOVERs are dropped."""
        entry = self.bul.at(ifname, mac)
        if entry is None:
            return self._on_attach(MobileNodeAttached(ifname, mac, AttachTrigger.DHCP), now)
        offer = self.forwarding.offer(entry) if entry.state in FORWARDING else None
        return [offer] if offer is not None else [Log('debug', 'dhcp-discover-dropped', self._fields(ifname, mac))]

    def _on_release(self, ifname: str, mac: bytes, now: float) -> list[Out]:
        """DHCPRELEASE de-registers the IPv4 part only; an IPv4-only MN is gone altogether."""
        entry = self.bul.at(ifname, mac)
        if entry is None or entry.ipv4 is None or entry.state not in FORWARDING:
            return []
        if not entry.hnps:
            return self._on_detach(ifname, mac, DetachReason.DHCP_RELEASE, now)
        return self.signalling.release_ipv4(entry, now)

    # ---- other messages ----------------------------------------------------------------

    def _on_heartbeat(self, event: MessageReceived, heartbeat: Heartbeat) -> list[Out]:
        """RFC 5847 §3: always answer a Heartbeat Request, with our Restart Counter."""
        if heartbeat.response:
            return []
        response = Heartbeat(heartbeat.sequence, response=True, options=(RestartCounter(self.restart_counter),))
        self.stats.sent['heartbeat'] += 1
        return [SendMessage(event.src, event.dst, response, event.transport, event.sport)]

    # ---- configuration and snapshot ----------------------------------------------------

    def reconfigure(self, policy: MagPolicy) -> list[Out]:
        """Adopt a new policy; this is the administrative action that lifts 152-style stops."""
        self.policy = policy
        self.forwarding.policy = policy
        self.signalling.policy = policy
        self.signalling.denied.clear()
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
