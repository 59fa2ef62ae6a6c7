"""A lab built and its routers running for a test module, torn down whatever happens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pmiprouter.lab import runner, topology
from pmiprouter.lab.topology import Lab


@contextmanager
def running_lab(lab: Lab, run_dir: Path) -> Iterator[Lab]:
    """Build `lab` (its prefix keeps it apart from other labs), start its routers with their
    files in `run_dir`, bring every MN's link up; afterwards remove everything it made."""
    saved = runner.RUN_DIR
    runner.RUN_DIR = run_dir
    topology.teardown(lab.prefix)
    topology.build(lab)
    try:
        runner.start_routers(lab)
        for mn in lab.mobile_nodes:
            runner.in_ns(lab, mn.name, 'ip', 'link', 'set', 'eth0', 'up')
        yield lab
    finally:
        runner.stop_routers()
        time.sleep(0.5)  # the daemons remove their tunnels before the namespaces go
        topology.teardown(lab.prefix)
        runner.remove_files()
        runner.RUN_DIR = saved
