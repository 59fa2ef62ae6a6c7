"""The PBUs the benchmarks send: a MAG's initial attach of one MN (protocol.md §10).

One builder, so that every benchmark measures the same message: MN-ID, HNP ::/0 (the LMA
assigns one), Handoff Indicator 1 (attachment over a new interface), Access Technology
Type, MN link-layer ID; optionally an IPv4 home address request (0.0.0.0: the LMA
allocates) and a Timestamp. The benchmarks import it as `pbus` (their own folder is first
on sys.path when run as scripts).
"""

from __future__ import annotations

from ipaddress import IPv4Address

from pmiprouter.mh import (
    AccessTechnologyType,
    AccessTechnologyTypeOption,
    BindingUpdate,
    HandoffIndicator,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    IPv4HomeAddressRequest,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    MobilityOption,
    Timestamp,
)


def attach_pbu(
    nai: str,
    link_layer_id: bytes,
    sequence: int,
    lifetime_s: int,
    access_technology: AccessTechnologyType = AccessTechnologyType.IEEE_802_3,
    ipv4: bool = False,
    timestamp: Timestamp | None = None,
) -> BindingUpdate:
    """An initial-attach PBU for MN `nai`, its options in the order a MAG sends them."""
    options: list[MobilityOption] = [
        MobileNodeIdentifier.nai(nai),
        HomeNetworkPrefix.of('::/0'),
        HandoffIndicatorOption(HandoffIndicator.ATTACHMENT_OVER_NEW_INTERFACE),
        AccessTechnologyTypeOption(access_technology),
        MobileNodeLinkLayerIdentifier(link_layer_id),
    ]
    if ipv4:
        options.append(IPv4HomeAddressRequest(0, IPv4Address(0)))
    if timestamp is not None:
        options.append(timestamp)
    return BindingUpdate.proxy(sequence, lifetime_s, tuple(options))
