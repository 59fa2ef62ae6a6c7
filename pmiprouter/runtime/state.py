"""The daemon's state file: bindings and the restart counter, written atomically.

A crash in the middle of a write leaves the previous file intact (write to a temporary file
in the same directory, fsync, rename). A missing or damaged file means a state-losing
restart: the restart counter goes up (RFC 5847 §3.4) and no binding is restored.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from collections.abc import Iterable
from typing import Any

from twisted.logger import Logger

from pmiprouter.core.persistence import FORMAT_VERSION, READABLE_VERSIONS

log = Logger()


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[int, list[dict[str, Any]]]:
        """(restart counter, binding records); a fresh start when the file is missing or damaged."""
        try:
            data = json.loads(self.path.read_text())
            if data.get('format') not in READABLE_VERSIONS:
                raise ValueError(f'format {data.get("format")!r}')
            return int(data['restart_counter']), list(data['bindings'])
        except FileNotFoundError:
            return 0, []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warn('state file {path} unusable ({error}); starting without bindings', path=self.path, error=exc)
            return 0, []

    def save(self, restart_counter: int, bindings: list[dict[str, Any]]) -> None:
        self.save_encoded(restart_counter, [json.dumps(record) for record in bindings])

    def save_encoded(self, restart_counter: int, bindings: Iterable[str]) -> None:
        """Write records already encoded as JSON (the daemon keeps them, re-encoding only changed ones)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        head = json.dumps({'format': FORMAT_VERSION, 'restart_counter': restart_counter})[:-1]
        payload = head + ', "bindings": [' + ', '.join(bindings) + ']}'

        fd, temporary = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
