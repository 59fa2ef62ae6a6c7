"""A received Proxy Binding Update with its options picked out once (pure; RFC 5213 §8.1).

Engines look at `ProxyRegistration` fields instead of walking options again; the
original message stays available for echoing options into the PBA.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import NamedTuple

from pmiprouter.core.events import IPAddress, MessageReceived, Transport
from pmiprouter.mh.iana import BUFlags
from pmiprouter.mh.messages import BindingUpdate
from pmiprouter.mh.options_ipv4 import GREKey, IPv4HomeAddressRequest
from pmiprouter.mh.options_mipv6 import AlternateCareofAddress, MobileNodeIdentifier
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
)


_new_tuple = tuple.__new__


class ProxyRegistration(NamedTuple):
    """Everything the LMA decides on, taken from one PBU and the packet that carried it.

    A named tuple (immutable, built in one C call, fields read without Python code): one is
    built for every PBU, where a frozen dataclass paid a Python-level store per field.
    """

    src: IPAddress
    dst: IPAddress
    transport: Transport
    sport: int | None
    message: BindingUpdate
    proxy_coa: IPAddress
    mn_id: MobileNodeIdentifier | None
    hnps: tuple[HomeNetworkPrefix, ...]
    handoff: int | None
    att: int | None
    mn_ll_id: bytes | None
    mn_ll_id_option: MobileNodeLinkLayerIdentifier | None  # as received, echoed in the PBA even when all zero
    link_local: IPv6Address | None
    timestamp: int | None
    ipv4_requests: tuple[IPv4HomeAddressRequest, ...]
    gre_key: GREKey | None
    sequence: int  # the PBU's, copied: read several times per registration
    lifetime_s: int
    non_zero_prefixes: tuple[HomeNetworkPrefix, ...]  # the HNPs that name prefixes (not ALL_ZERO)

    @classmethod
    def parse(cls, received: MessageReceived) -> ProxyRegistration:
        pbu = received.message
        assert isinstance(pbu, BindingUpdate)
        # One pass over the options: the first of each kind, all HNPs and IPv4 requests.
        first: dict[type, object] = {}
        hnps: list[HomeNetworkPrefix] = []
        ipv4_requests: list[IPv4HomeAddressRequest] = []
        for option in pbu.options:
            kind = type(option)
            if kind is HomeNetworkPrefix:
                hnps.append(option)  # type: ignore[arg-type]
            elif kind is IPv4HomeAddressRequest:
                ipv4_requests.append(option)  # type: ignore[arg-type]
            elif kind not in first:
                first[kind] = option
        get = first.get
        acoa = get(AlternateCareofAddress)
        hi = get(HandoffIndicatorOption)
        att = get(AccessTechnologyTypeOption)
        ll_id = get(MobileNodeLinkLayerIdentifier)
        lla = get(LinkLocalAddress)
        ts = get(Timestamp)
        transport = received.transport
        return _new_tuple(cls, (  # every field, in order: skips the named tuple's Python-level constructor
            received.src,
            received.dst,
            transport,
            received.sport,
            pbu,
            # RFC 5213 §6.9.1.5: an Alternate CoA option names the Proxy-CoA; over IPv4 it is the UDP source.
            acoa.address if acoa is not None and transport is Transport.IPV6 else received.src,  # type: ignore[attr-defined]
            get(MobileNodeIdentifier),  # type: ignore[arg-type]
            tuple(hnps),
            int(hi.indicator) if hi is not None else None,  # type: ignore[attr-defined]
            int(att.access_technology) if att is not None else None,  # type: ignore[attr-defined]
            ll_id.identifier if ll_id is not None and any(ll_id.identifier) else None,  # type: ignore[attr-defined]
            ll_id,  # type: ignore[arg-type]
            lla.address if lla is not None else None,  # type: ignore[attr-defined]
            ts.timestamp if ts is not None else None,  # type: ignore[attr-defined]
            tuple(ipv4_requests),
            get(GREKey),  # type: ignore[arg-type]
            pbu.sequence,
            pbu.lifetime_s,
            tuple(h for h in hnps if not h.is_all_zero) if hnps else (),
        ))

    @property
    def is_deregistration(self) -> bool:
        return self.lifetime_s == 0

    @property
    def ipv4_request(self) -> IPv4HomeAddressRequest | None:
        return self.ipv4_requests[0] if self.ipv4_requests else None

    @property
    def wants_ipv6(self) -> bool:
        return bool(self.hnps)

    @property
    def wants_ipv4(self) -> bool:
        return bool(self.ipv4_requests)

    @property
    def force_udp(self) -> bool:
        return bool(int(self.message.flags) & BUFlags.F.value)

    @property
    def tlv_header(self) -> bool:
        return bool(int(self.message.flags) & BUFlags.T.value)
