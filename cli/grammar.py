"""Small builders shared by the command-tree literals (`commands*.py`).

Pure module. They only shorten recurring shapes: the navigation commands every
configuration mode has, and "keyword VALUE" settings whose `no` form may stop at the
keyword.
"""

from __future__ import annotations

from pmiprouter.cli.handlers import exec_
from pmiprouter.cli.handlers.edit import Path, setter
from pmiprouter.cli.tree import Handler, Node, ParamType, Word, kw, param

#: Names of domains, roles, peers and pools: IOS-safe, no spaces.
NAME = Word(r'[A-Za-z0-9][A-Za-z0-9._-]*', label='WORD', max_len=32)


def root(*children: Node) -> Node:
    """The keyword-less root of a mode."""
    return Node(keyword=None, help='', children=tuple(children))


def config_common() -> tuple[Node, ...]:
    """`do`, `end`, `exit`, `no` and `default`, present in every configuration mode."""
    return (
        kw('default', 'Set a command to its defaults', delegate='default', negatable=False),
        kw('do', 'To run exec commands in config mode', delegate='exec', negatable=False),
        kw('end', 'Exit from configure mode', handler=exec_.end, negatable=False),
        kw('exit', 'Exit from the current mode', handler=exec_.exit_, negatable=False),
        kw('no', 'Negate a command or set its defaults', delegate='no', negatable=False),
    )


def setting(
    word: str, help: str, ptype: ParamType, value_help: str, field: str, *, path: Path | None = None
) -> Node:
    """`WORD VALUE` setting `field`; `no WORD [VALUE]` restores its default."""
    handler = setter(field, path=path)
    return kw(word, help, param('value', ptype, value_help, handler=handler), handler=handler, neg_only=True)


def choice(word: str, help: str, choices: dict[str, str], field: str) -> Node:
    """`WORD {a|b|c}` setting `field` to the chosen keyword; `no WORD` restores the default."""
    handler: Handler = setter(field)
    options = [kw(name, text, handler=handler, arg='value') for name, text in choices.items()]
    return kw(word, help, *options, handler=handler, neg_only=True)
