"""`pmiprouter cli` against the running daemon over the local control socket."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .conftest import ROOT, Daemon


def converse(daemon: Daemon, text: str, timeout: float = 20) -> str:
    """Send `text` in plain mode, half-close, and read everything until the daemon closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(daemon.socket))
        sock.sendall(b'plain\n' + text.encode())
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b''.join(chunks).decode()


def test_socket_is_root_only(daemon: Daemon) -> None:
    """The socket file is mode 0600 in a 0700 directory."""
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(daemon.socket.parent).st_mode) == 0o700


def test_plain_session_runs_show_commands(daemon: Daemon) -> None:
    """A plain session lands at `#`, echoes, and answers operational commands."""
    text = converse(daemon, 'show ipv6 mobile pmipv6 lma globals\nshow version | include uptime\n')
    assert text.startswith('lma1#show ipv6 mobile pmipv6 lma globals\r\n')
    assert 'LMA Identifier: LMA1' in text
    assert 'lma1 uptime is' in text
    assert '\x1b' not in text


def test_live_change_seen_by_next_session(daemon: Daemon) -> None:
    """A change made in one session is applied and visible from the next one."""
    converse(daemon, 'configure terminal\nipv6 mobile pmipv6-lma LMA1 domain D\nbce lifetime 1200\nend\n')
    text = converse(daemon, 'show ipv6 mobile pmipv6 lma globals | include lifetime\n')
    assert 'Registration lifetime: 1200 sec' in text


def test_cli_command_pipes_a_script(daemon: Daemon) -> None:
    """`pmiprouter cli --socket PATH` with a script on stdin prints the answers."""
    out = subprocess.run(
        [sys.executable, '-m', 'pmiprouter', 'cli', '--socket', str(daemon.socket)],
        input=b'show privilege\n', capture_output=True, cwd=ROOT, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert b'Current privilege level is 15' in out.stdout


def read_until(sock: socket.socket, text: str, timeout: float = 20) -> str:
    """Read from a live session until `text` shows up."""
    data = b''
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    while text.encode() not in data and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert text.encode() in data, data
    return data.decode()


def test_terminal_monitor_shows_log_lines_live(daemon: Daemon) -> None:
    """A session with `terminal monitor` sees the log line of another session's change."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as watcher:
        watcher.connect(str(daemon.socket))
        watcher.sendall(b'plain\nterminal monitor\n')
        read_until(watcher, 'lma1#terminal monitor\r\nlma1#')
        assert 'vty' in converse(daemon, 'show users\n')
        converse(daemon, 'configure terminal\nipv6 mobile pmipv6-lma LMA1 domain D\nbce refresh-time 200\nend\n')
        assert 'policy-reloaded' in read_until(watcher, 'policy-reloaded')


@contextmanager
def cli_on_a_terminal(daemon: Daemon, rows: int | None = None) -> Iterator[tuple[int, subprocess.Popen[bytes], Callable[[str], str]]]:
    """`pmiprouter cli` on a pseudo-terminal (`rows` high, when given): its master side, the
    process, and `expect(text)`, which reads until `text` arrives and returns what was read.
    The session must end by itself (`exit`); it is killed if it does not."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    if rows is not None:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, '-m', 'pmiprouter', 'cli', '--socket', str(daemon.socket)],
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
    )
    os.close(slave)

    def expect(text: str) -> str:
        data = b''
        deadline = time.monotonic() + 20
        while text.encode() not in data and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                data += os.read(master, 65536)
        assert text.encode() in data, data
        return data.decode()

    try:
        yield master, process, expect
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.close(master)


def test_cli_on_a_terminal_is_interactive(daemon: Daemon) -> None:
    """On a terminal, `pmiprouter cli` goes raw: `?` is answered without Enter, `show users` marks us."""
    with cli_on_a_terminal(daemon) as (master, process, expect):
        expect('lma1#')
        os.write(master, b'show ?')
        assert 'users' in expect('lma1#show ')
        os.write(master, b'users\r')
        assert '*   vty' in expect('lma1#')
        os.write(master, b'exit\r')
        assert process.wait(20) == 0


def test_control_filter_separates_resizes_from_keystrokes() -> None:
    """In-band size messages are taken out of the keystrokes, even split across reads."""
    from pmiprouter.runtime.control_socket import ControlFilter
    from pmiprouter.runtime.mgmt_client import resize_message

    stream = b'sh' + resize_message(132, 50) + b'ow ver\r' + resize_message(80, 24)
    split = ControlFilter()
    keys, sizes = b'', []
    for index in range(len(stream)):  # one byte at a time: the worst split
        got_keys, got_sizes = split.feed(stream[index : index + 1])
        keys += got_keys
        sizes += got_sizes
    assert keys == b'show ver\r' and sizes == [(132, 50), (80, 24)]
    bad = ControlFilter()
    assert bad.feed(b'\xffW x y\nok') == (b'ok', []) and bad.dropped == 1
    assert bad.feed(b'\xff' + b'9' * 40 + b'ab') == (b'9' * 40 + b'ab', []) and bad.dropped == 2


def test_resized_terminal_pages_by_its_new_height(daemon: Daemon) -> None:
    """SIGWINCH on `pmiprouter cli` reaches the daemon: output pages by the new height."""
    import fcntl
    import signal
    import struct
    import termios

    with cli_on_a_terminal(daemon, rows=200) as (master, process, expect):
        expect('lma1#')
        os.write(master, b'show running-config\r')
        assert '--More--' not in expect('\r\nend\r\nlma1#')  # 200 rows: one screen
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', 6, 120, 0, 0))
        process.send_signal(signal.SIGWINCH)
        os.write(master, b'show running-config\r')
        screen = expect('--More--')
        assert screen.count('\r\n') == 6  # the echoed command's line end, then 6 - 1 lines
        os.write(master, b'q')
        expect('lma1#')
        os.write(master, b'exit\r')
        assert process.wait(20) == 0
