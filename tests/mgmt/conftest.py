"""A running daemon with the management plane, for the SSH and control-socket tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ADMIN_PW = 'Adm1n-pw'
OPER_PW = 'oper-pw'


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        probe.bind(('::', 0))
        return int(probe.getsockname()[1])


def config_text(port: int, users: bool = True) -> str:
    """The daemon's startup-config: users, SSH port and one LMA."""
    lines = ['hostname lma1']
    if users:
        lines += [f'username admin privilege 15 secret 0 {ADMIN_PW}', f'username oper secret 0 {OPER_PW}']
    lines += [
        f'ip ssh port {port}',
        'ip ssh authentication-retries 2',
        'ipv6 mobile pmipv6-domain D',
        ' mag MAG1',
        '  ipv6-address 2001:db8:1::1',
        ' nai mn1@example.com',
        '  service ipv6',
        '!',
        'ipv6 mobile pmipv6-lma LMA1 domain D',
        ' address ipv6 2001:db8:2::1',
        ' pool ipv6 P prefix 2001:db8:aaaa::/48 pfxlen 64',
        '!',
        'end',
    ]
    return '\n'.join(lines) + '\n'


class Daemon:
    """`pmiprouter run` (memory data plane) with SSH and the control socket, in a subprocess."""

    def __init__(self, directory: Path, port: int, users: bool = True, prefix: tuple[str, ...] = ()) -> None:
        self.prefix = prefix  # e.g. `ip netns exec NS`
        self.directory = directory
        self.port = port
        self.config = directory / 'startup-config'
        self.state = directory / 'state'
        self.socket = directory / 'run' / 'cli.sock'
        self.lines: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None
        if not self.config.exists():
            self.config.write_text(config_text(port, users))

    def start(self) -> None:
        """Start and wait for the readiness line."""
        self.lines = []
        self.process = subprocess.Popen(
            [*self.prefix, sys.executable, '-m', 'pmiprouter', 'run', '-c', str(self.config),
             '--dataplane', 'memory', '--state-dir', str(self.state), '--control-socket', str(self.socket)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0, cwd=ROOT,
        )
        reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        reader.start()
        try:
            self.wait_for('pmiprouter ready', 30)
        except AssertionError:
            self.stop()
            raise

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:  # ends at EOF, when the daemon exits
            self.lines.append(raw.decode(errors='replace'))

    def wait_for(self, text: str, timeout: float) -> str:
        """Poll the daemon's output until a line contains `text`; return that line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.05)  # polling interval of a deadline loop, not a wait for an outcome
        raise AssertionError(f'daemon did not say {text!r}: {"".join(self.lines)}')

    def stop(self) -> None:
        """SIGTERM and wait (kill after a deadline)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def ip(*args: str) -> None:
    """`ip ARGS`, which must succeed."""
    subprocess.run(['ip', *args], check=True, capture_output=True)


@contextmanager
def daemon_in_netns(directory: Path, port: int, netns: str, *commands: tuple[str, ...]) -> Iterator[Daemon]:
    """A started Daemon in a network namespace of its own: loopback up, then `ip -n NETNS *command`
    for each of `commands`; stopped and the namespace deleted afterwards."""
    ip('netns', 'add', netns)
    running = Daemon(directory, port, prefix=('ip', 'netns', 'exec', netns))
    try:
        ip('-n', netns, 'link', 'set', 'lo', 'up')
        for command in commands:
            ip('-n', netns, *command)
        running.start()
        yield running
    finally:
        running.stop()
        subprocess.run(['ip', 'netns', 'del', netns], check=False, capture_output=True)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='the LMA opens a raw Mobility Header socket')


@pytest.fixture(scope='module')
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for a test module."""
    if os.geteuid() != 0:
        pytest.skip('the LMA opens a raw Mobility Header socket: needs root')
    running = Daemon(tmp_path_factory.mktemp('mgmt'), free_port())
    running.start()
    yield running
    running.stop()
