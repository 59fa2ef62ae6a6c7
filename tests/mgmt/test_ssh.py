"""SSH into the running daemon with paramiko: login, refusals, keys, exec, live config, restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ADMIN_PW, OPER_PW, Daemon, free_port

paramiko = pytest.importorskip('paramiko')


def connect(daemon: Daemon, user: str = 'admin', password: str | None = ADMIN_PW, **kwargs: object) -> object:
    """A logged-in paramiko client."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(str(kwargs.pop('host', '::1')), port=int(kwargs.pop('port', daemon.port)), username=user, password=password, look_for_keys=False,
                   allow_agent=False, timeout=20, auth_timeout=20, banner_timeout=20, **kwargs)
    return client


def run(daemon: Daemon, command: str, user: str = 'admin', password: str = ADMIN_PW) -> tuple[str, int]:
    """An exec request: output and exit status."""
    client = connect(daemon, user, password)
    try:
        _, stdout, _ = client.exec_command(command, timeout=20)  # type: ignore[attr-defined]
        output = stdout.read().decode()
        return output, stdout.channel.recv_exit_status()
    finally:
        client.close()  # type: ignore[attr-defined]


def read_until(channel: object, text: str, timeout: float = 20) -> str:
    """Read a shell channel until `text` shows up."""
    data = ''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and text not in data:
        if channel.recv_ready():  # type: ignore[attr-defined]
            data += channel.recv(65536).decode()  # type: ignore[attr-defined]
        else:
            channel.status_event.wait(0.05)  # type: ignore[attr-defined]  # deadline-bounded poll
    assert text in data, data
    return data


def test_exec_request_runs_one_command(daemon: Daemon) -> None:
    """`ssh host 'show version'` prints the output and exits 0; an error exits 1."""
    output, status = run(daemon, 'show version')
    assert status == 0 and 'pmiprouter Software (PMIPROUTER)' in output
    output, status = run(daemon, 'show bogus')
    assert status == 1 and '% Invalid input' in output


def test_privilege_follows_the_user(daemon: Daemon) -> None:
    """A privilege-1 user lands at `>`; admin (15) at `#`."""
    assert run(daemon, 'show privilege', 'oper', OPER_PW)[0].strip() == 'Current privilege level is 1'
    assert run(daemon, 'show privilege')[0].strip() == 'Current privilege level is 15'


def test_wrong_password_is_refused_and_counted(daemon: Daemon) -> None:
    """A bad password fails authentication and is logged (show logging has it)."""
    with pytest.raises(paramiko.AuthenticationException):
        connect(daemon, password='wrong')
    output, _ = run(daemon, 'show logging | include login failed')
    assert 'login failed for user admin' in output
    assert 'Failed logins: 0' not in run(daemon, 'show ip ssh')[0]


def test_unknown_user_is_refused(daemon: Daemon) -> None:
    """A user not in the configuration cannot log in."""
    with pytest.raises(paramiko.AuthenticationException):
        connect(daemon, user='nobody', password='x')


def key_hash_line(key: object) -> str:
    """What Ansible's cisco.ios `ios_user` sends for a key: `key-hash TYPE MD5-HEX`."""
    import base64
    import hashlib

    blob = base64.b64decode(key.get_base64())  # type: ignore[attr-defined]
    return f'key-hash {key.get_name()} {hashlib.md5(blob).hexdigest().upper()}'  # type: ignore[attr-defined]


def add_key(daemon: Daemon, key: object, user: str = 'admin', save: bool = False) -> str:
    """Add `key` to `user`'s pubkey-chain over SSH (password login), as Ansible does."""
    commands = ['configure terminal', 'ip ssh pubkey-chain', f'username {user}', key_hash_line(key), 'exit', 'exit',
                'end', *(['write memory'] if save else [])]
    client = connect(daemon)
    try:
        channel = client.invoke_shell(term='dumb')  # type: ignore[attr-defined]
        read_until(channel, '#')
        channel.send('\n'.join(commands) + '\nexit\n')
        return read_until(channel, '[OK]' if save else 'lma1#exit')
    finally:
        client.close()  # type: ignore[attr-defined]


