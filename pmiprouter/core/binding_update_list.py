"""The MAG's Binding Update List: entries, their state table and lookups (pure).

RFC 5213 §6.1 (entry contents), §6.9 (registration, retransmission, re-registration,
de-registration), RFC 5844 §3.2.1 / §4.2.1 (IPv4 HoA, default router, IPv4-LMAA),
RFC 5845 §4.1 (GRE keys).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmiprouter.core.errors import InternalInvariantError
from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.core.mag_events import AttachHint
from pmiprouter.core.mag_policy import MagProfile
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.dataplane.interface import MnRouteSpec
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier


class BulState(enum.Enum):
    """Life of a Binding Update List entry (one MN interface on one access link)."""

    REGISTERING = 'registering'  # a PBU is outstanding; nothing is forwarded or advertised
    PROGRAMMING = 'programming'  # PBA accepted; tunnel and routes are being set up, no RA yet
    REGISTERED = 'registered'  # forwarding; RAs carry the HNPs
    PROBING = 'probing'  # renewal due: NUD checks the MN is still there first (§6.9.1.3)
    RENEWING = 'renewing'  # re-registration outstanding; forwarding continues
    DEREGISTERING = 'deregistering'  # lifetime-0 PBU sent; cleanup on its PBA or after 1 s
    HALTED = 'halted'  # no more PBUs until administrative action (§6.9.1.2 steps 3-4)
    DELETED = 'deleted'


class Trigger(enum.Enum):
    SEND = 'send'  # first PBU of a new entry
    RETRANSMIT = 'retransmit'  # backoff timer, MN still attached
    ACCEPTED = 'accepted'  # PBA status < 128 that needs the data plane
    RENEWED = 'renewed'  # PBA status < 128 for a re-registration, forwarding unchanged
    APPLIED = 'applied'  # DataplaneApplied
    DATAPLANE_FAILED = 'dataplane-failed'
    RETRY = 'retry'  # rejected; we will ask again (157, 155, 163, 170-172, transient)
    DENY = 'deny'  # rejected for good (152 and the other configuration errors)
    MISMATCH = 'mismatch'  # PBA with other HI/ATT/MN-LL-ID: ignore it, stop (§6.9.1.2 step 3)
    RENEW_DUE = 'renew-due'  # renewal timer with NUD probing
    RENEW = 'renew'  # send the re-registration
    DETACH = 'detach'  # MN gone, probe failed, or data plane failed: de-register
    CLEANUP = 'cleanup'  # de-registration answered or timed out; halted entry dropped
    EXPIRED = 'expired'  # binding lifetime ran out without a successful renewal
    REVOKED = 'revoked'  # the LMA revoked the binding (RFC 5846 BRI): gone without a PBU
    RESTORED = 'restored'  # read back from the state file after a restart: renewal (NUD probe first) soon


_LIVE = (BulState.REGISTERING, BulState.PROGRAMMING, BulState.REGISTERED, BulState.PROBING, BulState.RENEWING)

# Every allowed (state, trigger) pair; anything else is a bug (InternalInvariantError).
TRANSITIONS: dict[tuple[BulState | None, Trigger], BulState] = {
    (None, Trigger.SEND): BulState.REGISTERING,
    (BulState.REGISTERING, Trigger.RETRANSMIT): BulState.REGISTERING,
    (BulState.RENEWING, Trigger.RETRANSMIT): BulState.RENEWING,
    (BulState.REGISTERING, Trigger.ACCEPTED): BulState.PROGRAMMING,
    (BulState.RENEWING, Trigger.ACCEPTED): BulState.PROGRAMMING,  # the LMA granted other prefixes
    (BulState.RENEWING, Trigger.RENEWED): BulState.REGISTERED,
    (BulState.PROGRAMMING, Trigger.APPLIED): BulState.REGISTERED,
    (BulState.PROGRAMMING, Trigger.DATAPLANE_FAILED): BulState.DEREGISTERING,
    (BulState.REGISTERING, Trigger.RETRY): BulState.REGISTERING,
    (BulState.RENEWING, Trigger.RETRY): BulState.REGISTERING,  # forwarding withdrawn first (§6.9.1.2 step 5)
    (BulState.REGISTERING, Trigger.DENY): BulState.HALTED,
    (BulState.RENEWING, Trigger.DENY): BulState.HALTED,
    (BulState.REGISTERING, Trigger.MISMATCH): BulState.HALTED,
    (BulState.RENEWING, Trigger.MISMATCH): BulState.HALTED,
    (BulState.REGISTERED, Trigger.RENEW_DUE): BulState.PROBING,
    (BulState.REGISTERED, Trigger.RENEW): BulState.RENEWING,
    (BulState.PROBING, Trigger.RENEW): BulState.RENEWING,
    **{(state, Trigger.DETACH): BulState.DEREGISTERING for state in _LIVE},
    (BulState.DEREGISTERING, Trigger.CLEANUP): BulState.DELETED,
    (BulState.HALTED, Trigger.CLEANUP): BulState.DELETED,
    (BulState.PROGRAMMING, Trigger.EXPIRED): BulState.DELETED,
    (BulState.REGISTERED, Trigger.EXPIRED): BulState.DELETED,
    (BulState.PROBING, Trigger.EXPIRED): BulState.DELETED,
    (BulState.RENEWING, Trigger.EXPIRED): BulState.DELETED,
    **{(state, Trigger.REVOKED): BulState.DELETED for state in (*_LIVE, BulState.DEREGISTERING, BulState.HALTED)},
    (None, Trigger.RESTORED): BulState.REGISTERED,
}

FORWARDING = frozenset({BulState.REGISTERED, BulState.PROBING, BulState.RENEWING})
OUTSTANDING = frozenset({BulState.REGISTERING, BulState.RENEWING, BulState.DEREGISTERING})


def advance(state: BulState | None, trigger: Trigger) -> BulState:
    """The state after `trigger`; raises InternalInvariantError for a pair not in TRANSITIONS."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise InternalInvariantError(f'no transition from {state} on {trigger}') from None


