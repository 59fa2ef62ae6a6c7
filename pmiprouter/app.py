"""Console entry point: `pmiprouter [--version] COMMAND ...`.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; this file only wires them up, so start-up imports nothing heavy
(Twisted, pyroute2) unless the chosen command needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pmiprouter import __version__

# name -> (module implementing it, one-line help). Commands appear here when they exist.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    'check-config': ('pmiprouter.cmd_check_config', 'check startup-config files without applying them'),
    'cli': ('pmiprouter.cmd_cli', 'interactive IOS-style shell (--offline: over a config file)'),
    'run': ('pmiprouter.cmd_run', 'run the router daemon from a startup-config'),
    'lab': ('pmiprouter.cmd_lab', 'the network-namespace lab and the handover demo (root)'),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pmiprouter',
        description='Proxy Mobile IPv6 router appliance (LMA and MAG roles).',
    )
    parser.add_argument('--version', action='version', version=f'pmiprouter {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, '_run', None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    return int(run(args))


if __name__ == '__main__':
    raise SystemExit(main())
