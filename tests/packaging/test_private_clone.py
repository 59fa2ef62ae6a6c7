"""The README's contract on a private clone: the tests that depend on where the checkout lives
pass in a clone only root can read (a checkout under /root, mode 0700).

The clone is of this checkout's HEAD (in CI, the submitted commit), so the tests run with the
clone's own code, not this checkout's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unprivileged import SETPRIV, as_nobody, base_python

ROOT = Path(__file__).resolve().parents[2]
# The tests that run code as another user, and so care whether it can read the checkout.
LOCATION_TESTS = ['tests/lab/test_lab.py::test_lab_refuses_without_root']

pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None or shutil.which('git') is None,
                       reason='needs root (to drop privileges), setpriv and git'),
]


def git(*args: str, cwd: Path) -> str:
    # safe.directory: CI may check out as another user than the one running the tests.
    out = subprocess.run(['git', '-c', 'safe.directory=*', *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def private_clone(parent: Path) -> Path:
    """HEAD of this checkout, cloned under `parent` made 0700 (fetching HEAD itself: in CI it may be
    detached, on no branch a plain clone would check out)."""
    parent.chmod(0o700)
    clone = parent / 'pmiprouter'
    git('init', '-q', str(clone), cwd=parent)
    git('fetch', '-q', '--depth=1', f'file://{ROOT}', 'HEAD', cwd=clone)
    git('checkout', '-q', '--detach', 'FETCH_HEAD', cwd=clone)
    return clone


# What `pip install -e` of the clone would add to its venv: `pmiprouter.cli` is the clone's cli/
# (setup.py's package_dir), found after the clone's own pmiprouter/ (first on sys.path).
CLI_FINDER = """\
import sys
from importlib.machinery import PathFinder


class CloneCli:
    @staticmethod
    def find_spec(name, path=None, target=None):
        return PathFinder.find_spec(name, [{clone!r}]) if name == 'pmiprouter.cli' else None


sys.meta_path.append(CloneCli)
"""


def private_venv(clone: Path) -> Path:
    """The clone's own venv, inside it as `make test` makes one, so that its interpreter and its
    packages are out of nobody's reach too. Nothing is installed: a .pth lends it this
    interpreter's packages (not this checkout's editable install: the .pth files inside those
    folders are not read) and maps `pmiprouter.cli` to the clone's cli/."""
    venv = clone / '.venv'
    subprocess.run([base_python(), '-m', 'venv', '--without-pip', str(venv)], check=True, timeout=60)
    (site,) = (venv / 'lib').glob('python*/site-packages')
    lent = [entry for entry in sys.path if Path(entry).name in ('site-packages', 'dist-packages')]
    (site / 'clone_cli.py').write_text(CLI_FINDER.format(clone=str(clone)))
    (site / 'clone.pth').write_text('\n'.join([*lent, 'import clone_cli']) + '\n')
    return venv / 'bin' / 'python'


def test_location_tests_pass_in_a_clone_only_root_can_read(tmp_path: Path) -> None:
    clone = private_clone(tmp_path)
    assert git('rev-parse', 'HEAD', cwd=clone) == git('rev-parse', 'HEAD', cwd=ROOT)
    python = private_venv(clone)
    environment = {name: value for name, value in os.environ.items() if name != 'PYTHONPATH'}

    # The setting is the one that broke `make test`: nobody cannot import the package from the clone.
    direct = subprocess.run(as_nobody(str(python), '-c', 'import pmiprouter'),
                            cwd=clone, capture_output=True, text=True, timeout=60, env=environment)
    assert direct.returncode != 0 and 'pmiprouter' in direct.stderr, direct.stderr

    # The clone's tests, on the clone's code (its folder first on sys.path), and pytest says so.
    where = subprocess.run([str(python), '-c', 'import pmiprouter, pmiprouter.cli; print(pmiprouter.__file__, pmiprouter.cli.__file__)'],
                           cwd=clone, capture_output=True, text=True, timeout=60, env=environment)
    assert where.stdout.split() == [str(clone / 'pmiprouter' / '__init__.py'), str(clone / 'cli' / '__init__.py')], where.stderr
    run = subprocess.run([str(python), '-m', 'pytest', '-p', 'no:cacheprovider', '-rA', *LOCATION_TESTS],
                         cwd=clone, capture_output=True, text=True, timeout=120, env=environment)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f'rootdir: {clone}' in run.stdout
    assert all(f'PASSED {test}' in run.stdout for test in LOCATION_TESTS), run.stdout[-3000:]
