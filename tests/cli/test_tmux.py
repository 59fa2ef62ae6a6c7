"""The interactive shell in a real terminal (tmux): `?` without Enter, TAB, history.

Skipped when tmux is not installed. The pane is polled with a deadline rather than
slept on, so the test is as fast as the shell.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which('tmux') is None, reason='tmux is not installed')

DEADLINE_S = 30.0  # generous: CI machines run other suites at the same time


class Pane:
    """One detached tmux session on a private server socket."""

    def __init__(self, socket: str, command: list[str]) -> None:
        self.socket = socket
        env_command = ' '.join(f"'{part}'" for part in command)
        self.tmux('new-session', '-d', '-x', '120', '-y', '50', env_command)

    def tmux(self, *args: str) -> str:
        """Run a tmux command on the private server."""
        return subprocess.run(
            ['tmux', '-L', self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def type(self, text: str) -> None:
        """Type `text` literally (`end` would otherwise be tmux's name for the End key)."""
        self.tmux('send-keys', '-l', text)

    def press(self, *keys: str) -> None:
        """Press named keys: Enter, Tab, Up, C-u, ..."""
        self.tmux('send-keys', *keys)

    def text(self) -> str:
        """The visible screen, trailing blank lines removed."""
        return self.tmux('capture-pane', '-p').rstrip('\n')

    def wait_for(self, pattern: str) -> str:
        """Poll the screen until `pattern` (regex, multiline) matches; return the screen."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            screen = self.text()
            if re.search(pattern, screen, re.MULTILINE):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f'{pattern!r} not on screen:\n{screen}')
            time.sleep(0.05)  # polling interval, not a fixed wait

    def wait_for_input_line(self, typed: str) -> None:
        """Poll until the cursor's line reads `typed` with the cursor just after it.

        Trailing blanks are not in tmux's capture, so the cursor column tells whether
        `show ` (with its space) is what stands on the line.
        """
        deadline = time.monotonic() + DEADLINE_S
        while True:
            x, y = (int(v) for v in self.tmux('display-message', '-p', '#{cursor_x} #{cursor_y}').split())
            lines = self.tmux('capture-pane', '-p').splitlines()
            line = lines[y] if y < len(lines) else ''
            if line.rstrip() == typed.rstrip() and x == len(typed):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f'cursor line {line!r} (x={x}), expected {typed!r}')
            time.sleep(0.05)  # polling interval, not a fixed wait


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[tuple[Pane, Path]]:
    """`pmiprouter cli --offline FILE` running in tmux."""
    config = tmp_path / 'startup-config'
    socket = f'pmiprouter-test-{os.getpid()}'
    pane = Pane(socket, [sys.executable, '-m', 'pmiprouter', 'cli', '--offline', str(config)])
    try:
        yield pane, config
    finally:
        subprocess.run(['tmux', '-L', socket, 'kill-server'], capture_output=True)


def test_interactive_shell_in_a_terminal(pane: tuple[Pane, Path]) -> None:
    """`?` fires without Enter keeping the line, TAB completes, Up recalls, write memory saves."""
    term, config = pane
    term.wait_for_input_line('Router#')  # the file's administrator starts privileged
    term.type('disable')
    term.press('Enter')
    term.wait_for_input_line('Router>')
    term.type('enable')
    term.press('Enter')
    term.wait_for_input_line('Router#')

    term.type('show ?')
    screen = term.wait_for(r'running-config\s+Current operating configuration')
    assert 'Router#show ?' in screen
    term.wait_for_input_line('Router#show ')  # the typed text is back on the prompt line, no Enter sent

    term.press('C-u')
    term.type('conf')
    term.press('Tab')
    term.wait_for_input_line('Router#configure ')
    term.type('t')
    term.press('Tab')
    term.wait_for_input_line('Router#configure terminal ')
    term.press('Enter')
    term.wait_for_input_line('Router(config)#')
    term.type('hostname tmuxbox')
    term.press('Enter')
    term.type('end')
    term.press('Enter')
    term.wait_for_input_line('tmuxbox#')
    term.type('write memory')
    term.press('Enter')
    term.wait_for(r'^\[OK\]$')
    assert 'hostname tmuxbox' in config.read_text()
    # The next prompt first: a key pressed while the command still runs meets the terminal in
    # cooked mode, which echoes it (a loaded machine once showed '^[[A' before the recall).
    term.wait_for_input_line('tmuxbox#')

    term.press('Up')
    term.wait_for_input_line('tmuxbox#write memory')
    term.press('C-u')
    term.type('e')
    term.press('Tab')
    term.wait_for(r'^enable\s+exit$')  # several candidates: TAB lists them
    term.wait_for_input_line('tmuxbox#e')
