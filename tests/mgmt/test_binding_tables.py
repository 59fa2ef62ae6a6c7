"""The brief binding tables of `show ipv6 mobile pmipv6 {lma|mag} binding`, byte for byte.

Scripts parse these columns, so a change of a single blank is a change of interface.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pmiprouter.cli.handlers.binding_table import Column, binding_table
from pmiprouter.cli.handlers.operational import MagEntryView, MagView
from pmiprouter.config.model import AccessInterface, MagConfig

from .fakes import FakeControl, binding, online

LMA_HEADER = (
    'MN-Identifier                    Proxy-CoA                  HNP / IPv4 HoA               State        Remaining'
)
MAG_HEADER = (
    'MN-Identifier                    Interface    LMA                        HNP / IPv4 HoA               State'
    '        Remaining'
)


def _entry(nai: str, ident: int, ipv4: str | None = None) -> MagEntryView:
    return MagEntryView(ident, nai, 'eth1', '00:11:22:33:44:55', 'registered', '2001:db8:1::1',
                        '2001:db8:2::1', ('2001:db8:aaaa::/64',), ipv4, 600, 300)


def _mag(name: str, *entries: MagEntryView) -> MagView:
    return MagView(MagConfig(name, 'D', interfaces=(AccessInterface('eth1'),), lma='LMA1'), ('eth1',), entries)


def test_lma_table_pads_columns_and_lets_a_long_cell_push_the_rest() -> None:
    """Cells are padded to their column; the dual-stack cell (30 > 28) shifts its row, not the header."""
    dual = replace(binding('mn2@example.com', 2), ipv4='10.0.0.2/24', state='revoking', remaining_s=3725)
    session, _ = online(FakeControl(bindings=[binding(), dual]))
    assert session.feed('show ipv6 mobile pmipv6 lma binding') == '\n'.join([
        'LMA LMA1 (domain D)',
        LMA_HEADER,
        'mn1@example.com                  2001:db8:1::1              2001:db8:aaaa::/64           active       00:09:50',
        'mn2@example.com                  2001:db8:1::1              2001:db8:aaaa::/64 10.0.0.2/24 revoking     01:02:05',
        'Total number of bindings: 2',
    ]) + '\n'


def test_lma_table_without_bindings_keeps_its_header() -> None:
    session, _ = online(FakeControl(bindings=[]))
    assert session.feed('show ipv6 mobile pmipv6 lma binding') == '\n'.join([
        'LMA LMA1 (domain D)',
        LMA_HEADER,
        'Total number of bindings: 0',
    ]) + '\n'


def test_mag_table_has_one_section_per_mag_and_one_total() -> None:
    """Two MAGs: each its own heading and header; the total counts the rows of both."""
    control = FakeControl(mag_views=[
        _mag('MAG1', _entry('mn1@example.com', 1)),
        _mag('MAG2', _entry('mn2@example.com', 2, '10.0.0.2/24'), _entry('mn3@example.com', 3)),
    ])
    session, _ = online(control)
    assert session.feed('show ipv6 mobile pmipv6 mag binding') == '\n'.join([
        'MAG MAG1 (domain D)',
        MAG_HEADER,
        'mn1@example.com                  eth1         2001:db8:2::1              2001:db8:aaaa::/64           '
        'registered   00:05:00',
        'MAG MAG2 (domain D)',
        MAG_HEADER,
        'mn2@example.com                  eth1         2001:db8:2::1              2001:db8:aaaa::/64 10.0.0.2/24 '
        'registered   00:05:00',
        'mn3@example.com                  eth1         2001:db8:2::1              2001:db8:aaaa::/64           '
        'registered   00:05:00',
        'Total number of bindings: 3',
    ]) + '\n'


def test_mag_table_filtered_by_nai_keeps_every_heading() -> None:
    """`nai NAI` drops the other rows, not the sections, and counts only what it shows."""
    control = FakeControl(mag_views=[_mag('MAG1', _entry('mn1@example.com', 1)),
                                     _mag('MAG2', _entry('mn2@example.com', 2))])
    session, _ = online(control)
    assert session.feed('show ipv6 mobile pmipv6 mag binding nai mn2@example.com') == '\n'.join([
        'MAG MAG1 (domain D)',
        MAG_HEADER,
        'MAG MAG2 (domain D)',
        MAG_HEADER,
        'mn2@example.com                  eth1         2001:db8:2::1              2001:db8:aaaa::/64           '
        'registered   00:05:00',
        'Total number of bindings: 1',
    ]) + '\n'


def test_renderer_without_sections_is_just_the_total() -> None:
    """No LMA or MAG section (neither command gets this far with none running): the total alone."""
    assert binding_table([Column('A', 4), Column('B')], []) == 'Total number of bindings: 0'


def test_renderer_refuses_a_row_with_a_missing_cell() -> None:
    """A row shorter than the columns is a bug in the caller, not a shorter line."""
    with pytest.raises(ValueError):
        binding_table([Column('A', 4), Column('B')], [('heading', [('only-a',)])])
