"""THE command tree, as data: one literal structure per mode.

Pure module. Exec and global-configuration modes are here; the PMIPv6 sub-modes are in
`commands_pmip.py`. Every node carries its `?` help and every command end names its
handler. Mode names are the prompt texts in parentheses: at most 32 characters of
`[a-z0-9.-]`, as netmiko, scrapli and Ansible's cisco.ios expect.
"""

from __future__ import annotations

from pmiprouter.cli import commands_pmip as pm
from pmiprouter.cli.grammar import NAME, config_common, root, setting
from pmiprouter.cli.handlers import exec_, pmip, system
from pmiprouter.cli.handlers.edit import flag
from pmiprouter.cli.tree import (
    Handler,
    Int,
    IPv4Address,
    IPv6Address,
    Line,
    Mode,
    Node,
    Word,
    kw,
    param,
)
from pmiprouter.config.model import LOG_LEVELS

SSH = (('ssh', None),)
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
    kw('ip', 'Global IP configuration subcommands',
       kw('ssh', 'Configure ssh options',
          setting('authentication-retries', 'Specify number of authentication retries', Int(0, 5),
                  'Number of authentication retries', 'authentication_retries', path=SSH),
          setting('port', 'Port the SSH server listens on', Int(1, 65535), 'Port number', 'port', path=SSH),
          setting('time-out', 'Specify SSH time-out interval', Int(1, 120), 'SSH time-out interval (secs)',
                  'timeout_s', path=SSH))),
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

MODES: dict[str, Mode] = {
    'exec': Mode('exec', EXEC),
    'config': Mode('config', CONFIG, 'exec'),
    pmip.DOMAIN_MODE: Mode(pmip.DOMAIN_MODE, pm.DOMAIN, 'config'),
    pmip.DOMAIN_LMA_MODE: Mode(pmip.DOMAIN_LMA_MODE, pm.PEER, pmip.DOMAIN_MODE),
    pmip.DOMAIN_MAG_MODE: Mode(pmip.DOMAIN_MAG_MODE, pm.PEER, pmip.DOMAIN_MODE),
    pmip.MN_MODE: Mode(pmip.MN_MODE, pm.MN, pmip.DOMAIN_MODE),
    pmip.LMA_MODE: Mode(pmip.LMA_MODE, pm.LMA, 'config'),
    pmip.MAG_MODE: Mode(pmip.MAG_MODE, pm.MAG, 'config'),
}


def root_of(mode: str) -> Node:
    """The root node of `mode` (the parser's RootLookup)."""
    return MODES[mode].root
