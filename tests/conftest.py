"""Fixtures shared by the test packages."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def netns() -> Iterator[str]:
    """A scratch network namespace with a unique name, deleted afterwards (root tests only)."""
    name = f'pmt-{uuid.uuid4().hex[:10]}'
    subprocess.run(['ip', 'netns', 'add', name], check=True)
    try:
        yield name
    finally:
        subprocess.run(['ip', 'netns', 'del', name], check=False)
