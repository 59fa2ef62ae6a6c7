"""A standalone forwarding node: build a dataplane from a JSON file and forward until SIGTERM.

For the lab, the real-traffic tests and the benchmark (``ip netns exec NS python -m
pmiprouter.dataplane.node --backend userspace spec.json``). Prints ``READY <devices>`` once the
state is programmed, and ``COUNTERS <json>`` when it stops. With ``--cleanup`` it removes its
routes, rules and tunnels on the way out.

JSON: ``{"tunnels": [{"local", "remote", "mode", "gre_key_in"?, "gre_key_out"?, "mtu"?}],
"mns": [{"role", "tunnel": <index>, "hnps"?, "ipv4_hoa"?, "access_ifname"?, "realm_ifname"?}],
"pools"?: [prefix, ...]}`` (``pools``: an LMA's pools, see ``Dataplane.anchor_pools``).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from ipaddress import IPv4Address, IPv6Network, ip_address, ip_network
from typing import Any

from pmiprouter.dataplane.interface import DataplaneState, MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.fast.netaddr import HomePrefix6


def load_specs(doc: dict[str, Any]) -> DataplaneState:
    """Turn the JSON document into the wanted state."""
    tunnels = [
        TunnelSpec(ip_address(t['local']), ip_address(t['remote']), TunnelMode(t['mode']),
                   t.get('gre_key_in'), t.get('gre_key_out'), t.get('mtu'))
        for t in doc.get('tunnels', [])
    ]
    mns = [
        MnRouteSpec(Role(m['role']), tunnels[m['tunnel']], tuple(prefix6(h) for h in m.get('hnps', [])),
                    IPv4Address(m['ipv4_hoa']) if m.get('ipv4_hoa') else None,
                    m.get('access_ifname'), m.get('realm_ifname'), m.get('label', ''))
        for m in doc.get('mns', [])
    ]
    return DataplaneState(tunnels=frozenset(tunnels), mn_routes=frozenset(mns))


def prefix6(text: str) -> IPv6Network:
    """An IPv6 prefix from ``address/length``, the address parsed in C: `ipaddress`'s parser
    takes ~0.3 ms a prefix under the test VM's emulation (100,000 MNs: 30 s). Host bits set, or
    anything else `inet_pton` refuses, go to the parser, which raises as `IPv6Network(text)`."""
    address, _, length = text.partition('/')
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), 'big')
        if length.isdigit():
            return HomePrefix6.of(value, int(length))  # (checks the length and the host bits)
    except OSError:
        pass
    return IPv6Network(text)


def main(argv: list[str] | None = None) -> int:
    """Run the node; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='userspace', choices=('userspace', 'kernel', 'memory', 'auto'))
    parser.add_argument('--cleanup', action='store_true', help='remove our state on exit')
    parser.add_argument('spec', help='JSON file')
    args = parser.parse_args(argv)
    from twisted.internet import reactor

    from pmiprouter.dataplane.factory import make_dataplane

    with open(args.spec) as f:
        doc = json.load(f)
    wanted = load_specs(doc)
    options = {'reactor': reactor} if args.backend == 'userspace' else {}
    dp: Any = make_dataplane(args.backend, **options)
    dp.anchor_pools(tuple(ip_network(p) for p in doc.get('pools', [])))
    dp.reconcile(wanted)
    devices = sorted({dp.tunnel_device(t) for t in wanted.tunnels})
    print('READY', ' '.join(devices), flush=True)
    reactor.run()  # type: ignore[attr-defined]
    counters = dict(dp.counters()) if hasattr(dp, 'counters') else {}
    if args.cleanup:
        dp.reconcile(DataplaneState())
    dp.close()
    print('COUNTERS', json.dumps(counters, sort_keys=True), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
