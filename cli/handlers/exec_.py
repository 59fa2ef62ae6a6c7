"""Exec-mode and mode-navigation handlers: show, write, copy, terminal, enable, exit.

Pure module: output is returned as text; persistence goes through the session's store.
"""

from __future__ import annotations

from pmiprouter import __version__
from pmiprouter.cli.errors import CommandError
from pmiprouter.cli.tree import Invocation
from pmiprouter.config.render import render, running_config
from pmiprouter.config.secrets import verify
from pmiprouter.config.validate import validate

CONFIG_BANNER = 'Enter configuration commands, one per line.  End with CNTL/Z.'


def enable(inv: Invocation) -> str | None:
    """`enable`: privilege 15, asking for the enable secret when one is configured."""
    session = inv.session
    secret = session.config.enable_secret
    if session.privilege >= 15:
        return None
    if secret is None:
        session.privilege = 15
        return None

    def check(answer: str) -> str | None:
        if verify(secret, answer):
            session.privilege = 15
            return None
        return '% Bad secrets'

    session.ask('Password: ', check, echo=False)
    return None


def disable(inv: Invocation) -> None:
    """`disable`: back to user EXEC."""
    inv.session.privilege = 1


def exit_(inv: Invocation) -> None:
    """`exit`: leave the current mode (closes the session from exec)."""
    inv.session.exit_mode()


def end(inv: Invocation) -> None:
    """`end` (and Ctrl-Z): back to privileged exec."""
    inv.session.end()


def configure_terminal(inv: Invocation) -> str | None:
    """`configure terminal`: enter global configuration mode."""
    if inv.session.mode != 'exec':
        return None
    inv.session.enter_mode('config')
    return CONFIG_BANNER


def show_running_config(inv: Invocation) -> str:
    """`show running-config` / `write terminal`."""
    return running_config(inv.session.config)


def show_startup_config(inv: Invocation) -> str:
    """`show startup-config`: the saved text, as stored."""
    try:
        text = inv.session.store.read()
    except OSError as err:
        raise CommandError(f'Error reading startup-config: {err.strerror or err}') from None
    if text is None:
        return 'startup-config is not present'
    return f'Using {len(text.encode())} bytes\n{text}'


def show_version(inv: Invocation) -> str:
    """`show version`, in the shape ntc-templates' cisco_ios_show_version parses."""
    minutes = int(inv.session.uptime() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    uptime = f'{days} days, {hours} hours, {mins} minutes' if days else f'{hours} hours, {mins} minutes'
    host = inv.session.config.hostname
    return (
        f'pmiprouter Software (PMIPROUTER), Version {__version__}, RELEASE SOFTWARE (fc1)\n'
        'Proxy Mobile IPv6 router appliance (LMA and MAG roles, RFC 5213)\n'
        '\n'
        f'{host} uptime is {uptime}\n'
        'System image file is "python:pmiprouter"\n'
        '\n'
        'Configuration register is 0x2102'
    )


def show_privilege(inv: Invocation) -> str:
    """`show privilege` (Ansible's cisco.ios escalation check parses this line)."""
    return f'Current privilege level is {inv.session.privilege}'


def terminal_length(inv: Invocation) -> None:
    """`terminal length N` (0 disables paging; paging itself is not implemented yet)."""
    inv.session.terminal_length = 24 if inv.negate else inv.args['value']


def terminal_width(inv: Invocation) -> None:
    """`terminal width N` (accepted silently, as automation tools expect)."""
    inv.session.terminal_width = 80 if inv.negate else inv.args['value']


def _save(inv: Invocation) -> str:
    problems = validate(inv.session.config)
    if problems:
        lines = ['% Configuration has errors, not saved:']
        lines += [f'%   {problem.message}' for problem in problems]
        raise CommandError('\n'.join(lines)[2:])
    try:
        inv.session.store.write(render(inv.session.config))
    except OSError as err:
        raise CommandError(f'Error writing startup-config: {err.strerror or err}') from None
    return 'Building configuration...\n[OK]'


def write_memory(inv: Invocation) -> str:
    """`write memory` (and plain `write`): validate, then save the startup-config."""
    return _save(inv)


def copy_startup_running(inv: Invocation) -> None:
    """`copy startup-config running-config`: merge the saved configuration into the running
    one, as IOS does (its commands are replayed over it); all or nothing."""
    from pmiprouter.config.load import replay  # the loader imports the session, which imports this module

    def answer(text: str) -> str:
        if text.strip() not in ('', 'running-config'):
            return '% Invalid destination filename'
        saved = inv.session.store.read()
        if saved is None:
            return '%Error opening startup-config (No such file or directory)'
        merged, errors, _ = replay(saved, 'startup-config', base=inv.session.config)
        problems = [error.render() for error in errors] or [f'% {p.message}' for p in validate(merged)]
        if problems:
            return '\n'.join(['% Not copied: the startup-config does not apply', *problems])
        if inv.session.control is not None:
            try:
                inv.session.control.commit(merged)
            except CommandError as err:
                return err.render()
        inv.session.config = merged
        return f'{len(saved.encode())} bytes copied'

    inv.session.ask('Destination filename [running-config]? ', answer)


def copy_running_startup(inv: Invocation) -> None:
    """`copy running-config startup-config`: confirm the destination, then save."""

    def answer(text: str) -> str:
        if text.strip() not in ('', 'startup-config'):
            return '% Invalid destination filename'
        try:
            return _save(inv)
        except CommandError as err:
            return err.render()

    inv.session.ask('Destination filename [startup-config]? ', answer)
