"""The MAG's state file: its Binding Update List kept across daemon restarts.

Same file format and atomic write as the LMA's (`StateFile`: temporary file, fsync,
rename). Saving is incremental: a tick does nothing when the engine has not moved, an
entry is re-encoded only when its fingerprint changed, the file is rewritten only when
some record did, and a write that took T seconds is not repeated for 10 T.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from pmiprouter.core.mag import MobileAccessGateway
from pmiprouter.core.mag_persistence import entry_to_record, fingerprint, saved_state, signalling_record
from pmiprouter.runtime.state import StateFile

SAVE_INTERVAL_S = 1.0
SIGNALLING_KEY = -1  # the records' key of the sequence-number record (entry ids are positive)


class MagState:
    """Loads, restores and keeps saving one MAG engine's Binding Update List."""

    log = Logger()

    def __init__(self, path: Path) -> None:
        self.file = StateFile(path)
        self.restart_counter, self.saved = self.file.load()
        self.engine: MobileAccessGateway | None = None
        self.saved_revision = -1
        self.records: dict[int, str] = {}  # entry id (or SIGNALLING_KEY) -> its JSON
        self.fingerprints: dict[int, tuple[Any, ...]] = {}
        self.next_save = 0.0
        self.saver: LoopingCall | None = None

    def start_counter(self) -> int:
        """The Restart Counter to run with: a restart that restores its bindings lost no state,
        one that cannot, did (RFC 5847 §3.4)."""
        return self.restart_counter if self.saved else self.restart_counter + 1

    def start(self, engine: MobileAccessGateway, reactor: Any, now: float) -> list[Any]:
        """Restore the saved entries into `engine` (returns its actions) and save from now on."""
        self.engine = engine
        actions = engine.restore(self.saved, now)
        self.saver = LoopingCall(self.save)
        self.saver.clock = reactor
        self.saver.start(SAVE_INTERVAL_S, now=False)
        return actions

    def save(self, force: bool = False) -> None:
        engine = self.engine
        if engine is None:
            return
        now = time.monotonic()
        if engine.revision == self.saved_revision or (now < self.next_save and not force):
            return
        changed = self._refresh(engine)
        if changed or force:
            try:
                self.file.save_encoded(engine.restart_counter, self.records.values())
            except OSError as exc:
                self.log.error('cannot write state file {path}: {error}', path=self.file.path, error=exc)
                return
        self.saved_revision = engine.revision
        self.next_save = now + 10 * (time.monotonic() - now)

    def _refresh(self, engine: MobileAccessGateway) -> bool:
        """Bring the encoded records up to date with the engine; True when any changed."""
        signalling = engine.signalling
        counters = (signalling.sequence, signalling.last_timestamp)
        changed = self.fingerprints.get(SIGNALLING_KEY) != counters
        if changed:
            self.fingerprints[SIGNALLING_KEY] = counters
            self.records[SIGNALLING_KEY] = json.dumps(signalling_record(*counters))
        kept = {SIGNALLING_KEY}
        for entry_id, entry in engine.bul.entries.items():
            if saved_state(entry) is None:
                continue
            kept.add(entry_id)
            mark = fingerprint(entry)
            if self.fingerprints.get(entry_id) != mark:
                record = entry_to_record(entry)
                assert record is not None  # saved_state said it is kept
                self.records[entry_id] = json.dumps(record)
                self.fingerprints[entry_id] = mark
                changed = True
        for gone in self.records.keys() - kept:
            del self.records[gone]
            del self.fingerprints[gone]
            changed = True
        return changed

    def stop(self) -> None:
        if self.saver is not None and self.saver.running:
            self.saver.stop()
        self.save(force=True)
