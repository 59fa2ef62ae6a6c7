"""The client side of the control socket: `pmiprouter cli` attached to the running daemon.

Stdlib only. On a terminal, the local tty goes to raw mode and keystrokes travel as they
are typed (the daemon's line discipline does `?`, TAB, history and paging, exactly as
over SSH); from a pipe, the plain line mode is asked for and the end of input closes the
session once the daemon has answered everything.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import sys
import termios
import tty
from pathlib import Path
from typing import BinaryIO


def connect(path: Path) -> socket.socket:
    """Connect to the daemon's control socket.

    Raises:
        OSError: no daemon listens there, or permission denied (not root).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def _pump(sock: socket.socket, stdin_fd: int, stdout: BinaryIO) -> None:
    """Copy stdin to the socket and the socket to stdout until the daemon closes."""
    inputs = [sock.fileno(), stdin_fd]
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if sock.fileno() in ready:
            data = sock.recv(65536)
            if not data:
                return
            stdout.write(data)
            stdout.flush()
        if stdin_fd in ready:
            data = os.read(stdin_fd, 4096)
            if data:
                sock.sendall(data)
            else:  # end of input: let the daemon finish and close
                sock.shutdown(socket.SHUT_WR)
                inputs.remove(stdin_fd)


def run_client(path: Path, stdin_fd: int | None = None, stdout: BinaryIO | None = None) -> int:
    """Open the daemon's shell; return the exit status."""
    try:
        sock = connect(path)
    except OSError as err:
        print(f'pmiprouter cli: cannot reach the daemon at {path}: {err.strerror or err}', file=sys.stderr)
        print('pmiprouter cli: is `pmiprouter run` running, and are you root? (or use --offline FILE)', file=sys.stderr)
        return 1
    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout = sys.stdout.buffer if stdout is None else stdout
    interactive = os.isatty(stdin_fd) and stdout.isatty()
    with sock:
        if not interactive:
            sock.sendall(b'plain\n')
            _pump(sock, stdin_fd, stdout)
            return 0
        size = shutil.get_terminal_size()
        sock.sendall(f'interactive {size.columns} {size.lines}\n'.encode())
        saved = termios.tcgetattr(stdin_fd)
        try:
            tty.setraw(stdin_fd)
            _pump(sock, stdin_fd, stdout)
        finally:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
    return 0
