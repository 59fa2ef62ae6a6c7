"""What tshark 4.0.x should show for each of our messages and options (field name, displayed value).

Where Wireshark's dissector is known to be wrong (protocol.md §9) the right value is asserted
where tshark shows it at all, and the deviation is named in `KNOWN_DISSECTOR_BUGS`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    AlternateCareofAddress,
    AuthorizationData,
    BindingAcknowledgement,
    BindingError,
    BindingIdentifier,
    BindingRefreshAdvice,
    BindingRefreshRequest,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    GREKey,
    HandoffIndicatorOption,
    Heartbeat,
    HomeNetworkPrefix,
    HomeTest,
    HomeTestInit,
    IPv4AddressAcknowledgement,
    IPv4CareofAddress,
    IPv4DefaultRouterAddress,
    IPv4DHCPSupportMode,
    IPv4HomeAddress,
    IPv4HomeAddressReply,
    IPv4HomeAddressRequest,
    LinkLocalAddress,
    LMAAddress,
    MobileNetworkPrefix,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    MobileNodeLinkLocalAddressInterfaceIdentifier,
    MobilityHeaderLinkLayerAddress,
    MobilityMessage,
    MobilityMessageAuthentication,
    MobilityMessageReplayProtection,
    MobilityOption,
    NATDetection,
    NonceIndices,
    RestartCounter,
    ServiceSelection,
    Timestamp,
    UnknownOption,
    UpdateNotification,
    UpdateNotificationAcknowledgement,
    VendorSpecific,
)

Fields = list[tuple[str, str]]

# Expert-info messages tshark 4.0.17 raises on correct packets (protocol.md §9, items 7 and 9).
KNOWN_DISSECTOR_BUGS = {
    'zero-length MN-ID': 'Mobile Node Identifier (with option length = 1 byte; should be >= 2)',
    'no decoder for the option': 'IE data not dissected yet',
}


# Messages tshark 4.0 does not dissect (§9.11): their options show only inside the raw data.
UNDISSECTED_MESSAGES = (UpdateNotification, UpdateNotificationAcknowledgement)


def colon_hex(data: bytes) -> str:
    return ':'.join(f'{b:02x}' for b in data)


def flag(value: object) -> str:
    return '1' if value else '0'


def ws_time(seconds: float) -> str:
    """Wireshark's absolute time display, e.g. 'Nov 14, 2023 22:13:20.500000000 UTC'."""
    whole = int(seconds)
    stamp = datetime.fromtimestamp(whole, timezone.utc)
    day = f'{stamp.day:2d}'
    nanos = round((seconds - whole) * 1e9)
    return f'{stamp:%b} {day}, {stamp:%Y %H:%M:%S}.{nanos:09d} UTC'


