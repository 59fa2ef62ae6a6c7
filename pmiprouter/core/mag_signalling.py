"""The MAG's signalling: PBUs, retransmission, PBA handling, de-registration (pure).

RFC 5213 §6.9.1.1-§6.9.1.4 (registration, PBA processing, re-registration,
de-registration), §6.9.4 (retransmission with backoff), RFC 5844 §3.2 and §3.4 (IPv4 HoA,
DHCPRELEASE), RFC 5845 §4.1 (GRE keys). `MobileAccessGateway` owns one `Signalling` and
calls it; the state it changes is the shared Binding Update List and Forwarding.
"""

from __future__ import annotations

from pmiprouter.core.actions import Action, CancelTimer, Log, SendMessage, StartTimer
from pmiprouter.core.binding_update_list import FORWARDING, BindingUpdateList, BulEntry, BulState, Trigger
from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.core.mag_events import MagAction
from pmiprouter.core.mag_forwarding import Forwarding
from pmiprouter.core.mag_pba import Verdict, mismatch, on_rejection, read_grant
from pmiprouter.core.mag_pbu import build_pbu, choose_handoff
from pmiprouter.core.mag_policy import MagPolicy
from pmiprouter.core.seqno import SEQ_MODULUS, seq_newer, seq_next, timestamp_from_seconds
from pmiprouter.core.stats import Stats
from pmiprouter.mh.iana import BAStatus, HandoffIndicator
from pmiprouter.mh.messages import BindingAcknowledgement, BindingUpdate
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier

PBU_TIMER = 'mag-pbu'  # retransmission (RFC 5213 §6.9.4)
RENEW_TIMER = 'mag-renew'  # re-registration before expiry (§6.9.1.3)
PROBE_TIMER = 'mag-probe'  # NUD answer deadline before renewal (§6.13)
EXPIRY_TIMER = 'mag-expiry'  # binding lifetime
DEREG_TIMER = 'mag-dereg'  # cleanup INITIAL_BINDACK_TIMEOUT after a de-registration (§6.9.1.4)
TIMERS = (PBU_TIMER, RENEW_TIMER, PROBE_TIMER, EXPIRY_TIMER, DEREG_TIMER)
SIGNALLING_PORT = 5436  # pmip6-cntl (RFC 5844 §6)
MAX_SELECTIVE = 256  # IPv4-only de-registrations whose PBA we still recognise

Out = Action | MagAction


