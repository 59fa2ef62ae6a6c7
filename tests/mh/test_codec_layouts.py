"""The encoder's per-class layout table and the decoder's shared-option path (codec.py)."""

from __future__ import annotations

from pmiprouter.mh import codec
from pmiprouter.mh.codec import decode, encode
from pmiprouter.mh.iana import AuthSubtype, MNIdentifierSubtype
from pmiprouter.mh.messages import BindingUpdate
from pmiprouter.mh.option import OPTIONS, MobilityOption, UnknownOption
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier, MobilityMessageAuthentication
from pmiprouter.mh.options_pmip import HandoffIndicatorOption, HomeNetworkPrefix
from tests.mh.samples import OPTION_SAMPLES


def test_layouts_hold_class_constants_or_defer_to_the_instance() -> None:
    for option in OPTION_SAMPLES:
        encode(BindingUpdate.proxy(1, 4, (option,)))
    encode(BindingUpdate.proxy(1, 4, (UnknownOption(200, b'ab'),)))
    assert set(codec._LAYOUTS) <= set(OPTIONS.values()) | {UnknownOption}  # one entry per class: bounded
    assert codec._LAYOUTS[HomeNetworkPrefix] == (8, 4, HomeNetworkPrefix.TYPE)
    assert codec._LAYOUTS[HandoffIndicatorOption] == (1, 0, HandoffIndicatorOption.TYPE)
    # Content-dependent alignment and wire type are asked of each instance.
    assert codec._LAYOUTS[MobilityMessageAuthentication] == (0, 0, 0)
    assert codec._LAYOUTS[UnknownOption] == (0, 0, 0)


def test_instance_alignment_and_wire_type_still_apply() -> None:
    for size in range(0, 9):  # the authentication option's alignment depends on its length
        auth = MobilityMessageAuthentication(AuthSubtype.MN_HA, 7, bytes(range(size)))
        lead = MobileNodeIdentifier(MNIdentifierSubtype.NAI, b'x' * size)
        wire = encode(BindingUpdate.proxy(1, 4, (lead, auth)))
        assert decode(wire).options == (lead, auth)
        start = wire.index(bytes((auth.TYPE, 5 + size)), 12 + 3 + size)
        x, y = auth.alignment()
        assert start % x == y
    unknown = UnknownOption(201, b'\x01\x02\x03')
    wire = encode(BindingUpdate.proxy(1, 4, (unknown,)))
    assert wire[12:17] == b'\xc9\x03\x01\x02\x03' and decode(wire).options == (unknown,)


def test_small_unknown_options_are_not_shared() -> None:
    codec._decoded.clear()
    wire = encode(BindingUpdate.proxy(1, 4, (UnknownOption(202, b'zz'), HandoffIndicatorOption(1))))
    first, second = decode(wire), decode(wire)
    assert first.options[0] == second.options[0] and first.options[0] is not second.options[0]
    assert first.options[1] is second.options[1]
    assert all(type(option) is not UnknownOption for option in codec._decoded.values())


def test_mn_identifier_hash_agrees_with_equality() -> None:
    named = MobileNodeIdentifier(MNIdentifierSubtype.NAI, b'mn@example.com')
    plain = MobileNodeIdentifier(1, b'mn@example.com')  # the same subtype as an int
    assert named == plain and hash(named) == hash(plain) and {named: 1}[plain] == 1
    other = MobileNodeIdentifier(MNIdentifierSubtype.EUI_48, b'mn@example.com')
    assert other != named and len({named, other}) == 2  # same hash, still told apart by equality
    assert isinstance(named, MobilityOption)


def test_decoded_flags_are_shared_values_keyed_by_their_bits() -> None:
    from pmiprouter.mh import messages
    from pmiprouter.mh.iana import BAFlags, BAStatus, BUFlags
    from pmiprouter.mh.messages import BindingAcknowledgement

    plain = decode(encode(BindingUpdate(3, BUFlags(0), 8)))
    proxy = decode(encode(BindingUpdate.proxy(3, 8, (), BUFlags.F)))
    again = decode(encode(BindingUpdate.proxy(4, 8, (), BUFlags.F)))
    assert plain.flags == BUFlags(0) and proxy.flags == BUFlags.A | BUFlags.P | BUFlags.F  # type: ignore[attr-defined]
    assert proxy.flags is again.flags and isinstance(proxy.flags, BUFlags)  # type: ignore[attr-defined]
    pba = decode(encode(BindingAcknowledgement(BAStatus.ACCEPTED, BAFlags.P | BAFlags.T, 3, 8)))
    assert pba.flags == BAFlags.P | BAFlags.T and isinstance(pba.flags, BAFlags)  # type: ignore[attr-defined]
    assert len(messages._BU_FLAGS) <= 1 << 16 and len(messages._BA_FLAGS) <= 1 << 8
    assert messages._BU_FLAGS[int(proxy.flags)] is proxy.flags  # type: ignore[attr-defined]
