"""A received Proxy Binding Update with its options picked out once (pure; RFC 5213 §8.1).

Engines look at `ProxyRegistration` fields instead of walking options again; the
original message stays available for echoing options into the PBA.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import NamedTuple

from pmiprouter.core.events import IPAddress, MessageReceived, Transport
from pmiprouter.fast.positional import positional
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



# Where `parse` files the first option of each class it reads: one dict lookup per option. A
# PBU may carry several HNPs and IPv4 requests (the last two); it usually carries one at most,
# and a second one sends parse through the options again for all of them.
_FIRST_OF = {
    MobileNodeIdentifier: 0,
    HandoffIndicatorOption: 1,
    AccessTechnologyTypeOption: 2,
    MobileNodeLinkLayerIdentifier: 3,
    LinkLocalAddress: 4,
    Timestamp: 5,
    AlternateCareofAddress: 6,
    GREKey: 7,
    HomeNetworkPrefix: 8,
    IPv4HomeAddressRequest: 9,
}
_MANY_ALLOWED = 8  # from this index on, every option of the class counts
_NONE_FOUND = (None,) * len(_FIRST_OF)


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
        # One pass over the options: the first of each kind (and whether an HNP or IPv4 request repeats).
        options = pbu.options
        found: list[object] = list(_NONE_FOUND)
        first_of = _FIRST_OF
        repeated = False
        for option in options:
            at = first_of.get(type(option))
            if at is not None:
                if found[at] is None:
                    found[at] = option
                elif at >= _MANY_ALLOWED:
                    repeated = True
        mn_id, hi, att, ll_id, lla, ts, acoa, gre, hnp, ipv4_request = found
        if repeated:
            all_hnps: tuple[HomeNetworkPrefix, ...] = tuple([o for o in options if type(o) is HomeNetworkPrefix])  # type: ignore[misc]
            ipv4_requests: tuple[IPv4HomeAddressRequest, ...] = tuple(
                [o for o in options if type(o) is IPv4HomeAddressRequest]  # type: ignore[misc]
            )
            non_zero: tuple[HomeNetworkPrefix, ...] = tuple([h for h in all_hnps if not h.is_all_zero])
        else:  # the usual PBU: one HNP or IPv4 request at most, no comprehension
            ipv4_requests = (ipv4_request,) if ipv4_request is not None else ()  # type: ignore[assignment]
            if hnp is None:
                all_hnps = non_zero = ()
            else:
                all_hnps = (hnp,)  # type: ignore[assignment]
                non_zero = () if hnp.is_all_zero else all_hnps  # type: ignore[attr-defined]
        transport = received.transport
        return _make_request((  # every field, in order (see pmiprouter/fast/positional.py)
            received.src,
            received.dst,
            transport,
            received.sport,
            pbu,
            # RFC 5213 §6.9.1.5: an Alternate CoA option names the Proxy-CoA; over IPv4 it is the UDP source.
            acoa.address if acoa is not None and transport is Transport.IPV6 else received.src,  # type: ignore[attr-defined]
            mn_id,
            all_hnps,
            int(hi.indicator) if hi is not None else None,  # type: ignore[attr-defined]
            int(att.access_technology) if att is not None else None,  # type: ignore[attr-defined]
            # An all-zero identifier counts as none: lstrip leaves nothing of it (cheaper than any()).
            ll_id.identifier if ll_id is not None and ll_id.identifier.lstrip(b'\0') else None,  # type: ignore[attr-defined]
            ll_id,
            lla.address if lla is not None else None,  # type: ignore[attr-defined]
            ts.timestamp if ts is not None else None,  # type: ignore[attr-defined]
            ipv4_requests,
            gre,
            pbu.sequence,
            pbu.lifetime_s,
            non_zero,
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


_make_request = positional(ProxyRegistration)
