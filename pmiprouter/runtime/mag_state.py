"""The MAG's state file: its Binding Update List kept across daemon restarts.

The same snapshot and journal as the LMA's (`runtime/state.py`). Each tick appends the entries
whose fingerprint changed since the last one; a tick does nothing when the engine has not moved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from pmiprouter.core.mag import MobileAccessGateway
from pmiprouter.core.mag_persistence import entry_to_record, fingerprint, saved_state, signalling_record
from pmiprouter.runtime.state import StateFile, StateJournal, encode, worker_thread

SAVE_INTERVAL_S = 1.0
SIGNALLING_KEY = -1  # the records' key of the sequence-number record (entry ids are positive)


class MagState:
    """Loads, restores and keeps saving one MAG engine's Binding Update List."""

    log = Logger()

    def __init__(self, path: Path) -> None:
        self.file = StateFile(path)
        self.restart_counter, saved, self.generation = self.file.load_keyed()
        self.saved = list(saved.values())
        self.engine: MobileAccessGateway | None = None
        self.journal: StateJournal | None = None
        self.saved_revision = -1
        self.fingerprints: dict[int, tuple[Any, ...]] = {}
        self.saver: LoopingCall | None = None

    def start_counter(self) -> int:
        """The Restart Counter to run with: a restart that restores its bindings lost no state,
        one that cannot, did (RFC 5847 §3.4)."""
        return self.restart_counter if self.saved else self.restart_counter + 1

    def start(self, engine: MobileAccessGateway, reactor: Any, now: float) -> list[Any]:
        """Restore the saved entries into `engine` (returns its actions) and save from now on."""
        self.engine = engine
        actions = engine.restore(self.saved, now)
        self.journal = StateJournal(self.file, worker_thread(reactor))
        records = {key: text for key, text in self._changes(engine).items() if text is not None}
        try:
            self.journal.start(engine.restart_counter, records, self.generation)
        except OSError as exc:
            self.log.error('cannot open state journal of {path}: {error}', path=self.file.path, error=exc)
        self.saved_revision = engine.revision
        self.saver = LoopingCall(self.save)
        self.saver.clock = reactor
        self.saver.start(SAVE_INTERVAL_S, now=False)
        return actions

    def save(self) -> None:
        engine, journal = self.engine, self.journal
        if engine is None or journal is None or engine.revision == self.saved_revision:
            return
        try:
            journal.commit(self._changes(engine), engine.restart_counter)
        except OSError as exc:
            self.log.error('cannot write state journal of {path}: {error}', path=self.file.path, error=exc)
            return
        self.saved_revision = engine.revision

    def _changes(self, engine: MobileAccessGateway) -> dict[Any, str | None]:
        """The records whose fingerprint changed since the last call: key -> JSON, or None when gone."""
        changes: dict[Any, str | None] = {}
        signalling = engine.signalling
        counters = (signalling.sequence, signalling.last_timestamp)
        if self.fingerprints.get(SIGNALLING_KEY) != counters:
            self.fingerprints[SIGNALLING_KEY] = counters
            changes[SIGNALLING_KEY] = encode(signalling_record(*counters))
        kept = {SIGNALLING_KEY}
        for entry_id, entry in engine.bul.entries.items():
            if saved_state(entry) is None:
                continue
            kept.add(entry_id)
            mark = fingerprint(entry)
            if self.fingerprints.get(entry_id) != mark:
                record = entry_to_record(entry)
                assert record is not None  # saved_state said it is kept
                changes[entry_id] = encode(record)
                self.fingerprints[entry_id] = mark
        for gone in self.fingerprints.keys() - kept:
            del self.fingerprints[gone]
            changes[gone] = None
        return changes

    def stop(self) -> None:
        if self.saver is not None and self.saver.running:
            self.saver.stop()
        self.save()
        if self.journal is not None:
            self.journal.close()
