"""The console entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pmiprouter import __version__
from pmiprouter.app import main


def test_version_flag_prints_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`pmiprouter --version` prints the package version and exits 0."""
    with pytest.raises(SystemExit) as exit_info:
        main(['--version'])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f'pmiprouter {__version__}'


def test_no_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a subcommand the usage goes to stderr and the exit status is 2."""
    assert main([]) == 2
    assert 'usage: pmiprouter' in capsys.readouterr().err


def test_module_entry_point_runs() -> None:
    """`python -m pmiprouter --version` works from an installed checkout."""
    out = subprocess.run([sys.executable, '-m', 'pmiprouter', '--version'], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert __version__ in out.stdout
