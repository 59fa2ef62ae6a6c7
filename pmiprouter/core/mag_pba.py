"""Reading a Proxy Binding Acknowledgement on the MAG (pure).

RFC 5213 §6.9.1.2 (matching, mismatch, status handling), §6.9.1.3, RFC 5844 §3.2.3.2
(IPv4 HoA Reply, default router, DHCP support mode), §4.2.2 (NAT Detection F flag),
RFC 5845 §4.1 (GRE Key in the PBA, statuses 2, 3 and 163).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmiprouter.core.binding_update_list import BulEntry
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.mh.iana import BAStatus
from pmiprouter.mh.messages import BindingAcknowledgement
from pmiprouter.mh.options_ipv4 import (
    GREKey,
    IPv4DefaultRouterAddress,
    IPv4DHCPSupportMode,
    IPv4HomeAddressReply,
    NATDetection,
)
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MobileNodeLinkLayerIdentifier,
)


class Verdict(enum.Enum):
    """What the MAG does after a rejection."""

    RETRY_NOW = 'retry-now'  # the request was changed as the status asks: send it at once
    RETRY_ONCE = 'retry-once'  # same request, new timestamp / sequence: at once, but only once per attempt
    RETRY_LATER = 'retry-later'  # keep the retransmission schedule (transient or clock trouble)
    DENY = 'deny'  # stop until administrative action


# Rejections that no retry can fix: policy or configuration errors on either side. RFC 5213
# §6.9.1.2 step 4 names 152; for the others the RFC is silent and retrying every 32 s forever
# would only load the LMA (ADR 0004).
_DENY = frozenset(
    {
        BAStatus.ADMINISTRATIVELY_PROHIBITED,
        BAStatus.MIPV6_ID_MISMATCH,
        BAStatus.MIPV6_MESG_ID_REQD,
        BAStatus.MIPV6_AUTH_FAIL,
        BAStatus.SERVICE_AUTHORIZATION_FAILED,
        BAStatus.PROXY_REG_NOT_ENABLED,
        BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE,
        BAStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG,
        BAStatus.MISSING_HOME_NETWORK_PREFIX_OPTION,
        BAStatus.MISSING_MN_IDENTIFIER_OPTION,
        BAStatus.MISSING_HANDOFF_INDICATOR_OPTION,
        BAStatus.MISSING_ACCESS_TECH_TYPE_OPTION,
        BAStatus.MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED,
    }
)


def on_rejection(entry: BulEntry, status: int) -> Verdict:
    """Adjust what `entry` asks for as RFC 5213 §6.9.1.2 step 4 and companions say.

    Every adjustment can happen only once (a field goes from set to unset), so RETRY_NOW
    cannot loop.
    """
    if status in (BAStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, BAStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW):
        return Verdict.RETRY_ONCE  # 157: SHOULD re-register; 135: again above the LMA's number
    if status in (BAStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, BAStatus.BCE_PBU_PREFIX_SET_DO_NOT_MATCH):
        # 155: do not ask for the same prefixes; MAY retry with one ALL_ZERO HNP. 159 likewise:
        # the LMA's binding holds another set, ALL_ZERO lets it pick the binding by MN-LL-ID.
        if entry.requested_prefixes or entry.hnps:
            entry.requested_prefixes, entry.hnps = (), ()
            return Verdict.RETRY_NOW
        return Verdict.DENY
    if status == BAStatus.GRE_KEY_OPTION_REQUIRED:  # RFC 5845 §4.1: resend with a GRE Key
        if entry.use_gre:
            return Verdict.DENY
        entry.use_gre = True
        return Verdict.RETRY_NOW
    if status == BAStatus.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE:  # 170: stop asking for IPv4
        entry.want_ipv4, entry.requested_ipv4 = False, None
        return Verdict.RETRY_NOW if entry.want_ipv6 else Verdict.DENY
    if status == BAStatus.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS:  # 171: MAY retry with 0.0.0.0
        if entry.requested_ipv4 is not None or entry.ipv4 is not None:
            entry.requested_ipv4, entry.ipv4 = None, None
            return Verdict.RETRY_NOW
        entry.want_ipv4 = False
        return Verdict.RETRY_NOW if entry.want_ipv6 else Verdict.DENY
    if status == BAStatus.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE:  # 172: stop sending HNPs
        entry.want_ipv6, entry.requested_prefixes, entry.hnps = False, (), ()
        return Verdict.RETRY_NOW if entry.want_ipv4 else Verdict.DENY
    if status in _DENY:
        return Verdict.DENY
    # 128, 130, 156 (re-register only once the clock is synchronised, never to the LMA's clock)
    # and anything unknown: keep retrying on the backoff schedule.
    return Verdict.RETRY_LATER


def mismatch(entry: BulEntry, pba: BindingAcknowledgement) -> str | None:
    """Which of HI, ATT, MN-LL-ID differs from what we sent (RFC 5213 §6.9.1.2 step 3), or None.

    An option the LMA left out is not a mismatch: only a different value is.
    """
    hi = pba.option(HandoffIndicatorOption)
    if hi is not None and int(hi.indicator) != entry.handoff:
        return 'handoff-indicator'
    att = pba.option(AccessTechnologyTypeOption)
    if att is not None and int(att.access_technology) != entry.att:
        return 'access-technology-type'
    ll_id = pba.option(MobileNodeLinkLayerIdentifier)
    if ll_id is not None and any(entry.mn_ll_id) and ll_id.identifier != entry.mn_ll_id:
        return 'mn-link-layer-identifier'
    return None


@dataclass(frozen=True, slots=True)
class Granted:
    """What an accepted PBA gives the MN."""

    lifetime_s: int
    prefixes: tuple[IPv6Network, ...]
    ipv4: Ipv4HomeAddress | None
    ipv4_router: IPv4Address | None
    dhcp_server: bool | None
    link_local: IPv6Address | None
    uplink_key: int | None
    gre: bool | None  # None: we sent no GRE Key; False: the LMA does not use GRE for us
    udp: bool


def read_grant(entry: BulEntry, pba: BindingAcknowledgement) -> Granted:
    """The grant of an accepted PBA (status < 128), as RFC 5213 §6.9.1.2 steps 6-7 read it."""
    prefixes = tuple(h.network for h in pba.options_of(HomeNetworkPrefix) if not h.is_all_zero)
    reply = pba.option(IPv4HomeAddressReply)
    ipv4 = None
    if reply is not None and reply.status < 128 and int(reply.address):  # else: no IPv4 service
        ipv4 = Ipv4HomeAddress(reply.address, reply.prefix_length)
    router = pba.option(IPv4DefaultRouterAddress)
    dhcp = pba.option(IPv4DHCPSupportMode)
    link_local = pba.option(LinkLocalAddress)
    key = pba.option(GREKey)
    gre: bool | None = None
    if entry.use_gre:
        # Status 2: no GRE for this session; accepted without a GRE Key: the LMA does not do GRE.
        gre = pba.status != BAStatus.GRE_KEY_OPTION_NOT_REQUIRED and key is not None
    nat = pba.option(NATDetection)
    return Granted(
        lifetime_s=pba.lifetime_s,
        prefixes=prefixes if entry.want_ipv6 else (),
        ipv4=ipv4 if entry.want_ipv4 else None,
        ipv4_router=router.address if router is not None and ipv4 is not None else None,
        dhcp_server=dhcp.server if dhcp is not None else None,
        link_local=link_local.address if link_local is not None and int(link_local.address) else None,
        uplink_key=key.key if key is not None else None,
        gre=gre,
        udp=nat is not None and nat.udp_encapsulation_required,
    )
