"""The LMA's checks of a PBU, in the order RFC 5213 §5.3.1 mandates (pure).

Each failed check raises `Rejection(status)`; the LMA answers it with a PBA in one place.
Checks that need the binding cache entry (per-binding timestamp/sequence order) live in
`ordering.py` and run after the lookup.
"""

from __future__ import annotations

from pmiprouter.core.errors import Rejection
from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.core.policy import GreMode, LmaPolicy, MobileNodeProfile, Service
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.seqno import timestamp_within_window
from pmiprouter.mh.iana import BAStatus


def check_registration(request: ProxyRegistration, policy: LmaPolicy, now: float) -> MobileNodeProfile:
    """RFC 5213 §5.3.1 steps 4-12 plus the RFC 5844/5845 additions; returns the MN's profile.

    Raises:
        Rejection: with the status of the first check that fails.
    """
    mn_id = request.mn_id
    if mn_id is None:  # step 4
        raise Rejection(BAStatus.MISSING_MN_IDENTIFIER_OPTION, 'no MN-ID option')
    profile = policy.profile(mn_id.identifier)
    if not policy.mag_authorized(request.proxy_coa, profile):  # steps 5-6
        raise Rejection(BAStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG, f'{request.proxy_coa} is not an authorized MAG')
    if profile is None:  # step 7
        raise Rejection(BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE, f'no policy for {mn_id.text}')
    if not profile.proxy_enabled:  # step 8
        raise Rejection(BAStatus.PROXY_REG_NOT_ENABLED, f'{mn_id.text} has no network-based mobility')
    if request.timestamp is not None and policy.use_timestamps:  # step 9 (the per-binding order follows the lookup)
        check_timestamp_window(request, policy, now)
    if not request.hnps and not request.ipv4_requests:  # step 10, as RFC 5844 §3.1.2.1 relaxes it
        raise Rejection(BAStatus.MISSING_HOME_NETWORK_PREFIX_OPTION, 'neither HNP nor IPv4 HoA Request option')
    if request.handoff is None:  # step 11
        raise Rejection(BAStatus.MISSING_HANDOFF_INDICATOR_OPTION, 'no Handoff Indicator option')
    if request.att is None:  # step 12
        raise Rejection(BAStatus.MISSING_ACCESS_TECH_TYPE_OPTION, 'no Access Technology Type option')
    check_companions(request, policy, profile)
    return profile


def check_timestamp_window(request: ProxyRegistration, policy: LmaPolicy, now: float) -> None:
    """RFC 5213 §5.5: a timestamp outside TimestampValidityWindow is 156 (unless MN-generated timestamps)."""
    if not timestamp_acceptable(request.timestamp, policy, now):
        raise Rejection(BAStatus.TIMESTAMP_MISMATCH, 'timestamp outside the validity window')


def timestamp_acceptable(timestamp: int | None, policy: LmaPolicy, now: float) -> bool:
    """Step 9 passes: no timestamp, timestamps not in use, MN-generated ones, or within the window."""
    return (
        timestamp is None
        or not policy.use_timestamps
        or policy.mn_generated_timestamps
        or timestamp_within_window(timestamp, now, policy.timestamp_window_s)
    )


def common_registration_allowed(
    profile: MobileNodeProfile, mag: IPAddress, timestamp: int | None, policy: LmaPolicy, now: float
) -> bool:
    """`check_registration` for a common PBU (fast/common_pbu.py: an NAI MN-ID, an ALL_ZERO HNP,
    the Handoff Indicator and Access Technology Type, a lifetime, over IPv6, no IPv4 request, no
    GRE key) of the MN `profile` (the policy's, step 7 done): True when every other check
    passes, False when one would reject the PBU (the engine then answers with the status). A
    check added to check_registration belongs here too; tests/runtime/test_common_path.py
    compares the two paths."""
    return (
        policy.mag_authorized(mag, profile) and profile.proxy_enabled  # steps 5-8
        and timestamp_acceptable(timestamp, policy, now)  # step 9
        and profile.service not in _NO_IPV6 and policy.gre is not GreMode.REQUIRED  # check_companions
    )


# The services without IPv6 / without IPv4 (from Service's own properties): a tuple membership
# test compares by identity in C, where the properties and an Enum's hash run Python code.
_NO_IPV6 = tuple(service for service in Service if not service.ipv6)
_NO_IPV4 = tuple(service for service in Service if not service.ipv4)


def check_companions(request: ProxyRegistration, policy: LmaPolicy, profile: MobileNodeProfile) -> None:
    """RFC 5844 §3.1.2.1 and §4.1.3.1, RFC 5845 §5.2: IPv4 service, forced UDP, GRE keys."""
    # Fields rather than the request's properties (wants_ipv6, is_deregistration...): once per PBU.
    registering = request.lifetime_s != 0
    ipv4_requests = request.ipv4_requests
    if registering and request.hnps and profile.service in _NO_IPV6:
        raise Rejection(BAStatus.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE, 'MN is IPv4-only')
    if ipv4_requests:
        if registering and profile.service in _NO_IPV4:
            raise Rejection(BAStatus.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE, 'MN is IPv6-only')
        if len(ipv4_requests) > 1:
            raise Rejection(BAStatus.MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED, 'more than one IPv4 HoA Request')
    if request.transport is Transport.UDP4 and request.force_udp and not policy.accept_forced_udp:
        raise Rejection(BAStatus.ADMINISTRATIVELY_PROHIBITED, 'forced UDP encapsulation not accepted')
    if policy.gre is GreMode.REQUIRED and request.gre_key is None and registering:
        raise Rejection(BAStatus.GRE_KEY_OPTION_REQUIRED, 'GRE encapsulation is required')
