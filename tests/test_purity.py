"""The sans-I/O layers import no I/O, no clock and no framework (design.md, principle 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_LAYERS = ['pmiprouter/fast', 'pmiprouter/mh', 'pmiprouter/core', 'pmiprouter/config', 'cli/parser.py', 'cli/completion.py']
BANNED = {'twisted', 'pyroute2', 'socket', 'time', 'asyncio', 'prompt_toolkit', 'select', 'threading', 'subprocess'}


def pure_files() -> list[Path]:
    files: list[Path] = []
    for layer in PURE_LAYERS:
        path = ROOT / layer
        files += sorted(path.rglob('*.py')) if path.is_dir() else [path] if path.exists() else []
    return files


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split('.')[0])
    return roots


@pytest.mark.parametrize('path', pure_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_module_imports_no_io(path: Path) -> None:
    """No module of a pure layer imports sockets, the clock, Twisted, pyroute2 or prompt-toolkit."""
    assert not imported_roots(path) & BANNED
