"""Start and stop the lab's daemons and hosts' clients; everything lives under one run directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from ipaddress import ip_network
from pathlib import Path

from pmiprouter.lab.configs import configs
from pmiprouter.lab.topology import Lab

RUN_DIR = Path(os.environ.get('PMIPROUTER_LAB_DIR', '/run/pmiprouter-lab'))
NEEDED_TOOLS = {'ip': 'iproute2', 'ping': 'iputils-ping', 'busybox': 'busybox'}
RELAY_TOOLS = {'dnsmasq': 'dnsmasq-base'}  # `dhcp = relay`: the domain's DHCP server
# The routers log at info, as deployed: the figures come from info lines (`mn-attached`,
# `mn-registered ... pbu_pba_ms=`); PMIPROUTER_LAB_LOG_LEVEL=debug adds every message's trace.
LOG_LEVEL = os.environ.get('PMIPROUTER_LAB_LOG_LEVEL', 'info')


class LabError(Exception):
    """The lab cannot run here; the message says what to do."""


def preflight(lab: Lab | None = None) -> None:
    """Refuse clearly when not root or when a tool is missing."""
    if os.geteuid() != 0:
        raise LabError('the lab needs root (network namespaces, raw sockets): run it with sudo')
    needed = {**NEEDED_TOOLS, **(RELAY_TOOLS if lab is not None and lab.dhcp == 'relay' else {})}
    missing = [package for tool, package in needed.items() if shutil.which(tool) is None]
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
             '--dataplane', dataplane, '--state-dir', str(RUN_DIR / f'{node}-state'), '--log-level', LOG_LEVEL,
             '--control-socket', str(RUN_DIR / f'{node}.sock')],
            stdout=log, stderr=subprocess.STDOUT,
        )
        (RUN_DIR / f'{node}.pid').write_text(str(processes[node].pid))
    if lab.dhcp == 'relay':
        start_dhcp_server(lab)
    deadline = time.monotonic() + 30
    for node, process in processes.items():
        while 'pmiprouter ready' not in log_text(node):
            if process.poll() is not None or time.monotonic() > deadline:
                raise LabError(f'{node} did not start:\n{log_text(node)[-2000:]}')
            time.sleep(0.1)
    return processes


def start_dhcp_server(lab: Lab) -> None:
    """Relay mode: dnsmasq as the domain's DHCPv4 server, handing each MN the HoA the LMA assigns."""
    pool = ip_network(lab.ipv4_pool)
    hosts = list(pool.hosts())
    reservations = [f'--dhcp-host={mn.mac},{lab.home_address(mn)}' for mn in lab.mobile_nodes if lab.home_address(mn)]
    log = (RUN_DIR / 'dhcp.log').open('wb')
    process = subprocess.Popen(
        ['ip', 'netns', 'exec', lab.ns('dhcp'), 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--user=root',
         '--interface=eth0', '--log-dhcp', f'--dhcp-leasefile={RUN_DIR / "dhcp.leases"}',
         f'--dhcp-range={hosts[1]},{hosts[-1]},{pool.netmask},1h', *reservations,
         # The MN's default router is the one the MAG holds for its HoA (the pool's first
         # address, RFC 5844 §3.2.3.2), not the relay's giaddr that dnsmasq would name.
         f'--dhcp-option=option:router,{hosts[0]}'],
        stdout=log, stderr=subprocess.STDOUT,
    )
    (RUN_DIR / 'dhcp.pid').write_text(str(process.pid))
    deadline = time.monotonic() + 10
    while 'DHCP, IP range' not in log_text('dhcp'):
        if process.poll() is not None or time.monotonic() > deadline:
            raise LabError(f'the DHCP server (dnsmasq) did not start:\n{log_text("dhcp")[-2000:]}')
        time.sleep(0.1)


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


def log_values(node: str, event: str, field: str, about: str = '') -> list[tuple[float, float]]:
    """(time, value) of the numeric `field=` of `event` lines (mentioning `about`) in a router's log."""
    values = []
    for line in log_text(node).splitlines():
        if event in line and about in line:
            stamp = re.match(r'(\S+) ', line)
            value = re.search(rf'\b{field}=([0-9.]+)', line)
            if stamp and value:
                values.append((datetime.strptime(stamp.group(1), '%Y-%m-%dT%H:%M:%S.%f%z').timestamp(), float(value.group(1))))
    return values


def remove_files() -> None:
    """`lab down` leaves no file behind."""
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def stop_routers(timeout: float = 15.0) -> list[int]:
    """SIGTERM every process the lab started (each daemon removes what it installed) and wait
    until they are gone (a MAG's last de-registrations take a moment; SIGKILL after `timeout`).
    Returns their pids."""
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
    deadline = time.monotonic() + timeout
    waiting = list(stopped)
    while waiting and time.monotonic() < deadline:
        waiting = [pid for pid in waiting if not _gone(pid)]
        time.sleep(0.05)
    for pid in waiting:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            continue
    return stopped


def _gone(pid: int) -> bool:
    """True once `pid` has exited (reaped here if it is our child)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return True
    except ChildProcessError:  # not our child: `lab down` from another process
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


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
    found = re.search(r"inet6 ([0-9a-f:]+)/64 scope global(?! tentative)", out)
    return found.group(1) if found else None
