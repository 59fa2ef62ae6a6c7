"""The state file: atomic writes, and a damaged or missing file means a fresh start."""

from __future__ import annotations

from pathlib import Path

from pmiprouter.runtime.state import StateFile


def test_save_and_load_roundtrip(tmp_path: Path) -> None:
    """What is saved comes back, and no temporary file is left behind."""
    state = StateFile(tmp_path / 'sub' / 'lma.json')
    state.save(3, [{'id': 1}])
    assert state.load() == (3, [{'id': 1}])
    assert [p.name for p in state.path.parent.iterdir()] == ['lma.json']


def test_missing_and_damaged_files_start_fresh(tmp_path: Path) -> None:
    """No file, bad JSON or a foreign format: restart counter 0 and no bindings."""
    state = StateFile(tmp_path / 'lma.json')
    assert state.load() == (0, [])
    state.path.write_text('{not json')
    assert state.load() == (0, [])
    state.path.write_text('{"format": 99}')
    assert state.load() == (0, [])
