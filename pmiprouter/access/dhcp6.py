"""DHCPv6 messages as the MAG's relay sees them (pure): RFC 8415 §8-§9, §21; RFC 6939.

Bytes in, frozen dataclasses out, and back. Client/server messages keep their options as
wire-order (code, value) pairs; relay messages (Relay-Forward, Relay-Reply) add hop count,
link-address and peer-address. Helpers read the few structured options a relay needs:
the client's DUID (its MAC when the DUID carries one), the addresses and prefixes in IA
options, Interface-ID and Relay Message. Malformed input raises only `DecodeError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from pmiprouter.mh.errors import BadMessageValue, DecodeError, Truncated

# Message types (RFC 8415 §7.3)
SOLICIT, ADVERTISE, REQUEST, CONFIRM, RENEW, REBIND, REPLY, RELEASE, DECLINE = range(1, 10)
RECONFIGURE, INFORMATION_REQUEST, RELAY_FORW, RELAY_REPL = 10, 11, 12, 13
CLIENT_TYPES = (SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE, DECLINE, INFORMATION_REQUEST)
SERVER_TYPES = (ADVERTISE, REPLY, RECONFIGURE)
RELAY_TYPES = (RELAY_FORW, RELAY_REPL)

# Option codes (RFC 8415 §21, RFC 6939)
OPT_CLIENTID, OPT_SERVERID, OPT_IA_NA, OPT_IA_TA, OPT_IAADDR, OPT_ORO = 1, 2, 3, 4, 5, 6
OPT_ELAPSED_TIME, OPT_RELAY_MSG, OPT_STATUS_CODE, OPT_RAPID_COMMIT = 8, 9, 13, 14
OPT_INTERFACE_ID, OPT_IA_PD, OPT_IAPREFIX, OPT_CLIENT_LINKLAYER_ADDR = 18, 25, 26, 79

DUID_LLT, DUID_EN, DUID_LL = 1, 2, 3
HW_ETHERNET = 1
HOP_COUNT_LIMIT = 8  # RFC 8415 §7.6
CLIENT_PORT, SERVER_PORT = 546, 547
ALL_DHCP_RELAY_AGENTS_AND_SERVERS = IPv6Address('ff02::1:2')

Options = tuple[tuple[int, bytes], ...]
_RELAY_HEADER = struct.Struct('!BB16s16s')


@dataclass(frozen=True, slots=True)
class Dhcp6Message:
    """A client or server message (RFC 8415 §8)."""

    msg_type: int
    transaction_id: int  # 24 bits
    options: Options = ()

    def option(self, code: int) -> bytes | None:
        return next((value for c, value in self.options if c == code), None)


@dataclass(frozen=True, slots=True)
class RelayMessage:
    """A Relay-Forward or Relay-Reply (RFC 8415 §9)."""

    msg_type: int
    hop_count: int
    link_address: IPv6Address
    peer_address: IPv6Address
    options: Options = ()

    def option(self, code: int) -> bytes | None:
        return next((value for c, value in self.options if c == code), None)


Message = Dhcp6Message | RelayMessage


def decode_options(data: bytes, offset: int = 0) -> Options:
    """Options as (code, value) pairs; `offset` only shifts error offsets."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(data):
        if i + 4 > len(data):
            raise Truncated(offset + i, 4, len(data) - i, 'DHCPv6 option header')
        code, length = struct.unpack_from('!HH', data, i)
        if i + 4 + length > len(data):
            raise Truncated(offset + i, 4 + length, len(data) - i, f'DHCPv6 option {code}')
        out.append((code, bytes(data[i + 4 : i + 4 + length])))
        i += 4 + length
    return tuple(out)


def encode_options(options: Options) -> bytes:
    return b''.join(struct.pack('!HH', code, len(value)) + value for code, value in options)


