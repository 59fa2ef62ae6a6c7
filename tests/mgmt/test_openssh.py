"""The OpenSSH client against the daemon (runs on both venvs: no Python SSH client needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Daemon, free_port

pytestmark = pytest.mark.skipif(shutil.which('ssh') is None or shutil.which('ssh-keygen') is None,
                                reason='needs the OpenSSH client')


def keypair(directory: Path) -> Path:
    """A fresh Ed25519 key pair; returns the private key path."""
    path = directory / 'id_ed25519'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(path)], check=True)
    return path


def ssh(daemon: Daemon, key: Path, *command: str, user: str = 'admin', host: str = '::1') -> subprocess.CompletedProcess[str]:
    """Run `ssh -T` with key authentication only."""
    return subprocess.run(
        ['ssh', '-T', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
         '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=20',
         '-o', 'LogLevel=ERROR', '-i', str(key), '-p', str(daemon.port), f'{user}@{host}', *command],
        capture_output=True, text=True, timeout=60,
    )


def authorize(daemon: Daemon, key: Path, user: str = 'admin') -> None:
    """Put the public key in the running configuration's pubkey-chain (IOS `key-string`)."""
    from .test_control_socket import converse

    blob = key.with_suffix('.pub').read_text().split()[1]
    lines = [blob[i : i + 40] for i in range(0, len(blob), 40)]  # pasted in pieces, as IOS shows it
    text = converse(daemon, '\n'.join(['configure terminal', 'ip ssh pubkey-chain', f'username {user}',
                                        'key-string', *lines, 'exit', 'end', '']))
    assert '%' not in text, text


def test_exec_with_key(daemon: Daemon, tmp_path: Path) -> None:
    """`ssh -T host 'show ipv6 mobile pmipv6 lma globals'` prints it and exits 0."""
    key = keypair(tmp_path)
    authorize(daemon, key)
    done = ssh(daemon, key, 'show ipv6 mobile pmipv6 lma globals')
    assert done.returncode == 0, done.stderr
    assert 'LMA Identifier: LMA1' in done.stdout
    failed = ssh(daemon, key, 'show nonsense')
    assert failed.returncode == 1 and '% Invalid input' in failed.stdout


def test_shell_without_pty_is_plain(daemon: Daemon, tmp_path: Path) -> None:
    """A shell with no PTY (commands on stdin) gets plain line mode: no escape sequence."""
    key = keypair(tmp_path)
    authorize(daemon, key)
    done = subprocess.run(
        ['ssh', '-T', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
         '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR',
         '-i', str(key), '-p', str(daemon.port), 'admin@::1'],
        input='show privilege\nexit\n', capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert 'lma1#show privilege\nCurrent privilege level is 15' in done.stdout  # text mode folds CRLF
    assert '\x1b' not in done.stdout


def test_key_of_another_user_is_refused(daemon: Daemon, tmp_path: Path) -> None:
    """A key not installed for the user does not log in."""
    key = keypair(tmp_path)
    done = ssh(daemon, key, 'show version', user='oper')
    assert done.returncode == 255


@pytest.fixture()
def empty(tmp_path: Path) -> Iterator[Daemon]:
    """A fresh install: no user configured."""
    if os.geteuid() != 0:
        pytest.skip('needs root')
    daemon = Daemon(tmp_path, free_port(), users=False)
    daemon.start()
    yield daemon
    daemon.stop()


def test_fresh_install_has_no_login_and_says_how(empty: Daemon, tmp_path: Path) -> None:
    """With no user nobody logs in, and the log says how to create the first user."""
    assert 'username NAME privilege 15 secret PASSWORD' in empty.wait_for('no user is configured', 10)
    key = keypair(tmp_path)
    authorize(empty, key)
    assert ssh(empty, key, 'show version').returncode == 255


def test_ssh_port_change_moves_the_listener(empty: Daemon, tmp_path: Path) -> None:
    """`ip ssh port N` from the local shell: SSH answers on the new port at once."""
    from .test_control_socket import converse

    key = keypair(tmp_path)
    new_port = free_port()
    converse(empty, f'configure terminal\nusername admin privilege 15 secret 0 pw\nip ssh port {new_port}\nend\n')
    empty.wait_for(f'SSH server now listening on [::]:{new_port}', 20)
    authorize(empty, key)
    empty.port = new_port
    done = ssh(empty, key, 'show running-config | include ip ssh port')
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f'ip ssh port {new_port}'
    assert f'ip ssh port {new_port}' not in empty.config.read_text()


def test_listen_address_moves_the_listener(empty: Daemon, tmp_path: Path) -> None:
    """`ip ssh listen-address 127.0.0.1`: SSH answers there at once, and no longer on ::1."""
    from .test_control_socket import converse

    key = keypair(tmp_path)
    converse(empty, 'configure terminal\nusername admin privilege 15 secret 0 pw\nip ssh listen-address 127.0.0.1\nend\n')
    empty.wait_for(f'SSH server now listening on [127.0.0.1]:{empty.port}', 20)
    authorize(empty, key)
    done = ssh(empty, key, 'show running-config | include listen', host='127.0.0.1')
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'ip ssh listen-address 127.0.0.1'
    assert ssh(empty, key, 'show version').returncode == 255  # ::1 is not listened on any more


def test_taken_ssh_port_is_not_fatal(tmp_path: Path) -> None:
    """With the SSH port taken (the host's sshd), the daemon runs on and the local shell works."""
    import socket

    from .test_control_socket import converse

    if os.geteuid() != 0:
        pytest.skip('needs root')
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as holder:
        holder.bind(('::', 0))
        holder.listen()
        daemon = Daemon(tmp_path, holder.getsockname()[1])
        daemon.start()
        try:
            assert 'set another with `ip ssh port N`' in daemon.wait_for('SSH: cannot listen on [::]:', 10)
            assert 'Current privilege level is 15' in converse(daemon, 'show privilege\n')
        finally:
            daemon.stop()
    assert not daemon.socket.exists()  # the socket file goes with the daemon
