"""A MAG that restarts sends thousands of PBUs at once: the real LMA daemon answers every one.

The daemon (`pmiprouter run`, memory data plane, 4,096 MN profiles) in one network namespace, a
MAG's raw MH socket in another (made by a thread that entered it, then used from the test's
thread), joined by a veth pair with permanent neighbour entries (neighbour discovery would queue,
then drop, a burst's head). 4,096 PBUs for 4,096 new MNs leave in one loop of sendto, nothing
outstanding waited for and nothing sent twice: every one is answered and the MH socket's drop
counter (`show ipv6 mobile pmipv6 lma stats`) reads 0. With a receive buffer made tiny (the
test-only environment variable) the same counter equals what was sent minus what was received.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from pmiprouter.dataplane.probe import enter_netns
from pmiprouter.mh import encode
from pmiprouter.runtime.receive_buffer import RCVBUF_ENV, SO_RCVBUFFORCE
from tests.integration.test_lma_netns import ROOT, ip
from tests.integration.test_revocation_netns import shell

sys.path.insert(0, str(ROOT / 'bench'))
from pbus import attach_pbu  # noqa: E402 - the benchmarks' PBU, from their folder

pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('ip') is None, reason='needs root and iproute2'),
]
MNS = 4096
MAG, LMA = '2001:db8:12::1', '2001:db8:12::2'
DROPS = 'MH socket drops (receive buffer full): '


def nai(i: int) -> str:
    return f'mn{i:05d}@burst.example'


def config() -> str:
    """An LMA with MNS profiles, replay protection by sequence numbers.

    Not timestamps: the LMA reads a burst of 4,096 in about half a second here, longer than the
    timestamp window (300 ms), so the tail of any burst stamped at once is refused with 156.
    """
    lines = ['hostname lma', 'ipv6 mobile pmipv6-domain D', ' replay-protection sequence-number', ' mag M1',
             f'  ipv6-address {MAG}']
    for i in range(MNS + 64):  # the tiny-buffer test's stragglers are new MNs too
        lines += [f' nai {nai(i)}', '  service ipv6']
    lines += ['!', 'ipv6 mobile pmipv6-lma L domain D', f' address ipv6 {LMA}',
              ' pool ipv6 P prefix 2001:db8::/32 pfxlen 64', '!', 'end']
    return '\n'.join(lines) + '\n'


def pbu(i: int) -> bytes:
    return encode(attach_pbu(nai(i), (i + 1).to_bytes(6, 'big'), i, 3600))


@dataclass
class Lma:
    process: subprocess.Popen[bytes]
    control: Path
    log: Path


@dataclass
class Topology:
    lma_ns: str
    mag_ns: str
    work: Path


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    tag = uuid.uuid4().hex[:6]
    lma_ns, mag_ns = f'pb-l-{tag}', f'pb-m-{tag}'
    ip('netns', 'add', lma_ns)
    ip('netns', 'add', mag_ns)
    try:
        devs = {lma_ns: f'bl{tag}', mag_ns: f'bm{tag}'}
        ip('link', 'add', devs[lma_ns], 'netns', lma_ns, 'type', 'veth', 'peer', 'name', devs[mag_ns], 'netns', mag_ns)
        for ns, addr in ((lma_ns, LMA), (mag_ns, MAG)):
            ip('-n', ns, 'addr', 'add', f'{addr}/64', 'dev', devs[ns], 'nodad')
            ip('-n', ns, 'link', 'set', devs[ns], 'up')
        macs = {ns: json.loads(subprocess.run(['ip', '-n', ns, '-j', 'link', 'show', devs[ns]], check=True,
                                              capture_output=True).stdout)[0]['address'] for ns in devs}
        for ns, other, addr in ((lma_ns, mag_ns, MAG), (mag_ns, lma_ns, LMA)):
            ip('-n', ns, 'neigh', 'replace', addr, 'lladdr', macs[other], 'dev', devs[ns], 'nud', 'permanent')
        yield Topology(lma_ns, mag_ns, tmp_path)
    finally:
        subprocess.run(['ip', 'netns', 'del', lma_ns], check=False)
        subprocess.run(['ip', 'netns', 'del', mag_ns], check=False)


@pytest.fixture
def lma(topology: Topology) -> Iterator[Lma]:
    with running_lma(topology) as daemon:
        yield daemon


@contextmanager
def running_lma(topology: Topology) -> Iterator[Lma]:
    """The daemon in the LMA namespace, from its readiness (sd_notify) to its end (SIGTERM)."""
    work = topology.work
    (work / 'startup-config').write_text(config())
    log = work / 'daemon.log'
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify, log.open('wb') as out:
        notify.bind(str(work / 'notify'))
        process = subprocess.Popen(
            ['ip', 'netns', 'exec', topology.lma_ns, sys.executable, '-m', 'pmiprouter', 'run', '-c', str(work / 'startup-config'),
             '--dataplane', 'memory', '--state-dir', str(work / 'state'), '--control-socket', str(work / 'cli.sock'),
             '--log-level', 'warn'],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, 'NOTIFY_SOCKET': str(work / 'notify')},
        )
        try:
            deadline = time.monotonic() + 60
            while b'READY=1' not in (notify.recv(4096) if select.select([notify], [], [], 0.5)[0] else b''):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            yield Lma(process, work / 'cli.sock', log)
        finally:
            process.terminate()
            process.wait(30)


def mag_socket(topology: Topology) -> socket.socket:
    """The MAG's raw MH socket, bound to its address, with room for every PBA of the burst."""
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        sock.bind((MAG, 0))
        return sock

    with ThreadPoolExecutor(1, initializer=enter_netns, initargs=(topology.mag_ns,)) as pool:
        return pool.submit(make).result(timeout=30)


