"""`ip ssh pubkey-chain`: the IOS and Ansible forms, rendering, loading, and the key checker."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from twisted.application.service import MultiService
from twisted.conch.error import ValidPublicKey
from twisted.conch.ssh import keys
from twisted.cred.credentials import SSHPrivateKey
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.task import Clock

from pmiprouter.cli.session import Session
from pmiprouter.config.load import load_text
from pmiprouter.config.render import render
from pmiprouter.runtime.control import ControlAPI
from pmiprouter.runtime.ssh import ConfigKeyChecker

ED25519 = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
ED25519_MD5 = '65962DFCE8D5A911640C0FEA006E5BBD'  # `ssh-keygen -E md5 -l` of that key


def typed(*lines: str) -> tuple[Session, list[str]]:
    """A privileged session in config mode after `lines`; the outputs."""
    session = Session(privilege=15)
    outputs = [session.feed(line) for line in ('configure terminal', *lines)]
    return session, outputs[1:]


def test_ansible_ios_user_sequence() -> None:
    """What cisco.ios `ios_user` sends (key-hash with the key's comment, exit, exit) is kept as is."""
    session, out = typed('ip ssh pubkey-chain', 'username admin',
                         f'key-hash ssh-rsa {ED25519_MD5.lower()} admin@laptop', 'exit', 'exit', 'hostname r1')
    assert all(text == '' for text in out) and session.mode == 'config'
    assert 'ip ssh pubkey-chain\n username admin\n  key-hash ssh-rsa ' + ED25519_MD5 + ' admin@laptop\n' in render(session.config)


def test_key_string_becomes_its_key_hash() -> None:
    """A key pasted after `key-string`, split over lines or in OpenSSH form, is stored as its MD5."""
    session, out = typed('ip ssh pubkey-chain', 'username admin', 'key-string',
                         ED25519[:30], ED25519[30:], 'exit')
    assert out == ['', '', '', '', '', ''] and session.mode == 'config-ssh-pubkey-user'
    assert f'key-hash ssh-ed25519 {ED25519_MD5}' in render(session.config)
    again, _ = typed('ip ssh pubkey-chain', 'username admin', 'key-string', f'ssh-ed25519 {ED25519} me@x', 'exit')
    assert again.config == session.config


def test_bad_key_string_is_refused_with_nothing_stored() -> None:
    """Text that is not a key (or a key type we cannot check) gives an error and no key."""
    session, out = typed('ip ssh pubkey-chain', 'username admin', 'key-string', 'not-base64!', 'exit')
    assert out[-1].startswith('% SSH: Failed to decode the key value')
    dsa = base64.b64encode(b'\x00\x00\x00\x07ssh-dss' + b'\x00' * 8).decode()
    _, out = typed('ip ssh pubkey-chain', 'username admin', 'key-string', dsa, 'exit')
    assert 'unsupported key type' in out[-1]
    assert 'key-hash' not in render(session.config)


def test_no_forms() -> None:
    """`no key-hash`, `no username` and `no ip ssh pubkey-chain` remove what they name."""
    session, _ = typed('ip ssh pubkey-chain', 'username a', f'key-hash ssh-ed25519 {ED25519_MD5}',
                       'key-hash ssh-rsa 8FB4F858DD7E5AFB372780EC653DB371', f'no key-hash ssh-ed25519 {ED25519_MD5}')
    assert ED25519_MD5 not in render(session.config) and '8FB4F858' in render(session.config)
    assert session.feed('no key-hash ssh-ed25519 ' + ED25519_MD5).startswith('% No such key')
    session.feed('username b')
    session.feed('exit')
    assert session.feed('no username zz').startswith('% User zz has no public key')
    session.feed('no username a')
    assert 'username a' not in render(session.config) and ' username b' in render(session.config)
    session.feed('no ip ssh pubkey-chain')
    assert 'pubkey-chain' not in render(session.config)


def test_ios_running_config_text_loads() -> None:
    """IOS's own layout (two and three spaces, `quit`) and a key-string block load from a file."""
    text = (
        'username admin privilege 15 secret 0 pw\n'
        'ip ssh pubkey-chain\n'
        '  username admin\n'
        '   key-hash ssh-rsa 8FB4F858DD7E5AFB372780EC653DB371\n'
        '   key-string\n'
        f'    {ED25519[:40]}\n'
        f'    {ED25519[40:]}\n'
        '    exit\n'
        '  quit\n'
        'ip ssh listen-address 2001:db8::1\n'
        'hostname r9\n'
        'end\n'
    )
    result = load_text(text, 'ios.conf')
    assert result.config is not None, [e.render() for e in result.errors]
    (user,) = result.config.ssh.pubkey_users
    assert {k.hash for k in user.keys} == {'8FB4F858DD7E5AFB372780EC653DB371', ED25519_MD5}
    assert result.config.hostname == 'r9' and str(result.config.ssh.listen_addresses[0]) == '2001:db8::1'
    reloaded = load_text(render(result.config), 'rendered')
    assert reloaded.config == result.config


def test_listen_addresses() -> None:
    """Both families, kept sorted and unique; `no` removes one or all."""
    session, _ = typed('ip ssh listen-address ::1', 'ip ssh listen-address 192.0.2.1', 'ip ssh listen-address ::1')
    assert [str(a) for a in session.config.ssh.listen_addresses] == ['192.0.2.1', '::1']
    session.feed('no ip ssh listen-address 192.0.2.1')
    assert [str(a) for a in session.config.ssh.listen_addresses] == ['::1']
    session.feed('ip ssh listen-address 192.0.2.1')
    session.feed('no ip ssh listen-address')
    assert session.config.ssh.listen_addresses == ()


@pytest.fixture()
def checker(tmp_path: Path) -> tuple[ConfigKeyChecker, keys.Key]:
    """A checker over a config where admin has the returned key in the chain."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = keys.Key(ed25519.Ed25519PrivateKey.generate())
    blob = key.public().blob()
    digest = hashlib.md5(blob).hexdigest().upper()
    result = load_text(
        'username admin privilege 15 secret 0 pw\nusername oper secret 0 pw\n'
        f'ip ssh pubkey-chain\n username admin\n  key-hash ssh-ed25519 {digest}\n username ghost\n'
        f'  key-hash ssh-ed25519 {digest}\nend\n')
    assert result.config is not None
    return ConfigKeyChecker(ControlAPI(MultiService(), result.config, clock=Clock().seconds)), key


def _outcome(checker: ConfigKeyChecker, user: bytes, key: keys.Key, signed: bool) -> object:
    data = b'session data'
    credentials = SSHPrivateKey(user, b'ssh-ed25519', key.public().blob(), data, key.sign(data) if signed else None)
    results: list[object] = []
    checker.requestAvatarId(credentials).addBoth(results.append)
    (result,) = results
    return result.value if hasattr(result, 'value') else result


def test_checker_accepts_only_the_chain_keys_of_configured_users(checker: tuple[ConfigKeyChecker, keys.Key]) -> None:
    """The key of admin's chain: probe answered, signature accepted; anybody or anything else refused."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    check, key = checker
    assert isinstance(_outcome(check, b'admin', key, signed=False), ValidPublicKey)
    assert _outcome(check, b'admin', key, signed=True) == b'admin'
    stranger = keys.Key(ed25519.Ed25519PrivateKey.generate())
    assert isinstance(_outcome(check, b'admin', stranger, signed=False), UnauthorizedLogin)
    assert isinstance(_outcome(check, b'oper', key, signed=True), UnauthorizedLogin)  # not oper's key
    assert isinstance(_outcome(check, b'ghost', key, signed=True), UnauthorizedLogin)  # no username line
    forged = SSHPrivateKey(b'admin', b'ssh-ed25519', key.public().blob(), b'data', stranger.sign(b'data'))
    results: list[object] = []
    check.requestAvatarId(forged).addBoth(results.append)
    assert isinstance(results[0].value, UnauthorizedLogin)  # type: ignore[attr-defined]
    assert check.control.auth_failures == 1
