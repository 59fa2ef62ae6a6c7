"""Binding revocation, the initiator's side (pure; RFC 5846 §6, §7, §8.1, §11).

The LMA revokes a binding by sending a Binding Revocation Indication (BRI) to the MAG that
holds it, retransmitting it InitMINDelayBRIs later (doubling up to MAX_BRACK_TIMEOUT) at most
BRIMaxRetriesNumber times (RFC 5846 §11 defaults, or `bri delay min|max` and `bri retries`). The binding is deleted when the MAG's Binding Revocation
Acknowledgement (BRA) arrives, or when the retries are used up (§8.1: the LMA cleans up
anyway). `Revocations` keeps the outstanding BRIs; `LocalMobilityAnchor` owns one and
deletes the bindings it hands back.

Also the rules both roles share: which triggers are per-MN and which global (§5.1), and
the BRA a responder sends (§5.2: Sequence # and P/V/G copied from the BRI).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv6Network

from pmiprouter.core.actions import CancelTimer, SendMessage, StartTimer
from pmiprouter.core.events import IPAddress, MessageReceived, Transport
from pmiprouter.core.seqno import SEQ_MODULUS
from pmiprouter.mh.iana import BRAStatus, RevocationTrigger
from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import HomeNetworkPrefix

BRI_TIMER = 'bri-retransmit'  # key (BRI_TIMER, sequence)

# RFC 5846 §11 defaults.
BRI_MAX_RETRIES = 1  # BRIMaxRetriesNumber
INITIAL_BRI_DELAY_S = 1.0  # InitMINDelayBRIs (never below 0.5 s)
MAX_BRACK_TIMEOUT_S = 2.0  # MAX_BRACK_TIMEOUT
MIN_BRI_DELAY_S = 0.5  # §11: InitMINDelayBRIs is never set below 500 ms


@dataclass(frozen=True, slots=True)
class BriTiming:
    """When BRIs are retransmitted (`bri delay min`, `bri delay max`, `bri retries`)."""

    initial_delay_s: float = INITIAL_BRI_DELAY_S
    max_delay_s: float = MAX_BRACK_TIMEOUT_S
    max_retries: int = BRI_MAX_RETRIES

    def __post_init__(self) -> None:
        # §11's floor, and a maximum never below the first delay (a config validated elsewhere
        # says so too; an engine fed directly still gets sane timers).
        initial = max(self.initial_delay_s, MIN_BRI_DELAY_S)
        object.__setattr__(self, 'initial_delay_s', initial)
        object.__setattr__(self, 'max_delay_s', max(self.max_delay_s, initial))
        object.__setattr__(self, 'max_retries', max(self.max_retries, 0))

LAST_ASSIGNED_PER_MN = int(RevocationTrigger.POSSIBLE_OUT_OF_SYNC_BCE_STATE)
FIRST_GLOBAL = int(RevocationTrigger.PER_PEER_POLICY)
LAST_GLOBAL_ASSIGNED = int(RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY)


class TriggerClass(enum.Enum):
    PER_MN = 'per-mn'  # 0-7: one mobile node's bindings
    GLOBAL = 'global'  # 128-129: every binding of a peer, or of a realm (G flag)
    UNSUPPORTED = 'unsupported'  # unassigned or testing values: answered 133


def classify(trigger: int) -> TriggerClass:
    """RFC 5846 §5.1 / IANA: <128 per-MN, 128-249 global; only the assigned values are supported."""
    if 0 <= trigger <= LAST_ASSIGNED_PER_MN:
        return TriggerClass.PER_MN
    if FIRST_GLOBAL <= trigger <= LAST_GLOBAL_ASSIGNED:
        return TriggerClass.GLOBAL
    return TriggerClass.UNSUPPORTED


def answer(
    event: MessageReceived, bri: BindingRevocationIndication, status: BRAStatus, mn_id: MobileNodeIdentifier | None = None
) -> SendMessage:
    """The BRA for `bri`, back the way it came (same transport, UDP port: RFC 5846 §4)."""
    options = (mn_id,) if mn_id is not None else ()
    bra = BindingRevocationAcknowledgement(status, bri.sequence, bri.proxy, bri.ipv4_only, bri.global_, options)
    return SendMessage(event.src, event.dst, bra, event.transport, event.sport)


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a BRI goes: the MAG's Proxy-CoA, from our address, the way its PBUs came."""

    mag: IPAddress
    local: IPAddress
    transport: Transport
    port: int | None


