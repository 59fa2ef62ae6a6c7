"""A startup-config kept in a file (the `ConfigStore` of `write memory`).

Pure module (file I/O only). Writes are atomic: a temporary file in the same directory
replaces the old one, so a crash never leaves a truncated startup-config.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class FileStore:
    """Reads and atomically rewrites one startup-config file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> str | None:
        """The file's text, or None when it does not exist."""
        try:
            return self.path.read_text(encoding='utf-8')
        except FileNotFoundError:
            return None

    def write(self, text: str) -> None:
        """Replace the file with `text` atomically, keeping it private (0600)."""
        directory = self.path.parent if str(self.path.parent) else Path('.')
        fd, tmp = tempfile.mkstemp(prefix='.startup-config.', dir=directory)
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                handle.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise
