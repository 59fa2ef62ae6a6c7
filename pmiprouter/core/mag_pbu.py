"""Building the MAG's Proxy Binding Update and choosing its Handoff Indicator (pure).

RFC 5213 §6.9.1.1 step 3 (initial PBU), §6.9.1.3 (re-registration), §6.9.1.4
(de-registration), §8.1 (flags), RFC 5844 §3.2.2 (IPv4 HoA Request), §4.2.2 (F flag),
RFC 5845 §4.1 (GRE Key option; none in a de-registration).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from pmiprouter.core.binding_update_list import BulEntry
from pmiprouter.core.events import Transport
from pmiprouter.core.mag_events import AttachHint
from pmiprouter.core.mag_policy import MagPolicy
from pmiprouter.mh.iana import BUFlags, HandoffIndicator
from pmiprouter.mh.messages import BindingUpdate
from pmiprouter.mh.option import MobilityOption
from pmiprouter.mh.options_ipv4 import GREKey, IPv4HomeAddressRequest
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
)

ALL_ZERO_HNP = HomeNetworkPrefix(0, IPv6Address(0))
ALL_ZERO_LINK_LOCAL = IPv6Address(0)

# RFC 5213 §6.9.1.1 step 5 / protocol.md §6.2 decision table. HI 2 (inter-interface
# handoff) is never chosen: a point-to-point MAG cannot be certain the address may move.
_HINT_TO_HI = {
    AttachHint.NEW: HandoffIndicator.ATTACHMENT_OVER_NEW_INTERFACE,
    AttachHint.FROM_OTHER_MAG: HandoffIndicator.HANDOFF_BETWEEN_MAGS_SAME_INTERFACE,
    AttachHint.UNKNOWN: HandoffIndicator.HANDOFF_STATE_UNKNOWN,
}


def choose_handoff(entry: BulEntry, deregistration: bool = False) -> HandoffIndicator:
    """The HI of the next PBU attempt for `entry`.

    De-registration: 4 (§6.9.1.4). Once the LMA accepted this session from us, every later
    registration is a re-registration: 5 (§6.9.1.3). Otherwise the access link's hint:
    1 new attachment, 3 same interface from another MAG, 4 cannot tell.
    """
    if deregistration:
        return HandoffIndicator.HANDOFF_STATE_UNKNOWN
    if entry.ever_accepted:
        return HandoffIndicator.HANDOFF_STATE_NOT_CHANGED
    return _HINT_TO_HI[entry.hint]


def build_pbu(
    entry: BulEntry,
    policy: MagPolicy,
    sequence: int,
    timestamp: int,
    lifetime_s: int,
    ipv6: bool | None = None,
    ipv4: bool | None = None,
    handoff: int | None = None,
) -> BindingUpdate:
    """The PBU for `entry`; lifetime 0 makes it a de-registration.

    `timestamp` is the 48.16 Timestamp option value (used when the domain uses timestamps).

    `ipv6` / `ipv4` override which parts are named (a DHCPRELEASE de-registers only the
    IPv4 part, RFC 5844 §3.4); by default the entry's wanted services decide. `handoff`
    overrides the entry's HI for such a one-off PBU.
    """
    deregistration = lifetime_s == 0
    with_ipv6 = entry.want_ipv6 if ipv6 is None else ipv6
    with_ipv4 = entry.want_ipv4 if ipv4 is None else ipv4
    options: list[MobilityOption] = [entry.mn_id]
    if with_ipv6:
        # Assigned prefixes once known (re-/de-registration), else what the profile asks for,
        # else exactly one ALL_ZERO HNP (§6.9.1.1 step 3).
        prefixes = entry.hnps or entry.requested_prefixes
        options += [HomeNetworkPrefix.of(p) for p in prefixes] if prefixes else [ALL_ZERO_HNP]
    options.append(HandoffIndicatorOption(entry.handoff if handoff is None else handoff))
    options.append(AccessTechnologyTypeOption(entry.att))
    if any(entry.mn_ll_id):  # MUST NOT be sent when unknown or ALL_ZERO (§6.9.1.1 step 3)
        options.append(MobileNodeLinkLayerIdentifier(entry.mn_ll_id))
    if policy.fixed_link_local is None or not int(policy.fixed_link_local):
        # No domain-wide link-local: ask the LMA (ALL_ZERO) or repeat what it gave us (§6.9.1.1).
        options.append(LinkLocalAddress(entry.link_local or ALL_ZERO_LINK_LOCAL))
    if policy.use_timestamps:
        options.append(Timestamp(timestamp))
    if with_ipv4:
        options.append(_ipv4_request(entry))
    if entry.use_gre and not deregistration:  # RFC 5845 §4.1: SHOULD NOT in a de-registration
        options.append(GREKey(entry.gre_key_in))
    flags = BUFlags(0)
    if policy.force_udp and entry.transport is Transport.UDP4:
        flags |= BUFlags.F
    # The wire counts 4-second units (RFC 6275 §6.1.7): round a configured lifetime down.
    return BindingUpdate.proxy(sequence, lifetime_s - lifetime_s % 4, tuple(options), flags)


def _ipv4_request(entry: BulEntry) -> IPv4HomeAddressRequest:
    """Exactly one request: the assigned address, the profile's, or 0.0.0.0/0 (RFC 5844 §3.2.2)."""
    address = entry.ipv4 or entry.requested_ipv4
    if address is None:
        return IPv4HomeAddressRequest(0, IPv4Address(0))
    return IPv4HomeAddressRequest(address.prefix_length, address.ip)
