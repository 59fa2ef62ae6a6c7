"""Building the Proxy Binding Acknowledgement (pure; RFC 5213 §5.3.6, RFC 5844 §3.1.2.6, RFC 5845 §5.2)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import NamedTuple

from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.seqno import timestamp_from_seconds
from pmiprouter.mh.iana import BAFlags, BAStatus, IPv4HomeAddressReplyStatus, MNIdentifierSubtype
from pmiprouter.mh.messages import BindingAcknowledgement
from pmiprouter.mh.option import MobilityOption
from pmiprouter.mh.options_ipv4 import (
    GREKey,
    IPv4DefaultRouterAddress,
    IPv4DHCPSupportMode,
    IPv4HomeAddressReply,
    NATDetection,
)
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    Timestamp,
)

ZERO_LENGTH_MN_ID = MobileNodeIdentifier(MNIdentifierSubtype.NAI, b'')
ALL_ZERO_HNP = HomeNetworkPrefix(0, IPv6Address(0))
PROXY_FLAGS = BAFlags.P  # IntFlag arithmetic is slow: the two common flag values are built once
NO_FLAGS = BAFlags(0)

# Options are frozen values: the few Handoff Indicator and Access Technology Type values a
# PBA echoes are built once and shared by every PBA.
_HANDOFF: dict[int, HandoffIndicatorOption] = {}
_ACCESS: dict[int, AccessTechnologyTypeOption] = {}


def _handoff(value: int) -> HandoffIndicatorOption:
    option = _HANDOFF.get(value)
    if option is None:
        option = _HANDOFF[value] = HandoffIndicatorOption(value)
    return option


def _access(value: int) -> AccessTechnologyTypeOption:
    option = _ACCESS.get(value)
    if option is None:
        option = _ACCESS[value] = AccessTechnologyTypeOption(value)
    return option

# RFC 5844 §3.1.2.2: the IPv4 HoA Reply status that goes with a PBA rejection.
_REPLY_STATUS = {
    BAStatus.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS: IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED,
    BAStatus.INSUFFICIENT_RESOURCES: IPv4HomeAddressReplyStatus.FAILURE_REASON_UNSPECIFIED,
}


class Grant(NamedTuple):
    """What an accepted PBA tells the MAG (a named tuple: one is built per accepted PBA)."""

    lifetime_s: int
    prefixes: tuple[IPv6Network, ...]
    ipv4: Ipv4HomeAddress | None
    ipv4_router: IPv4Address | None
    link_local: IPv6Address | None
    gre_key_in: int | None  # the uplink key we chose
    use_gre: bool
    tlv: bool
    udp: bool  # forced UDP encapsulation accepted (RFC 5844 §4.1.3.1)
    dhcp_server_mode: bool | None


_STALE_TIMESTAMP = (BAStatus.TIMESTAMP_MISMATCH, BAStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED)


def build_pba(
    request: ProxyRegistration,
    status: BAStatus,
    now: float,
    grant: Grant | None = None,
    sequence: int | None = None,
) -> BindingAcknowledgement:
    """The PBA answering `request` with `status`; `grant` is given when status < 128.

    `sequence` overrides the echoed sequence number (status 135 carries the last accepted one).
    Options the PBU carried and the PBA echoes unchanged (MN-ID, link-layer ID, an unchanged
    link-local address or timestamp) are the received option objects, not copies.
    """
    if status >= 128:
        grant = None  # a rejection grants nothing, whatever the caller passed
    mn_id = request.mn_id
    options: list[MobilityOption] = [mn_id if mn_id is not None else ZERO_LENGTH_MN_ID]
    if grant is not None:
        if request.hnps:
            options += [HomeNetworkPrefix(p.prefixlen, p.network_address) for p in grant.prefixes]
    elif request.hnps:
        options += request.hnps
    elif not request.ipv4_requests:
        options.append(ALL_ZERO_HNP)
    handoff = request.handoff or 0
    option = _HANDOFF.get(handoff)
    options.append(option if option is not None else _handoff(handoff))
    att = request.att or 0
    option = _ACCESS.get(att)
    options.append(option if option is not None else _access(att))
    if request.mn_ll_id_option is not None:
        options.append(request.mn_ll_id_option)
    if request.link_local is not None:
        link_local = grant.link_local if grant is not None and grant.link_local else request.link_local
        options.append(LinkLocalAddress(link_local))
    if request.timestamp is not None:
        stale = status in _STALE_TIMESTAMP
        options.append(Timestamp(timestamp_from_seconds(now) if stale else request.timestamp))
    if request.ipv4_requests:
        options += _ipv4_options(request, status, grant)
    if grant is not None:
        if grant.use_gre and request.gre_key is not None:
            options.append(GREKey(grant.gre_key_in if request.gre_key.key is not None else None))
        if grant.udp:
            options.append(NATDetection(True, 0))  # F=1: use IPv4-UDP encapsulation (RFC 5844 §4.2.2)
    flags = PROXY_FLAGS if request.message.is_proxy else NO_FLAGS
    if grant is not None and grant.tlv:
        flags |= BAFlags.T
    return BindingAcknowledgement(
        status,
        flags,
        request.sequence if sequence is None else sequence,
        grant.lifetime_s if grant is not None else 0,
        tuple(options),
    )


def _ipv4_options(request: ProxyRegistration, status: BAStatus, grant: Grant | None) -> list[MobilityOption]:
    asked = request.ipv4_requests[0]
    if grant is None:
        reply_status = _REPLY_STATUS.get(status, IPv4HomeAddressReplyStatus.FAILURE_REASON_UNSPECIFIED)
        return [IPv4HomeAddressReply(reply_status, asked.prefix_length, asked.address)]
    if grant.ipv4 is None:  # accepted de-registration of the IPv4 part: echo what was released
        return [IPv4HomeAddressReply(IPv4HomeAddressReplyStatus.SUCCESS, asked.prefix_length, asked.address)]
    options: list[MobilityOption] = [
        IPv4HomeAddressReply(IPv4HomeAddressReplyStatus.SUCCESS, grant.ipv4.prefix_length, grant.ipv4.ip)
    ]
    if grant.ipv4_router is not None:
        options.append(IPv4DefaultRouterAddress(grant.ipv4_router))
    if grant.dhcp_server_mode is not None:
        options.append(IPv4DHCPSupportMode(grant.dhcp_server_mode))
    return options
