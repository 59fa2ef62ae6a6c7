"""`pmiprouter lab up|down|status|demo|shell|show-config`: the namespace lab (root only)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest='lab_command', metavar='ACTION', required=True)
    topology_help = 'a topology file (docs/lab.md; default: the lab of conf/lab/default.topology)'
    up = sub.add_parser('up', help='build the lab and start its routers')
    up.add_argument('--dataplane', default='auto')
    up.add_argument('--topology', metavar='FILE', help=topology_help)
    sub.add_parser('down', help='stop the routers and remove every namespace, link and file of the lab')
    sub.add_parser('status', help='what is running')
    demo = sub.add_parser('demo', help='the handover demo, with measured figures')
    demo.add_argument('--json', action='store_true', help='print the figures as JSON')
    demo.add_argument('--dataplane', default='auto')
    demo.add_argument('--topology', metavar='FILE', help=topology_help + '; the demo runs it with each transport')
    demo.add_argument('--handovers', type=int, default=0, metavar='N', help='also move the MN back and forth N times: medians')
    shell = sub.add_parser('shell', help='a shell inside a node')
    shell.add_argument('node')
    show = sub.add_parser('show-config', help="a router's startup-config")
    show.add_argument('node')
    show.add_argument('--topology', metavar='FILE', help=topology_help)


def run(args: argparse.Namespace) -> int:
    from pmiprouter.lab import configs, demo, runner, topology
    from pmiprouter.lab.topology_file import TopologyError, load_topology

    try:
        path = getattr(args, 'topology', None)
        lab = load_topology(path) if path else topology.Lab()
    except TopologyError as exc:
        print(f'pmiprouter lab: bad topology file:\n{exc}', file=sys.stderr)
        return 1
    try:
        if args.lab_command == 'show-config':
            text = configs.configs(lab).get(args.node)
            if text is None:
                print(f'% {args.node} is not a router of the lab ({", ".join(["lma", *lab.mags])})', file=sys.stderr)
                return 1
            print(text, end='')
            return 0
        runner.preflight(lab)
        if args.lab_command == 'up':
            topology.teardown(lab.prefix)
            try:
                topology.build(lab)
                runner.start_routers(lab, args.dataplane)
            except BaseException:  # a half-built lab is removed (Ctrl-C included)
                runner.stop_routers()
                topology.teardown(lab.prefix)
                runner.remove_files()
                raise
            print(f'lab up: {" ".join(lab.nodes)}; logs and configs in {runner.RUN_DIR}')
        elif args.lab_command == 'down':
            runner.stop_routers()
            removed = topology.teardown(lab.prefix)
            runner.remove_files()
            print(f'lab down: removed {len(removed)} namespaces and {runner.RUN_DIR}')
        elif args.lab_command == 'status':
            namespaces = topology.existing_namespaces(lab.prefix)
            print('\n'.join(namespaces) if namespaces else 'lab is down')
        elif args.lab_command == 'shell':
            os.execvp('ip', ['ip', 'netns', 'exec', lab.ns(args.node), os.environ.get('SHELL', '/bin/sh')])
        elif args.lab_command == 'demo':
            results = demo.run_all(args.dataplane, base=lab)
            stats = demo.handover_statistics(lab, args.handovers, args.dataplane) if args.handovers > 0 else None
            if args.json:
                figures: dict[str, Any] = {encap: asdict(f) for encap, f in results.items()}
                if stats is not None:
                    figures['statistics'] = asdict(stats)
                print(json.dumps(figures, indent=1))
            else:
                print('\n\n'.join(demo.report(f, encap) for encap, f in results.items()))
                if stats is not None:
                    print('\n' + demo.statistics_report(stats))
    except runner.LabError as exc:
        print(f'pmiprouter lab: {exc}', file=sys.stderr)
        return 1
    return 0
