"""Global-configuration handlers: hostname, users and secrets, logging.

Pure module. Secrets are hashed on entry (type 0 -> type 9) and only hashes are stored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.tree import Invocation
from pmiprouter.config.model import (
    LoggingConfig,
    Secret,
    UserConfig,
    address_key,
    default_of,
    find,
    remove,
    upsert,
)
from pmiprouter.config.secrets import SecretError, check_hash, hash_password


def hostname(inv: Invocation) -> None:
    """`hostname NAME`; `no hostname` restores `Router`."""
    name = 'Router' if inv.negate else inv.args['value']
    inv.session.config = dataclasses.replace(inv.session.config, hostname=name)


def _secret(inv: Invocation) -> Secret:
    """The Secret described by `secret [0|5|8|9] TEXT`."""
    secret_type = inv.args.get('secret_type', 0)
    text = inv.args['secret']
    if secret_type == 0:
        if ' ' in text:
            raise CommandError('Secrets may not contain spaces')
        return hash_password(text)
    try:
        return check_hash(secret_type, text)
    except SecretError as err:
        raise CommandError(str(err)) from None


def username(inv: Invocation) -> None:
    """`username NAME [privilege N] secret [0|5|8|9] SECRET`; `no username NAME`."""
    config = inv.session.config
    name = inv.args['name']
    if inv.negate:
        if find(config.users, name) is None:
            raise CommandError(f'User {name} does not exist')
        inv.session.config = dataclasses.replace(config, users=remove(config.users, name))
        return
    user = UserConfig(name=name, secret=_secret(inv), privilege=inv.args.get('privilege', 1))
    inv.session.config = dataclasses.replace(config, users=upsert(config.users, user))


def enable_secret(inv: Invocation) -> None:
    """`enable secret [0|5|8|9] SECRET`; `no enable secret`."""
    secret = None if inv.negate else _secret(inv)
    inv.session.config = dataclasses.replace(inv.session.config, enable_secret=secret)


def _logging(inv: Invocation, **changes: Any) -> None:
    config = inv.session.config
    inv.session.config = dataclasses.replace(config, logging=dataclasses.replace(config.logging, **changes))


def logging_buffered(inv: Invocation) -> None:
    """`logging buffered SIZE`."""
    default = default_of(LoggingConfig, 'buffered_size_bytes')
    _logging(inv, buffered_size_bytes=default if inv.negate else inv.args['value'])


def logging_console(inv: Invocation) -> None:
    """`logging console [LEVEL]`; `no logging console` turns console logging off."""
    if inv.negate == 'no':
        level = None
    elif inv.negate == 'default':
        level = default_of(LoggingConfig, 'console_level')
    else:
        level = inv.args.get('level', 'debugging')
    _logging(inv, console_level=level)


def logging_host(inv: Invocation) -> None:
    """`logging host ADDRESS` (IPv4 or IPv6); `no logging host ADDRESS`."""
    address = inv.args['address']
    hosts = [h for h in inv.session.config.logging.hosts if h != address]
    if not inv.negate:
        hosts.append(address)
    _logging(inv, hosts=tuple(sorted(hosts, key=address_key)))
