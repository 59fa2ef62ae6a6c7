"""The daemon's state: a snapshot file of every record plus a journal of the changes since.

A running daemon appends each second's changed records to a journal (one JSON line per record,
one fsync). Rewriting the whole file instead took ~0.16 s at 100,000 bindings and ~2.6 s at a
million, on the reactor thread. When the journal has outgrown the snapshot, the daemon starts a
new journal and writes a new snapshot in a worker thread. Until then the old snapshot and both
journals together hold the state.

- **Snapshot** (``lma-NAME.json``): ``format``, ``restart_counter``, ``bindings`` (the records),
  ``ids`` (the key of each record) and ``journal`` (the first journal generation that applies).
  It is written atomically: temporary file in the same directory, fsync, rename. Files written
  before the journal existed (no ``ids``) still load.
- **Journal** (``lma-NAME.json.journal-G``): lines ``[key, record]``, or ``[key, null]`` when the
  record is gone, or ``{"restart_counter": N}``. They are replayed in order onto the snapshot. A
  damaged line ends the replay of its journal: a crash cut the last write short.

A missing or damaged snapshot means a state-losing restart. The restart counter goes up
(RFC 5847 §3.4) and no binding is restored.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from pmiprouter.core.persistence import FORMAT_VERSION, READABLE_VERSIONS

log = Logger()
MIN_COMPACTION_BYTES = 4 << 20  # a journal smaller than this is never worth a rewrite
TEMPORARY_SUFFIX = '.partial'  # a snapshot being written (renamed into place when complete)
_encode = json.JSONEncoder(check_circular=False).encode  # json.dumps' output, a third cheaper (records hold no cycles)


def encode(record: Any) -> str:
    """A record as JSON text, as json.dumps writes it."""
    return _encode(record)


def worker_thread(reactor: Any) -> Callable[[Callable[[], None]], Deferred[None]]:
    """Runs a function in the reactor's thread pool; its Deferred fires back in the reactor thread."""
    return lambda job: deferToThreadPool(reactor, reactor.getThreadPool(), job)


