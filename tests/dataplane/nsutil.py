"""Network-namespace helpers for the dataplane tests (root only).

Namespaces get unique names (``pmt`` + 6 hex digits) and are always deleted by the fixtures
that create them. :class:`NsThread` runs calls on one thread that has entered a namespace:
that is also how the runtime uses a dataplane (one worker thread), so a backend created there
programs the namespace's kernel and nothing else.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import time
import uuid
from typing import Any, Callable

from pmiprouter.dataplane.probe import enter_netns


def unique(prefix: str = 'pmt') -> str:
    """Return a fresh name: prefix + 6 hex digits."""
    return prefix + uuid.uuid4().hex[:6]


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip`` (optionally ``ip -n NS``) and return the completed process."""
    cmd = ['ip'] + (['-n', ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=20)


def ns_exec(ns: str, *cmd: str, timeout: float = 20, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run a command inside a namespace and capture its output."""
    return subprocess.run(['ip', 'netns', 'exec', ns, *cmd], capture_output=True, text=True,
                          timeout=timeout, check=check)


def netns_add(name: str) -> None:
    """Create a namespace with loopback up and forwarding on."""
    ip('netns', 'add', name)
    ip('link', 'set', 'lo', 'up', ns=name)
    ns_exec(name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', check=True)


def netns_del(name: str) -> None:
    """Delete a namespace (no error if it is already gone)."""
    ip('netns', 'del', name, check=False)


def json_links(ns: str) -> list[dict[str, Any]]:
    """Return ``ip -j link`` of a namespace."""
    return json.loads(ip('-j', 'link', 'show', ns=ns).stdout or '[]')


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class NsThread:
    """One worker thread inside a namespace; :meth:`call` runs a function there."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, initializer=enter_netns, initargs=(ns,))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the namespace's thread and return (or raise) its result."""
        return self._pool.submit(fn, *args, **kwargs).result(timeout=60)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Start ``fn`` on the namespace's thread; return its future."""
        return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        """Stop the thread."""
        self._pool.shutdown(wait=True)


class Proxy:
    """Forwards method calls of an object living on an :class:`NsThread` to that thread."""

    def __init__(self, thread: NsThread, obj: Any) -> None:
        self._thread = thread
        self._obj = obj

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if not callable(attr):
            return attr
        return lambda *a, **k: self._thread.call(attr, *a, **k)
