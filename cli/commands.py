"""THE command tree, as data: one literal structure per mode.

Pure module. Exec and global-configuration modes are here; the PMIPv6 sub-modes are in
`commands_pmip.py`. Every node carries its `?` help and every command end names its
handler. Mode names are the prompt texts in parentheses: at most 32 characters of
`[a-z0-9.-]`, as netmiko, scrapli and Ansible's cisco.ios expect.
"""

from __future__ import annotations

import dataclasses

from pmiprouter.cli import commands_pmip as pm
from pmiprouter.cli import commands_ssh as cs
from pmiprouter.cli.grammar import NAME, config_common, root, setting
from pmiprouter.cli.handlers import exec_, operational, operational_mag, pmip, ssh, system
from pmiprouter.cli.handlers.edit import flag
from pmiprouter.cli.tree import (
    Handler,
    Int,
    IPv4Address,
    IPv6Address,
    Line,
    Mode,
    Nai,
    Node,
    Word,
    kw,
    param,
)
from pmiprouter.config.model import LOG_LEVELS

USER_NAME = Word(r'[A-Za-z0-9][A-Za-z0-9._@-]*', label='WORD', max_len=64)


def _secret_forms(handler: Handler) -> tuple[Node, ...]:
    """`[0|5|8|9] SECRET` after `secret` (IOS keeps the type as a bare number)."""
    hashed = Word(r'\S+', label='LINE', max_len=256)
    forms = (
        ('0', 'an UNENCRYPTED', Word(r'\S+', label='LINE')),
        ('5', 'a MD5 HASHED', hashed),
        ('8', 'a PBKDF2 HASHED', hashed),
        ('9', 'a SCRYPT HASHED', hashed),
    )
    typed = tuple(
        kw(number, f'Specifies {what} secret will follow',
           param('secret', ptype, f'The {what.split()[-1]} secret', handler=handler),
           arg='secret_type', value=int(number))
        for number, what, ptype in forms
    )
    return (*typed, param('secret', Line(), 'The UNENCRYPTED (cleartext) secret', handler=handler))


EXEC = root(
    kw('configure', 'Enter configuration mode',
       kw('terminal', 'Configure from the terminal', handler=exec_.configure_terminal),
       priv=15),
    kw('copy', 'Copy from one file to another',
       kw('running-config', 'Copy from current system configuration',
          kw('startup-config', 'Copy to startup configuration', handler=exec_.copy_running_startup)),
       kw('startup-config', 'Copy from startup configuration',
          kw('running-config', 'Update (merge with) current system configuration',
             handler=exec_.copy_startup_running)),
       priv=15),
    kw('disable', 'Turn off privileged commands', handler=exec_.disable),
    kw('enable', 'Turn on privileged commands', handler=exec_.enable),
    kw('exit', 'Exit from the EXEC', handler=exec_.exit_),
    kw('logout', 'Exit from the EXEC', handler=exec_.exit_),
    kw('show', 'Show running system information',
       kw('privilege', 'Show current privilege level', handler=exec_.show_privilege),
       kw('running-config', 'Current operating configuration',
          handler=exec_.show_running_config, priv=15),
       kw('startup-config', 'Contents of startup configuration',
          handler=exec_.show_startup_config, priv=15),
       kw('version', 'System hardware and software status', handler=exec_.show_version)),
    kw('terminal', 'Set terminal line parameters',
       kw('length', 'Set number of lines on a screen',
          param('value', Int(0, 512), 'Number of lines on screen (0 for no pausing)',
                handler=exec_.terminal_length)),
       kw('width', 'Set width of the display terminal',
          param('value', Int(0, 512), 'Number of characters on a screen line',
                handler=exec_.terminal_width))),
    kw('write', 'Write running configuration to memory or terminal',
       kw('memory', 'Write to NV memory', handler=exec_.write_memory),
       kw('terminal', 'Write to terminal', handler=exec_.show_running_config),
       handler=exec_.write_memory, priv=15),
)

