"""Batched datagram I/O: ``recvmmsg(2)`` and ``sendmmsg(2)`` through ctypes (Linux, glibc).

Python's ``socket`` module has neither call. One ``recvmmsg`` returns every queued datagram (up
to the batch size) in one system call, and says by returning fewer than asked that the queue is
empty, so no extra failing read is needed; one ``sendmmsg`` sends a whole burst. On this kind of
host a system call costs a few microseconds, the same order as the Python work per packet, so
the saving is real (measured figures in docs/dataplane.md).

Both batches keep every C structure in preallocated ``bytearray`` objects that ctypes points
into: the fast path writes headers with ``struct.pack_into`` and reads lengths through
``memoryview.cast``, so nothing is allocated per packet here.

Layout (LP64 Linux, checked against ctypes at import)::

    struct iovec   { void *base; size_t len; }                                   16 bytes
    struct msghdr  { void *name; socklen_t namelen; struct iovec *iov; size_t iovlen;
                     void *control; size_t controllen; int flags; }              56 bytes
    struct mmsghdr { struct msghdr hdr; unsigned int len; }                      64 bytes
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct

MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40


class _IoVec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint32), ('iov', ctypes.c_void_p),
                ('iovlen', ctypes.c_size_t), ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t),
                ('flags', ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [('hdr', _MsgHdr), ('len', ctypes.c_uint)]


MMSG_SIZE = ctypes.sizeof(_MMsgHdr)
IOV_SIZE = ctypes.sizeof(_IoVec)
#: name, namelen, iov, iovlen, control, controllen (the fields set before a call).
_MSG_FIELDS = struct.Struct('@PIPNPN')
_NAME = struct.Struct('@PI')  # name, namelen
_CONTROL = struct.Struct('@PN')  # control, controllen
_IOV = struct.Struct('@PN')
_CMSG_HEADER = struct.Struct('@Nii')  # struct cmsghdr: length, level, type
_OFF_CONTROL = _MsgHdr.control.offset
_OFF_CONTROLLEN = _MsgHdr.controllen.offset
_OFF_FLAGS = _MsgHdr.flags.offset
_OFF_LEN = _MMsgHdr.len.offset
if (MMSG_SIZE != 64 or _OFF_LEN != 56 or _OFF_CONTROL != _MSG_FIELDS.size - 16 or IOV_SIZE != _IOV.size
        or _OFF_FLAGS % 4 or _OFF_CONTROLLEN % 8):
    raise ImportError(f'unexpected struct mmsghdr layout ({MMSG_SIZE} bytes): not LP64 Linux')
#: Strides of one mmsghdr in 32-bit and 64-bit views of the header array.
U32_STRIDE = MMSG_SIZE // 4
U64_STRIDE = MMSG_SIZE // 8
U32_LEN = _OFF_LEN // 4
U32_FLAGS = _OFF_FLAGS // 4
U64_CONTROLLEN = _OFF_CONTROLLEN // 8

_libc = ctypes.CDLL(None, use_errno=True)
_recvmmsg = _libc.recvmmsg
_recvmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
_recvmmsg.restype = ctypes.c_int
_sendmmsg = _libc.sendmmsg
_sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
_sendmmsg.restype = ctypes.c_int


def control_message(level: int, kind: int, value: bytes) -> bytes:
    """One control message as the kernel reads it: cmsghdr, data, padding to CMSG_SPACE."""
    head = _CMSG_HEADER.pack(socket.CMSG_LEN(len(value)), level, kind)
    return (head + value).ljust(socket.CMSG_SPACE(len(value)), b'\0')


def address_of(buf: bytearray) -> int:
    """Address of a bytearray's storage (the bytearray must never be resized)."""
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


class CBuffer:
    """Bytes copied once into C memory that stays put: a socket address or a control message."""

    def __init__(self, data: bytes) -> None:
        self._buf = ctypes.create_string_buffer(data, len(data))
        self.addr = ctypes.addressof(self._buf) if data else 0
        self.size = len(data)


class Slots:
    """``count`` packet buffers in one bytearray, each with ``headroom`` free bytes in front.

    Attributes:
        data: all slots back to back; slot i starts at ``i * stride``.
        stride: bytes per slot (headroom included).
        view: a memoryview of ``data``.
        bufs: per slot, a one-element list holding the memoryview after the headroom (what
            ``os.readv`` fills); reused, so a read allocates no list.
    """

    def __init__(self, count: int, size: int, headroom: int) -> None:
        self.count = count
        self.stride = headroom + size
        self.headroom = headroom
        self.data = bytearray(count * self.stride)
        self.view = memoryview(self.data)
        self.addr = address_of(self.data)
        self.bufs = [[self.view[i * self.stride + headroom:(i + 1) * self.stride]] for i in range(count)]


