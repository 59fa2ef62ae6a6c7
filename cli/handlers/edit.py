"""Editing the frozen `RouterConfig` from handlers: paths, getters and generic setters.

Pure module. A *path* addresses one object inside the configuration as a sequence of
(attribute, key) steps, e.g. `(('domains', 'D1'), ('mn_profiles', ('nai', 'mn1@x')))`;
a key of None means the attribute holds a single object (`(('ssh', None),)`). Mode frames
carry the path of the object they edit, so sub-mode commands need no other context.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.tree import Handler, Invocation
from pmiprouter.config.model import default_of, find, upsert

Path = tuple[tuple[str, Any], ...]


def get(root: Any, path: Path) -> Any:
    """The object at `path` under `root`, or None when a keyed step is missing."""
    obj = root
    for attr, key in path:
        value = getattr(obj, attr)
        obj = value if key is None else find(value, key)
        if obj is None:
            return None
    return obj


def put(root: Any, path: Path, new: Any) -> Any:
    """A copy of `root` with the object at `path` replaced by `new` (which must exist
    or be keyed so that it can be inserted)."""
    if not path:
        return new
    (attr, key), rest = path[0], path[1:]
    value = getattr(root, attr)
    if key is None:
        changed = put(value, rest, new)
    else:
        child = find(value, key)
        if child is None and rest:
            raise CommandError('Internal error: parent object vanished')
        changed = upsert(value, put(child, rest, new))
    # While a file loads, keyed collections are drafts edited in place (config/keyed.py):
    # the parents are then unchanged and need no copy, which keeps a load linear.
    return root if changed is value else dataclasses.replace(root, **{attr: changed})


def current(inv: Invocation, path: Path | None = None) -> tuple[Path, Any]:
    """The path edited by the current mode (or `path`) and the object there."""
    where = inv.session.frame.path if path is None else path
    obj = get(inv.session.config, where)
    if obj is None:
        raise CommandError('The object edited by this mode no longer exists')
    return where, obj


def update(inv: Invocation, path: Path, obj: Any, **changes: Any) -> None:
    """Store `obj` with `changes` at `path` in the session's configuration."""
    inv.session.config = put(inv.session.config, path, dataclasses.replace(obj, **changes))


def setter(field: str, arg: str = 'value', *, path: Path | None = None) -> Handler:
    """A handler setting `field` from argument `arg`; `no`/`default` restore the default."""

    def handler(inv: Invocation) -> None:
        where, obj = current(inv, path)
        value = default_of(type(obj), field) if inv.negate else inv.args[arg]
        update(inv, where, obj, **{field: value})

    handler.__name__ = f'set_{field}'
    return handler


def flag(field: str, *, path: Path | None = None) -> Handler:
    """A handler turning boolean `field` on; `no`/`default` turn it off."""

    def handler(inv: Invocation) -> None:
        where, obj = current(inv, path)
        update(inv, where, obj, **{field: inv.negate is None})

    handler.__name__ = f'flag_{field}'
    return handler


def heartbeat(inv: Invocation) -> None:
    """`heartbeat interval S [retries N]` (RFC 5847); `no heartbeat` disables it."""
    where, obj = current(inv)
    if inv.negate:
        update(
            inv,
            where,
            obj,
            heartbeat_enabled=False,
            heartbeat_interval_s=default_of(type(obj), 'heartbeat_interval_s'),
            heartbeat_retries=default_of(type(obj), 'heartbeat_retries'),
        )
        return
    update(
        inv,
        where,
        obj,
        heartbeat_enabled=True,
        heartbeat_interval_s=inv.args['interval'],
        heartbeat_retries=inv.args.get('retries', default_of(type(obj), 'heartbeat_retries')),
    )
