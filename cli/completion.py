"""Pure TAB completion over the command tree (keywords only; values have no candidates).

Uses the parser's own walk, so abbreviations, `no`, `do` and privilege filtering apply
to completion exactly as they do to execution.
"""

from __future__ import annotations

from pmiprouter.cli.errors import ParseError
from pmiprouter.cli.parser import RootLookup, tokenize, visible, walk


def completions(line: str, mode: str, roots: RootLookup, priv: int = 15) -> list[str]:
    """Keywords that complete the last (possibly empty) word of `line`."""
    tokens = tokenize(line)
    partial = bool(line) and not line[-1].isspace() and bool(tokens)
    done = tokens[:-1] if partial else tokens
    try:
        state = walk(done, line, mode, roots, priv)
    except ParseError:
        return []
    if state.line_done:
        return []
    word = tokens[-1].text.lower() if partial else ''
    return sorted(
        str(c.keyword)
        for c in visible(state.node, priv, state.negate)
        if c.keyword is not None and c.keyword.startswith(word)
    )
