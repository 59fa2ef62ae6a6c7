"""The client side of the control socket: `pmiprouter cli` attached to the running daemon.

Stdlib only. On a terminal, the local tty goes to raw mode and keystrokes travel as they
are typed (the daemon's line discipline does `?`, TAB, history and paging, exactly as
over SSH); from a pipe, the plain line mode is asked for and the end of input closes the
session once the daemon has answered everything. A resized terminal (SIGWINCH) is
announced to the daemon in-band (`resize_message`), so paging follows the new height.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import sys
import termios
import tty
from pathlib import Path
from typing import BinaryIO

CONTROL = b'\xff'  # starts an in-band control message (0xFF is never part of UTF-8 text)


def resize_message(columns: int, rows: int) -> bytes:
    """The in-band message telling the daemon the client's terminal size."""
    return CONTROL + f'W {columns} {rows}\n'.encode('ascii')


def terminal_size(fd: int) -> tuple[int, int]:
    """(columns, rows) of the terminal on `fd` (80x24 when it cannot be read)."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return shutil.get_terminal_size()
    return size.columns, size.lines


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


def _pump(sock: socket.socket, stdin_fd: int, stdout: BinaryIO, winch_fd: int | None = None) -> None:
    """Copy stdin to the socket and the socket to stdout until the daemon closes.

    `winch_fd` (non-blocking) receives a byte per SIGWINCH: the new size is sent. It is
    read after every wake-up, not only when select reports it: a signal that arrived with
    a keystroke is in the pipe already (the C-level handler wrote it before select
    returned), and the size must reach the daemon before the keys typed after it.
    """
    inputs = [sock.fileno(), stdin_fd] + ([winch_fd] if winch_fd is not None else [])
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if winch_fd is not None and _drain(winch_fd):  # several signals: one message for all
            sock.sendall(resize_message(*terminal_size(stdin_fd)))
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
        columns, rows = terminal_size(stdin_fd)
        sock.sendall(f'interactive {columns} {rows}\n'.encode())
        saved = termios.tcgetattr(stdin_fd)
        # SIGWINCH wakes the select loop through the interpreter's wakeup fd, written by the
        # C-level handler at delivery (a Python handler must exist for it to be used).
        winch_read, winch_write = os.pipe()
        os.set_blocking(winch_read, False)
        os.set_blocking(winch_write, False)
        previous = signal.signal(signal.SIGWINCH, lambda *_: None)
        previous_fd = signal.set_wakeup_fd(winch_write, warn_on_full_buffer=False)
        try:
            tty.setraw(stdin_fd)
            _pump(sock, stdin_fd, stdout, winch_read)
        finally:
            signal.set_wakeup_fd(previous_fd)
            signal.signal(signal.SIGWINCH, previous)
            os.close(winch_read)
            os.close(winch_write)
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
    return 0


def _drain(fd: int) -> bool:
    """Empty the non-blocking pipe `fd`; whether SIGWINCH was in it."""
    seen = b''
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 512):
            seen += chunk
    return signal.SIGWINCH.to_bytes(1, 'little') in seen
