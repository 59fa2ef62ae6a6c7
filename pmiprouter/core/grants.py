"""What the LMA grants a registration: the decisions behind the PBA's contents, from its policy.

Pure functions of the policy, the PBU and the binding (RFC 5213 §5.3.6 link-local address,
RFC 5845 §5.2 GRE key negotiation, the Grant the PBA is built from).
"""

from __future__ import annotations

from ipaddress import IPv6Address

from pmiprouter.core.binding_cache import BindingCacheEntry
from pmiprouter.core.events import Transport
from pmiprouter.core.pba import Grant
from pmiprouter.core.policy import GreMode, LmaPolicy, MobileNodeProfile
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.fast.positional import positional
from pmiprouter.mh.iana import BAStatus
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier


def stored_mn_id(received: MobileNodeIdentifier, profile: MobileNodeProfile) -> MobileNodeIdentifier:
    """The MN-ID a binding keeps: the profile's own for an NAI (~100 bytes less per binding),
    else one sharing the policy's identifier bytes (~50 bytes less)."""
    if received == profile.nai:
        return profile.nai
    if received.identifier is profile.identifier or received.identifier != profile.identifier:
        return received
    return MobileNodeIdentifier(received.subtype, profile.identifier)


def gre_decision(policy: LmaPolicy, request: ProxyRegistration) -> tuple[BAStatus, bool, bool]:
    """RFC 5845 §5.2: (status, use GRE, TLV header)."""
    if request.gre_key is None:
        return BAStatus.ACCEPTED, False, False
    if policy.gre is GreMode.OFF:
        return BAStatus.GRE_KEY_OPTION_NOT_REQUIRED, False, False
    if request.tlv_header and not policy.gre_tlv_supported:
        return BAStatus.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, True, False
    return BAStatus.ACCEPTED, True, request.tlv_header and request.transport is Transport.UDP4


def link_local(policy: LmaPolicy, request: ProxyRegistration, entry: BindingCacheEntry | None) -> IPv6Address | None:
    """RFC 5213 §5.3.6: ALL_ZERO asks for the stored (or our configured) address; NON_ZERO is stored."""
    if request.link_local is None:
        return entry.link_local if entry is not None else None
    if int(request.link_local):
        return request.link_local
    if entry is not None and entry.link_local is not None:
        return entry.link_local
    return policy.link_local


def grant_of(entry: BindingCacheEntry, policy: LmaPolicy, lifetime_s: int | None = None) -> Grant:
    """What the PBA tells the MAG about `entry` (lifetime 0 on a de-registration)."""
    use_gre = entry.use_gre
    ipv4 = entry.ipv4
    return _make_grant((  # every field in Grant's order (see pmiprouter/fast/positional.py)
        entry.lifetime_s if lifetime_s is None else lifetime_s,  # lifetime_s
        entry.hnps,  # prefixes
        ipv4,
        entry.ipv4_router,
        entry.link_local,
        entry.gre_key_in,
        use_gre,
        entry.tlv,
        entry.udp and not use_gre,  # udp
        policy.dhcp_server_mode if ipv4 is not None else None,  # dhcp_server_mode
    ))


_make_grant = positional(Grant)
