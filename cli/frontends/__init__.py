"""Front-ends driving a `Session`: the local prompt-toolkit shell (SSH comes later)."""

from __future__ import annotations
