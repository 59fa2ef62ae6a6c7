"""Hostile bytes from the access side raise only the codecs' own errors (never crash the MAG)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.access import dhcp4, nd
from pmiprouter.mh.errors import DecodeError


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_dhcp_decode_raises_only_decode_error(data: bytes) -> None:
    """Random DHCP payloads decode or raise DecodeError; decodes re-encode to the same message."""
    try:
        message = dhcp4.decode(data)
    except DecodeError:
        return
    assert dhcp4.decode(dhcp4.encode(message)) == message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([133, 134]))
def test_nd_decode_raises_only_decode_error(tail: bytes, kind: int) -> None:
    """Random RS/RA bodies decode or raise DecodeError."""
    data = bytes((kind, 0)) + tail
    try:
        nd.decode_rs(data) if kind == 133 else nd.decode_ra(data)
    except DecodeError:
        return