def message_fields(message: MobilityMessage, wire: bytes) -> Fields:
    """Expected (field, shown value) pairs for the message's fixed part, in dissector order."""
    head = [('mip6.hlen', str(wire[1])), ('mip6.mhtype', str(message.TYPE))]
    match message:
        case BindingRefreshRequest():
            return head
        case HomeTestInit(cookie=cookie):
            return head + [('mip6.hoti.cookie', f'0x{cookie:016x}')]
        case CareofTestInit(cookie=cookie):
            return head + [('mip6.coti.cookie', f'0x{cookie:016x}')]
        case HomeTest():
            return head + [
                ('mip6.hot.nindex', str(message.nonce_index)),
                ('mip6.hot.cookie', f'0x{message.cookie:016x}'),
                ('mip6.hot.token', f'0x{message.keygen_token:016x}'),
            ]
        case CareofTest():
            return head + [
                ('mip6.cot.nindex', str(message.nonce_index)),
                ('mip6.cot.cookie', f'0x{message.cookie:016x}'),
                ('mip6.hot.token', f'0x{message.keygen_token:016x}'),  # Wireshark reuses the HoT field name
            ]
        case BindingUpdate():
            bits = [('a', 0x8000), ('h', 0x4000), ('l', 0x2000), ('k', 0x1000), ('m', 0x0800)]
            fields = [('mip6.bu.seqnr', str(message.sequence))]
            fields += [(f'mip6.bu.{n}_flag', flag(message.flags & mask)) for n, mask in bits]
            fields += [('mip6.nemo.bu.r_flag', flag(message.flags & 0x0400))]
            later = [('p', 0x0200), ('f', 0x0100), ('t', 0x0080), ('b', 0x0040)]
            fields += [(f'mip6.bu.{n}_flag', flag(message.flags & mask)) for n, mask in later]
            return head + fields + [('mip6.bu.lifetime', str(message.lifetime_s // 4))]
        case BindingAcknowledgement():
            return head + [
                ('mip6.ba.status', str(int(message.status))),
                ('mip6.ba.k_flag', flag(message.flags & 0x80)),
                ('mip6.nemo.ba.r_flag', flag(message.flags & 0x40)),
                ('mip6.ba.p_flag', flag(message.flags & 0x20)),
                ('mip6.ba.t_flag', flag(message.flags & 0x10)),
                ('mip6.ba.b_flag', flag(message.flags & 0x08)),
                ('mip6.ba.seqnr', str(message.sequence)),
                ('mip6.ba.lifetime', str(message.lifetime_s // 4)),
            ]
        case BindingError():
            return head + [('mip6.be.status', str(int(message.status))), ('mip6.be.haddr', str(message.home_address))]
        case Heartbeat():
            return head + [
                ('mip6.hb.u_flag', flag(message.unsolicited)),
                ('mip6.hb.r_flag', flag(message.response)),
                ('mip6.hb.seqnr', str(message.sequence)),
            ]
        case BindingRevocationIndication():
            return head + [
                ('mip6.bri_br.type', '1'),
                ('mip6.bri_r.trigger', str(int(message.trigger))),
                ('mip6.bri_seqnr', str(message.sequence)),
                ('mip6.bri_ip', flag(message.proxy)),
                ('mip6.bri_iv', flag(message.ipv4_only)),
                ('mip6.bri_ig', flag(message.global_)),
            ]
        case BindingRevocationAcknowledgement():
            return head + [
                ('mip6.bri_br.type', '2'),
                ('mip6.bri_status', str(int(message.status))),  # right number; WS's name table is wrong (§9.4)
                ('mip6.bri_seqnr', str(message.sequence)),
                ('mip6.bri_ap', flag(message.proxy)),
                ('mip6.bri_av', flag(message.ipv4_only)),
                ('mip6.bri_ag', flag(message.global_)),
            ]
        case UpdateNotification() | UpdateNotificationAcknowledgement():
            # tshark 4.0 has no dissector for MH types 19/20 (§9.11): it shows the raw message data.
            return head + [('mip6.unknown_type_data', colon_hex(wire[6:]))]
    raise AssertionError(f'no expectation for {type(message).__name__}')


def option_fields(option: MobilityOption) -> Fields:
    """Expected (field, shown value) pairs for one option, in dissector order."""
    match option:
        case BindingRefreshAdvice():
            return [('mip6.bra.interval', str(option.refresh_interval_s // 4))]
        case AlternateCareofAddress():
            return [('mip6.acoa.acoa', str(option.address))]
        case NonceIndices():
            return [('mip6.ni.hni', str(option.home_nonce_index)), ('mip6.ni.cni', str(option.care_of_nonce_index))]
        case AuthorizationData():
            return [('mip6.bad.auth', colon_hex(option.authenticator))]
        case MobileNetworkPrefix() | HomeNetworkPrefix():
            return [('mip6.nemo.mnp.pfl', str(option.prefix_length)), ('mip6.nemo.mnp.mnp', str(option.address))]
        case MobilityHeaderLinkLayerAddress():
            return [('mip6.lla.optcode', str(option.option_code)), ('mip6.lla', colon_hex(option.link_layer_address))]
        case MobileNodeIdentifier():
            fields = [('mip6.mnid.subtype', str(int(option.subtype)))]
            return fields + ([('mip6.mnid.identifier', option.text)] if option.identifier else [])
        case MobilityMessageAuthentication():
            # Subtype shown as "Unknown" and the authenticator 2 bytes short: dissector bug (§9.5).
            return [
                ('mip6.auth.subtype', str(int(option.subtype))),
                ('mip6.auth.mobility_spi', str(option.spi)),
                ('mip6.auth.auth_data', colon_hex(option.authenticator[:-2])),
            ]
        case MobilityMessageReplayProtection():
            # Wireshark reads NTP 32.32 as Unix seconds + nanoseconds (§9.6): only the raw bytes are comparable.
            return [('mip6.options.mseg_id', colon_hex(bytes((10, 8)) + option.encode_body()))]
        case VendorSpecific():
            return [('mip6.vsm.vendorId', str(option.vendor_id)), ('mip6.vsm.subtype', str(option.subtype))]
        case ServiceSelection():
            return [('mip6.ss.identifier', option.identifier.decode())]
        case HandoffIndicatorOption():
            return [('mip6.hi', str(int(option.indicator)))]
        case AccessTechnologyTypeOption():
            return [('mip6.att', str(int(option.access_technology)))]
        case MobileNodeLinkLayerIdentifier():
            return [('mip6.mnlli.lli', colon_hex(option.identifier))]
        case LinkLocalAddress():
            return [('mip6.lila_lla', str(option.address))]
        case Timestamp():
            return [('mip6.timestamp_tmp', ws_time(option.unix))]
        case RestartCounter():
            return [('mip6.rc', str(option.counter))]
        case IPv4HomeAddress():
            return [
                ('mip6.ipv4ha.preflen', str(option.prefix_length)),
                ('mip6.ipv4ha.p_flag', flag(option.request_prefix)),
                ('mip6.ipv4ha.ha', str(option.address)),
            ]
        case IPv4AddressAcknowledgement() | IPv4HomeAddressReply():
            # Status number right; its name comes from the ATT table in Wireshark (§9.3).
            return [
                ('mip6.ipv4aa.sts', str(int(option.status))),
                ('mip6.ipv4ha.preflen', str(option.prefix_length)),
                ('mip6.ipv4ha.ha', str(option.address)),
            ]
        case NATDetection():
            return [
                ('mip6.natd.f_flag', flag(option.udp_encapsulation_required)),
                ('mip6.natd.refresh_t', str(option.refresh_time_s)),
            ]
        case IPv4CareofAddress():
            return [('mip6.ipv4coa.addr', str(option.address))]
        case GREKey(key=None):
            return [('mip6.options.grek', '21:02:00:00')]
        case GREKey():
            return [('mip6.gre_key', str(option.key))]
        case BindingIdentifier():
            fields = [
                ('mip6.bi.bid', str(option.binding_id)),
                ('mip6.bi.status', str(option.status)),
                ('mip6.bi.h_flag', flag(option.simultaneous_home_and_foreign)),
            ]
            if option.care_of_address is not None:
                fields.append((f'mip6.bi.coa_ipv{option.care_of_address.version}', str(option.care_of_address)))
            return fields
        case IPv4HomeAddressRequest():
            return [('mip6.ipv4ha.preflen', str(option.prefix_length)), ('mip6.ipv4ha.ha', str(option.address))]
        case IPv4DefaultRouterAddress():
            return [('mip6.ipv4dra.dra', str(option.address))]
        case IPv4DHCPSupportMode():
            return [('mip6.ipv4dsm.s_flag', flag(option.server))]
        case LMAAddress():
            return [
                ('mip6.lmaa.opt_code', '1' if option.address.version == 6 else '2'),
                (f'mip6.lmaa.ipv{option.address.version}', str(option.address)),
            ]
        case MobileNodeLinkLocalAddressInterfaceIdentifier() | UnknownOption():
            # No Wireshark decoder for type 42 (§9.9): it shows only the type.
            return [('mip6.mobility_opt', str(option.wire_type))]
    raise AssertionError(f'no expectation for {type(option).__name__}')


def expected_bugs(message: MobilityMessage) -> set[str]:
    """Expert messages a correct encoding of `message` still draws from tshark 4.0.17."""
    bugs = set()
    for option in message.options:
        if isinstance(option, MobileNodeIdentifier) and not option.identifier:
            bugs.add(KNOWN_DISSECTOR_BUGS['zero-length MN-ID'])
        if isinstance(option, MobileNodeLinkLocalAddressInterfaceIdentifier | UnknownOption):
            bugs.add(KNOWN_DISSECTOR_BUGS['no decoder for the option'])
    return bugs