class StateFile:
    """One snapshot and its journals."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def journal_path(self, generation: int) -> Path:
        return self.path.with_name(f'{self.path.name}.journal-{generation}')

    def journals(self) -> dict[int, Path]:
        """The journal files present, by generation."""
        pattern = re.compile(re.escape(self.path.name) + r'\.journal-(\d+)')
        found = {}
        if self.path.parent.is_dir():
            for item in self.path.parent.iterdir():
                match = pattern.fullmatch(item.name)
                if match:
                    found[int(match.group(1))] = item
        return found

    def remove_leftovers(self) -> list[Path]:
        """Delete the temporary files of snapshots a crash interrupted (a snapshot is as large as
        the state: each one left behind would keep its size on the disk); returns them."""
        pattern = re.compile(re.escape(self.path.name) + r'\..+' + re.escape(TEMPORARY_SUFFIX))
        gone = []
        if self.path.parent.is_dir():
            for item in self.path.parent.iterdir():
                if pattern.fullmatch(item.name):
                    item.unlink(missing_ok=True)
                    gone.append(item)
        return gone

    def load(self) -> tuple[int, list[Any]]:
        """(restart counter, records); a fresh start when the snapshot is missing or damaged."""
        restart_counter, records, _generation = self.load_keyed()
        return restart_counter, list(records.values())

    def load_keyed(self) -> tuple[int, dict[Any, Any], int]:
        """(restart counter, records by key, next journal generation): the snapshot with its journals replayed."""
        try:
            data = json.loads(self.path.read_text())
            if data.get('format') not in READABLE_VERSIONS:
                raise ValueError(f'format {data.get("format")!r}')
            restart_counter = int(data['restart_counter'])
            bindings = list(data['bindings'])
            ids = data.get('ids', range(len(bindings)))  # before the journal: keys only need to be unique
            if len(ids) != len(bindings):
                raise ValueError(f'{len(bindings)} records but {len(ids)} keys')
            first = int(data.get('journal', 0))
        except FileNotFoundError:
            return 0, {}, self._next_generation(0)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warn('state file {path} unusable ({error}); starting without bindings', path=self.path, error=exc)
            return 0, {}, self._next_generation(0)
        records = dict(zip(ids, bindings))
        journals = self.journals()
        for generation in sorted(g for g in journals if g >= first):
            restart_counter = self._replay(journals[generation], records, restart_counter)
        return restart_counter, records, self._next_generation(first)

    def load_streaming(self) -> SavedState:
        """The state as `load_keyed` gives it, its records parsed one at a time as a restore
        takes them (a million parsed at once, then dropped, would leave the daemon's heap
        hundreds of megabytes larger than its bindings need). The snapshot's head and the
        journals are read now; a damaged head or a file the streaming parser does not know
        falls back to `load_keyed`.
        """
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return SavedState(0, self._next_generation(0), {})
        except OSError as exc:
            log.warn('state file {path} unusable ({error}); starting without bindings', path=self.path, error=exc)
            return SavedState(0, self._next_generation(0), {})
        try:
            head, rows_at = _head(text)
            if head.get('format') not in READABLE_VERSIONS:
                raise ValueError(f'format {head.get("format")!r}')
            restart_counter = int(head['restart_counter'])
            ids = list(head['ids'])
            first = int(head.get('journal', 0))
        except (ValueError, KeyError, TypeError, AttributeError):
            restart_counter, records, generation = self.load_keyed()  # (it logs what is wrong)
            return SavedState(restart_counter, generation, records)
        changed: dict[Any, Any] = {}  # the journals' records by key (None: gone), replayed in order
        journals = self.journals()
        for generation in sorted(g for g in journals if g >= first):
            restart_counter = self._replay(journals[generation], changed, restart_counter, keep_gone=True)
        return SavedState(restart_counter, self._next_generation(first), changed, text, rows_at, ids, self.path)

    def _next_generation(self, first: int) -> int:
        """A generation after every journal present: a snapshot written with it makes them all stale."""
        return max((first - 1, *self.journals())) + 1

    @staticmethod
    def _replay(path: Path, records: dict[Any, Any], restart_counter: int, keep_gone: bool = False) -> int:
        """Apply one journal's lines to `records` (a record gone: removed, or set to None with
        `keep_gone`); returns the restart counter it leaves."""
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            log.warn('state journal {path} unreadable ({error}); its changes are lost', path=path, error=exc)
            return restart_counter
        for number, line in enumerate(lines, 1):
            try:
                change = json.loads(line)
                if isinstance(change, dict):
                    restart_counter = int(change['restart_counter'])
                elif change[1] is None and not keep_gone:
                    records.pop(change[0], None)
                else:
                    records[change[0]] = change[1]
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                log.warn('state journal {path} damaged at line {line} ({error}); later changes are lost',
                         path=path, line=number, error=exc)
                break
        return restart_counter

    def save(self, restart_counter: int, bindings: list[Any]) -> None:
        self.save_encoded(restart_counter, [encode(record) for record in bindings])

    def save_encoded(self, restart_counter: int, bindings: Iterable[str], ids: Iterable[Any] | None = None,
                     journal: int = 0) -> None:
        """Write a snapshot of records already encoded as JSON, and drop the journals it covers."""
        bindings = list(bindings)
        keys = list(ids) if ids is not None else list(range(len(bindings)))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        head = encode({'format': FORMAT_VERSION, 'restart_counter': restart_counter, 'journal': journal,
                       'ids': keys})[:-1]
        fd, temporary = tempfile.mkstemp(prefix=f'{self.path.name}.', suffix=TEMPORARY_SUFFIX, dir=self.path.parent)
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(head + ', "bindings": [')
                for start in range(0, len(bindings), 10_000):  # chunks: a worker thread lets the reactor in between
                    handle.write((', ' if start else '') + ', '.join(bindings[start:start + 10_000]))
                handle.write(']}')
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for generation, path in self.journals().items():
            if generation < journal:
                path.unlink(missing_ok=True)


class SavedState:
    """A state file opened for a restore (`StateFile.load_streaming`): its restart counter, the
    next journal generation, and its records, parsed one at a time by `records()`."""

    def __init__(self, restart_counter: int, generation: int, changed: dict[Any, Any], text: str = '',
                 rows_at: int = 0, ids: list[Any] | None = None, path: Path | None = None) -> None:
        self.restart_counter = restart_counter
        self.generation = generation
        self._changed = changed  # records the journals changed (None: gone), or every record
        self._text, self._rows_at, self._ids, self._path = text, rows_at, ids or [], path

    def __bool__(self) -> bool:
        """Whether there is any record to restore."""
        ids, changed = self._ids, self._changed
        if len(ids) > len(changed) or any(record is not None for record in changed.values()):
            return True  # (more snapshot records than the journals touched: some are left)
        return any(key not in changed for key in ids)

    def records(self) -> Iterator[Any]:
        """Each record once: the snapshot's (as the journals left them), then those only the
        journals hold. A damaged snapshot record ends the snapshot's part (logged). The text is
        let go once read."""
        text, position, ids, changed = self._text, self._rows_at, self._ids, self._changed
        self._text, self._ids = '', []
        decode = _DECODER.raw_decode
        for number, key in enumerate(ids):
            try:
                position = _SEPARATORS.match(text, position).end()  # type: ignore[union-attr]
                record, position = decode(text, position)
            except ValueError as exc:
                log.warn('state file {path} damaged at record {number} ({error}); the records after it are lost',
                         path=self._path, number=number, error=exc)
                break
            if key not in changed:
                yield record
        del text
        for record in changed.values():
            if record is not None:
                yield record


_DECODER = json.JSONDecoder()
_SEPARATORS = re.compile(r'[\s,]*')


def _head(text: str) -> tuple[dict[str, Any], int]:
    """The snapshot's fields before ``bindings`` (which `save_encoded` writes last), and where its
    first record starts; ValueError if ``ids`` does not come before it."""
    whitespace = re.compile(r'\s*')
    position = whitespace.match(text, 0).end()  # type: ignore[union-attr]
    if text[position:position + 1] != '{':
        raise ValueError('not an object')
    head: dict[str, Any] = {}
    position += 1
    while True:
        position = whitespace.match(text, position).end()  # type: ignore[union-attr]
        key, position = _DECODER.raw_decode(text, position)
        position = whitespace.match(text, position).end()  # type: ignore[union-attr]
        if not isinstance(key, str) or text[position:position + 1] != ':':
            raise ValueError(f'no field at {position}')
        position = whitespace.match(text, position + 1).end()  # type: ignore[union-attr]
        if key == 'bindings':
            if 'ids' not in head or text[position:position + 1] != '[':
                raise ValueError('bindings before ids')
            return head, position + 1
        head[key], position = _DECODER.raw_decode(text, position)
        position = whitespace.match(text, position).end()  # type: ignore[union-attr]
        if text[position:position + 1] != ',':
            raise ValueError('no bindings')
        position += 1


class StateJournal:
    """Keeps every record's JSON, appends the changed ones, and rewrites the snapshot when due.

    Args:
        file: the snapshot and its journals.
        in_thread: runs a function in a worker thread and returns a Deferred of its result (the
            daemon's thread pool; tests pass one that runs it at once).
    """

    def __init__(self, file: StateFile, in_thread: Callable[[Callable[[], None]], Deferred[None]]) -> None:
        self.file = file
        self.in_thread = in_thread
        self.records: dict[Any, str] = {}
        self.generation = 0
        self.journal_bytes = 0
        self.snapshot_bytes = 0  # -1: no snapshot names the current journal yet
        self.compacting = False
        self.compactions = 0
        self._handle: Any = None

    def start(self, restart_counter: int, records: dict[Any, str], generation: int) -> None:
        """Journal from `generation` on, and write a snapshot of `records` now (older journals go with it).
        `records` is the journal's from then on (the caller hands it over: a million rows, not copied).

        Raises:
            OSError: the journal cannot be opened. A snapshot that fails is logged and tried again on
                each commit: a journal is replayed only onto the snapshot that names it.
        """
        self.records = records
        self.generation = generation
        self.snapshot_bytes = -1
        for leftover in self.file.remove_leftovers():  # one daemon per state directory: none is being written
            log.warn('removed {path}: a snapshot a crash interrupted', path=leftover)
        self._open(generation, restart_counter)
        try:
            self.file.save_encoded(restart_counter, self.records.values(), self.records.keys(), generation)
            self.snapshot_bytes = self.file.path.stat().st_size
        except OSError as exc:  # journals count only on top of a snapshot: each tick tries again
            self.snapshot_bytes = -1
            log.error('cannot write state file {path}: {error}', path=self.file.path, error=exc)

    def _open(self, generation: int, restart_counter: int) -> None:
        """Append to a new journal; its first line is the restart counter, in case no snapshot lands."""
        if self._handle is not None:
            self._handle.close()
        self.file.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.file.journal_path(generation), 'a')  # noqa: SIM115 - open until the next rotation
        first = encode({'restart_counter': restart_counter}) + '\n'
        self._handle.write(first)
        self.journal_bytes = len(first)

    def commit(self, changes: dict[Any, str | None], restart_counter: int) -> None:
        """Append `changes` (key -> record JSON, None when gone) to the journal, fsync, and compact when due.

        Raises:
            OSError: the journal could not be written (the records in memory are up to date anyway).
        """
        if not changes:
            return
        records = self.records
        lines = []
        for key, text in changes.items():
            name = key if type(key) is int else encode(key)  # an int's text is its JSON
            if text is None:
                records.pop(key, None)
                lines.append(f'[{name}, null]\n')
            else:
                records[key] = text
                lines.append(f'[{name}, {text}]\n')
        payload = ''.join(lines)
        if self._handle is None:  # it could not be opened at the start: try again
            self._open(self.generation, restart_counter)
        self._handle.write(payload)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.journal_bytes += len(payload)
        due = self.snapshot_bytes < 0 or self.journal_bytes > max(self.snapshot_bytes, MIN_COMPACTION_BYTES)
        if due and not self.compacting:
            self.compact(restart_counter)

    def compact(self, restart_counter: int) -> Deferred[None]:
        """Start a new journal and write the snapshot up to it in a worker thread."""
        self.compacting = True
        self.generation += 1
        self._open(self.generation, restart_counter)
        keys, texts, generation = list(self.records.keys()), list(self.records.values()), self.generation

        def write() -> None:
            self.file.save_encoded(restart_counter, texts, keys, generation)

        def done(result: None | Failure) -> None:
            self.compacting = False
            if isinstance(result, Failure):
                log.error('cannot write state file {path}: {error}', path=self.file.path, error=result.getErrorMessage())
            else:
                self.compactions += 1
                self.snapshot_bytes = self.file.path.stat().st_size

        return self.in_thread(write).addBoth(done)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
