"""docs/cli.md stays true: its example session replays and its reference is the tree's."""

from __future__ import annotations

from pathlib import Path

from pmiprouter.cli.reference import reference

from .test_transcripts import replay

DOC = Path(__file__).resolve().parents[2] / 'docs' / 'cli.md'


def test_reference_section_matches_the_tree() -> None:
    """The generated command reference in docs/cli.md equals reference()."""
    text = DOC.read_text(encoding='utf-8')
    begin, end = '<!-- reference:begin -->\n', '<!-- reference:end -->'
    assert text[text.index(begin) + len(begin) : text.index(end)] == reference()


def test_example_session_replays_exactly() -> None:
    """The example session of docs/cli.md is what the CLI really prints."""
    text = DOC.read_text(encoding='utf-8')
    start = text.index('## Example session\n\n```\n') + len('## Example session\n\n```\n')
    expected, actual = replay(text[start : text.index('```\n', start)])
    assert actual == expected


def test_reference_lists_every_mode_and_key_commands() -> None:
    """The reference covers each mode and Cisco's PMIPv6 keywords."""
    text = reference()
    for line in (
        'ipv6 mobile pmipv6-lma WORD domain WORD',
        'replay-protection timestamp window <1-255000>',
        'bce delete-wait-time <100-65535>',
        'dynamic mag learning',
        'lma WORD WORD',
        'hnp X:X:X:X::X/<0-128>',
    ):
        assert line in text