# How many sequence numbers of the current attempt a late PBA may still match: the LMA may
# answer a PBU after we retransmitted it (e.g. its 1.5 s MaxDelayBeforeNewBCEAssign wait).
KEEP_SEQUENCES = 8


@dataclass(slots=True)
class BulEntry:
    """One mobility session as the MAG sees it (RFC 5213 §6.1 plus RFC 5844/5845 fields)."""

    entry_id: int
    ifname: str
    mac: bytes
    mn_id: MobileNodeIdentifier
    profile: MagProfile
    att: int
    mn_ll_id: bytes  # the MAC (RFC 5213 §6.1 stores ALL_ZERO when unknown)
    local: IPAddress  # Proxy-CoA (or IPv4-Proxy-CoA)
    lma: IPAddress  # LMAA (or IPv4-LMAA)
    transport: Transport
    hint: AttachHint
    # What the next PBU asks for (adjusted by 155/170/171/172, RFC 5213 §6.9.1.2 step 4).
    want_ipv6: bool
    want_ipv4: bool
    requested_prefixes: tuple[IPv6Network, ...] = ()  # empty: one ALL_ZERO HNP
    requested_ipv4: Ipv4HomeAddress | None = None  # None: 0.0.0.0
    # What the LMA granted.
    hnps: tuple[IPv6Network, ...] = ()
    ipv4: Ipv4HomeAddress | None = None
    ipv4_router: IPv4Address | None = None
    dhcp_server: bool | None = None  # RFC 5844 §3.3.4 S flag: True server, False relay, None not said
    link_local: IPv6Address | None = None
    lifetime_s: int = 0
    expires_at: float = 0.0
    # RFC 5845: our downlink key (in the PBU), the LMA's uplink key (in the PBA).
    use_gre: bool = False
    gre_key_in: int | None = None
    gre_key_out: int | None = None
    udp: bool = False  # the PBA's NAT Detection F=1: IPv4-UDP encapsulation (RFC 5844 §4.2.2)
    # Signalling of the current attempt.
    handoff: int = 0
    sequences: tuple[int, ...] = ()
    timeout_s: float = 0.0
    retried_now: bool = False  # one immediate retry per attempt (157, 135, 163...)
    ever_accepted: bool = False
    pending_ticket: int | None = None
    sent_at: float = 0.0  # when the latest PBU went out
    pbu_to_pba_ms: float | None = None  # that PBU's round trip, once its PBA came (for the log)
    route: MnRouteSpec | None = None  # what the data plane holds for this MN
    state: BulState | None = None

    def advance(self, trigger: Trigger) -> BulState:
        self.state = advance(self.state, trigger)
        return self.state

    @property
    def key(self) -> tuple[str, bytes]:
        return (self.ifname, self.mac)

    def remember(self, sequence: int) -> None:
        """Record a sent sequence number; a PBA may answer any of the latest few."""
        self.sequences = (*self.sequences, sequence)[-KEEP_SEQUENCES:]


@dataclass
class BindingUpdateList:
    """Entries by id, with lookups by access link and MAC and by MN-Identifier."""

    entries: dict[int, BulEntry] = field(default_factory=dict)
    by_link: dict[tuple[str, bytes], int] = field(default_factory=dict)
    by_mn: dict[MobileNodeIdentifier, tuple[int, ...]] = field(default_factory=dict)

    def add(self, entry: BulEntry) -> None:
        if entry.key in self.by_link:
            raise InternalInvariantError(f'two entries for {entry.key}')
        self.entries[entry.entry_id] = entry
        self.by_link[entry.key] = entry.entry_id
        self.by_mn[entry.mn_id] = (*self.by_mn.get(entry.mn_id, ()), entry.entry_id)

    def remove(self, entry: BulEntry) -> None:
        self.entries.pop(entry.entry_id, None)
        if self.by_link.get(entry.key) == entry.entry_id:
            del self.by_link[entry.key]
        rest = tuple(i for i in self.by_mn.get(entry.mn_id, ()) if i != entry.entry_id)
        if rest:
            self.by_mn[entry.mn_id] = rest
        else:
            self.by_mn.pop(entry.mn_id, None)

    def at(self, ifname: str, mac: bytes) -> BulEntry | None:
        ident = self.by_link.get((ifname, mac))
        return None if ident is None else self.entries[ident]

    def of_mn(self, mn_id: MobileNodeIdentifier) -> list[BulEntry]:
        return [self.entries[i] for i in self.by_mn.get(mn_id, ())]

    def match(self, mn_id: MobileNodeIdentifier, sequence: int) -> BulEntry | None:
        """The entry with an outstanding PBU for this MN-ID and sequence (RFC 5213 §6.9.1.2 step 2)."""
        for entry in self.of_mn(mn_id):
            if entry.state in OUTSTANDING and sequence in entry.sequences:
                return entry
        return None

    def outstanding_of(self, mn_id: MobileNodeIdentifier) -> BulEntry | None:
        """The only entry of this MN-ID with a PBU outstanding: a 135 PBA carries the LMA's
        last accepted sequence number, not ours, so only the MN-ID can match it."""
        found = [e for e in self.of_mn(mn_id) if e.state in OUTSTANDING]
        return found[0] if len(found) == 1 else None

    def __len__(self) -> int:
        return len(self.entries)
