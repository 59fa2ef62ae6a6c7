"""docs/management.md lists exactly the operational commands of the tree."""

from __future__ import annotations

from pathlib import Path

from pmiprouter.cli.commands import OPERATIONAL
from pmiprouter.cli.reference import syntax_lines

DOC = Path(__file__).resolve().parents[2] / 'docs' / 'management.md'


def test_operational_reference_matches_the_tree() -> None:
    """The reference block of docs/management.md equals the generated syntax lines."""
    text = DOC.read_text(encoding='utf-8')
    begin, end = '<!-- operational:begin -->\n```\n', '\n```\n<!-- operational:end -->'
    documented = text[text.index(begin) + len(begin) : text.index(end)]
    lines = [line for child in OPERATIONAL.children for line in syntax_lines(child, str(child.keyword))]
    assert documented == '\n'.join(lines)
