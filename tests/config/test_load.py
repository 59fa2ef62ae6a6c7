"""Loading startup-configs: errors with file, line, caret and suggestion; all-or-nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pmiprouter.app import main
from pmiprouter.config.load import load_file, load_text
from pmiprouter.config.model import RouterConfig

CONF = Path(__file__).resolve().parents[2] / 'conf'
EXAMPLES = sorted(CONF.glob('*.example.conf'))

BROKEN = """\
hostname edge
ipv6 mobile pmipv6-lma L domain D
 address ipv6 2001:db8::1
 bce lifetimx 600
 bce create-wait-time 10
 dynamic mag learning
!
end
"""


def test_examples_exist() -> None:
    """conf/ ships an LMA, a MAG and a dual-role example."""
    assert {p.name for p in EXAMPLES} == {'lma.example.conf', 'mag.example.conf', 'dual-role.example.conf'}


@pytest.mark.parametrize('path', EXAMPLES, ids=lambda p: p.name)
def test_every_example_passes_check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pmiprouter check-config EXAMPLE` exits 0 and says OK."""
    assert main(['check-config', str(path)]) == 0
    assert capsys.readouterr().out == f'{path}: OK\n'


def test_errors_carry_file_line_caret_and_suggestion() -> None:
    """Each bad line is reported with its number, the line, the caret and the IOS message."""
    result = load_text(BROKEN, 'edge.conf')
    assert result.config is None
    first, second = result.errors
    assert (first.line_no, first.column, first.suggestion) == (4, len(' bce lifetim'), 'lifetime')
    assert first.render() == (
        'edge.conf:4:  bce lifetimx 600\n'
        + ' ' * len('edge.conf:4:  bce lifetim')
        + '^\n'
        "% Invalid input detected at '^' marker.\n"
        '% Did you mean "lifetime"?'
    )
    assert second.line_no == 5 and second.column == len(' bce create-wait-time ')


def test_validation_errors_point_at_the_block() -> None:
    """A cross-field problem is reported on the line that opened the faulty block."""
    result = load_text('ipv6 mobile pmipv6-domain D\n!\nipv6 mobile pmipv6-mag M domain D\n address ipv6 2001:db8::2\n')
    assert result.config is None
    assert [(e.line_no, e.line) for e in result.errors] == [(3, 'ipv6 mobile pmipv6-mag M domain D')] * 2
    assert [e.message for e in result.errors] == [
        '% MAG M has no access interface (interface IFNAME)',
        '% MAG M has no LMA (lma NAME DOMAIN)',
    ]


def test_failed_block_body_is_skipped_not_misapplied() -> None:
    """After a bad mode-entering line, its indented body is not applied to the parent mode."""
    result = load_text('ipv6 mobile pmipv6-domain bad!name\n lma L\n  ipv6-address 2001:db8::1\nhostname ok\n')
    assert [e.line_no for e in result.errors] == [1]


def test_indentation_selects_the_mode() -> None:
    """` lma L` after an MN block is the domain's LMA peer, not the MN's LMA."""
    text = 'ipv6 mobile pmipv6-domain D\n nai a@x\n  lma L\n lma L\n  ipv6-address 2001:db8::1\n'
    result = load_text(text)
    assert result.config is not None
    domain = result.config.domains[0]
    assert domain.mn_profiles[0].lma == 'L' and domain.lmas[0].name == 'L'


def test_show_running_config_header_and_end_are_accepted() -> None:
    """Text pasted from `show running-config` loads; nothing after `end` is read."""
    text = 'Building configuration...\n\nCurrent configuration : 30 bytes\n!\nhostname x1\n!\nend\nhostname x2\n'
    result = load_text(text)
    assert result.config == RouterConfig(hostname='x1')


def test_check_config_reports_and_fails(tmp_path: Path) -> None:
    """The command prints every error and exits 1; nothing is half-applied."""
    path = tmp_path / 'bad.conf'
    path.write_text(BROKEN)
    out = subprocess.run(
        [sys.executable, '-m', 'pmiprouter', 'check-config', str(path)], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert f'{path}:4:  bce lifetimx 600' in out.stdout
    assert f'{path}:5:  bce create-wait-time 10' in out.stdout
    assert out.stdout.rstrip().endswith('2 errors, configuration not loaded')


def test_missing_file_is_one_error(tmp_path: Path) -> None:
    """An unreadable file is reported, not raised."""
    result = load_file(tmp_path / 'nope.conf')
    assert result.config is None and 'Cannot read file' in result.errors[0].message


def test_flat_text_loads_by_walk_up_and_anchors_blocks() -> None:
    """Unindented text works through walk-up, and problems still point at the block line."""
    text = 'ipv6 mobile pmipv6-domain D\nnai a@x\nhnp 2001:db8:1::/64\nipv6 mobile pmipv6-mag M domain D\n'
    text += 'address ipv6 2001:db8::2\ninterface eth0\n'
    result = load_text(text)
    assert [(e.line_no, e.message) for e in result.errors] == [(4, '% MAG M has no LMA (lma NAME DOMAIN)')]