CONFIG = root(
    *config_common(),
    kw('enable', 'Modify enable password parameters',
       kw('secret', 'Assign the privileged level secret', *_secret_forms(system.enable_secret),
          handler=system.enable_secret, neg_only=True)),
    kw('hostname', "Set system's network name",
       param('value', Word(r'[A-Za-z][A-Za-z0-9-]*', label='WORD', max_len=63),
             "This system's network name", handler=system.hostname),
       handler=system.hostname, neg_only=True),
    kw('ip', 'Global IP configuration subcommands', cs.IP_SSH),
    kw('ipv6', 'IPv6 configuration commands',
       kw('mobile', 'Mobile IPv6 and Proxy Mobile IPv6',
          kw('home-agent', 'Enable the Mobile IPv6 home agent service', handler=flag('home_agent', path=())),
          kw('pmipv6-domain', 'Configure a Proxy Mobile IPv6 domain',
             param('name', NAME, 'Domain name', handler=pmip.domain)),
          kw('pmipv6-lma', 'Configure the local mobility anchor role',
             param('name', NAME, 'LMA name',
                   kw('domain', 'Domain served by this LMA',
                      param('domain', NAME, 'Domain name', handler=pmip.lma_role)),
                   handler=pmip.lma_role, neg_only=True)),
          kw('pmipv6-mag', 'Configure the mobile access gateway role',
             param('name', NAME, 'MAG name',
                   kw('domain', 'Domain served by this MAG',
                      param('domain', NAME, 'Domain name', handler=pmip.mag_role)),
                   handler=pmip.mag_role, neg_only=True)))),
    kw('logging', 'Modify message logging facilities',
       setting('buffered', 'Set buffered logging parameters', Int(4096, 2147483647),
               'Logging buffer size (bytes)', 'buffered_size_bytes', path=(('logging', None),)),
       kw('console', 'Set console logging parameters',
          *(kw(level, f'Logging severity level {i}', handler=system.logging_console, arg='level')
            for i, level in enumerate(LOG_LEVELS)),
          handler=system.logging_console),
       kw('host', 'Set syslog server IP address and parameters',
          param('address', IPv4Address(), 'IP address of the syslog server', handler=system.logging_host),
          param('address', IPv6Address(), 'IPv6 address of the syslog server', handler=system.logging_host))),
    kw('username', 'Establish User Name Authentication',
       param('name', USER_NAME, 'User name',
             kw('privilege', 'Set user privilege level',
                param('privilege', Int(0, 15), 'User privilege level',
                      kw('secret', 'Specify the secret for the user', *_secret_forms(system.username)))),
             kw('secret', 'Specify the secret for the user', *_secret_forms(system.username)),
             handler=system.username, neg_only=True)),
)


def _pmipv6(*children: Node, **options: object) -> Node:
    """`ipv6 mobile pmipv6 ...` with `children` after `pmipv6`."""
    return kw('ipv6', 'IPv6 information',
              kw('mobile', 'Mobile IPv6 and Proxy Mobile IPv6',
                 kw('pmipv6', 'Proxy Mobile IPv6', *children, **options)))


def _debug_categories(handler: Handler) -> tuple[Node, ...]:
    return tuple(kw(c, f'PMIPv6 {c}', handler=handler, arg='category')
                 for c in operational.DEBUG_CATEGORIES)


_NAI = Nai()

#: Operational (daemon) commands of the exec mode, merged into EXEC for sessions attached
#: to the daemon (`online_root_of`). Offline sessions and docs/cli.md's reference keep
#: `MODES['exec']`; docs/management.md lists these (a test keeps it true).
OPERATIONAL = root(
    kw('clear', 'Reset functions',
       _pmipv6(
           kw('lma', 'Local mobility anchor',
              kw('binding', 'Remove bindings (de-register and free their resources)',
                 kw('all', 'All bindings', handler=operational.clear_lma_binding),
                 kw('nai', 'The binding of one mobile node',
                    param('nai', _NAI, 'Mobile node identifier', handler=operational.clear_lma_binding)),
                 kw('mag', 'Every binding of one MAG (one global revocation)',
                    param('mag', IPv6Address(), 'Proxy-CoA of the MAG (IPv6 transport)',
                          handler=operational.clear_lma_mag_bindings),
                    param('mag', IPv4Address(), 'Proxy-CoA of the MAG (IPv4 transport)',
                          handler=operational.clear_lma_mag_bindings))),
              kw('stats', 'Zero the statistics', handler=operational.clear_lma_stats)),
           kw('mag', 'Mobile access gateway',
              kw('binding', 'Remove bindings (de-register them)',
                 kw('all', 'All bindings', handler=operational_mag.clear_mag_binding),
                 kw('nai', 'The binding of one mobile node',
                    param('nai', _NAI, 'Mobile node identifier', handler=operational_mag.clear_mag_binding))),
              kw('stats', 'Zero the statistics', handler=operational_mag.clear_mag_stats))),
       priv=15),
    kw('debug', 'Debugging functions',
       _pmipv6(*_debug_categories(operational.debug)), priv=15),
    kw('show', 'Show running system information',
       kw('clock', 'Display the system clock', handler=operational.show_clock),
       kw('debugging', 'State of each debugging option', handler=operational.show_debugging),
       kw('history', 'Display the session command history', handler=operational.show_history),
       kw('ip', 'IP information',
          kw('ssh', 'Information on SSH', handler=operational.show_ip_ssh)),
       _pmipv6(
           kw('lma', 'Local mobility anchor',
              kw('binding', 'Binding cache',
                 kw('detail', 'Every field of every binding', handler=operational.show_lma_binding,
                    arg='detail', value=True),
                 kw('nai', 'The binding of one mobile node',
                    param('nai', _NAI, 'Mobile node identifier', handler=operational.show_lma_binding)),
                 handler=operational.show_lma_binding),
              kw('globals', 'Configuration variables in force', handler=operational.show_lma_globals),
              kw('stats', 'Message and status code counters', handler=operational.show_lma_stats),
              kw('tunnel', 'Tunnels to MAGs', handler=operational.show_lma_tunnel)),
           kw('mag', 'Mobile access gateway',
              kw('binding', 'Binding update list',
                 kw('nai', 'The binding of one mobile node',
                    param('nai', _NAI, 'Mobile node identifier', handler=operational_mag.show_mag_binding)),
                 handler=operational_mag.show_mag_binding),
              kw('globals', 'Configuration variables in force', handler=operational_mag.show_mag_globals),
              kw('interfaces', 'Access interfaces', handler=operational_mag.show_mag_interfaces),
              kw('stats', 'Message counters', handler=operational_mag.show_mag_stats),
              kw('tunnel', 'Tunnels to the LMA', handler=operational_mag.show_mag_tunnel))),
       kw('logging', 'Show the contents of logging buffers', handler=operational.show_logging),
       kw('users', 'Display information about terminal lines', handler=operational.show_users)),
    kw('terminal', 'Set terminal line parameters',
       kw('monitor', 'Copy debug output to the current terminal line',
          handler=operational.terminal_monitor),
       kw('no', 'Negate a command or set its defaults',
          kw('monitor', 'Copy debug output to the current terminal line',
             handler=operational.terminal_no_monitor))),
    kw('undebug', 'Disable debugging functions (see also \'debug\')',
       kw('all', 'Disable all debugging', handler=operational.undebug_all),
       _pmipv6(*_debug_categories(operational.undebug)), priv=15),
)


