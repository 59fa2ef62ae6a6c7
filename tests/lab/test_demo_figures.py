"""The demo's arithmetic: ping output parsing, the statistics, and which node moves."""

from __future__ import annotations

import dataclasses

import pytest

from pmiprouter.lab import demo, runner
from pmiprouter.lab.topology import Lab, MobileNode

PING = '''PING 2001:db8:cc::2(2001:db8:cc::2) 56 data bytes
[100.000] 64 bytes from 2001:db8:cc::2: icmp_seq=1 ttl=62 time=0.5 ms
[100.010] 64 bytes from 2001:db8:cc::2: icmp_seq=2 ttl=62 time=0.5 ms
[100.020] From 2001:db8:aaaa::1 icmp_seq=3 Destination unreachable: No route
[100.140] 64 bytes from 2001:db8:cc::2: icmp_seq=15 ttl=62 time=0.5 ms

--- 2001:db8:cc::2 ping statistics ---
15 packets transmitted, 3 received, +1 errors, 80% packet loss, time 140ms
'''


def test_only_answers_count_not_errors() -> None:
    assert demo.answer_times(PING) == [100.0, 100.01, 100.14]
    assert demo.ping_gaps(PING) == (0.13, 12)  # answers at 100.01 and 100.14; 15 sent, 3 received


def test_statistics_medians_maxima_and_the_excess_over_detection() -> None:
    samples = [
        {'pbu_to_pba_ms': 2.0, 'detection_ms': 50.0, 'interruption_ms': 54.0, 'resume_after_detection_ms': 3.0},
        {'pbu_to_pba_ms': 4.0, 'detection_ms': 60.0, 'interruption_ms': 70.0, 'resume_after_detection_ms': 9.0},
        {'pbu_to_pba_ms': None, 'detection_ms': None, 'interruption_ms': 80.0, 'resume_after_detection_ms': None},
    ]
    stats = demo.summarise(samples)
    assert (stats.pbu_to_pba_median_ms, stats.pbu_to_pba_max_ms) == (3.0, 4.0)
    assert (stats.interruption_median_ms, stats.interruption_max_ms) == (70.0, 80.0)
    assert (stats.interruption_minus_detection_median_ms, stats.interruption_minus_detection_max_ms) == (7.0, 10.0)
    assert stats.handovers == 3 and 'interruption minus detection' in demo.statistics_report(stats)


def test_the_mover_is_a_dual_stack_node_with_two_links() -> None:
    assert demo.mover(Lab()) == ('mn1', 'mag1', 'mag2')
    nodes = (MobileNode('a', '02:00:00:00:00:01', 'ipv6', 'mag1'), MobileNode('b', '02:00:00:00:00:02', 'dual', 'mag2', ('mag2',)),
             MobileNode('c', '02:00:00:00:00:03', 'dual', 'mag2'))
    assert demo.mover(dataclasses.replace(Lab(), mobile_nodes=nodes)) == ('c', 'mag2', 'mag1')
    alone = (MobileNode('a', '02:00:00:00:00:01', 'dual', 'mag1', ('mag1',)),)
    with pytest.raises(runner.LabError, match='links to two MAGs'):
        demo.mover(dataclasses.replace(Lab(), mobile_nodes=alone))
