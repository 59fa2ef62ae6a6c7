"""Every configuration command of the reference runs, round-trips and can be negated."""

from __future__ import annotations

import re

import pytest

from pmiprouter.cli.commands import MODES
from pmiprouter.cli.reference import TITLES, syntax_lines
from pmiprouter.config.load import replay
from pmiprouter.config.render import render

from .test_session import session_in

SAMPLES = {
    'X:X:X:X::X/<0-128>': '2001:db8::/48',
    'X:X:X:X::X': '2001:db8::1',
    'A.B.C.D/nn': '192.0.2.0/24',
    'A.B.C.D': '192.0.2.1',
    'WORD': 'W1',
    'LINE': 'pw',
    'H.H.H': '0011.2233.4455',
    'USER@REALM': 'u@x.example',
    'IFNAME': 'eth0',
    'HEX': 'abcd',
    'HASH': '8FB4F858DD7E5AFB372780EC653DB371',
}
#: Commands that only enter a sub-mode (nothing to render until something is typed there).
MODE_ONLY = {'ip ssh pubkey-chain', 'key-string', 'quit'}
COMMON = {'default', 'do', 'end', 'exit', 'no'}


def concrete(syntax: str) -> str:
    """A typeable line for a reference syntax line.

    Placeholders get sample values, choices their first keyword, options are dropped,
    and integers take their maximum less one (never a default in this grammar).
    """
    line = re.sub(r' \[\{[^}]*\}\]', '', syntax)
    line = re.sub(r'\{([^ |}]+)[^}]*\}', r'\1', line)
    words = [SAMPLES.get(word, word) for word in line.split()]
    return ' '.join(re.sub(r'^<(\d+)-(\d+)>$', lambda m: str(int(m.group(2)) - 1), word) for word in words)


def commands() -> list[tuple[str, str]]:
    """(mode, line) for every configuration command of the reference."""
    out = []
    for mode in TITLES:
        if mode == 'exec':
            continue
        for child in MODES[mode].root.children:
            if child.keyword in COMMON:
                continue
            for syntax in syntax_lines(child, str(child.keyword)):
                if not re.search(r'secret [589] ', syntax):  # need real hashes; see test_session
                    out.append((mode, concrete(syntax)))
    return out


@pytest.mark.parametrize(('mode', 'line'), commands(), ids=lambda v: str(v))
def test_command_applies_renders_and_negates(mode: str, line: str) -> None:
    """The command prints nothing, its effect survives render/replay, and `no` undoes it."""
    session = session_in(mode)
    before = session.config
    assert session.feed(line) == '', line
    if line in MODE_ONLY:
        return
    assert session.config != before or line == 'replay-protection timestamp'  # that one is the default
    text = render(session.config)
    loaded, errors, _ = replay(text)
    assert errors == [] and loaded == session.config
    assert session.feed(f'no {line}') == ''
    if line != 'logging console':  # `no logging console` turns console logging off
        assert session.config == before


def test_the_sweep_covers_the_pmipv6_modes() -> None:
    """The parametrisation above reaches every configuration mode."""
    assert {mode for mode, _ in commands()} == set(TITLES) - {'exec'}
