"""The command reference, generated from the tree (docs/cli.md embeds it verbatim).

Pure module. One line per way a command can end, with keyword choices folded into
`{a | b}` and optional trailing parts shown as `[...]`. A test checks docs/cli.md holds
exactly this text, so the operator documentation cannot drift from the grammar.
"""

from __future__ import annotations

from pmiprouter.cli.commands import MODES
from pmiprouter.cli.tree import Node

#: Order and titles of the modes in the reference.
TITLES = {
    'exec': 'Exec mode (`host>` / `host#`)',
    'config': 'Global configuration (`host(config)#`)',
    'config-ipv6-pmipv6-domain': 'PMIPv6 domain (`host(config-ipv6-pmipv6-domain)#`)',
    'config-ipv6-pmipv6-domain-lma': 'Domain LMA peer (`host(config-ipv6-pmipv6-domain-lma)#`)',
    'config-ipv6-pmipv6-domain-mag': 'Domain MAG peer (`host(config-ipv6-pmipv6-domain-mag)#`)',
    'config-ipv6-pmipv6-domain-mn': 'Mobile node profile (`host(config-ipv6-pmipv6-domain-mn)#`)',
    'config-ipv6-pmipv6-lma': 'LMA role (`host(config-ipv6-pmipv6-lma)#`)',
    'config-ipv6-pmipv6-mag': 'MAG role (`host(config-ipv6-pmipv6-mag)#`)',
    'config-ssh-pubkey': 'SSH key chain (`host(config-ssh-pubkey)#`)',
    'config-ssh-pubkey-user': 'SSH keys of a user (`host(config-ssh-pubkey-user)#`)',
}

_COMMON = {'default', 'do', 'end', 'exit', 'no'}


def _is_choice_leaf(node: Node) -> bool:
    return node.keyword is not None and not node.children and node.arg is not None


def syntax_lines(node: Node, prefix: str) -> list[str]:
    """Syntax lines for every command ending at or below `node` (`prefix` is the path so far)."""
    out: list[str] = []
    choices = [c for c in node.children if _is_choice_leaf(c)]
    if len(choices) < 2:
        choices = []  # a single keyword is just the next word, not a choice
    others = [c for c in node.children if c not in choices]
    if choices:
        folded = '{' + ' | '.join(str(c.keyword) for c in choices) + '}'
        optional = node.executable(None)
        out.append(f'{prefix} [{folded}]' if optional else f'{prefix} {folded}')
    elif node.executable(None) and prefix:
        out.append(prefix)
    for child in others:
        out += syntax_lines(child, f'{prefix} {child.label}'.strip())
    return out


def reference() -> str:
    """The Markdown command reference of every mode."""
    parts = []
    for mode, title in TITLES.items():
        root = MODES[mode].root
        lines = []
        for child in root.children:
            if mode != 'exec' and child.keyword in _COMMON:
                continue
            lines += syntax_lines(child, str(child.keyword))
        parts.append(f'### {title}\n\n```\n' + '\n'.join(lines) + '\n```\n')
    return '\n'.join(parts)
