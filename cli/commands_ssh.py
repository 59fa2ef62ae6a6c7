"""The `ip ssh` command subtree and the key-chain sub-modes, as data.

Pure module. IOS's `ip ssh pubkey-chain` / `username NAME` / `key-hash TYPE HASH` or
`key-string` ... `exit`, as Ansible's cisco.ios `ios_user` sends it. The mode names are
IOS's `conf-ssh-pubkey...` spelled `config-...` (the prompt rule of `tree.Mode`).
"""

from __future__ import annotations

from pmiprouter.cli.grammar import config_common, root, setting
from pmiprouter.cli.handlers import exec_, ssh
from pmiprouter.cli.tree import Int, IPv4Address, IPv6Address, Line, Node, Word, kw, param
from pmiprouter.config.model import SSH_KEY_TYPES

SSH = (('ssh', None),)
USER_NAME = Word(r'[A-Za-z0-9][A-Za-z0-9._@-]*', label='WORD', max_len=64)
#: IOS's key hash: the MD5 of the key blob, 32 hex digits.
HASH = Word(r'[0-9A-Fa-f]{32}', label='HASH', max_len=32)
KEY_NAME = Word(r'\S+', label='WORD', max_len=64)

IP_SSH = kw(
    'ssh', 'Configure ssh options',
    setting('authentication-retries', 'Specify number of authentication retries', Int(0, 5),
            'Number of authentication retries', 'authentication_retries', path=SSH),
    kw('listen-address', 'Address the SSH server listens on (default: every address)',
       param('address', IPv4Address(), 'IPv4 address', handler=ssh.listen_address),
       param('address', IPv6Address(), 'IPv6 address', handler=ssh.listen_address),
       handler=ssh.listen_address, neg_only=True),
    setting('port', 'Port the SSH server listens on', Int(1, 65535), 'Port number', 'port', path=SSH),
    kw('pubkey-chain', 'Configure public keys of SSH users', handler=ssh.pubkey_chain),
    setting('time-out', 'Specify SSH time-out interval', Int(1, 120), 'SSH time-out interval (secs)',
            'timeout_s', path=SSH),
)


def _key_types() -> tuple[Node, ...]:
    return tuple(
        kw(kind, f'{kind} key',
           param('hash', HASH, 'The MD5 hash of the key, 32 hex digits',
                 param('key_name', KEY_NAME, 'A name for the key', handler=ssh.key_hash),
                 handler=ssh.key_hash),
           arg='type')
        for kind in SSH_KEY_TYPES
    )


#: IOS prints `quit` to close these blocks in some releases: a pasted configuration loads.
QUIT = kw('quit', 'Exit from the current mode (as exit)', handler=exec_.exit_, negatable=False)

PUBKEY = root(
    *config_common(),
    QUIT,
    kw('username', 'Config public key for a local user',
       param('name', USER_NAME, 'User name', handler=ssh.pubkey_user)),
)

PUBKEY_USER = root(
    *config_common(),
    QUIT,
    kw('key-hash', 'Enter the hash of a public key', *_key_types()),
    kw('key-string', 'Enter a public key (base64 lines, then exit)', handler=ssh.key_string, negatable=False),
)

#: Every line is key data except `exit`, which ends the key (no walk-up: IOS neither).
PUBKEY_DATA = root(
    kw('exit', 'Exit from the key data mode', handler=ssh.key_data_exit, negatable=False),
    param('data', Line(), 'Base64 lines of the public key', handler=ssh.key_data),
)
