"""Start and stop the lab's daemons and hosts' clients; everything lives under one run directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from pmiprouter.lab.configs import configs
from pmiprouter.lab.topology import Lab

RUN_DIR = Path(os.environ.get('PMIPROUTER_LAB_DIR', '/run/pmiprouter-lab'))
NEEDED_TOOLS = {'ip': 'iproute2', 'ping': 'iputils-ping', 'busybox': 'busybox'}


class LabError(Exception):
    """The lab cannot run here; the message says what to do."""


def preflight() -> None:
    """Refuse clearly when not root or when a tool is missing."""
    if os.geteuid() != 0:
        raise LabError('the lab needs root (network namespaces, raw sockets): run it with sudo')
    missing = [package for tool, package in NEEDED_TOOLS.items() if shutil.which(tool) is None]
    if missing:
        raise LabError(f'missing tools; install them with: apt-get install {" ".join(sorted(set(missing)))}')


def start_routers(lab: Lab, dataplane: str = 'auto') -> dict[str, subprocess.Popen[bytes]]:
    """Write each router's startup-config and start `pmiprouter run` in its namespace (fresh state)."""
    shutil.rmtree(RUN_DIR, ignore_errors=True)  # a new lab starts without the last one's bindings
    RUN_DIR.mkdir(parents=True)
    processes = {}
    for node, text in configs(lab).items():
        config = RUN_DIR / f'{node}.conf'
        config.write_text(text)
        log = (RUN_DIR / f'{node}.log').open('wb')
        processes[node] = subprocess.Popen(
            ['ip', 'netns', 'exec', lab.ns(node), sys.executable, '-m', 'pmiprouter', 'run', '-c', str(config),
             '--dataplane', dataplane, '--state-dir', str(RUN_DIR / f'{node}-state'), '--log-level', 'debug',
             '--control-socket', str(RUN_DIR / f'{node}.sock')],
            stdout=log, stderr=subprocess.STDOUT,
        )
        (RUN_DIR / f'{node}.pid').write_text(str(processes[node].pid))
    deadline = time.monotonic() + 30
    for node, process in processes.items():
        while 'pmiprouter ready' not in log_text(node):
            if process.poll() is not None or time.monotonic() > deadline:
                raise LabError(f'{node} did not start:\n{log_text(node)[-2000:]}')
            time.sleep(0.1)
    return processes


def log_text(node: str) -> str:
    path = RUN_DIR / f'{node}.log'
    return path.read_text(errors='replace') if path.exists() else ''


def log_times(node: str, event: str, about: str = '') -> list[float]:
    """Times (epoch seconds) of `event` lines (mentioning `about`) in a router's log."""
    times = []
    for line in log_text(node).splitlines():
        if event in line and about in line:
            stamp = re.match(r'(\S+) ', line)
            if stamp:
                times.append(datetime.strptime(stamp.group(1), '%Y-%m-%dT%H:%M:%S.%f%z').timestamp())
    return times


def remove_files() -> None:
    """`lab down` leaves no file behind."""
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def stop_routers() -> list[int]:
    """SIGTERM every daemon the lab started (each removes what it installed); returns their pids."""
    stopped = []
    for pid_file in RUN_DIR.glob('*.pid'):
        text = pid_file.read_text().strip()
        pid_file.unlink()
        if not text.isdigit():
            continue
        try:
            os.kill(int(text), 15)
        except ProcessLookupError:  # it had already exited
            continue
        stopped.append(int(text))
    return stopped


def in_ns(lab: Lab, node: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(['ip', 'netns', 'exec', lab.ns(node), *args], capture_output=True, text=True, timeout=timeout)


def dhcp(lab: Lab, node: str) -> str | None:
    """Run busybox udhcpc in an MN: configure the lease and a default route; return the address."""
    script = RUN_DIR / 'udhcpc.sh'
    script.write_text('#!/bin/sh\n[ "$1" = bound ] && ip addr replace "$ip/$mask" dev "$interface" '
                      '&& ip route replace default via "$router" && echo "LEASE $ip"\nexit 0\n')
    script.chmod(0o755)
    out = in_ns(lab, node, 'busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '10', '-T', '1', '-s', str(script))
    found = re.search(r'LEASE (\S+)', out.stdout)
    return found.group(1) if found else None


def ipv6_address(lab: Lab, node: str) -> str | None:
    out = in_ns(lab, node, 'ip', '-6', 'addr', 'show', 'dev', 'eth0').stdout
    found = re.search(r'inet6 (2001:db8:aaaa:[0-9a-f:]+)/64 scope global(?! tentative)', out)
    return found.group(1) if found else None