def decode(data: bytes) -> Message:
    """Parse one DHCPv6 message (the UDP payload)."""
    if not data:
        raise Truncated(0, 1, 0, 'DHCPv6 message type')
    kind = data[0]
    if kind in RELAY_TYPES:
        if len(data) < _RELAY_HEADER.size:
            raise Truncated(0, _RELAY_HEADER.size, len(data), 'DHCPv6 relay header')
        _, hops, link, peer = _RELAY_HEADER.unpack_from(data)
        options = decode_options(data[_RELAY_HEADER.size :], _RELAY_HEADER.size)
        return RelayMessage(kind, hops, IPv6Address(link), IPv6Address(peer), options)
    if kind == 0 or kind > RELAY_REPL:
        raise BadMessageValue(0, f'DHCPv6 message type {kind}')
    if len(data) < 4:
        raise Truncated(0, 4, len(data), 'DHCPv6 header')
    return Dhcp6Message(kind, int.from_bytes(data[1:4], 'big'), decode_options(data[4:], 4))


def encode(message: Message) -> bytes:
    if isinstance(message, RelayMessage):
        header = _RELAY_HEADER.pack(message.msg_type, message.hop_count, message.link_address.packed, message.peer_address.packed)
        return header + encode_options(message.options)
    return bytes((message.msg_type,)) + message.transaction_id.to_bytes(3, 'big') + encode_options(message.options)


# ---- structured options ------------------------------------------------------------------


def duid_mac(duid: bytes) -> bytes | None:
    """The Ethernet MAC inside a DUID-LLT or DUID-LL (RFC 8415 §11.2, §11.4), else None."""
    if len(duid) == 14 and duid[:4] == struct.pack('!HH', DUID_LLT, HW_ETHERNET):
        return duid[8:14]
    if len(duid) == 10 and duid[:4] == struct.pack('!HH', DUID_LL, HW_ETHERNET):
        return duid[4:10]
    return None


def eui64_mac(address: IPv6Address) -> bytes | None:
    """The MAC a modified EUI-64 interface identifier was made from (RFC 4291 App. A), else None."""
    iid = address.packed[8:]
    if iid[3:5] != b'\xff\xfe':
        return None
    return bytes((iid[0] ^ 0x02,)) + iid[1:3] + iid[5:8]


@dataclass(frozen=True, slots=True)
class IaAddress:
    """An address (IAADDR) or delegated prefix (IAPREFIX) given in an IA option."""

    network: IPv6Network  # /128 for an address
    preferred: int
    valid: int


def ia_leases(options: Options) -> tuple[IaAddress, ...]:
    """Every address and prefix the IA_NA, IA_TA and IA_PD options of a message carry."""
    out: list[IaAddress] = []
    for code, value in options:
        if code in (OPT_IA_NA, OPT_IA_PD):
            header = 12  # IAID, T1, T2
        elif code == OPT_IA_TA:
            header = 4  # IAID
        else:
            continue
        if len(value) < header:
            raise Truncated(0, header, len(value), f'IA option {code}')
        for sub, body in decode_options(value[header:]):
            if sub == OPT_IAADDR:
                if len(body) < 24:
                    raise Truncated(0, 24, len(body), 'IAADDR')
                preferred, valid = struct.unpack_from('!II', body, 16)
                out.append(IaAddress(IPv6Network(IPv6Address(body[:16])), preferred, valid))
            elif sub == OPT_IAPREFIX:
                if len(body) < 25:
                    raise Truncated(0, 25, len(body), 'IAPREFIX')
                preferred, valid, length = struct.unpack_from('!IIB', body)
                if length > 128:
                    raise BadMessageValue(8, f'IAPREFIX length {length}')
                out.append(IaAddress(IPv6Network((IPv6Address(body[9:25]), length), strict=False), preferred, valid))
    return tuple(out)


def client_linklayer_option(mac: bytes) -> tuple[int, bytes]:
    """RFC 6939: the client's link-layer address as the first-hop relay saw it."""
    return OPT_CLIENT_LINKLAYER_ADDR, struct.pack('!H', HW_ETHERNET) + mac


def relayed(message: RelayMessage) -> Message:
    """The message inside a relay message's Relay Message option."""
    inner = message.option(OPT_RELAY_MSG)
    if inner is None:
        raise BadMessageValue(0, 'relay message without a Relay Message option')
    return decode(inner)


__all__ = [
    'DecodeError', 'Dhcp6Message', 'IaAddress', 'Message', 'RelayMessage', 'client_linklayer_option', 'decode',
    'duid_mac', 'encode', 'eui64_mac', 'ia_leases', 'relayed',
]
