"""Transcript tests: typed lines and the exact IOS-style output expected for them.

Each `transcripts/*.txt` file is a screen capture: a line starting with the session's
current prompt is input (the rest of the line is typed), every other line is the output
expected before the next prompt. Lines starting with `# ` at the top are comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pmiprouter.cli.session import Session

TRANSCRIPTS = sorted((Path(__file__).parent / 'transcripts').glob('*.txt'))


def replay(text: str) -> tuple[str, str]:
    """Feed the transcript's input lines to a fresh session; return (expected, actual)."""
    lines = text.splitlines()
    while lines and lines[0].startswith('# '):
        lines.pop(0)
    session = Session()
    actual: list[str] = []
    for line in lines:
        if not session.closed and line.startswith(session.prompt):
            actual.append(line)
            actual.extend(session.feed(line[len(session.prompt) :]).splitlines())
    return '\n'.join(lines), '\n'.join(actual)


def test_transcripts_exist() -> None:
    """The transcript directory holds the expected families of transcripts."""
    names = {path.stem for path in TRANSCRIPTS}
    assert {'modes_and_prompts', 'abbreviations_and_errors', 'help', 'no_default_walkup_running_config'} <= names


@pytest.mark.parametrize('path', TRANSCRIPTS, ids=lambda p: p.stem)
def test_transcript(path: Path) -> None:
    """Replaying the transcript's input reproduces its output exactly."""
    expected, actual = replay(path.read_text(encoding='utf-8'))
    assert actual == expected
