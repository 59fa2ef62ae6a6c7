"""`pmiprouter cli`: no daemon is explained; a broken file is refused before the shell starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmiprouter.app import main
from pmiprouter.config.store import FileStore


def test_without_daemon_explains_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No daemon on the socket: `pmiprouter cli` without --offline explains and fails."""
    assert main(['cli', '--socket', str(tmp_path / 'none.sock')]) == 1
    assert '--offline' in capsys.readouterr().err


def test_file_without_offline_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FILE only makes sense offline: the daemon edits its own startup-config."""
    assert main(['cli', str(tmp_path / 'f.cfg')]) == 2
    assert '--offline' in capsys.readouterr().err


def test_broken_file_is_not_half_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file with errors stops `cli --offline` before any prompt, listing the errors."""
    path = tmp_path / 'startup-config'
    path.write_text('hostname ok\nbogus line\n')
    assert main(['cli', '--offline', str(path)]) == 1
    err = capsys.readouterr().err
    assert f'{path}:2: bogus line' in err and 'not loaded' in err


def test_file_store_round_trip_is_atomic_and_private(tmp_path: Path) -> None:
    """FileStore reads None when absent, writes atomically with mode 0600."""
    store = FileStore(tmp_path / 'startup-config')
    assert store.read() is None
    store.write('hostname a\n')
    store.write('hostname b\n')
    assert store.read() == 'hostname b\n'
    assert (store.path.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ['startup-config']


def test_unwritable_startup_config_is_an_ios_error(tmp_path: Path) -> None:
    """`write memory` into a missing directory reports an error instead of crashing."""
    from pmiprouter.cli.session import Session

    session = Session(store=FileStore(tmp_path / 'missing-dir' / 'startup-config'), privilege=15)
    assert session.feed('write memory').startswith('% Error writing startup-config: ')


def test_unreadable_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FILE that is a directory is refused with a message."""
    assert main(['cli', '--offline', str(tmp_path)]) == 1
    assert 'cannot read' in capsys.readouterr().err


def test_commands_from_a_pipe_run_as_a_plain_transcript(tmp_path: Path) -> None:
    """`printf ... | pmiprouter cli --offline FILE`: privileged, no escape sequences, saved by write memory;
    a reader that stops early (`| head -1`) ends the run without a traceback."""
    import subprocess
    import sys

    path = tmp_path / 'startup-config'
    script = 'configure terminal\nhostname piped\nend\nwrite memory\nshow running-config | include hostname\n'
    done = subprocess.run([sys.executable, '-m', 'pmiprouter', 'cli', '--offline', str(path)],
                          input=script, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('Router#configure terminal\n')
    assert 'piped#show running-config | include hostname\nhostname piped\n' in done.stdout
    assert '\x1b' not in done.stdout and '\r' not in done.stdout
    assert 'hostname piped' in path.read_text()
    pipe = subprocess.run(f'{sys.executable} -m pmiprouter cli --offline | head -c 10', shell=True,
                          input='show version\n' * 2000, capture_output=True, text=True, timeout=60)
    assert pipe.stdout == 'Router#sho' and 'Traceback' not in pipe.stderr
