"""The encoder's static alignments and the decoder's shared options (codec.py, shared_options.py)."""

from __future__ import annotations

from pmiprouter.mh import shared_options
from pmiprouter.mh.codec import decode, encode
from pmiprouter.mh.iana import AuthSubtype, MNIdentifierSubtype
from pmiprouter.mh.messages import BindingUpdate
from pmiprouter.mh.option import OPTIONS, MobilityOption, UnknownOption
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier, MobilityMessageAuthentication
from pmiprouter.mh.options_pmip import HandoffIndicatorOption, HomeNetworkPrefix
from tests.mh.samples import OPTION_SAMPLES


def test_static_alignment_is_a_class_constant_unless_the_instance_decides() -> None:
    for option in OPTION_SAMPLES:
        assert option.STATIC_ALIGN in (None, option.ALIGN)
        assert (option.STATIC_ALIGN is None) == (type(option).alignment is not MobilityOption.alignment)
    assert HomeNetworkPrefix.STATIC_ALIGN == (8, 4) and HandoffIndicatorOption.STATIC_ALIGN == (1, 0)
    # Content-dependent alignment is asked of each instance.
    assert MobilityMessageAuthentication.STATIC_ALIGN is None and UnknownOption.STATIC_ALIGN is None


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
    shared_options.decoded.clear()
    wire = encode(BindingUpdate.proxy(1, 4, (UnknownOption(202, b'zz'), HandoffIndicatorOption(1))))
    first, second = decode(wire), decode(wire)
    assert first.options[0] == second.options[0] and first.options[0] is not second.options[0]
    assert first.options[1] is second.options[1]
    assert all(type(option) is not UnknownOption for option in shared_options.decoded.table.values())


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


def test_registered_options_and_messages_get_the_cheaper_constructor() -> None:
    """register_option/register_message apply pmiprouter.fast.frozen.quick_init; the values stay frozen."""
    import dataclasses

    import pytest

    from pmiprouter.mh.message import MESSAGES
    from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingRevocationIndication

    kinds = [*OPTIONS.values(), UnknownOption, BindingRevocationIndication, BindingRevocationAcknowledgement]
    kinds += [kind for kind in MESSAGES.values() if dataclasses.is_dataclass(kind)]
    for kind in kinds:
        assert kind.__init__.__code__.co_filename == '<string>', kind.__name__  # type: ignore[misc]
    option = HandoffIndicatorOption(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        option.indicator = 2  # type: ignore[misc]
    assert dataclasses.replace(BindingUpdate.proxy(1, 4, ()), sequence=2).sequence == 2
