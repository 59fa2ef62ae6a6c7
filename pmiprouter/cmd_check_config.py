"""`pmiprouter check-config FILE...`: check startup-configs without applying them.

Each file goes through the same parser and validation as the daemon's loader. Every
error is printed with file, line, the line itself, the caret and the IOS message.
Exit status 1 if any file has an error, 0 when all are clean.
"""

from __future__ import annotations

import argparse

from pmiprouter.config.load import load_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the FILE arguments."""
    parser.add_argument('files', nargs='+', metavar='FILE', help='startup-config file(s) in CLI syntax')


def run(args: argparse.Namespace) -> int:
    """Check every file; print the errors; 1 on any error."""
    status = 0
    for name in args.files:
        result = load_file(name)
        if result.ok:
            print(f'{name}: OK')
            continue
        status = 1
        for error in result.errors:
            print(error.render())
        count = len(result.errors)
        print(f'{name}: {count} error{"s" if count != 1 else ""}, configuration not loaded')
    return status
