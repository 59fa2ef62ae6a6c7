"""Building the Proxy Binding Acknowledgement (pure; RFC 5213 §5.3.6, RFC 5844 §3.1.2.6, RFC 5845 §5.2)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import NamedTuple

from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.seqno import timestamp_from_seconds
from pmiprouter.mh.codec import share, unshare
from pmiprouter.mh.iana import BAFlags, BAStatus, BUFlags, IPv4HomeAddressReplyStatus, MNIdentifierSubtype
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

# Constant options are shared (codec.share): their wire bytes are computed once, not per PBA.
ZERO_LENGTH_MN_ID = share(MobileNodeIdentifier(MNIdentifierSubtype.NAI, b''))
ALL_ZERO_HNP = share(HomeNetworkPrefix(0, IPv6Address(0)))
PROXY_FLAGS = BAFlags.P  # IntFlag arithmetic is slow: the few flag values are built once
NO_FLAGS = BAFlags(0)
NAT_DETECTION_UDP = share(NATDetection(True, 0))  # F=1: use IPv4-UDP encapsulation (RFC 5844 §4.2.2)

# Options are frozen values: the few Handoff Indicator and Access Technology Type values a
# PBA echoes are built once and shared by every PBA.
_HANDOFF: dict[int, HandoffIndicatorOption] = {}
_ACCESS: dict[int, AccessTechnologyTypeOption] = {}


def _handoff(value: int) -> HandoffIndicatorOption:
    option = _HANDOFF.get(value)
    if option is None:
        option = _HANDOFF[value] = share(HandoffIndicatorOption(value))
    return option


def _access(value: int) -> AccessTechnologyTypeOption:
    option = _ACCESS.get(value)
    if option is None:
        option = _ACCESS[value] = share(AccessTechnologyTypeOption(value))
    return option


# Address options whose address is one object shared by many bindings (the IPv4 default
# router of a pool, the LMA's link-local address, a decoded link-local address): one option,
# encoded once, per address object and kind. Bounded: a table that starts over forgets the
# encodings of the options it drops.
SHARED_ADDRESS_OPTIONS = 1024
_link_local_option = ByIdentity[IPv6Address, MobilityOption](
    lambda address: share(LinkLocalAddress(address)), SHARED_ADDRESS_OPTIONS, unshare)
_router_option = ByIdentity[IPv4Address, MobilityOption](
    lambda address: share(IPv4DefaultRouterAddress(address)), SHARED_ADDRESS_OPTIONS, unshare)


_DHCP_SUPPORT = {mode: share(IPv4DHCPSupportMode(mode)) for mode in (False, True)}

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
    message, mn_id, hnps, handoff, att = request.message, request.mn_id, request.hnps, request.handoff, request.att
    ll_id_option, link_local, timestamp = request.mn_ll_id_option, request.link_local, request.timestamp
    ipv4_requests, gre_key, request_sequence = request.ipv4_requests, request.gre_key, request.sequence
    options: list[MobilityOption] = [mn_id if mn_id is not None else ZERO_LENGTH_MN_ID]
    append = options.append
    if grant is not None:
        if hnps:
            for prefix in grant.prefixes:  # a loop, not a comprehension: usually one prefix
                append(HomeNetworkPrefix(prefix.prefixlen, prefix.network_address))
    elif hnps:
        options += hnps
    elif not ipv4_requests:
        append(ALL_ZERO_HNP)
    option = _HANDOFF.get(handoff or 0)
    append(option if option is not None else _handoff(handoff or 0))
    option = _ACCESS.get(att or 0)
    append(option if option is not None else _access(att or 0))
    if ll_id_option is not None:
        append(ll_id_option)
    if link_local is not None:
        if grant is not None and grant.link_local:
            link_local = grant.link_local
        append(_link_local_option(link_local))
    if timestamp is not None:
        append(Timestamp(timestamp_from_seconds(now) if status in _STALE_TIMESTAMP else timestamp))
    if ipv4_requests:
        options += _ipv4_options(request, status, grant)
    # P echoes the PBU's P flag; T when the TLV-header GRE format was granted (RFC 5845 §5.2).
    flags = _P_ECHO.get(message.flags)
    if flags is None:
        flags = _p_echo(message.flags)
    if grant is None:
        lifetime = 0
    else:
        if grant.use_gre and gre_key is not None:
            append(GREKey(grant.gre_key_in if gre_key.key is not None else None))
        if grant.udp:
            append(NAT_DETECTION_UDP)
        if grant.tlv:
            flags = _WITH_T[flags]
        lifetime = grant.lifetime_s
    return BindingAcknowledgement(status, flags, request_sequence if sequence is None else sequence, lifetime, tuple(options))


# The BA flags that echo a PBU's flags value (P or nothing), and the same with T: IntFlag
# arithmetic runs Python code, these lookups do not. Bounded: one entry per 16-bit flags value.
_P_ECHO: dict[int, BAFlags] = {}
_WITH_T = {NO_FLAGS: BAFlags.T, PROXY_FLAGS: BAFlags.P | BAFlags.T}


def _p_echo(bu_flags: int) -> BAFlags:
    flags = _P_ECHO[bu_flags] = PROXY_FLAGS if int(bu_flags) & BUFlags.P.value else NO_FLAGS
    return flags


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
        options.append(_router_option(grant.ipv4_router))
    if grant.dhcp_server_mode is not None:
        mode = _DHCP_SUPPORT.get(grant.dhcp_server_mode)
        options.append(mode if mode is not None else IPv4DHCPSupportMode(grant.dhcp_server_mode))
    return options
