"""Wire vectors (protocol.md §10, decoded by tshark 4.0.17) decode to the stated fields and re-encode byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pmiprouter.mh import decode, encode
from pmiprouter.mh.checksum import verify_mh_checksum
from pmiprouter.mh.describe import as_dict

VECTORS = sorted((Path(__file__).parent.parent / 'vectors').glob('*.json'))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize('path', VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_decodes_to_stated_fields(path: Path) -> None:
    """Each vector decodes to the structure written in its file."""
    vector = load(path)
    assert as_dict(decode(bytes.fromhex(vector['hex']))) == vector['decoded']


@pytest.mark.parametrize('path', VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_reencodes_byte_for_byte(path: Path) -> None:
    """Re-encoding the decoded message gives the same bytes, checksum included (0 over UDP)."""
    vector = load(path)
    wire = bytes.fromhex(vector['hex'])
    message = decode(wire)
    if vector['transport'] == 'ipv6':
        assert verify_mh_checksum(vector['src'], vector['dst'], wire)
        assert encode(message, vector['src'], vector['dst']) == wire
    else:
        assert wire[4:6] == b'\0\0'
        assert encode(message) == wire


def test_vectors_present() -> None:
    """The seven vectors of protocol.md §10 are all there."""
    assert len(VECTORS) >= 7
