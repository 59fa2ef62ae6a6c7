"""Run this checkout's code as an unprivileged user, wherever the checkout lives.

A checkout may sit where only root can read it (a clone under /root, mode 0700): `nobody`
can then neither import the package from it nor run the venv's interpreter inside it. So
the package is copied, laid out as installed (`cli/` as `pmiprouter/cli`, setup.py's
package_dir), into a fresh directory everyone can read, and run from there by the base
interpreter (the venv's python is a link to it; the code needs only the standard library
up to the point these tests check).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534
SETPRIV = shutil.which('setpriv')


def base_python() -> str:
    """The interpreter behind this (venv) python: outside the checkout, so `nobody` may run it."""
    return os.path.realpath(sys.executable)


def _open_to_all(tree: Path) -> None:
    """Directories 0755, files 0644: whatever the umask of the copy or the modes of the source."""
    tree.chmod(0o755)
    for directory, subdirectories, files in os.walk(tree):
        for name in subdirectories:
            Path(directory, name).chmod(0o755)
        for name in files:
            Path(directory, name).chmod(0o644)


@contextmanager
def readable_package() -> Iterator[Path]:
    """A directory everyone can read holding a copy of this checkout's package; removed afterwards."""
    no_bytecode = shutil.ignore_patterns('__pycache__', '*.pyc')
    with tempfile.TemporaryDirectory(prefix='pmiprouter-unprivileged-') as work:
        site = Path(work)
        shutil.copytree(ROOT / 'pmiprouter', site / 'pmiprouter', ignore=no_bytecode)
        shutil.copytree(ROOT / 'cli', site / 'pmiprouter' / 'cli', ignore=no_bytecode)
        _open_to_all(site)
        yield site


def as_nobody(*argv: str) -> list[str]:
    """`argv` run as user and group nobody, with no supplementary groups."""
    assert SETPRIV is not None, 'setpriv (util-linux) is needed to drop privileges'
    return [SETPRIV, f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups', *argv]


def run_as_nobody(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` as user and group nobody, importing the package from `site` only.

    -s and the bare environment keep out user site-packages and this process's PYTHONPATH
    (which may point into the private checkout).
    """
    command = as_nobody(base_python(), '-s', *args)
    environment = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'PYTHONPATH': str(site),
                   'PYTHONDONTWRITEBYTECODE': '1', 'HOME': '/nonexistent'}
    return subprocess.run(command, capture_output=True, text=True, cwd=site, env=environment, timeout=60)
