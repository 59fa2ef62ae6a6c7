"""Fixtures and markers of the dataplane tests.

``needs_kernel_tunnels`` marks tests that need ip6tnl/sit/gre devices: they skip on kernels
without tunnel modules (this project's CI host) and run inside the Debian-kernel VM
(``make test-kernel-vm``, tools/testbed/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason='needs root (network namespaces)')


@pytest.fixture(scope='session')
def lab() -> Iterator[Any]:
    """The MN -- MAG == LMA -- CN namespaces (tests/dataplane/lab.py), built once per session.

    Each test starts its own nodes; the next nodes reconcile away what the previous ones left.
    Building the lab once matters in the VM, where each ``ip`` call costs tens of milliseconds.
    """
    from tests.dataplane.lab import Lab

    the_lab = Lab()
    try:
        yield the_lab
    finally:
        the_lab.close()
