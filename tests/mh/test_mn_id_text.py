"""An MN-ID from the wire is shown without its control characters: no log, `show` or debug line
replays a terminal escape sequence carried in an NAI (the text is for display only)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.mh.iana import MNIdentifierSubtype
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.runtime.mgmt_debug import describe_wire
from pmiprouter.mh import AccessTechnologyTypeOption, BindingUpdate, HandoffIndicatorOption, HomeNetworkPrefix, encode


def test_controls_and_escape_sequences_are_shown_escaped() -> None:
    nai = MobileNodeIdentifier(MNIdentifierSubtype.NAI, b'mn\x1b[31m\x07\x00\xff\xe2\x80\xae@example.com')
    assert nai.text == 'mn\\x1b[31m\\x07\\x00\\xff\\u202e@example.com'
    assert MobileNodeIdentifier.nai('mn1@example.com').text == 'mn1@example.com'  # printable: as it is


def test_a_debug_line_of_a_hostile_pbu_holds_no_control_character() -> None:
    wire = encode(BindingUpdate.proxy(1, 600, (
        MobileNodeIdentifier(MNIdentifierSubtype.NAI, b'\x1b]0;owned\x07@x'), HomeNetworkPrefix.of('::/0'),
        HandoffIndicatorOption(1), AccessTechnologyTypeOption(3))))
    line = describe_wire(wire)
    assert 'mn=\\x1b]0;owned\\x07@x' in line and line.isprintable()


@given(st.binary(max_size=64))
def test_any_nai_is_shown_printable(identifier: bytes) -> None:
    assert MobileNodeIdentifier(MNIdentifierSubtype.NAI, identifier).text.isprintable()
