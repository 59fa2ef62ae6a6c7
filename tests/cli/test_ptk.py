"""The prompt_toolkit front-end driven through a pipe: `?`, TAB, Ctrl-Z, passwords.

History needs a real terminal (typeahead is processed before the history loads) and is
covered by test_tmux.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from pmiprouter.cli.frontends.ptk import run_shell
from pmiprouter.cli.session import Session
from pmiprouter.config.model import RouterConfig
from pmiprouter.config.secrets import hash_password

class RecordingSession(Session):
    """A session that remembers every line the shell fed it."""

    def feed(self, line: str) -> str:
        """Record, then execute."""
        self.extras.setdefault('lines', []).append(line)
        return super().feed(line)


@pytest.fixture
def shell() -> Iterator[tuple[RecordingSession, object]]:
    """A recording session and a pipe input to type into."""
    with create_pipe_input() as pipe:
        yield RecordingSession(), pipe


def drive(session: Session, pipe: object, keys: str) -> list[str]:
    """Type `keys` into the shell until the session closes; return the lines fed."""
    pipe.send_text(keys)  # type: ignore[attr-defined]
    assert run_shell(session, input=pipe, output=DummyOutput()) == 0  # type: ignore[arg-type]
    assert session.closed
    return list(session.extras['lines'])


def test_question_mark_shows_help_without_entering_the_line(
    shell: tuple[RecordingSession, object], capsys: pytest.CaptureFixture[str]
) -> None:
    """`sh?` prints the help at once and leaves `sh` in the buffer, without the `?`."""
    session, pipe = shell
    assert drive(session, pipe, 'en\rsh?\rexit\r') == ['en', 'sh', 'exit']
    out = capsys.readouterr().out
    assert 'Router#sh?\nshow\n' in out


def test_tab_completes_keywords(shell: tuple[RecordingSession, object]) -> None:
    """TAB turns `conf` into `configure ` and `t` into `terminal `."""
    session, pipe = shell
    lines = drive(session, pipe, 'en\rconf\tt\t\rend\rexit\r')
    assert lines[1] == 'configure terminal '


def test_ctrl_z_is_end(shell: tuple[RecordingSession, object]) -> None:
    """Ctrl-Z in a configuration sub-mode runs `end`."""
    session, pipe = shell
    lines = drive(session, pipe, 'en\rconf t\ripv6 mobile pmipv6-domain D\r\x1a\rexit\r')
    assert lines[3] == 'end' and lines[-1] == 'exit'


def test_enable_password_prompt() -> None:
    """The enable secret is asked for and grants privilege 15."""
    session = RecordingSession(RouterConfig(enable_secret=hash_password('pw?1')))
    with create_pipe_input() as pipe:
        drive(session, pipe, 'enable\rpw?1\rshow privilege\rexit\r')
    assert session.extras['lines'] == ['enable', 'pw?1', 'show privilege', 'exit']
    assert session.privilege == 15
