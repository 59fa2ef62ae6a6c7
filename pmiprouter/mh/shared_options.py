"""The decoder's shared options (pure): identical small options decoded once, then one object.

Options are frozen values, and most of a PBU's small ones (Handoff Indicator, Access Technology
Type, an ALL_ZERO prefix, a 0.0.0.0 IPv4 request) are the same in every PBU: a decoded small
option of a shareable class (`MobilityOption.SHAREABLE`) is shared by every later identical one
(type, length and body). Per-MN or per-message values (MN-ID, link-layer ID, timestamps) are
never looked up: they would only churn the table. The table is bounded, so a spray of
distinct options cannot grow it.
"""

from __future__ import annotations

import struct

from pmiprouter.fast.bounded import Bounded
from pmiprouter.mh.errors import DecodeError
from pmiprouter.mh.option import OPTIONS, MobilityOption, UnknownOption

PAD1 = 0
PADN = 1
# What a body decoder or encoder may raise besides the codec's own errors (turned into them).
CODEC_FAILURES = (struct.error, OverflowError, ValueError, TypeError, AttributeError)

MAX_SHARED_OPTION = 20  # bytes of type + length + body
SHARED_OPTIONS = 4096
decoded = Bounded[bytes, MobilityOption](None, SHARED_OPTIONS)  # TLV -> the option


def shareable_types() -> frozenset[int]:
    """The registered option types worth sharing (read once the option modules are imported)."""
    return frozenset(code for code, kind in OPTIONS.items() if kind.SHAREABLE)


def decode_option(option_type: int, data: bytes, i: int, body_end: int) -> MobilityOption:
    """One option (not padding) whose TLV is data[i:body_end]; errors carry offsets from the MH start."""
    body = data[i + 2 : body_end]
    kind = OPTIONS.get(option_type)
    if kind is None:
        return UnknownOption(option_type, body)
    try:
        return kind.decode_body(body)
    except DecodeError as exc:
        raise exc.shifted(i) from None
    except CODEC_FAILURES as exc:
        raise DecodeError(i, f'{kind.__name__}: {exc}') from exc