class RecvBatch:
    """State for ``recvmmsg`` into :class:`Slots` with a source address and one control message each.

    After :meth:`recv` returns n, datagram i is ``slots.data[i*stride + headroom:][:length(i)]``,
    its source address is in ``names`` at ``i * name_size`` and its control message in
    ``controls`` at ``i * control_size``.
    """

    def __init__(self, slots: Slots, name_size: int, control_size: int) -> None:
        self.slots = slots
        count = slots.count
        self.name_size = name_size
        self.control_size = control_size
        self.names = bytearray(max(1, count * name_size))
        self.controls = bytearray(max(1, count * control_size))
        self.iovs = bytearray(count * IOV_SIZE)
        self.hdrs = bytearray(count * MMSG_SIZE)
        self.hdr_addr = address_of(self.hdrs)
        names, controls, iovs = address_of(self.names), address_of(self.controls), address_of(self.iovs)
        for i in range(count):
            _IOV.pack_into(self.iovs, i * IOV_SIZE, slots.addr + i * slots.stride + slots.headroom,
                           slots.stride - slots.headroom)
            name = names + i * name_size if name_size else 0
            _MSG_FIELDS.pack_into(self.hdrs, i * MMSG_SIZE, name, name_size,
                                  iovs + i * IOV_SIZE, 1,
                                  controls + i * control_size if control_size else 0, control_size)
        # recvmmsg overwrites namelen and controllen: a pristine copy restores them in one memmove.
        self._pristine = bytes(self.hdrs)
        self._pristine_buf = CBuffer(self._pristine)
        self.u32 = memoryview(self.hdrs).cast('I')
        self.u64 = memoryview(self.hdrs).cast('Q')
        self._used = count

    def recv(self, fd: int) -> int:
        """Receive up to ``slots.count`` datagrams without blocking; return how many (0: none queued).

        Raises:
            OSError: any error other than EAGAIN/EWOULDBLOCK/EINTR.
        """
        if self._used:
            ctypes.memmove(self.hdr_addr, self._pristine_buf.addr, self._used * MMSG_SIZE)
        n = _recvmmsg(fd, self.hdr_addr, self.slots.count, MSG_DONTWAIT, None)
        if n < 0:
            self._used = 0
            err = ctypes.get_errno()
            if err in (11, 4):  # EAGAIN (== EWOULDBLOCK), EINTR
                return 0
            raise OSError(err, os.strerror(err))
        self._used = n
        return n


class SendBatch:
    """``sendmmsg`` headers over :class:`Slots`: the caller fills a message per slot, then sends ranges."""

    def __init__(self, slots: Slots) -> None:
        self.slots = slots
        count = slots.count
        self.iovs = bytearray(count * IOV_SIZE)
        self.hdrs = bytearray(count * MMSG_SIZE)
        self.hdr_addr = address_of(self.hdrs)
        iovs = address_of(self.iovs)
        for i in range(count):
            _MSG_FIELDS.pack_into(self.hdrs, i * MMSG_SIZE, 0, 0, iovs + i * IOV_SIZE, 1, 0, 0)
        self._base = slots.addr
        self._names: list[CBuffer | None] = [None] * count
        self._controls: list[CBuffer | None] = [None] * count

    def set(self, i: int, start: int, length: int, name: CBuffer, control: CBuffer) -> None:
        """Message i: ``length`` bytes at offset ``start`` of the slot data, to ``name``, with ``control``."""
        _IOV.pack_into(self.iovs, i * IOV_SIZE, self._base + start, length)
        # A slot usually goes to the same tunnel with the same ECN as last time: skip rewriting.
        if self._names[i] is not name:
            _NAME.pack_into(self.hdrs, i * MMSG_SIZE, name.addr, name.size)
            self._names[i] = name
        if self._controls[i] is not control:
            _CONTROL.pack_into(self.hdrs, i * MMSG_SIZE + _OFF_CONTROL, control.addr, control.size)
            self._controls[i] = control

    def send(self, fd: int, first: int, count: int) -> tuple[int, int]:
        """Send messages ``first .. first+count-1``; return (messages sent, errno of the first failure or 0).

        A failing message is skipped (counted by the caller) and the rest still go out.
        """
        sent = 0
        err = 0
        end = first + count
        while first < end:
            n = _sendmmsg(fd, self.hdr_addr + first * MMSG_SIZE, end - first, 0)
            if n <= 0:
                err = err or ctypes.get_errno() or 5  # 0 sent is no progress: treat as EIO
                first += 1
            else:
                sent += n
                first += n
        return sent, err
