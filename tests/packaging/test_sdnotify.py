"""pmiprouter.runtime.sdnotify: the sd_notify datagram, on path and abstract sockets."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmiprouter.runtime.sdnotify import notify, socket_address


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A datagram socket bound to a file path, like systemd's /run/systemd/notify."""
    path = str(tmp_path / 'notify')
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(2)
        yield path, sock


def test_sends_ready_to_a_path_socket(path_socket: tuple[str, socket.socket]) -> None:
    """READY=1 arrives as one datagram on a filesystem socket."""
    path, sock = path_socket
    assert notify('READY=1', {'NOTIFY_SOCKET': path}) is True
    assert sock.recv(4096) == b'READY=1'


def test_sends_to_an_abstract_socket() -> None:
    """A leading '@' means the abstract namespace (leading NUL byte)."""
    name = f'pmiprouter-test-{uuid.uuid4().hex}'
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b'\0' + name.encode())
        sock.settimeout(2)
        assert notify('STATUS=idle\nREADY=1', {'NOTIFY_SOCKET': '@' + name}) is True
        assert sock.recv(4096) == b'STATUS=idle\nREADY=1'


def test_reads_the_process_environment(path_socket: tuple[str, socket.socket], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit mapping, $NOTIFY_SOCKET comes from os.environ."""
    path, sock = path_socket
    monkeypatch.setenv('NOTIFY_SOCKET', path)
    assert notify('RELOADING=1') is True
    assert sock.recv(4096) == b'RELOADING=1'


def test_no_op_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside systemd (no $NOTIFY_SOCKET) nothing is sent and nothing fails."""
    monkeypatch.delenv('NOTIFY_SOCKET', raising=False)
    assert notify('READY=1') is False
    assert notify('READY=1', {}) is False


@pytest.mark.parametrize('value', ['', '@', 'relative/path', 'vsock:2:1234'])
def test_unusable_addresses_are_ignored(value: str) -> None:
    """Empty, bare '@', relative and vsock addresses are not sent to."""
    assert socket_address(value) is None
    assert notify('READY=1', {'NOTIFY_SOCKET': value}) is False


def test_missing_socket_is_not_an_error(tmp_path: Path) -> None:
    """A socket path that does not exist returns False instead of raising."""
    assert notify('READY=1', {'NOTIFY_SOCKET': str(tmp_path / 'absent')}) is False


def test_socket_address_forms() -> None:
    """Paths pass through; '@name' becomes NUL + name."""
    assert socket_address('/run/systemd/notify') == '/run/systemd/notify'
    assert socket_address('@abc') == b'\0abc'


def test_no_descriptor_leak(path_socket: tuple[str, socket.socket]) -> None:
    """Each call closes its socket (the daemon may notify on every reload)."""
    path, sock = path_socket
    fds = len(os.listdir('/proc/self/fd'))
    for _ in range(20):
        notify('WATCHDOG=1', {'NOTIFY_SOCKET': path})
        sock.recv(64)
    assert len(os.listdir('/proc/self/fd')) == fds
