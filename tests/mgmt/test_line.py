"""The line discipline: echo, `?`, TAB, Ctrl keys, CRLF, paging, history, plain mode."""

from __future__ import annotations

from pmiprouter.cli.frontends.line import LineDiscipline
from pmiprouter.cli.session import Session

from .fakes import config


def terminal(interactive: bool = False, privilege: int = 15) -> tuple[LineDiscipline, list[str]]:
    """A discipline over a fresh session, writing into a list."""
    out: list[str] = []
    closed: list[bool] = []
    line = LineDiscipline(Session(config(), privilege=privilege), out.append, interactive=interactive,
                          on_close=lambda: closed.append(True))
    line.start()
    return line, out


def test_plain_mode_echoes_and_has_no_escape_sequences() -> None:
    """Plain mode echoes each line, ends lines with CRLF and never writes ESC."""
    line, out = terminal()
    line.receive('terminal length 0\nshow version\r\n')
    text = ''.join(out)
    assert text.startswith('lma1#terminal length 0\r\nlma1#show version\r\n')
    assert text.endswith('\r\nlma1#')
    assert '\x1b' not in text


def test_question_mark_helps_at_once_and_keeps_the_line() -> None:
    """`?` prints help without Enter, then the prompt and the typed text again."""
    line, out = terminal()
    out.clear()
    line.receive('show ?')
    text = ''.join(out)
    assert 'running-config' in text and text.endswith('lma1#show ')
    assert line.buffer == 'show '


def test_tab_completes_a_unique_keyword() -> None:
    """TAB completes `sh` to `show `."""
    line, _ = terminal()
    line.receive('sh\t')
    assert line.buffer == 'show '


def test_ctrl_keys() -> None:
    """Backspace, Ctrl-U and Ctrl-C edit or drop the line; Ctrl-Z leaves config mode."""
    line, out = terminal()
    line.receive('shox\x7fw\x15')
    assert line.buffer == ''
    line.receive('configure terminal\r')
    line.receive('hostn\x03')
    assert line.buffer == ''
    line.receive('\x1a')
    assert line.session.mode == 'exec'
    assert ''.join(out).endswith('^Z\r\nlma1#')


def test_paging_with_more() -> None:
    """An interactive terminal pages long output; Space continues, `q` stops."""
    line, out = terminal(interactive=True)
    line.receive('terminal length 5\r')
    out.clear()
    line.receive('show running-config\r')
    assert ''.join(out).endswith(' --More-- ')
    line.receive('q')
    assert ''.join(out).endswith('lma1#')
    assert not line.pager.waiting


def test_history_keys_in_interactive_mode() -> None:
    """Up arrow recalls the previous line."""
    line, _ = terminal(interactive=True)
    line.receive('show privilege\r')
    line.receive('\x1b[A')
    assert line.buffer == 'show privilege'


def test_password_is_not_echoed() -> None:
    """`enable` asks for the secret without echoing it."""
    session = Session(config(), privilege=1)
    session.feed('enable')  # no enable secret configured: straight to 15
    assert session.privilege == 15
    line, out = terminal(privilege=1)
    line.session.config = line.session.config.__class__(**{**line.session.config.__dict__,
                                                            'enable_secret': _secret('s3cret')})
    line.receive('enable\r')
    out.clear()
    line.receive('s3cret\r')
    assert 's3cret' not in ''.join(out)
    assert line.session.privilege == 15


def _secret(text: str):  # type: ignore[no-untyped-def]
    from pmiprouter.config.secrets import hash_password

    return hash_password(text)


def test_exit_closes() -> None:
    """`exit` in exec closes the session."""
    line, _ = terminal()
    line.receive('exit\r')
    assert line.closed
