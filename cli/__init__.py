"""IOS-style CLI engine, installed as `pmiprouter.cli` (see setup.py)."""