def test_public_key_login(daemon: Daemon, tmp_path: Path) -> None:
    """A key of the user's `ip ssh pubkey-chain` entry logs in without a password; other keys do not."""
    key = paramiko.Ed25519Key.from_private_key_file(str(_ed25519(tmp_path)))
    other = paramiko.RSAKey.generate(2048)
    with pytest.raises(paramiko.AuthenticationException):
        connect(daemon, password=None, pkey=key)
    assert '%' not in add_key(daemon, key)
    assert key_hash_line(key) in run(daemon, 'show running-config | section pubkey-chain')[0]
    client = connect(daemon, password=None, pkey=key)
    try:
        _, stdout, _ = client.exec_command('show privilege', timeout=20)  # type: ignore[attr-defined]
        assert 'level is 15' in stdout.read().decode()
    finally:
        client.close()  # type: ignore[attr-defined]
    with pytest.raises(paramiko.AuthenticationException):
        connect(daemon, password=None, pkey=other)
    with pytest.raises(paramiko.AuthenticationException):  # the key is admin's, not oper's
        connect(daemon, user='oper', password=None, pkey=key)


def _ed25519(directory: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path = directory / 'id_ed25519'
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    path.write_bytes(pem)
    return path


def test_interactive_shell_and_live_config(daemon: Daemon) -> None:
    """A PTY shell: prompt, config change applied live, `?` help, no escape near the prompt."""
    client = connect(daemon)
    try:
        channel = client.invoke_shell(term='vt100', width=511, height=1000)  # type: ignore[attr-defined]
        assert read_until(channel, 'lma1#').endswith('lma1#')
        channel.send('configure terminal\r')
        read_until(channel, 'lma1(config)#')
        channel.send('ipv6 mobile pmipv6-domain D\rnai mn7@example.com\rservice ipv6\rend\r')
        read_until(channel, 'lma1#')
        channel.send('show ipv6 mobile pmipv6 ?')
        text = read_until(channel, 'lma1#show ipv6 mobile pmipv6 ')
        assert 'lma' in text and '\x1b' not in text
    finally:
        client.close()  # type: ignore[attr-defined]
    assert 'nai mn7@example.com' in run(daemon, 'show running-config | section pmipv6-domain')[0]


def test_modern_algorithms_only(daemon: Daemon) -> None:
    """The server offers no CBC cipher and no SHA-1 MAC."""
    client = connect(daemon)
    try:
        transport = client.get_transport()  # type: ignore[attr-defined]
        assert transport.remote_cipher in ('aes256-ctr', 'aes128-ctr')
        assert transport.remote_mac.startswith('hmac-sha2-')
    finally:
        client.close()  # type: ignore[attr-defined]


@pytest.fixture()
def fresh(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon of its own, to be restarted by the test."""
    import os

    if os.geteuid() != 0:
        pytest.skip('needs root')
    daemon = Daemon(tmp_path, free_port())
    yield daemon
    daemon.stop()


def test_write_memory_survives_restart_and_host_key_is_kept(fresh: Daemon) -> None:
    """`write memory` over SSH persists; after a restart the change and the host key remain."""
    fresh.start()
    client = connect(fresh)
    host_key = client.get_transport().get_remote_server_key().asbytes()  # type: ignore[attr-defined]
    client.close()  # type: ignore[attr-defined]
    client = connect(fresh)
    try:
        channel = client.invoke_shell(term='dumb')  # type: ignore[attr-defined]
        read_until(channel, 'lma1#')
        channel.send('configure terminal\nhostname edge9\nend\nwrite memory\n')
        read_until(channel, '[OK]')
    finally:
        client.close()  # type: ignore[attr-defined]
    key = paramiko.RSAKey.generate(2048)
    add_key(fresh, key, save=True)
    assert 'hostname edge9' in fresh.config.read_text()
    assert key_hash_line(key) in fresh.config.read_text()
    fresh.stop()
    fresh.start()
    client = connect(fresh)
    try:
        assert client.get_transport().get_remote_server_key().asbytes() == host_key  # type: ignore[attr-defined]
    finally:
        client.close()  # type: ignore[attr-defined]
    assert run(fresh, 'show running-config | include hostname')[0].strip() == 'hostname edge9'
    client = connect(fresh, password=None, pkey=key)  # the key came back with the startup-config
    client.close()  # type: ignore[attr-defined]


def _transport(daemon: Daemon) -> object:
    """A paramiko transport, key exchange done, not authenticated."""
    import socket

    sock = socket.create_connection(('::1', daemon.port), timeout=20)
    transport = paramiko.Transport(sock)
    transport.start_client(timeout=20)
    return transport


def test_authentication_retries_disconnect(daemon: Daemon) -> None:
    """With `ip ssh authentication-retries 2`, the third wrong password ends the connection."""
    transport = _transport(daemon)
    try:
        for _ in range(2):
            with pytest.raises(paramiko.AuthenticationException):
                transport.auth_password('admin', 'wrong')  # type: ignore[attr-defined]
        with pytest.raises(paramiko.SSHException):
            transport.auth_password('admin', 'wrong')  # type: ignore[attr-defined]
        deadline = time.monotonic() + 20
        while transport.is_active() and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)  # deadline-bounded poll
        assert not transport.is_active()  # type: ignore[attr-defined]
    finally:
        transport.close()  # type: ignore[attr-defined]


def test_login_timeout(daemon: Daemon) -> None:
    """`ip ssh time-out 1`: a client that does not authenticate is dropped."""
    from .test_control_socket import converse

    converse(daemon, 'configure terminal\nip ssh time-out 1\nend\n')
    try:
        transport = _transport(daemon)
        deadline = time.monotonic() + 20
        while transport.is_active() and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)  # deadline-bounded poll
        assert not transport.is_active()  # type: ignore[attr-defined]
        transport.close()  # type: ignore[attr-defined]
    finally:
        converse(daemon, 'configure terminal\nno ip ssh time-out\nend\n')


def test_listen_address_and_port_change_live_keeping_sessions(fresh: Daemon) -> None:
    """`ip ssh listen-address` / `ip ssh port` re-listen at once; the session that typed them stays."""
    import socket

    fresh.start()
    client = connect(fresh)
    try:
        channel = client.invoke_shell(term='dumb')  # type: ignore[attr-defined]
        read_until(channel, 'lma1#')
        new_port = free_port()
        channel.send(f'configure terminal\nip ssh listen-address 127.0.0.1\nip ssh port {new_port}\nend\n')
        read_until(channel, 'lma1(config)#end')
        fresh.wait_for(f'SSH server now listening on [127.0.0.1]:{new_port}', 20)
        channel.send('show privilege\n')
        assert 'level is 15' in read_until(channel, 'level is 15')  # the open session was not dropped
        connect(fresh, host='127.0.0.1', port=new_port).close()  # type: ignore[attr-defined]
        with pytest.raises(OSError):  # nothing listens on the old endpoint any more
            connect(fresh, host='::1', port=fresh.port)
        channel.send('configure terminal\nip ssh listen-address ::1\nend\n')
        read_until(channel, 'lma1(config)#end\r\nlma1#')
        fresh.wait_for(f'SSH server now listening on [127.0.0.1]:{new_port} [::1]:{new_port}', 20)
        connect(fresh, host='::1', port=new_port).close()  # type: ignore[attr-defined]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:  # a port somebody else holds
            holder.bind(('127.0.0.1', 0))
            holder.listen()
            channel.send(f'configure terminal\nip ssh port {holder.getsockname()[1]}\nend\n')
            assert '% Change refused, nothing changed' in read_until(channel, 'lma1(config)#end\r\nlma1#')
        channel.send('show running-config | include ip ssh\n')
        text = read_until(channel, 'listen-address ::1')
        assert f'ip ssh port {new_port}' in text
        connect(fresh, host='127.0.0.1', port=new_port).close()  # type: ignore[attr-defined]
    finally:
        client.close()  # type: ignore[attr-defined]


def test_window_change_pages_by_the_new_height(daemon: Daemon) -> None:
    """An SSH window-change request: `--More--` follows the new terminal height."""
    client = connect(daemon)
    try:
        channel = client.invoke_shell(term='vt100', width=120, height=200)  # type: ignore[attr-defined]
        read_until(channel, 'lma1#')
        channel.send('show running-config\r')
        assert '--More--' not in read_until(channel, '\r\nend\r\nlma1#')
        channel.resize_pty(width=120, height=6)  # type: ignore[attr-defined]
        channel.send('show running-config\r')
        screen = read_until(channel, '--More--')
        assert screen.count('\r\n') == 6  # the command's line end, then 6 - 1 lines
        channel.send('q')
        read_until(channel, 'lma1#')
    finally:
        client.close()  # type: ignore[attr-defined]