def merge(a: Node, b: Node) -> Node:
    """`a` with the children of `b` added; same-keyword children merge, sorted by keyword."""
    unnamed: list[Node] = []  # children without a keyword: each its own (the same object once)

    def key(child: Node) -> object:
        if child.keyword:
            return child.keyword
        for index, seen in enumerate(unnamed):
            if seen is child:
                return index
        unnamed.append(child)
        return len(unnamed) - 1

    children: dict[object, Node] = {key(child): child for child in a.children}
    for child in b.children:
        name = key(child)
        children[name] = merge(children[name], child) if name in children else child
    ordered = sorted(children.values(), key=lambda n: (n.keyword is None, n.keyword or ''))
    return dataclasses.replace(a, children=tuple(ordered))


EXEC_ONLINE = merge(EXEC, OPERATIONAL)

MODES: dict[str, Mode] = {
    'exec': Mode('exec', EXEC),
    'config': Mode('config', CONFIG, 'exec'),
    pmip.DOMAIN_MODE: Mode(pmip.DOMAIN_MODE, pm.DOMAIN, 'config'),
    pmip.DOMAIN_LMA_MODE: Mode(pmip.DOMAIN_LMA_MODE, pm.PEER, pmip.DOMAIN_MODE),
    pmip.DOMAIN_MAG_MODE: Mode(pmip.DOMAIN_MAG_MODE, pm.PEER, pmip.DOMAIN_MODE),
    pmip.MN_MODE: Mode(pmip.MN_MODE, pm.MN, pmip.DOMAIN_MODE),
    pmip.LMA_MODE: Mode(pmip.LMA_MODE, pm.LMA, 'config'),
    pmip.MAG_MODE: Mode(pmip.MAG_MODE, pm.MAG, 'config'),
    ssh.PUBKEY_MODE: Mode(ssh.PUBKEY_MODE, cs.PUBKEY, 'config'),
    ssh.PUBKEY_USER_MODE: Mode(ssh.PUBKEY_USER_MODE, cs.PUBKEY_USER, ssh.PUBKEY_MODE),
    ssh.PUBKEY_DATA_MODE: Mode(ssh.PUBKEY_DATA_MODE, cs.PUBKEY_DATA, ssh.PUBKEY_USER_MODE),
}


def root_of(mode: str) -> Node:
    """The root node of `mode` (the parser's RootLookup) for offline sessions."""
    return MODES[mode].root


def online_root_of(mode: str) -> Node:
    """The RootLookup of sessions attached to the daemon: exec includes OPERATIONAL."""
    return EXEC_ONLINE if mode == 'exec' else MODES[mode].root
