"""Automation: netmiko's `cisco_ios` driver against the running daemon, no prompt timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ADMIN_PW, OPER_PW, Daemon

netmiko = pytest.importorskip('netmiko')


def device(daemon: Daemon, user: str = 'admin', password: str = ADMIN_PW) -> dict[str, object]:
    """netmiko connection parameters."""
    return {
        'device_type': 'cisco_ios', 'host': '::1', 'port': daemon.port, 'username': user, 'password': password,
        'secret': '', 'fast_cli': False, 'timeout': 20, 'conn_timeout': 20, 'auth_timeout': 20,
        'banner_timeout': 20, 'use_keys': False, 'allow_agent': False,
    }


def test_show_config_and_save(daemon: Daemon) -> None:
    """find_prompt, send_command, send_config_set of PMIPv6 lines, save_config, all succeed."""
    with netmiko.ConnectHandler(**device(daemon)) as conn:
        assert conn.find_prompt() == 'lma1#'
        version = conn.send_command('show version')
        assert 'lma1 uptime is' in version
        globals_ = conn.send_command('show ipv6 mobile pmipv6 lma globals')
        assert 'LMA Identifier: LMA1' in globals_
        output = conn.send_config_set([
            'ipv6 mobile pmipv6-domain D',
            ' nai mn9@example.com',
            '  service ipv6',
            'ipv6 mobile pmipv6-lma LMA1 domain D',
            ' bce lifetime 1800',
        ])
        assert '%' not in output, output
        assert conn.find_prompt() == 'lma1#'
        saved = conn.save_config()
        assert '[OK]' in saved
        running = conn.send_command('show running-config | section pmipv6')
        assert 'nai mn9@example.com' in running and 'bce lifetime 1800' in running
        assert 'Registration lifetime: 1800 sec' in conn.send_command('show ipv6 mobile pmipv6 lma globals')
    assert 'nai mn9@example.com' in daemon.config.read_text()


def test_enable_from_user_exec(daemon: Daemon) -> None:
    """A privilege-1 user: netmiko's enable() reaches `#` (no enable secret configured)."""
    with netmiko.ConnectHandler(**device(daemon, 'oper', OPER_PW)) as conn:
        assert conn.find_prompt() == 'lma1>'
        conn.enable()
        assert conn.find_prompt() == 'lma1#'
        assert 'level is 15' in conn.send_command('show privilege')


def test_pubkey_chain_as_ansible_ios_user_sends_it(daemon: Daemon, tmp_path: Path) -> None:
    """The lines of cisco.ios `ios_user` with `sshkey:` go through send_config_set; the key logs in."""
    import base64
    import hashlib

    paramiko = pytest.importorskip('paramiko')
    key = paramiko.ECDSAKey.generate()
    digest = hashlib.md5(base64.b64decode(key.get_base64())).hexdigest().upper()
    with netmiko.ConnectHandler(**device(daemon)) as conn:
        output = conn.send_config_set([
            'ip ssh pubkey-chain', 'username oper', f'key-hash {key.get_name()} {digest} oper@ansible', 'exit', 'exit',
        ])
        assert '%' not in output, output
        assert f'  key-hash ecdsa-sha2-nistp256 {digest} oper@ansible' in conn.send_command(
            'show running-config | section pubkey-chain')
    key.write_private_key_file(str(tmp_path / 'id_ecdsa'))
    settings = {**device(daemon, 'oper', ''), 'use_keys': True, 'key_file': str(tmp_path / 'id_ecdsa'), 'password': None}
    with netmiko.ConnectHandler(**settings) as conn:
        assert conn.find_prompt() == 'lma1>'
