"""The lab: the handover demo's figures, the routers' configs, clean-up, and clear refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pmiprouter.config.load import load_text
from pmiprouter.lab import topology
from pmiprouter.lab.configs import configs
from pmiprouter.lab.topology import Lab
from tests.unprivileged import SETPRIV, readable_package, run_as_nobody

ROOT = Path(__file__).resolve().parents[2]
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which('busybox') is None, reason='needs root and busybox')


def test_lab_configs_load_cleanly() -> None:
    """Every router's startup-config rendered by the lab passes the loader (and so check-config)."""
    for node, text in configs(Lab()).items():
        assert load_text(text, node).ok, node


@needs_root
@pytest.mark.needs_root
@pytest.mark.slow
def test_demo_keeps_addresses_and_the_tcp_stream_and_cleans_up(tmp_path: Path) -> None:
    """The demo's handover keeps MN1's addresses and every TCP byte, with a short interruption, and leaves nothing."""
    import json

    lab = Lab(prefix='pmt-')
    env = {**os.environ, 'PMIPROUTER_LAB_DIR': str(tmp_path / 'run')}
    code = f'''
import json, dataclasses
from pmiprouter.lab import demo
print(json.dumps({{k: dataclasses.asdict(v) for k, v in demo.run_all(prefix={lab.prefix!r}).items()}}))
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(results) == {'ipv6-in-ipv6', 'udptunnel', 'gre-ipv6'}
    for encap, figures in results.items():
        assert figures['address_ipv6_before'] and figures['address_ipv6_before'] == figures['address_ipv6_after'], encap
        assert figures['address_ipv4'] and figures['tcp_stream_intact'] and figures['tcp_bytes'] > 0, encap
        assert figures['interruption_ipv6_s'] < 2.0 and figures['interruption_ipv4_s'] < 2.0, (encap, figures)
        assert figures['pbu_to_pba_at_new_mag_ms'] is not None, encap
    assert topology.existing_namespaces(lab.prefix) == []
    leftovers = subprocess.run(['pgrep', '-f', str(tmp_path)], capture_output=True, text=True).stdout
    assert not leftovers.strip(), leftovers


@pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason='needs root to drop privileges')
def test_lab_refuses_without_root() -> None:
    """Run as an unprivileged user, the lab says it needs root and exits 1.

    The package runs from a copy `nobody` can read (tests/unprivileged.py), so the check holds
    in a checkout only root can read; the first run shows the copy is what `nobody` imports.
    """
    with readable_package() as site:
        where = run_as_nobody(site, '-c', 'import pmiprouter, pmiprouter.cli; print(pmiprouter.__file__, pmiprouter.cli.__file__)')
        assert where.returncode == 0, where.stderr
        assert where.stdout.split() == [str(site / 'pmiprouter' / '__init__.py'), str(site / 'pmiprouter' / 'cli' / '__init__.py')]
        out = run_as_nobody(site, '-m', 'pmiprouter', 'lab', 'status')
    assert out.returncode == 1 and 'needs root' in out.stderr, out.stderr
