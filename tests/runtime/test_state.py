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


# ---- the journal ------------------------------------------------------------------------

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from twisted.internet.defer import Deferred, succeed  # noqa: E402

from pmiprouter.runtime import state as state_module  # noqa: E402
from pmiprouter.runtime.state import StateJournal, encode  # noqa: E402


class HeldThread:
    """A worker thread under the test's control: jobs run when the test says."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[[], None], Deferred[None]]] = []

    def __call__(self, job: Callable[[], None]) -> Deferred[None]:
        deferred: Deferred[None] = Deferred()
        self.jobs.append((job, deferred))
        return deferred

    def run_all(self) -> None:
        while self.jobs:
            job, deferred = self.jobs.pop(0)
            job()
            deferred.callback(None)


def inline(job: Callable[[], None]) -> Deferred[None]:
    job()
    return succeed(None)


def rows(n: int, tag: str = 'a') -> dict[int, str]:
    return {i: encode([i, tag]) for i in range(1, n + 1)}


def test_changes_are_journaled_and_replayed_onto_the_snapshot(tmp_path: Path) -> None:
    file = StateFile(tmp_path / 'lma.json')
    journal = StateJournal(file, inline)
    journal.start(4, rows(3), 0)
    journal.commit({2: encode([2, 'b']), 3: None, 9: encode([9, 'new'])}, 4)
    journal.commit({9: encode([9, 'newer'])}, 4)
    journal.close()
    assert file.load() == (4, [[1, 'a'], [2, 'b'], [9, 'newer']])
    counter, records, generation = file.load_keyed()
    assert sorted(records) == [1, 2, 9] and generation == 1  # the next start journals after this one


def test_a_torn_last_line_loses_only_itself(tmp_path: Path) -> None:
    file = StateFile(tmp_path / 'lma.json')
    journal = StateJournal(file, inline)
    journal.start(1, rows(1), 0)
    journal.commit({2: encode([2, 'kept'])}, 1)
    journal.close()
    with file.journal_path(0).open('a') as handle:
        handle.write('[3, [3, "cut sh')  # the crash came in the middle of a write
    assert file.load() == (1, [[1, 'a'], [2, 'kept']])


def test_compaction_rotates_first_so_changes_made_meanwhile_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_module, 'MIN_COMPACTION_BYTES', 0)
    file = StateFile(tmp_path / 'lma.json')
    thread = HeldThread()
    journal = StateJournal(file, thread)
    journal.start(2, rows(2), 0)
    journal.commit({i: encode([i, 'x' * 100]) for i in range(1, 40)}, 2)  # the journal outgrows the snapshot
    assert journal.compacting and journal.generation == 1 and len(thread.jobs) == 1
    journal.commit({1: None, 50: encode([50, 'during'])}, 2)  # while the snapshot is being written
    expected = (2, [[i, 'x' * 100] for i in range(2, 40)] + [[50, 'during']])
    assert file.load() == expected  # a crash now: old snapshot + both journals
    thread.run_all()
    assert not journal.compacting and journal.compactions == 1
    assert sorted(file.journals()) == [1]  # the snapshot covers journal 0: it is gone
    assert file.load() == expected
    journal.close()


def test_a_new_start_makes_every_older_journal_stale(tmp_path: Path) -> None:
    file = StateFile(tmp_path / 'lma.json')
    journal = StateJournal(file, inline)
    journal.start(1, rows(1), 0)
    journal.commit({7: encode([7, 'old life'])}, 1)
    journal.close()
    file.path.unlink()  # the snapshot is lost, its journal is not
    counter, records, generation = file.load_keyed()
    assert (counter, records) == (0, {}) and generation == 1
    fresh = StateJournal(file, inline)
    fresh.start(1, {}, generation)
    fresh.close()
    assert file.load() == (1, []) and sorted(file.journals()) == [1]


def test_a_snapshot_from_before_the_journal_still_loads(tmp_path: Path) -> None:
    path = tmp_path / 'lma.json'
    path.write_text('{"format": 2, "restart_counter": 5, "bindings": [[1, "a"], [2, "b"]]}')
    assert StateFile(path).load() == (5, [[1, 'a'], [2, 'b']])


def test_the_journal_is_retried_when_it_could_not_be_opened(tmp_path: Path) -> None:
    blocked = tmp_path / 'not-a-dir'
    blocked.write_text('')
    file = StateFile(blocked / 'lma.json')
    journal = StateJournal(file, inline)
    with pytest.raises(OSError):
        journal.start(1, rows(1), 0)
    assert file.load() == (0, [])  # a journal counts only on top of a snapshot that names it
    blocked.unlink()
    journal.commit({2: encode([2, 'b'])}, 1)  # the directory can be made now: journal, then the snapshot
    journal.close()
    assert journal.compactions == 1
    assert file.load() == (1, [[1, 'a'], [2, 'b']])


def test_encode_writes_what_json_dumps_writes() -> None:
    import json

    record: list[Any] = [1, 'x', None, True, 1.5, [[2**127, 64]], {'k': 'v'}]
    assert encode(record) == json.dumps(record)


def test_a_snapshot_a_crash_interrupted_is_removed_at_the_next_start(tmp_path: Path) -> None:
    file = StateFile(tmp_path / 'lma.json')
    journal = StateJournal(file, inline)
    journal.start(1, rows(2), 0)
    journal.close()
    leftover = tmp_path / 'lma.json.k2j4x9.partial'  # what mkstemp names a snapshot being written
    leftover.write_text('{"format": 2, "restart_coun')
    other = tmp_path / 'lma-other.json.abc.partial'  # another state's: not ours to remove
    other.write_text('')
    counter, records, generation = file.load_keyed()
    fresh = StateJournal(file, inline)
    fresh.start(counter, {key: encode(value) for key, value in records.items()}, generation)
    fresh.close()
    assert not leftover.exists() and other.exists()
    assert file.load() == (1, [[1, 'a'], [2, 'a']])
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == '.partial') == ['lma-other.json.abc.partial']


def test_journal_lines_are_the_same_whether_or_not_something_is_gone(tmp_path: Path) -> None:
    """A tick of new records only is written in one pass; with a removal, change by change: the
    lines are the same text (`[key, record]`), keys of any JSON type included."""
    file = StateFile(tmp_path / 'lma.json')
    journal = StateJournal(file, inline)
    journal.start(1, {}, 0)
    journal.commit({1: encode([1, 'a']), 'two': encode([2]), 3: encode([3])}, 1)  # nothing gone
    journal.commit({3: None, 'two': encode([2, 'b'])}, 1)
    journal.close()
    assert file.journal_path(0).read_text() == (
        '{"restart_counter": 1}\n[1, [1, "a"]]\n["two", [2]]\n[3, [3]]\n[3, null]\n["two", [2, "b"]]\n')
    assert journal.records == {1: '[1, "a"]', 'two': '[2, "b"]'}
    assert file.load_keyed()[1] == {1: [1, 'a'], 'two': [2, 'b']}


# -- reading for a restore, one record at a time ------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def streamed(file: StateFile) -> tuple[int, list[Any], int, bool]:
    saved = file.load_streaming()
    present = bool(saved)  # (asked before the records are read: reading lets them go)
    return saved.restart_counter, sorted(saved.records(), key=str), saved.generation, present


def loaded(file: StateFile) -> tuple[int, list[Any], int, bool]:
    counter, records, generation = file.load_keyed()
    return counter, sorted(records.values(), key=str), generation, bool(records)


texts = st.text(alphabet='ab,[]{}" \\:', max_size=6)
changes = st.dictionaries(st.integers(0, 12), st.none() | texts.map(lambda t: encode([t, {'k': [t]}])), max_size=8)


@settings(deadline=None, max_examples=80)
@given(first=changes, later=st.lists(changes, max_size=3), compact=st.booleans())
def test_streaming_gives_what_loading_everything_gives(tmp_path_factory: Any, first: dict[int, str | None],
                                                        later: list[dict[int, str | None]], compact: bool) -> None:
    """Snapshots and journals of records whose text holds commas, brackets, braces and quotes:
    the records streamed one by one are the records loaded at once, with the same counter."""
    file = StateFile(tmp_path_factory.mktemp('state') / 'lma.json')
    journal = StateJournal(file, inline)
    journal.start(3, {key: text for key, text in first.items() if text is not None}, 0)
    for number, change in enumerate(later):
        journal.commit(change, 3 + number)
        if compact:
            journal.compact(3 + number)
    journal.close()
    assert streamed(file) == loaded(file)


def test_streaming_an_old_or_damaged_snapshot(tmp_path: Path) -> None:
    """A file without `ids` before its records falls back to loading it whole; a damaged record
    ends the snapshot's part; a missing file is a fresh start."""
    path = tmp_path / 'lma.json'
    assert streamed(StateFile(path)) == (0, [], 0, False)
    path.write_text('{"format": 2, "restart_counter": 5, "bindings": [[1, "a"], [2, "b"]]}')
    assert streamed(StateFile(path)) == loaded(StateFile(path)) == (5, [[1, 'a'], [2, 'b']], 0, True)
    path.write_text('{"format": 2, "restart_counter": 6, "journal": 0, "ids": [1, 2, 3], "bindings": [[1, "a"], [2, "b" ], ]}')
    assert streamed(StateFile(path))[:2] == (6, [[1, 'a'], [2, 'b']])  # the third record is not there
    path.write_text('{"format": 2, "restart_counter": 6, "journal": 0, "ids": [1, 2], "bindings": [[1, "a"], [2, "b"]]}')
    assert streamed(StateFile(path)) == loaded(StateFile(path))
