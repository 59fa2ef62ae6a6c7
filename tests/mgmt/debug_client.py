"""Inside the daemon's namespace: an SSH session with `debug ... messages`, then N PBUs from a raw socket.

Usage: python -m tests.mgmt.debug_client PORT PASSWORD COUNT. Prints one JSON object: the PBAs'
statuses and the debug lines the SSH session saw (the daemon's own decode of each message).
"""

from __future__ import annotations

import json
import socket
import sys
import time

import paramiko

from pmiprouter.mh import (
    AccessTechnologyTypeOption, BindingUpdate, HandoffIndicatorOption, HomeNetworkPrefix, MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier, Timestamp, encode,
)

MAG, LMA = '2001:db8:1::1', '2001:db8:2::1'


def pbu(i: int) -> bytes:
    return encode(BindingUpdate.proxy(i + 1, 600, (
        MobileNodeIdentifier.nai(f'mn{i:03d}@example.com'), HomeNetworkPrefix.of('::/0'), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(3), MobileNodeLinkLayerIdentifier(bytes([0, 0x11, 0, 0, i // 256, i % 256])),
        Timestamp.from_unix(time.time()))))


def read_until(channel: paramiko.Channel, done: object, deadline: float) -> str:
    text = ''
    while time.monotonic() < deadline and not done(text):  # type: ignore[operator]
        if channel.recv_ready():
            text += channel.recv(65536).decode(errors='replace')
        else:
            channel.status_event.wait(0.05)  # deadline-bounded poll
    return text


def main(port: int, password: str, count: int) -> None:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect('::1', port=port, username='admin', password=password, look_for_keys=False, allow_agent=False, timeout=20)
    channel = client.invoke_shell(width=200, height=0)
    deadline = time.monotonic() + 60
    read_until(channel, lambda t: t.rstrip().endswith('#'), deadline)
    channel.send(b'terminal length 0\nterminal monitor\ndebug ipv6 mobile pmipv6 messages\n')
    read_until(channel, lambda t: 'debugging is on' in t.lower(), deadline)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
    sock.bind((MAG, 0))
    sock.settimeout(5)
    statuses = []
    for i in range(count):  # one at a time: each PBA before the next PBU
        sock.sendto(pbu(i), (LMA, 0))
        while True:
            data = sock.recv(2048)
            if data[2] == 6:  # a Binding Acknowledgement (the socket sees our own PBUs too)
                statuses.append(data[6])
                break
    text = read_until(channel, lambda t: t.count('TX PBA') >= count, deadline)
    text += read_until(channel, lambda t: False, time.monotonic() + 0.5)  # anything more that was coming
    client.close()
    lines = [line.strip() for line in text.splitlines() if ' RX ' in f' {line} ' or ' TX ' in f' {line} ']
    print(json.dumps({'statuses': statuses, 'lines': lines}))


if __name__ == '__main__':
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
