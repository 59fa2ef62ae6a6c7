"""IOS-style CLI engine, installed as `pmiprouter.cli` (see setup.py)."""

from __future__ import annotations
