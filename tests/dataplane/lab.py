"""A small PMIPv6 lab in network namespaces: MN -- MAG == LMA -- CN.

Addresses (documentation ranges):

- MN ``eth0``: HNP address 2001:db8:a1::2/64 and IPv4 HoA 10.0.0.2/24; gateway fe80::1 / 10.0.0.1
  on the MAG's access interface ``acc0``.
- MAG ``tr0`` 2001:db8:1::1/64, 192.0.2.1/24 -- LMA ``tr0`` 2001:db8:1::2/64, 192.0.2.2/24.
- LMA ``cn0`` 2001:db8:ff::1/64, 198.51.100.1/24 -- CN ``eth0`` 2001:db8:ff::2/64, 198.51.100.2/24.

The MAG and the LMA each run ``python -m pmiprouter.dataplane.node`` with the backend under
test. Everything is torn down by :meth:`Lab.close`, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from tests.dataplane import nsutil

HNP = '2001:db8:a1::/64'
MN6, MN4 = '2001:db8:a1::2', '10.0.0.2'
CN6, CN4 = '2001:db8:ff::2', '198.51.100.2'
MAG6, LMA6, MAG4, LMA4 = '2001:db8:1::1', '2001:db8:1::2', '192.0.2.1', '192.0.2.2'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class KernelNode:
    """The kernel backend programmed from a worker thread inside the namespace (no process:
    kernel state needs none, and an interpreter start costs seconds under the VM's TCG)."""

    def __init__(self, ns: str, spec: dict[str, Any]) -> None:
        from pmiprouter.dataplane.kernel import KernelDataplane
        from pmiprouter.dataplane.node import load_specs

        self.thread = nsutil.NsThread(ns)
        try:
            self.dp = self.thread.call(KernelDataplane)
            start = time.monotonic()
            wanted = load_specs(spec)
            loaded = time.monotonic()
            # (no 60 s bound: 100,000 MNs take some 20 s under the VM's TCG, more on a loaded host)
            self.thread.submit(self.dp.reconcile, wanted).result(timeout=900)
            #: seconds spent building the specs and reconciling them (the benchmark reports them)
            self.timings = {'load_s': loaded - start, 'reconcile_s': time.monotonic() - loaded}
            self.devices = sorted({self.dp.tunnel_device(t) for t in wanted.tunnels})
        except BaseException:
            self.stop()
            raise

    def stop(self) -> dict[str, int]:
        """Close the netlink socket (kernel objects stay, like a daemon that exits)."""
        try:
            if hasattr(self, 'dp'):
                self.thread.call(self.dp.close)
        finally:
            self.thread.close()
        return {}


class Node:
    """A running ``pmiprouter.dataplane.node`` process inside a namespace."""

    def __init__(self, ns: str, backend: str, spec: dict[str, Any]) -> None:
        fd, self.path = tempfile.mkstemp(prefix='pmipnode', suffix='.json')
        with os.fdopen(fd, 'w') as f:
            json.dump(spec, f)
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', ns, sys.executable, '-m', 'pmiprouter.dataplane.node',
             '--backend', backend, self.path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the node prints READY or dies; no sleep needed
        if not line.startswith('READY'):
            err = self.proc.stderr.read() if self.proc.stderr else ''
            self.stop()
            raise RuntimeError(f'node in {ns} failed: {line!r} {err[-2000:]}')
        self.devices = line.split()[1:]

    def stop(self) -> dict[str, int]:
        """Stop with SIGTERM (the reactor's own handler) and return the node's counters."""
        counters: dict[str, int] = {}
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _err = self.proc.communicate()
        for line in (out or '').splitlines():
            if line.startswith('COUNTERS '):
                counters = json.loads(line[9:])
        os.unlink(self.path)
        return counters


def veth(a_ns: str, a: str, b_ns: str, b: str) -> None:
    """Create a veth pair between two namespaces and set both ends up."""
    tmp_a, tmp_b = nsutil.unique('va'), nsutil.unique('vb')
    nsutil.ip('link', 'add', tmp_a, 'type', 'veth', 'peer', 'name', tmp_b)
    nsutil.ip('link', 'set', tmp_a, 'netns', a_ns, 'name', a)
    nsutil.ip('link', 'set', tmp_b, 'netns', b_ns, 'name', b)
    nsutil.ip('link', 'set', a, 'up', ns=a_ns)
    nsutil.ip('link', 'set', b, 'up', ns=b_ns)


def addr(ns: str, dev: str, *addrs: str) -> None:
    """Add addresses to a device (IPv6 without DAD, so they are usable at once)."""
    for a in addrs:
        extra = ['nodad'] if ':' in a else []
        nsutil.ip('addr', 'add', a, 'dev', dev, *extra, ns=ns)


class Lab:
    """The four-namespace lab (see the module docstring)."""

    def __init__(self) -> None:
        tag = nsutil.unique('')
        self.mn, self.mag, self.lma, self.cn = (f'pmt{r}{tag}' for r in ('m', 'g', 'l', 'c'))
        self.nodes: list[Any] = []
        self.extra_ns: list[str] = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        for ns in (self.mn, self.mag, self.lma, self.cn):
            nsutil.netns_add(ns)
        veth(self.mn, 'eth0', self.mag, 'acc0')
        veth(self.mag, 'tr0', self.lma, 'tr0')
        veth(self.lma, 'cn0', self.cn, 'eth0')
        addr(self.mn, 'eth0', MN6 + '/64', MN4 + '/24')
        addr(self.mag, 'acc0', 'fe80::1/64', '10.0.0.1/24')
        addr(self.mag, 'tr0', MAG6 + '/64', MAG4 + '/24')
        addr(self.lma, 'tr0', LMA6 + '/64', LMA4 + '/24')
        addr(self.lma, 'cn0', '2001:db8:ff::1/64', '198.51.100.1/24')
        addr(self.cn, 'eth0', CN6 + '/64', CN4 + '/24')
        nsutil.ip('-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0', ns=self.mn)
        nsutil.ip('-4', 'route', 'add', 'default', 'via', '10.0.0.1', ns=self.mn)
        nsutil.ip('-6', 'route', 'add', 'default', 'via', '2001:db8:ff::1', ns=self.cn)
        nsutil.ip('-4', 'route', 'add', 'default', 'via', '198.51.100.1', ns=self.cn)

    def start(self, backend: str, mag_spec: dict[str, Any], lma_spec: dict[str, Any]) -> tuple[Any, Any]:
        """Start the MAG and LMA nodes (processes, or worker threads for the kernel backend)."""
        nodes = []
        for ns, spec in ((self.mag, mag_spec), (self.lma, lma_spec)):
            node = KernelNode(ns, spec) if backend == 'kernel' else Node(ns, backend, spec)
            self.nodes.append(node)
            nodes.append(node)
        return nodes[0], nodes[1]

    def stop_nodes(self) -> list[dict[str, int]]:
        """Stop every node; return their counters in start order."""
        counters = [node.stop() for node in self.nodes]
        self.nodes.clear()
        return counters

    def close(self) -> None:
        """Stop the nodes and delete every namespace."""
        try:
            self.stop_nodes()
        finally:
            for ns in (self.mn, self.mag, self.lma, self.cn, *self.extra_ns):
                nsutil.netns_del(ns)


def ping(
    ns: str, dst: str, *extra: str, count: int = 1, deadline: float = 5
) -> subprocess.CompletedProcess[str]:
    """Ping with a short per-reply wait; returns the completed process (rc 0 = replies)."""
    fam = '-6' if ':' in dst else '-4'
    return nsutil.ns_exec(ns, 'ping', fam, '-n', '-c', str(count), '-W', '2', '-w', str(int(deadline)),
                          *extra, dst,
                          timeout=deadline + 5)


def ping_until(ns: str, dst: str, timeout: float = 8) -> bool:
    """Ping once at a time until a reply comes (ND/ARP warm-up), within ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ping(ns, dst, deadline=2).returncode == 0:
            return True
    return False


def _serve(addr: str, port: int, size: int, ready: threading.Event, box: list[str], wait: float) -> None:
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(1)
        srv.settimeout(wait)
        ready.set()
        try:
            conn, _ = srv.accept()
        except OSError as exc:
            box.append(f'server: {exc}')
            return
        with conn:
            conn.settimeout(20)
            got = bytearray()
            while len(got) < size:
                data = conn.recv(65536)
                if not data:
                    break
                got += data
            conn.sendall(bytes(got[::-1]))


def _client(addr: str, port: int, size: int) -> str:
    data = os.urandom(size)
    try:
        with socket.create_connection((addr, port), timeout=20) as conn:
            conn.sendall(data)
            got = bytearray()
            while len(got) < size:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += chunk
    except OSError as exc:
        return f'client: {exc!r}'
    return 'OK' if bytes(got) == data[::-1] else f'MISMATCH {len(got)}'


def tcp_roundtrip(
    client_ns: str, server_ns: str, server_addr: str, size: int = 200_000, port: int = 5001,
    accept_timeout: float = 20,
) -> str:
    """Send ``size`` random bytes over TCP and get them back reversed; return 'OK' or why not.

    Server and client are threads that entered the namespaces (sockets belong to the netns of
    the thread that creates them), which saves two interpreter starts per transfer.
    """
    server, client = nsutil.NsThread(server_ns), nsutil.NsThread(client_ns)
    try:
        ready, box = threading.Event(), []
        served = server.submit(_serve, server_addr, port, size, ready, box, accept_timeout)
        if not ready.wait(10):
            return 'server did not start'
        result = client.call(_client, server_addr, port, size)
        served.result(timeout=30)
        return result if not box or result != 'OK' else box[0]
    finally:
        server.close()
        client.close()
