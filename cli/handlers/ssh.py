"""`ip ssh` handlers: listen addresses and the public keys of `ip ssh pubkey-chain`.

Pure module. Keys are kept the IOS way, as `key-hash TYPE MD5` of the key blob: that is
what `show running-config` prints and what Ansible's cisco.ios `ios_user` sends. A key
typed or pasted with `key-string` (the base64 blob on one or more lines, `exit` to end)
is turned into its `key-hash` when the data mode is left.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import struct

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.handlers.edit import Path, current, get, update
from pmiprouter.cli.tree import Invocation
from pmiprouter.config.model import SSH_KEY_TYPES, KeyHash, PubkeyUser, address_key, find, remove, upsert

PUBKEY_MODE = 'config-ssh-pubkey'
PUBKEY_USER_MODE = 'config-ssh-pubkey-user'
PUBKEY_DATA_MODE = 'config-ssh-pubkey-data'
SSH_PATH: Path = (('ssh', None),)
_DATA = 'ssh_key_data'  # session.extras slot holding the key-string lines typed so far


def _ssh(inv: Invocation, **changes: object) -> None:
    config = inv.session.config
    inv.session.config = dataclasses.replace(config, ssh=dataclasses.replace(config.ssh, **changes))


def listen_address(inv: Invocation) -> None:
    """`ip ssh listen-address ADDRESS` adds one; `no ... [ADDRESS]` removes one or all."""
    address = inv.args.get('address')
    kept = [a for a in inv.session.config.ssh.listen_addresses if address is not None and a != address]
    if not inv.negate:
        kept.append(address)
    _ssh(inv, listen_addresses=tuple(sorted(set(kept), key=address_key)))


def pubkey_chain(inv: Invocation) -> None:
    """`ip ssh pubkey-chain` enters the key chain; `no ip ssh pubkey-chain` empties it."""
    if inv.negate:
        _ssh(inv, pubkey_users=())
        return
    inv.session.enter_mode(PUBKEY_MODE, SSH_PATH)


def pubkey_user(inv: Invocation) -> None:
    """`username NAME` in the key chain (created if new); `no username NAME` drops its keys."""
    name = inv.args['name']
    users = inv.session.config.ssh.pubkey_users
    if inv.negate:
        if find(users, name) is None:
            raise CommandError(f'User {name} has no public key')
        _ssh(inv, pubkey_users=remove(users, name))
        return
    if find(users, name) is None:
        _ssh(inv, pubkey_users=upsert(users, PubkeyUser(name)))
    inv.session.enter_mode(PUBKEY_USER_MODE, SSH_PATH + (('pubkey_users', name),))


def _add_key(inv: Invocation, key: KeyHash) -> None:
    where, user = current(inv)
    update(inv, where, user, keys=upsert(user.keys, key))


def key_hash(inv: Invocation) -> None:
    """`key-hash TYPE HASH [NAME]`; `no key-hash TYPE HASH` removes that key."""
    key = KeyHash(inv.args['type'], inv.args['hash'].upper(), inv.args.get('key_name'))
    if inv.negate:
        where, user = current(inv)
        if find(user.keys, key.key) is None:
            raise CommandError('No such key')
        update(inv, where, user, keys=remove(user.keys, key.key))
        return
    _add_key(inv, key)


def key_string(inv: Invocation) -> None:
    """`key-string`: the following lines are the key, up to `exit`."""
    inv.session.extras[_DATA] = []
    inv.session.enter_mode(PUBKEY_DATA_MODE, inv.session.frame.path)


def key_data(inv: Invocation) -> None:
    """One line of a key typed after `key-string`."""
    inv.session.extras.setdefault(_DATA, []).append(inv.args['data'])


def key_data_exit(inv: Invocation) -> None:
    """`exit` after `key-string`: the lines typed become the key's `key-hash`."""
    text = ''.join(inv.session.extras.pop(_DATA, []))
    inv.session.exit_mode()
    if not text.strip():
        return
    key = key_hash_of(text)
    if get(inv.session.config, inv.session.frame.path) is None:
        raise CommandError('The user of this key no longer exists')
    _add_key(inv, key)


def key_hash_of(text: str) -> KeyHash:
    """The `key-hash` of a public key given as its base64 blob (IOS `key-string` data),
    optionally in OpenSSH form (`ssh-ed25519 AAAA... comment`).

    Raises:
        CommandError: the text is not a public key of a supported type.
    """
    words = text.split()
    blob_text = words[1] if len(words) > 1 and words[0] in SSH_KEY_TYPES else words[0]
    try:
        blob = base64.b64decode(blob_text, validate=True)
        (length,) = struct.unpack('>I', blob[:4])
        kind = blob[4 : 4 + length].decode('ascii')
    except (binascii.Error, struct.error, UnicodeDecodeError) as err:
        raise CommandError(f'SSH: Failed to decode the key value ({type(err).__name__})') from None
    if kind not in SSH_KEY_TYPES or length + 4 >= len(blob):
        raise CommandError(f'SSH: unsupported key type {kind[:32]!r} (supported: {", ".join(SSH_KEY_TYPES)})')
    return KeyHash(kind, fingerprint(blob))


def fingerprint(blob: bytes) -> str:
    """IOS's key hash: the MD5 of the key blob in upper-case hex (a name, not a security check:
    the client still proves it holds the private key)."""
    return hashlib.md5(blob, usedforsecurity=False).hexdigest().upper()
