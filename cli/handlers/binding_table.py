"""The brief binding table of `show ipv6 mobile pmipv6 {lma|mag} binding`: one layout for both roles.

Pure module. Each role names its columns and hands over its rows as strings, one section per
LMA or MAG; the layout (padding, headers, the total) is the same for both, so scripts that
parse one table can parse the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A column's title and the width its cells are padded to (0: not padded, for the last)."""

    title: str
    width: int = 0


def table_row(columns: Sequence[Column], cells: Sequence[str]) -> str:
    """Left-aligned cells; a cell wider than its column pushes the rest of its row along."""
    return ' '.join(f'{cell:<{column.width}}' for column, cell in zip(columns, cells, strict=True))


def home_addresses(hnps: tuple[str, ...], ipv4: str | None) -> str:
    """The `HNP / IPv4 HoA` cell: the prefixes, then the IPv4 home address if there is one."""
    return ' '.join(hnps + ((ipv4,) if ipv4 else ()))


def binding_table(columns: Sequence[Column], sections: Iterable[tuple[str, Iterable[Sequence[str]]]]) -> str:
    """Each section's heading, the column titles and its rows; last, how many rows in all."""
    header = table_row(columns, [column.title for column in columns])
    lines = []
    total = 0
    for heading, rows in sections:
        lines += [heading, header]
        for cells in rows:
            lines.append(table_row(columns, cells))
            total += 1
    lines.append(f'Total number of bindings: {total}')
    return '\n'.join(lines)