@dataclass(slots=True)
class Outstanding:
    """One BRI waiting for its BRA."""

    sequence: int
    peer: Peer
    message: BindingRevocationIndication
    binding_ids: tuple[int, ...]
    retries_left: int
    timeout_s: float
    max_timeout_s: float


@dataclass(frozen=True, slots=True)
class Finished:
    """A revocation that ended: delete these bindings. `status` is None when the BRA never came."""

    binding_ids: tuple[int, ...]
    status: int | None
    mag: IPAddress


class Revocations:
    """The LMA's outstanding BRIs, keyed by their Sequence # (unique among outstanding ones)."""

    def __init__(self, initial_sequence: int = 0, timing: BriTiming = BriTiming()) -> None:
        self.timing = timing  # the policy's; a BRI already out keeps the timing it started with
        self.outstanding: dict[int, Outstanding] = {}
        self.by_binding: dict[int, int] = {}  # binding id -> sequence of the BRI revoking it
        self._sequence = initial_sequence % SEQ_MODULUS

    def revoking(self, binding_id: int) -> bool:
        return binding_id in self.by_binding

    def _next_sequence(self) -> int:
        """§6.1: any value, as long as no outstanding BRI to the peer uses it."""
        for _ in range(SEQ_MODULUS):
            self._sequence = (self._sequence + 1) % SEQ_MODULUS
            if self._sequence not in self.outstanding:
                return self._sequence
        raise OverflowError('every BRI sequence number is outstanding')

    def start(
        self,
        peer: Peer,
        binding_ids: tuple[int, ...],
        mn_id: MobileNodeIdentifier | None,
        prefixes: tuple[IPv6Network, ...],
        trigger: RevocationTrigger,
        now: float,
    ) -> list[SendMessage | StartTimer]:
        """Send a BRI for these bindings; per-MN triggers name the MN (P=1 needs the MN-ID, §8.1)
        and its prefixes; a global trigger with no MN-ID covers every binding with the peer."""
        sequence = self._next_sequence()
        options: list[MobileNodeIdentifier | HomeNetworkPrefix] = [mn_id] if mn_id is not None else []
        options += [HomeNetworkPrefix.of(prefix) for prefix in prefixes]
        global_ = classify(int(trigger)) is TriggerClass.GLOBAL
        bri = BindingRevocationIndication(trigger, sequence, proxy=True, global_=global_, options=tuple(options))
        timing = self.timing
        pending = Outstanding(sequence, peer, bri, binding_ids, timing.max_retries, timing.initial_delay_s, timing.max_delay_s)
        self.outstanding[sequence] = pending
        for binding_id in binding_ids:
            self.by_binding[binding_id] = sequence
        return [self._send(pending), StartTimer((BRI_TIMER, sequence), now + pending.timeout_s)]

    @staticmethod
    def _send(pending: Outstanding) -> SendMessage:
        peer = pending.peer
        return SendMessage(peer.mag, peer.local, pending.message, peer.transport, peer.port)

    def on_timer(self, sequence: int, now: float) -> tuple[list[SendMessage | StartTimer], Finished | None]:
        """No BRA in time: retransmit with a doubled timeout, or give up after the last retry."""
        pending = self.outstanding.get(sequence)
        if pending is None:
            return [], None
        if pending.retries_left <= 0:
            return [], self._finish(pending, None)
        pending.retries_left -= 1
        pending.timeout_s = min(pending.timeout_s * 2, pending.max_timeout_s)
        return [self._send(pending), StartTimer((BRI_TIMER, sequence), now + pending.timeout_s)], None

    def on_bra(self, event: MessageReceived, bra: BindingRevocationAcknowledgement) -> tuple[list[CancelTimer], Finished | None]:
        """§8.1: a BRA matching no outstanding BRI from that MAG is discarded (None)."""
        pending = self.outstanding.get(bra.sequence)
        if pending is None or event.src != pending.peer.mag:
            return [], None
        return [CancelTimer((BRI_TIMER, bra.sequence))], self._finish(pending, int(bra.status))

    def _finish(self, pending: Outstanding, status: int | None) -> Finished:
        del self.outstanding[pending.sequence]
        for binding_id in pending.binding_ids:
            self.by_binding.pop(binding_id, None)
        return Finished(pending.binding_ids, status, pending.peer.mag)
