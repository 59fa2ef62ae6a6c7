"""The CPython speed techniques stay fenced in `pmiprouter/fast/` (ADR 0013).

Domain modules read like the RFCs: none of them builds tuples through ``tuple.__new__``,
switches an object's ``__class__``, runs ``exec``, reads ``ipaddress``'s internals (``_ip``,
``_prefixlen``) or a stored ``_hash``, keys a table by ``id()``, or imports the fenced modules
from their old places. Each technique has its home in `pmiprouter/fast/`, with a reference test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCED = ROOT / 'pmiprouter' / 'fast'

# Modules allowed the techniques while they move into pmiprouter/fast/ (none: the fence covers every module).
PENDING: set[str] = set()

INTERNALS = {'_ip', '_prefixlen', '_hash'}  # ipaddress's (and the stored hashes') private attributes
OLD_MODULES = {'pmiprouter.frozen', 'pmiprouter.by_identity', 'pmiprouter.netaddr'}
KEY_METHODS = {'get', 'setdefault', 'pop'}


def _is_id_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'id'


def _key_expressions(tree: ast.AST) -> list[ast.AST]:
    """Every expression used as a dict key or looked up as one."""
    keys: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            keys.append(node.slice)
        elif isinstance(node, ast.Dict):
            keys += [key for key in node.keys if key is not None]
        elif isinstance(node, ast.DictComp):
            keys.append(node.key)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in KEY_METHODS and node.args:
            keys.append(node.args[0])
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            keys.append(node.left)
    return keys


def violations(source: str) -> list[str]:
    """The fenced techniques in `source`, as 'line: what'."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr == '__new__' and isinstance(node.value, ast.Name) and node.value.id == 'tuple':
                found.append((node.lineno, 'tuple.__new__'))
            elif node.attr in INTERNALS:
                found.append((node.lineno, f'.{node.attr}'))
            elif node.attr == '__class__' and isinstance(node.ctx, ast.Store):
                found.append((node.lineno, 'assignment to __class__'))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == 'exec':
                found.append((node.lineno, 'exec('))
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ''
            if name in ('setattr', '__setattr__') and len(node.args) > 1 \
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value == '__class__':
                found.append((node.lineno, 'assignment to __class__'))
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = {f'{node.module}.{alias.name}' for alias in node.names}
            if node.module in OLD_MODULES or names & OLD_MODULES:
                found.append((node.lineno, f'import from {node.module} (now pmiprouter.fast)'))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in OLD_MODULES:
                    found.append((node.lineno, f'import {alias.name} (now pmiprouter.fast)'))
    for key in _key_expressions(tree):
        found += [(call.lineno, 'id() as a dict key') for call in ast.walk(key) if _is_id_call(call)]  # type: ignore[attr-defined]
    return [f'{line}: {what}' for line, what in sorted(set(found))]


def domain_files() -> list[Path]:
    files = sorted((ROOT / 'pmiprouter').rglob('*.py')) + sorted((ROOT / 'cli').rglob('*.py'))
    return [path for path in files if FENCED not in path.parents]


@pytest.mark.parametrize('path', domain_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_speed_technique_outside_the_fence(path: Path) -> None:
    name = str(path.relative_to(ROOT))
    found = violations(path.read_text())
    if name in PENDING:
        assert found, f'{name} no longer needs its place in PENDING: remove it'
        return
    assert not found, f'{name} uses techniques that belong in pmiprouter/fast/: {found}'


def test_pending_files_exist() -> None:
    assert all((ROOT / name).is_file() for name in PENDING)


CAUGHT = {
    'tuple.__new__': 'x = tuple.__new__(Point, (1, 2))',
    'a bound tuple.__new__': '_new = tuple.__new__',
    'assignment to __class__': 'spec.__class__ = Spec',
    'object.__setattr__ of __class__': "object.__setattr__(spec, '__class__', Spec)",
    'exec': "exec('def f(): pass', scope)",
    '._ip': 'n = address._ip',
    '._prefixlen': 'if not prefix._prefixlen: pass',
    '._hash': 'h = prefix._hash',
    'id() subscript': 'table[id(key)] = value',
    'id() in a tuple key': 'table[(kind, id(key))] = value',
    'id() with get': 'hit = table.get(id(key))',
    'id() with setdefault': 'table.setdefault(id(key), [])',
    'id() in': 'if id(key) in table: pass',
    'id() in a dict display': 'table = {id(key): key}',
    'id() in a comprehension': 'table = {c.name or id(c): c for c in children}',
    'old frozen': 'from pmiprouter.frozen import quick_init',
    'old by_identity': 'from pmiprouter import by_identity',
    'old netaddr': 'import pmiprouter.netaddr',
}


@pytest.mark.parametrize('snippet', CAUGHT.values(), ids=list(CAUGHT))
def test_the_fence_catches_each_technique(snippet: str) -> None:
    assert violations(snippet)


def test_the_fence_lets_plain_code_through() -> None:
    plain = '\n'.join([
        'from pmiprouter.fast.frozen import quick_init',
        'from pmiprouter.fast.positional import positional',
        'spec = Spec(*values)',
        'h = spec.hash_value',
        'n = prefix.prefixlen',
        'hit = table.get(key)',
        'print(id(key))',
        'fds = (key, id(sock))',
        'cls = spec.__class__',
        "object.__setattr__(self, 'max_retries', 3)",
    ])
    assert violations(plain) == []
