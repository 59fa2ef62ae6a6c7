"""The IPv6 Mobility Header codec: pure (no sockets, no clock, no Twisted).

`decode(bytes) -> MobilityMessage` and `encode(message) -> bytes`; one frozen dataclass
per message and per option, registered by wire code; one error hierarchy (`MHError`).
"""

from pmiprouter.mh.checksum import mh_checksum, verify_mh_checksum
from pmiprouter.mh.codec import decode, encode
from pmiprouter.mh.errors import (
    BadHeaderLength,
    BadMessageValue,
    BadOptionLength,
    BadOptionValue,
    BadPayloadProto,
    DecodeError,
    EncodeError,
    MHError,
    Truncated,
    UnknownMHType,
)
from pmiprouter.mh.iana import (
    AccessTechnologyType,
    AuthSubtype,
    BAFlags,
    BAStatus,
    BEStatus,
    BRAStatus,
    BUFlags,
    HandoffIndicator,
    IPv4AddressAckStatus,
    IPv4HomeAddressReplyStatus,
    MHType,
    MNIdentifierSubtype,
    OptionType,
    RevocationTrigger,
    UPAStatus,
    UPNReason,
)
from pmiprouter.mh.message import MESSAGES, MobilityMessage
from pmiprouter.mh.messages import (
    BindingAcknowledgement,
    BindingError,
    BindingRefreshRequest,
    BindingRevocation,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    Heartbeat,
    HomeTest,
    HomeTestInit,
    UpdateNotification,
    UpdateNotificationAcknowledgement,
)
from pmiprouter.mh.option import OPTIONS, MobilityOption, UnknownOption
from pmiprouter.mh.options_ipv4 import (
    BindingIdentifier,
    GREKey,
    IPv4AddressAcknowledgement,
    IPv4CareofAddress,
    IPv4DefaultRouterAddress,
    IPv4DHCPSupportMode,
    IPv4HomeAddress,
    IPv4HomeAddressReply,
    IPv4HomeAddressRequest,
    NATDetection,
)
from pmiprouter.mh.options_mipv6 import (
    AlternateCareofAddress,
    AuthorizationData,
    BindingRefreshAdvice,
    MobileNetworkPrefix,
    MobileNodeIdentifier,
    MobilityHeaderLinkLayerAddress,
    MobilityMessageAuthentication,
    MobilityMessageReplayProtection,
    NonceIndices,
    ServiceSelection,
    VendorSpecific,
)
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    LMAAddress,
    MobileNodeLinkLayerIdentifier,
    MobileNodeLinkLocalAddressInterfaceIdentifier,
    RestartCounter,
    Timestamp,
)

__all__ = [
    'MESSAGES', 'OPTIONS', 'AccessTechnologyType', 'AccessTechnologyTypeOption', 'AlternateCareofAddress',
    'AuthSubtype', 'AuthorizationData', 'BAFlags', 'BAStatus', 'BEStatus', 'BRAStatus', 'BUFlags',
    'BadHeaderLength', 'BadMessageValue', 'BadOptionLength', 'BadOptionValue', 'BadPayloadProto',
    'BindingAcknowledgement', 'BindingError', 'BindingIdentifier', 'BindingRefreshAdvice',
    'BindingRefreshRequest', 'BindingRevocation', 'BindingRevocationAcknowledgement',
    'BindingRevocationIndication', 'BindingUpdate', 'CareofTest', 'CareofTestInit', 'DecodeError',
    'EncodeError', 'GREKey', 'HandoffIndicator', 'HandoffIndicatorOption', 'Heartbeat', 'HomeNetworkPrefix',
    'HomeTest', 'HomeTestInit', 'IPv4AddressAckStatus', 'IPv4AddressAcknowledgement', 'IPv4CareofAddress',
    'IPv4DHCPSupportMode', 'IPv4DefaultRouterAddress', 'IPv4HomeAddress', 'IPv4HomeAddressReply',
    'IPv4HomeAddressReplyStatus', 'IPv4HomeAddressRequest', 'LMAAddress', 'LinkLocalAddress', 'MHError',
    'MHType', 'MNIdentifierSubtype', 'MobileNetworkPrefix', 'MobileNodeIdentifier',
    'MobileNodeLinkLayerIdentifier', 'MobileNodeLinkLocalAddressInterfaceIdentifier', 'MobilityHeaderLinkLayerAddress',
    'MobilityMessage', 'MobilityMessageAuthentication', 'MobilityMessageReplayProtection', 'MobilityOption',
    'NATDetection', 'NonceIndices', 'OptionType', 'RestartCounter', 'RevocationTrigger', 'ServiceSelection',
    'Timestamp', 'Truncated', 'UPAStatus', 'UPNReason', 'UnknownMHType', 'UnknownOption', 'UpdateNotification',
    'UpdateNotificationAcknowledgement', 'VendorSpecific', 'decode', 'encode', 'mh_checksum', 'verify_mh_checksum',
]
