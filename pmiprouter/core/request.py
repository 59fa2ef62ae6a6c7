"""A received Proxy Binding Update with its options picked out once (pure; RFC 5213 §8.1).

Engines look at `ProxyRegistration` fields instead of walking options again; the
original message stays available for echoing options into the PBA.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address

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


@dataclass(frozen=True, slots=True)
class ProxyRegistration:
    """Everything the LMA decides on, taken from one PBU and the packet that carried it."""

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
        acoa = first.get(AlternateCareofAddress)
        hi = first.get(HandoffIndicatorOption)
        att = first.get(AccessTechnologyTypeOption)
        ll_id = first.get(MobileNodeLinkLayerIdentifier)
        lla = first.get(LinkLocalAddress)
        ts = first.get(Timestamp)
        return cls(
            src=received.src,
            dst=received.dst,
            transport=received.transport,
            sport=received.sport,
            message=pbu,
            # RFC 5213 §6.9.1.5: an Alternate CoA option names the Proxy-CoA; over IPv4 it is the UDP source.
            proxy_coa=acoa.address if acoa is not None and received.transport is Transport.IPV6 else received.src,  # type: ignore[attr-defined]
            mn_id=first.get(MobileNodeIdentifier),  # type: ignore[arg-type]
            hnps=tuple(hnps),
            handoff=int(hi.indicator) if hi is not None else None,  # type: ignore[attr-defined]
            att=int(att.access_technology) if att is not None else None,  # type: ignore[attr-defined]
            mn_ll_id=ll_id.identifier if ll_id is not None and any(ll_id.identifier) else None,  # type: ignore[attr-defined]
            mn_ll_id_option=ll_id,  # type: ignore[arg-type]
            link_local=lla.address if lla is not None else None,  # type: ignore[attr-defined]
            timestamp=ts.timestamp if ts is not None else None,  # type: ignore[attr-defined]
            ipv4_requests=tuple(ipv4_requests),
            gre_key=first.get(GREKey),  # type: ignore[arg-type]
        )

    @property
    def sequence(self) -> int:
        return self.message.sequence

    @property
    def lifetime_s(self) -> int:
        return self.message.lifetime_s

    @property
    def is_deregistration(self) -> bool:
        return self.message.lifetime_s == 0

    @property
    def non_zero_prefixes(self) -> tuple[HomeNetworkPrefix, ...]:
        return tuple(h for h in self.hnps if not h.is_all_zero)

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