class Signalling:
    """PBU/PBA exchanges of every BUL entry; one sequence counter for the whole MAG."""

    def __init__(
        self, policy: MagPolicy, bul: BindingUpdateList, forwarding: Forwarding, stats: Stats, initial_sequence: int = 0
    ) -> None:
        self.policy = policy
        self.bul = bul
        self.forwarding = forwarding
        self.stats = stats
        self.denied: set[MobileNodeIdentifier] = set()  # 152 and friends: until reconfigure()
        self.sequence = initial_sequence % SEQ_MODULUS  # per MAG, for all MNs (RFC 5213 §6.9.1.1)
        self._selective: dict[int, int] = {}  # sequence of an IPv4-only de-registration -> entry id
        self._last_timestamp = 0

    def start_attempt(self, entry: BulEntry, now: float) -> list[Out]:
        """A new registration or re-registration: backoff from INITIAL_BINDACK_TIMEOUT (§6.9.4)."""
        entry.sequences, entry.retried_now = (), False
        entry.timeout_s = self.policy.initial_bindack_timeout_s
        entry.handoff = int(choose_handoff(entry))
        return [self.transmit(entry, now, self.policy.lifetime_s), self._retransmit_timer(entry, now)]

    def transmit(self, entry: BulEntry, now: float, lifetime_s: int) -> SendMessage:
        """Send the entry's PBU with a fresh timestamp and a new sequence number (§6.9.4)."""
        sequence = self.next_sequence()
        entry.remember(sequence)
        entry.sent_at = now
        return self.send(entry, build_pbu(entry, self.policy, sequence, self.timestamp(now), lifetime_s))

    def send(self, entry: BulEntry, pbu: BindingUpdate) -> SendMessage:
        self.stats.sent['pbu'] += 1
        port = SIGNALLING_PORT if entry.transport is Transport.UDP4 else None
        return SendMessage(entry.lma, entry.local, pbu, entry.transport, port)

    def _retransmit_timer(self, entry: BulEntry, now: float) -> StartTimer:
        return StartTimer((PBU_TIMER, entry.entry_id), now + entry.timeout_s)

    def timestamp(self, now: float) -> int:
        """The current time as a Timestamp value, strictly above the last one we sent.

        The LMA accepts only timestamps greater than the last accepted one (RFC 5213 §5.5);
        two PBUs within one clock tick (a de-registration right after a registration) would
        otherwise carry equal values and the second would get 157.
        """
        self._last_timestamp = max(timestamp_from_seconds(now), self._last_timestamp + 1)
        return self._last_timestamp

    @property
    def last_timestamp(self) -> int:
        return self._last_timestamp

    def restore_counters(self, sequence: int, last_timestamp: int) -> None:
        """After a restart: go on from the saved sequence number and Timestamp (RFC 5213 §5.5)."""
        self.sequence = sequence % SEQ_MODULUS
        self._last_timestamp = max(self._last_timestamp, last_timestamp)

    def next_sequence(self) -> int:
        self.sequence = seq_next(self.sequence)
        return self.sequence

    def on_retransmit(self, entry: BulEntry, now: float) -> list[Out]:
        """No PBA in time: resend, doubling the timeout up to MAX_BINDACK_TIMEOUT (§6.9.4).

        Only entries whose MN is still attached get here: a detach moved them on already.
        """
        if entry.state not in (BulState.REGISTERING, BulState.RENEWING):
            return []
        entry.advance(Trigger.RETRANSMIT)
        entry.timeout_s = min(entry.timeout_s * 2, self.policy.max_bindack_timeout_s)
        self.stats.events['pbu-retransmitted'] += 1
        return [self.transmit(entry, now, self.policy.lifetime_s), self._retransmit_timer(entry, now)]

    def deregister(self, entry: BulEntry, now: float, trigger: Trigger) -> list[Out]:
        """Lifetime 0, assigned HNPs, HI 4, no GRE Key; cleanup on the PBA or after 1 s (§6.9.1.4)."""
        live_timers = (PBU_TIMER, RENEW_TIMER, PROBE_TIMER, EXPIRY_TIMER)
        actions: list[Out] = [CancelTimer((kind, entry.entry_id)) for kind in live_timers]
        if entry.state in FORWARDING and entry.hnps:
            actions.append(self.forwarding.withdraw(entry))
        entry.advance(trigger)
        entry.sequences, entry.handoff = (), int(choose_handoff(entry, deregistration=True))
        self.stats.events['deregistration-sent'] += 1
        actions.append(self.transmit(entry, now, 0))
        actions.append(StartTimer((DEREG_TIMER, entry.entry_id), now + self.policy.deregistration_wait_s))
        return actions

    # ---- PBA (RFC 5213 §6.9.1.2) -------------------------------------------------------

    def on_sent(self, pbu: BindingUpdate, now: float) -> list[Out]:
        """The runtime sent `pbu` at `now`: its round trip runs from here (the engine decided it
        earlier, at the event's `now`, and encoding and the system call took time since)."""
        mn_id = pbu.option(MobileNodeIdentifier)
        entry = self.bul.match(mn_id, pbu.sequence) if mn_id is not None else None
        if entry is not None and entry.sequences and entry.sequences[-1] == pbu.sequence:
            entry.sent_at = now
        return []

    def on_pba(self, event: MessageReceived, pba: BindingAcknowledgement, now: float) -> list[Out]:
        mn_id = pba.option(MobileNodeIdentifier)
        entry = self.bul.match(mn_id, pba.sequence) if mn_id is not None else None
        if entry is None and mn_id is not None and pba.status == BAStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW:
            entry = self.bul.outstanding_of(mn_id)
        if entry is None and mn_id is not None and pba.sequence in self._selective:
            return self._on_selective_pba(mn_id, pba)
        if entry is None or event.src != entry.lma:
            self.stats.events['pba-unmatched'] += 1
            fields = {'mn': mn_id.text if mn_id is not None else '', 'sequence': pba.sequence, 'src': event.src}
            return [Log('info', 'pba-unmatched', fields)]
        self.stats.pba_status[int(pba.status)] += 1
        differs = mismatch(entry, pba)
        if differs is not None:
            return self._on_mismatch(entry, differs)
        if entry.state is BulState.DEREGISTERING:
            return self.cleanup(entry, 'deregistered')
        if pba.status < 128:
            return self._on_accepted(entry, pba, now)
        return self._on_rejected(entry, int(pba.status), pba.sequence, now)

    def _on_mismatch(self, entry: BulEntry, differs: str) -> list[Out]:
        """§6.9.1.2 step 3: ignore the PBA and send nothing more for this MN until admin action."""
        self.stats.events['pba-mismatch'] += 1
        log = Log('error', 'pba-mismatch', {'mn': entry.mn_id.text, 'field': differs})
        if entry.state is BulState.DEREGISTERING:  # cleanup follows the de-registration timer
            return [log]
        actions: list[Out] = [log, CancelTimer((PBU_TIMER, entry.entry_id))]
        actions += self.teardown(entry)
        entry.advance(Trigger.MISMATCH)
        return actions

    def _on_accepted(self, entry: BulEntry, pba: BindingAcknowledgement, now: float) -> list[Out]:
        grant = read_grant(entry, pba)
        if grant.lifetime_s <= 0 or (not grant.prefixes and grant.ipv4 is None):
            # Accepted, yet nothing to serve or no time to serve it: as a transient failure.
            return [Log('warn', 'pba-accepted-empty', {'mn': entry.mn_id.text})] + self._on_rejected(
                entry, int(BAStatus.REASON_UNSPECIFIED), pba.sequence, now
            )
        renewal = entry.state is BulState.RENEWING
        before = (entry.hnps, entry.ipv4, entry.use_gre, entry.gre_key_out, entry.udp)
        if grant.gre is False:  # status 2, or no GRE Key back: never send one again (RFC 5845 §4.1)
            entry.use_gre = False
        entry.gre_key_out = grant.uplink_key if entry.use_gre else None
        entry.hnps, entry.ipv4, entry.ipv4_router = grant.prefixes, grant.ipv4, grant.ipv4_router
        entry.dhcp_server, entry.udp = grant.dhcp_server, grant.udp
        # RFC 5844 §3.2.3.2: no (successful) IPv4 HoA Reply -> no IPv4 service; re-registrations
        # ask only for what the session has.
        entry.want_ipv4, entry.want_ipv6 = grant.ipv4 is not None, bool(grant.prefixes)
        entry.link_local = grant.link_local or entry.link_local
        entry.lifetime_s, entry.expires_at = grant.lifetime_s, now + grant.lifetime_s
        entry.ever_accepted = True
        entry.pbu_to_pba_ms = round((now - entry.sent_at) * 1000, 2)
        self.stats.round_trips_ms.append(entry.pbu_to_pba_ms)
        actions: list[Out] = [CancelTimer((PBU_TIMER, entry.entry_id))]
        if renewal and before == (entry.hnps, entry.ipv4, entry.use_gre, entry.gre_key_out, entry.udp):
            entry.advance(Trigger.RENEWED)
            self.stats.events['renewed'] += 1
            # A fresh RA keeps the MN's prefix lifetimes in step with the binding's.
            return actions + [*self.arm_lifetime(entry, now), self.forwarding.advertise(entry, now)]
        entry.advance(Trigger.ACCEPTED)
        actions.append(self.forwarding.install(entry))
        # The binding runs from now, even if the data plane never answers.
        actions.append(StartTimer((EXPIRY_TIMER, entry.entry_id), entry.expires_at))
        return actions

    def _on_rejected(self, entry: BulEntry, status: int, sequence: int, now: float) -> list[Out]:
        """§6.9.1.2 steps 4-5 and RFC 5844/5845: adjust, retry or stop; never keep forwarding."""
        self.stats.events['pbu-rejected'] += 1
        actions: list[Out] = [Log('warn', 'pbu-rejected', {'mn': entry.mn_id.text, 'status': status})]
        if entry.state is BulState.RENEWING:
            actions += self.teardown(entry)
        if status == BAStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW and not seq_newer(self.sequence, sequence):
            self.sequence = sequence  # the PBA carries the LMA's last accepted number: go above it
        verdict = on_rejection(entry, status)
        if verdict is Verdict.RETRY_ONCE:
            verdict, entry.retried_now = (Verdict.RETRY_LATER if entry.retried_now else verdict), True
        if verdict is Verdict.DENY:
            entry.advance(Trigger.DENY)
            self.denied.add(entry.mn_id)
            self.stats.events['mn-denied'] += 1
            log = Log('error', 'mn-denied', {'mn': entry.mn_id.text, 'status': status})
            return actions + [CancelTimer((PBU_TIMER, entry.entry_id)), log]
        entry.advance(Trigger.RETRY)
        if verdict is Verdict.RETRY_LATER:  # the retransmission timer is still armed
            return actions
        entry.handoff = int(choose_handoff(entry))
        return actions + [self.transmit(entry, now, self.policy.lifetime_s), self._retransmit_timer(entry, now)]

    def _on_selective_pba(self, mn_id: MobileNodeIdentifier, pba: BindingAcknowledgement) -> list[Out]:
        entry_id = self._selective.pop(pba.sequence)
        entry = self.bul.entries.get(entry_id)
        if entry is None or entry.mn_id != mn_id:
            self.stats.events['pba-unmatched'] += 1
            return [Log('info', 'pba-unmatched', {'mn': mn_id.text, 'sequence': pba.sequence})]
        return [Log('info', 'ipv4-deregistered', {'mn': mn_id.text, 'status': int(pba.status)})]

    # ---- lifetime, teardown, cleanup ---------------------------------------------------

    def arm_lifetime(self, entry: BulEntry, now: float) -> list[Out]:
        """Renew `renewal_margin_s` before expiry, at the latest half way through (§6.9.1.3)."""
        margin = min(self.policy.renewal_margin_s, entry.lifetime_s / 2)
        return [
            StartTimer((RENEW_TIMER, entry.entry_id), entry.expires_at - margin),
            StartTimer((EXPIRY_TIMER, entry.entry_id), entry.expires_at),
        ]

    def teardown(self, entry: BulEntry) -> list[Out]:
        """Stop advertising and forwarding (any status >= 128, §6.9.1.2 step 5; expiry).

        What was granted becomes what the next attempt asks for, so a retry keeps the MN's
        addresses if the LMA agrees.
        """
        lifetime_timers = (RENEW_TIMER, PROBE_TIMER, EXPIRY_TIMER)
        actions: list[Out] = [CancelTimer((kind, entry.entry_id)) for kind in lifetime_timers]
        actions += self.forwarding.stop_serving(entry)
        entry.requested_prefixes = entry.hnps or entry.requested_prefixes
        entry.requested_ipv4 = entry.ipv4 or entry.requested_ipv4
        entry.hnps, entry.ipv4, entry.ipv4_router = (), None, None
        return actions

    def cleanup(self, entry: BulEntry, why: str) -> list[Out]:
        """Remove the entry, its routes and (if it was the last user) its tunnel (§6.9.1.4)."""
        actions: list[Out] = [CancelTimer((kind, entry.entry_id)) for kind in TIMERS]
        actions += self.forwarding.stop_serving(entry, withdraw=False)  # withdrawn at de-registration
        entry.advance(Trigger.CLEANUP)
        self.bul.remove(entry)
        self.stats.events['entry-deleted'] += 1
        return actions + [Log('info', 'entry-deleted', {'mn': entry.mn_id.text, 'why': why})]

    def release_ipv4(self, entry: BulEntry, now: float) -> list[Out]:
        """RFC 5844 §3.4: a lifetime-0 PBU naming only the IPv4 HoA (one shot); the HNPs stay."""
        sequence = self.next_sequence()
        self._selective[sequence] = entry.entry_id
        while len(self._selective) > MAX_SELECTIVE:  # unanswered ones must not pile up
            del self._selective[next(iter(self._selective))]
        handoff = HandoffIndicator.HANDOFF_STATE_UNKNOWN
        pbu = build_pbu(entry, self.policy, sequence, self.timestamp(now), 0, ipv6=False, ipv4=True, handoff=handoff)
        actions: list[Out] = [self.send(entry, pbu), self.forwarding.revoke(entry)]
        entry.ipv4, entry.ipv4_router, entry.want_ipv4, entry.requested_ipv4 = None, None, False, None
        actions.append(self.forwarding.install(entry))  # same prefixes, no IPv4 HoA: replaced in place
        self.stats.events['ipv4-released'] += 1
        return actions
