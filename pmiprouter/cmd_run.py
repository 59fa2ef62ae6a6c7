"""`pmiprouter run -c FILE`: the daemon.

The startup-config is loaded and validated completely before anything starts (a config
with errors is never half-applied); then one Twisted reactor runs every role it defines.
SIGTERM/SIGINT stop cleanly, removing what the daemon installed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from pmiprouter.dataplane.factory import KINDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('-c', '--config', required=True, metavar='FILE', help='startup-config in CLI syntax')
    parser.add_argument('--dataplane', choices=KINDS, default='auto', help='data-plane backend (default: auto)')
    parser.add_argument('--log-level', choices=('debug', 'info', 'warn', 'error'), default='info')
    parser.add_argument(
        '--state-dir', type=Path, default=Path('/var/lib/pmiprouter'), help='where bindings and SSH keys are kept'
    )
    parser.add_argument(
        '--control-socket', type=Path, default=Path('/run/pmiprouter/cli.sock'), help='the local socket of `pmiprouter cli`'
    )


def run(args: argparse.Namespace) -> int:
    from pmiprouter.config.load import load_file

    result = load_file(args.config)
    if not result.ok:
        for error in result.errors:
            print(error.render(), file=sys.stderr)
        print(f'{args.config}: configuration not loaded, not starting', file=sys.stderr)
        return 1
    assert result.config is not None

    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError
    from twisted.logger import FilteringLogObserver, Logger, LogLevel, LogLevelFilterPredicate, globalLogBeginner

    from pmiprouter.runtime.service import make_service, reload_services, start

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # journald and pipes see each line at once
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(args.log_level))
    from pmiprouter.runtime.log_text import ClassicTextObserver

    observer = ClassicTextObserver(sys.stdout)  # Twisted's text lines, a third of the cost (log_text.py)
    globalLogBeginner.beginLoggingTo([FilteringLogObserver(observer, [predicate])])
    from pmiprouter.runtime.driver import set_log_level

    set_log_level(args.log_level)  # engine log lines below the level are dropped before formatting
    # Libraries (and the data plane) log through the standard library: their warnings belong in
    # the same journal, at their own level.
    from pmiprouter.runtime.log_text import StdlibToTwisted

    logging.root.addHandler(StdlibToTwisted())
    logging.root.setLevel(logging.WARNING)
    service = make_service(reactor, result.config, args.dataplane, args.state_dir, trace=args.log_level == 'debug')
    from pmiprouter.runtime.mgmt_service import add_management

    add_management(service, reactor, result.config, args.config, args.state_dir, control_socket=args.control_socket)
    try:
        service.privilegedStartService()
    except (OSError, CannotListenError) as exc:  # not root, or the port is taken by another daemon
        print(f'pmiprouter: cannot open the Mobility Header sockets: {exc}', file=sys.stderr)
        return 1
    from pmiprouter.runtime.gc_tuning import settle_heap
    from pmiprouter.runtime.sdnotify import notify

    started: list[bool] = []

    def start_then_notify() -> None:
        try:
            start(service, result.config)
        except Exception:  # a role that cannot start: stop, so systemd sees the failure at once
            Logger().failure('pmiprouter could not start')
            reactor.stop()  # type: ignore[attr-defined]
            return
        started.append(True)
        settle_heap()  # the configuration and restored bindings live as long as the daemon
        notify('READY=1')  # systemd Type=notify: config loaded, every role's sockets open

    reactor.callWhenRunning(start_then_notify)  # type: ignore[attr-defined]
    reactor.addSystemEventTrigger('before', 'shutdown', notify, 'STOPPING=1')  # type: ignore[attr-defined]
    reactor.addSystemEventTrigger('before', 'shutdown', service.stopService)  # type: ignore[attr-defined]
    # SIGHUP re-reads the startup-config; the handler only schedules, the reactor thread reloads.
    signal.signal(signal.SIGHUP, lambda *_: reactor.callFromThread(reload_services, service, args.config))  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    return 0 if started else 1