def read_pbas(sock: socket.socket, got: dict[int, int], done: Callable[[], bool], timeout: float) -> None:
    """Read PBAs into `got` (sequence number: status) until `done()` or the deadline."""
    deadline = time.monotonic() + timeout
    while not done() and select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
        while True:
            try:
                data = sock.recv(2048, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if data[2] == 6:  # MH type 6: Binding Acknowledgement (status, then sequence)
                got[int.from_bytes(data[8:10], 'big')] = data[6]


def stats(lma: Lma) -> str:
    return shell(lma.control, 'show ipv6 mobile pmipv6 lma stats\n')


def drops_shown(text: str) -> int:
    (line,) = [line for line in text.splitlines() if DROPS in line]
    return int(line.split(DROPS)[1])


def pbus_received(text: str) -> int:
    (line,) = [line for line in text.splitlines() if line.split()[:1] == ['PBU']]
    return int(line.split()[1])


def test_a_burst_of_4096_pbus_for_new_mns_is_answered_in_full(topology: Topology, lma: Lma) -> None:
    wires = [pbu(i) for i in range(MNS)]
    sock = mag_socket(topology)
    try:
        send = sock.sendto
        for wire in wires:  # at once: no window, nothing waited for, nothing sent again
            send(wire, (LMA, 0))
        answered: dict[int, int] = {}
        read_pbas(sock, answered, lambda: len(answered) == MNS, 60)
    finally:
        sock.close()
    assert len(answered) == MNS and set(answered.values()) == {0}  # every MN registered, none lost
    shown = stats(lma)
    assert pbus_received(shown) == MNS and drops_shown(shown) == 0, shown
    assert 'receive buffer' not in lma.log.read_text()  # asked for and got (root): nothing to warn about


def test_the_drop_counter_counts_what_a_tiny_buffer_loses(topology: Topology, monkeypatch: pytest.MonkeyPatch) -> None:
    """The smallest buffer the kernel allows: most of a burst is dropped, and counted exactly."""
    monkeypatch.setenv(RCVBUF_ENV, '1')
    burst = 1024
    with running_lma(topology) as daemon:
        sock = mag_socket(topology)
        try:
            for i in range(burst):
                sock.sendto(pbu(i), (LMA, 0))
            # The counter rides on the next datagram queued after the drops: one more new MN's PBU,
            # again until one is answered (a straggler can itself meet a full buffer).
            sent, answered = burst, {}
            while sent < burst + 64 and sent - 1 not in answered:
                sock.sendto(pbu(sent), (LMA, 0))
                sent += 1
                read_pbas(sock, answered, lambda: sent - 1 in answered, 1.0)
            # Answered in order: the PBAs of everything read before the last one are here too.
            read_pbas(sock, answered, lambda: False, 0.0)
        finally:
            sock.close()
        shown = stats(daemon)
        log = daemon.log.read_text()
    received = pbus_received(shown)
    assert sent - 1 in answered and received == len(answered) < burst  # each PBU read was answered; some were lost
    assert drops_shown(shown) == sent - received > 0, shown
    assert 'the kernel dropped' in log  # and the log said so
