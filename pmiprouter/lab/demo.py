"""`pmiprouter lab demo`: MN1 pings the CN over IPv6 and IPv4 every 10 ms and keeps a TCP
stream open while its link moves from MAG1 to MAG2; the figures come out as a report or JSON."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from pmiprouter.lab import runner, topology
from pmiprouter.lab.topology import Lab

PING_INTERVAL_S = 0.01
TCP_PORT = 5001

TCP_SINK = '''
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", %d)); s.listen(1); print("LISTENING", flush=True)
c, _ = s.accept(); total = 0
while True:
    data = c.recv(65536)
    if not data: break
    total += len(data)
print("RECEIVED", total, flush=True)
''' % TCP_PORT

TCP_SOURCE = '''
import socket, sys, time
c = socket.create_connection((sys.argv[1], %d)); end = time.time() + float(sys.argv[2]); sent = 0
while time.time() < end:
    sent += c.send(b"x" * 1000); time.sleep(0.01)
c.shutdown(socket.SHUT_WR); c.close(); print("SENT", sent, flush=True)
''' % TCP_PORT


@dataclass
class Figures:
    attach_to_first_packet_s: float
    pbu_to_pba_at_new_mag_ms: float | None
    interruption_ipv6_s: float
    interruption_ipv4_s: float
    lost_ipv6: int
    lost_ipv4: int
    address_ipv6_before: str | None
    address_ipv6_after: str | None
    address_ipv4: str | None
    tcp_stream_intact: bool
    tcp_bytes: int


def ping_gaps(output: str) -> tuple[float, int]:
    """(longest gap between answered pings, packets lost) of a ping run."""
    seqs = [int(n) for n in re.findall(r'icmp_seq=(\d+)', output)]
    sent = re.search(r'(\d+) packets transmitted, (\d+) received', output)
    lost = int(sent.group(1)) - int(sent.group(2)) if sent else -1
    gap = max((b - a for a, b in zip(seqs, seqs[1:])), default=0) * PING_INTERVAL_S
    return round(gap, 3), lost


def run_demo(lab: Lab, dataplane: str = 'auto') -> Figures:
    runner.preflight()
    topology.teardown(lab.prefix)
    topology.build(lab)
    try:
        runner.start_routers(lab, dataplane)
        return handover(lab)
    finally:
        runner.stop_routers()
        time.sleep(0.5)  # let the daemons remove their tunnels before the namespaces go
        topology.teardown(lab.prefix)
        runner.remove_files()


def handover(lab: Lab) -> Figures:
    for mn in lab.mobile_nodes[1:]:
        runner.in_ns(lab, mn.name, 'ip', 'link', 'set', 'eth0', 'up')
    start = time.monotonic()
    runner.in_ns(lab, 'mn1', 'ip', 'link', 'set', 'eth0', 'up')
    while runner.in_ns(lab, 'mn1', 'ping', '-6', '-c', '1', '-W', '0.2', lab.cn6).returncode != 0:
        if time.monotonic() - start > 20:
            raise runner.LabError('MN1 got no IPv6 connectivity through MAG1')
    attach_s = round(time.monotonic() - start, 3)
    address_v4 = runner.dhcp(lab, 'mn1')
    runner.dhcp(lab, 'mn2')
    before = runner.ipv6_address(lab, 'mn1')
    sink = subprocess.Popen(['ip', 'netns', 'exec', lab.ns('cn'), sys.executable, '-c', TCP_SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    sink.stdout.readline()
    pings = [
        subprocess.Popen(['ip', 'netns', 'exec', lab.ns('mn1'), 'ping', f'-{v}', '-i', str(PING_INTERVAL_S), '-w', '6', dst],
                         stdout=subprocess.PIPE, text=True)
        for v, dst in (('6', lab.cn6), ('4', lab.cn4))
    ]
    source = subprocess.Popen(['ip', 'netns', 'exec', lab.ns('mn1'), sys.executable, '-c', TCP_SOURCE, lab.cn6, '5.5'],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1.5)
    moved_at = time.time()
    topology.associate(lab, 'mn1', 'mag1', 'mag2')
    # As a real host does on a new association: its DHCP client asks again (and gets the same HoA).
    runner.dhcp(lab, 'mn1')
    (v6_out, _), (v4_out, _) = (p.communicate(timeout=30) for p in pings)
    source_out, _ = source.communicate(timeout=30)
    sink_out, _ = sink.communicate(timeout=30)
    gap6, lost6 = ping_gaps(v6_out)
    gap4, lost4 = ping_gaps(v4_out)
    sent = re.search(r'SENT (\d+)', source_out)
    received = re.search(r'RECEIVED (\d+)', sink_out)
    pbus = [t for t in runner.log_times('mag2', 'mh-sent BindingUpdate') if t >= moved_at - 0.1]
    pbas = [t for t in runner.log_times('mag2', 'mh-received BindingAcknowledgement') if pbus and t >= pbus[0]]
    signalling = round((pbas[0] - pbus[0]) * 1000, 2) if pbus and pbas else None
    return Figures(
        attach_to_first_packet_s=attach_s,
        pbu_to_pba_at_new_mag_ms=signalling,
        interruption_ipv6_s=gap6,
        interruption_ipv4_s=gap4,
        lost_ipv6=lost6,
        lost_ipv4=lost4,
        address_ipv6_before=before,
        address_ipv6_after=runner.ipv6_address(lab, 'mn1'),
        address_ipv4=address_v4,
        tcp_stream_intact=bool(sent and received and sent.group(1) == received.group(1)),
        tcp_bytes=int(received.group(1)) if received else 0,
    )


SCENARIOS = {
    'ipv6-in-ipv6': 'IPv6 transport, IPv6/IPv4-in-IPv6 tunnel (RFC 5213, RFC 5844)',
    'udptunnel': 'IPv4 transport, UDP 5437 encapsulation (RFC 5844 §4)',
    'gre-ipv6': 'IPv6 transport, GRE with per-MN keys (RFC 5845)',
}


def run_all(dataplane: str = 'auto', prefix: str | None = None) -> dict[str, Figures]:
    """The handover once per transport/encapsulation of SCENARIOS."""
    results = {}
    for encap in SCENARIOS:
        lab = Lab(encap=encap) if prefix is None else Lab(prefix=prefix, encap=encap)
        results[encap] = run_demo(lab, dataplane)
    return results


def report(figures: Figures, encap: str = 'ipv6-in-ipv6') -> str:
    f = asdict(figures)
    return '\n'.join([
        f'MN1 (dual stack) moves from MAG1 to MAG2 while it pings the CN every 10 ms; {SCENARIOS.get(encap, encap)}',
        f'  attach to first packet through MAG1:   {f["attach_to_first_packet_s"]} s',
        f'  PBU -> PBA at MAG2:                    {f["pbu_to_pba_at_new_mag_ms"]} ms',
        f'  interruption IPv6 / IPv4:              {f["interruption_ipv6_s"]} s / {f["interruption_ipv4_s"]} s',
        f'  packets lost IPv6 / IPv4:              {f["lost_ipv6"]} / {f["lost_ipv4"]}',
        f'  IPv6 address before / after:           {f["address_ipv6_before"]} / {f["address_ipv6_after"]}',
        f'  IPv4 address (DHCP):                   {f["address_ipv4"]}',
        f'  TCP stream intact:                     {f["tcp_stream_intact"]} ({f["tcp_bytes"]} bytes, every byte arrived)',
    ])


@dataclass
class Statistics:
    handovers: int
    pbu_to_pba_median_ms: float | None
    pbu_to_pba_max_ms: float | None
    interruption_median_s: float
    interruption_max_s: float


def handover_statistics(lab: Lab, count: int, dataplane: str = 'auto') -> Statistics:
    """MN1 moves back and forth `count` times under a 10 ms ping; medians of the figures."""
    import statistics

    runner.preflight()
    topology.teardown(lab.prefix)
    topology.build(lab)
    try:
        runner.start_routers(lab, dataplane)
        runner.in_ns(lab, 'mn1', 'ip', 'link', 'set', 'eth0', 'up')
        deadline = time.monotonic() + 20
        while runner.in_ns(lab, 'mn1', 'ping', '-6', '-c', '1', '-W', '0.2', lab.cn6).returncode != 0:
            if time.monotonic() > deadline:
                raise runner.LabError('MN1 got no IPv6 connectivity through MAG1')
        signalling: list[float] = []
        gaps: list[float] = []
        where = 'mag1'
        for _ in range(count):
            target = 'mag2' if where == 'mag1' else 'mag1'
            ping = subprocess.Popen(['ip', 'netns', 'exec', lab.ns('mn1'), 'ping', '-6', '-i', str(PING_INTERVAL_S), '-w', '3', lab.cn6],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
            moved_at = time.time()
            topology.associate(lab, 'mn1', where, target)
            output, _ = ping.communicate(timeout=20)
            gaps.append(ping_gaps(output)[0])
            pbus = [t for t in runner.log_times(target, 'mh-sent BindingUpdate') if t >= moved_at - 0.1]
            pbas = [t for t in runner.log_times(target, 'mh-received BindingAcknowledgement') if pbus and t >= pbus[0]]
            if pbus and pbas:
                signalling.append((pbas[0] - pbus[0]) * 1000)
            where = target
        return Statistics(
            handovers=count,
            pbu_to_pba_median_ms=round(statistics.median(signalling), 2) if signalling else None,
            pbu_to_pba_max_ms=round(max(signalling), 2) if signalling else None,
            interruption_median_s=round(statistics.median(gaps), 3),
            interruption_max_s=round(max(gaps), 3),
        )
    finally:
        runner.stop_routers()
        time.sleep(0.5)
        topology.teardown(lab.prefix)
        runner.remove_files()
