"""`pmiprouter cli`: the daemon's shell (control socket), or `--offline [FILE]` on a file.

Without `--offline` the shell is the running daemon's, reached over its root-only unix
socket (`--socket`, default /run/pmiprouter/cli.sock): the same shell SSH users get.

Offline mode needs no daemon: the file is loaded (all-or-nothing), edited in config
mode, shown with `show running-config` and saved back with `write memory`. Without
FILE the configuration starts empty and `write memory` keeps it in memory only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from pmiprouter.cli.session import ConfigStore, MemoryStore, Session
from pmiprouter.config.load import load_text
from pmiprouter.config.model import RouterConfig
from pmiprouter.config.store import FileStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `--offline` and the optional FILE."""
    parser.add_argument('--offline', action='store_true', help='edit a configuration file; no daemon needed')
    parser.add_argument('file', nargs='?', metavar='FILE', help='startup-config to load and to save into')
    parser.add_argument('--socket', metavar='PATH', default='/run/pmiprouter/cli.sock',
                        help="the daemon's control socket (default: /run/pmiprouter/cli.sock)")


def run(args: argparse.Namespace) -> int:
    """Load FILE if it exists, then run the shell until `exit`."""
    if not args.offline:
        if args.file:
            print('pmiprouter cli: FILE needs --offline (the daemon edits its own startup-config)', file=sys.stderr)
            return 2
        from pathlib import Path

        from pmiprouter.runtime.mgmt_client import run_client

        return run_client(Path(args.socket))
    config = RouterConfig()
    store: ConfigStore = MemoryStore()
    if args.file:
        file_store = FileStore(args.file)
        store = file_store
        try:
            text = file_store.read()
        except (OSError, UnicodeDecodeError) as err:
            print(f'pmiprouter cli: cannot read {args.file}: {err}', file=sys.stderr)
            return 1
        if text is not None:
            result = load_text(text, args.file)
            if result.config is None:
                for error in result.errors:
                    print(error.render(), file=sys.stderr)
                print(f'{args.file}: not loaded; fix it first (see pmiprouter check-config)', file=sys.stderr)
                return 1
            config = result.config
    started = time.monotonic()
    # Whoever may write FILE is its administrator: privileged EXEC, as on the control socket.
    session = Session(config, store=store, uptime=lambda: time.monotonic() - started, privilege=15)
    if not sys.stdin.isatty():
        return run_lines(session)
    # Imported here: prompt_toolkit is only needed by the interactive command.
    from pmiprouter.cli.frontends.ptk import run_shell

    return run_shell(session)


def run_lines(session: Session) -> int:
    """Commands from a pipe or a file (scripts, autopkgtest): plain text, as a transcript.

    Each command is printed after its prompt, then its output; no paging, no escape
    sequences. A reader that goes away early (``| grep -q``) ends the run quietly.
    """
    session.terminal_length = 0
    try:
        for line in sys.stdin:
            if session.closed:
                break
            command = line.rstrip('\r\n')
            sys.stdout.write(session.prompt + (command if session.echo else '') + '\n')
            sys.stdout.write(session.feed(command))
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
