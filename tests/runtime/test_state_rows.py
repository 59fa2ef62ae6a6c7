"""Bindings come back equal from the state journal and snapshot, in the rows the daemon writes
(pmiprouter/fast/rows.py); rows of older formats still load."""

from __future__ import annotations

import json
from collections.abc import Callable
from ipaddress import IPv6Network
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, succeed

from pmiprouter.core.binding_cache import BindingCacheEntry
from pmiprouter.core.persistence import FORMAT_VERSION, entry_from_record, entry_to_record
from pmiprouter.fast.rows import entry_to_text
from pmiprouter.runtime.state import StateFile, StateJournal
from tests.fast.test_rows import FORMAT_2_ROW, compact, entries, restored


def inline(job: Callable[[], None]) -> Deferred[None]:
    job()
    return succeed(None)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entries, min_size=1, max_size=8, unique_by=lambda e: e.binding_id))
def test_bindings_come_back_from_the_journal_and_the_snapshot(tmp_path: Path, batch: list[BindingCacheEntry]) -> None:
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    file = StateFile(tmp_path / 'lma-LMA1.json')
    first, rest = batch[:1], batch[1:]
    journal = StateJournal(file, inline)
    journal.start(7, {e.binding_id: entry_to_text(e) for e in first}, 0)  # the snapshot holds the first
    journal.commit({e.binding_id: entry_to_text(e) for e in rest}, 7)  # the journal the rest
    journal.close()
    counter, records = file.load()
    assert counter == 7
    assert sorted((entry_from_record(r) for r in records), key=lambda e: e.binding_id) == \
        sorted(map(restored, batch), key=lambda e: e.binding_id)
    journal = StateJournal(file, inline)
    counter, keyed, generation = file.load_keyed()
    journal.start(counter, {key: json.dumps(row) for key, row in keyed.items()}, generation)  # a restart's snapshot
    journal.close()
    assert json.loads(file.path.read_text())['format'] == FORMAT_VERSION
    assert sorted(map(entry_from_record, file.load()[1]), key=lambda e: e.binding_id) == \
        sorted(map(restored, batch), key=lambda e: e.binding_id)



def test_spaced_files_and_journal_lines_still_load(tmp_path: Path) -> None:
    """A snapshot row and a journal line as older daemons wrote them (spaces after the separators)."""
    file = StateFile(tmp_path / 'lma-LMA1.json')
    file.path.write_text(json.dumps({'format': 2, 'restart_counter': 3, 'journal': 0, 'ids': [7],
                                     'bindings': [FORMAT_2_ROW]}))
    file.journal_path(0).write_text('{"restart_counter": 3}\n' + json.dumps([8, [8, *FORMAT_2_ROW[1:]]]) + '\n')
    counter, records = file.load()
    entries_back = [entry_from_record(r) for r in records]
    assert counter == 3 and [e.binding_id for e in entries_back] == [7, 8]
    assert entries_back[0].expires_at == 1790003600.125 and entries_back[0].registered_at == 1790000000.5
    assert entries_back[0].hnps == (IPv6Network('2001:db8::/64'),)
    assert entry_to_text(entries_back[0]) == compact(entry_to_record(entries_back[0]))  # written again, compact
    assert json.loads(entry_to_text(entries_back[0])) == json.loads(json.dumps(FORMAT_2_ROW))  # the same row
