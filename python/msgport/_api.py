# SPDX-License-Identifier: MIT
"""Ports, the namespace, calls, one-way sends and pulses.

Every C call is made through cffi, which releases the GIL around it: a
thread blocked in recv() or call() never stops the others.
"""
import collections
import errno
import os
import threading

from . import _pages
from ._ffi import ffi, lib, check, error, timeout_ns
from ._message import (CALL, ONEWAY, PULSE, Message, Oid, data_ptr, oid_of, pages_flags,
                       put_fds, put_raw, set_oid, taken_fds)

_TRANSPORTS = {None: lib.MP_TRANSPORT_DEFAULT, "sock": lib.MP_TRANSPORT_SOCK,
               "ring": lib.MP_TRANSPORT_RING, "hybrid": lib.MP_TRANSPORT_HYBRID}
_KINDS = {0: CALL, 1: ONEWAY, lib.MP_RECV_PULSE: PULSE}
REPLY_SIZE = 65536      # call()'s and send()'s default capacity for the answer

Reply = collections.namedtuple("Reply", "data err fds raw")
Reply.__doc__ = """The answer to send(): data (bytes, or a memoryview of out=),
err (the server's status), fds (new descriptors, the caller's to close),
raw (the server's 64-byte inline header)."""

Entry = collections.namedtuple("Entry", "path oid owner_pid mode live mount")
Entry.__doc__ = "A namespace entry, from entries()."


class Port:
    """A port of this process (mp_port_create).

    transport: None (each client chooses), "sock", "ring" or "hybrid";
    disconnect_notices: a PULSE of code PULSE_DISCONNECT (value: the pid)
    when a client process's last connection goes; input_in_place:
    MP_PORT_INPUT_IN_PLACE.  Closed by close(), a with block, or when
    garbage: its paths go, blocked callers get BrokenPipeError."""

    def __init__(self, *, transport=None, disconnect_notices=False, input_in_place=False):
        opts = ffi.new("mp_port_opts_t *")
        opts.sz = ffi.sizeof("mp_port_opts_t")
        opts.transport = _TRANSPORTS[transport]
        opts.flags = ((lib.MP_PORT_DISCONNECT_PULSES if disconnect_notices else 0) |
                      (lib.MP_PORT_INPUT_IN_PLACE if input_in_place else 0))
        num = ffi.new("mp_port_t *")
        check(lib.mp_port_create_opts(num, opts))
        self.number = num[0]

    @property
    def oid(self):
        return Oid(self.number, 0)

    def fileno(self):
        """A descriptor readable when recv() would not block (the port's
        own: do not close it).  For select, poll, selectors, asyncio."""
        return check(lib.mp_port_fd(self._num()))

    def _num(self):
        if self.number == 0:
            raise ValueError("the port is closed")
        return self.number

    def register(self, path, mode=0o600, *, id=0):
        """Publish path for oid {port, id} with access mode bits."""
        oid = ffi.new("mp_oid_t *")
        oid.port, oid.id = self._num(), id
        check(lib.mp_oid_register(oid, path.encode(), mode))

    def mount(self, path, mode=0o600, *, id=0):
        """Register path as a mount point: lookups below it come as calls
        of type MT_LOOKUP (answer with phoenix.pack("lookup", ...))."""
        oid = ffi.new("mp_oid_t *")
        oid.port, oid.id = self._num(), id
        check(lib.mp_mount_register(oid, path.encode(), mode))

    def unregister(self, path):
        unregister(path)

    def recv(self, timeout=None):
        """The next Message (a call, a one-way message or a pulse).
        timeout in seconds (None: no limit, 0: poll).  Raises
        TimeoutError, BlockingIOError (timeout 0, nothing queued),
        BrokenPipeError (the port was closed)."""
        m = ffi.new("mp_msg_t *")
        rid = ffi.new("mp_rid_t *")
        rc = check(lib.mp_recv(self._num(), m, rid, timeout_ns(timeout)))
        return Message(self.number, m, rid[0], _KINDS[rc])

    def watch(self, target, code):
        """A PULSE of code (value: the watched port) when target's server
        goes away."""
        check(lib.mp_port_watch(resolve(target).port, self._num(), code))

    def unwatch(self, target):
        check(lib.mp_port_unwatch(resolve(target).port, self._num()))

    def pulse_on_fd(self, fd, code):
        """Pulses of code each time fd (an eventfd, timerfd, ...) is
        readable (mp_pulse_on_fd); the library keeps its own copy of fd."""
        fd = fd if isinstance(fd, int) else fd.fileno()
        check(lib.mp_pulse_on_fd(self._num(), fd, code))

    def pulse_on_fd_cancel(self, code):
        check(lib.mp_pulse_on_fd_cancel(self._num(), code))

    def close(self):
        """Destroy the port (mp_port_destroy); again is harmless."""
        num, self.number = self.number, 0
        if num:
            check(lib.mp_port_destroy(num))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "number", 0):
            lib.mp_port_destroy(self.number)

    def __repr__(self):
        return "<msgport.Port %d>" % self.number


def lookup(path):
    """The Oid registered for path (mount points asked, Phoenix names
    too).  Raises FileNotFoundError, PermissionError, ValueError."""
    oid = ffi.new("mp_oid_t *")
    check(lib.mp_lookup(path.encode(), oid))
    return oid_of(oid)


def lookup_dev(path):
    """(file, dev) Oids of path through mount points (Phoenix's lookup)."""
    f, d = ffi.new("mp_oid_t *"), ffi.new("mp_oid_t *")
    check(lib.mp_lookup_dev(path.encode(), f, d))
    return oid_of(f), oid_of(d)


def unregister(path):
    """Remove path from the namespace (mp_port_unregister)."""
    check(lib.mp_port_unregister(path.encode()))


@ffi.def_extern()
def _mpy_ns_entry(e, arg):
    ffi.from_handle(arg).append(Entry(
        ffi.string(e.path).decode(errors="replace"), oid_of(e.oid), e.owner_pid, e.mode,
        bool(e.live), bool(e.flags & lib.MP_NS_ENTRY_MOUNT)))
    return 0


def entries(prefix=None):
    """The namespace entries at or below prefix (all: None), in path order."""
    out = []
    handle = ffi.new_handle(out)
    check(lib.mp_ns_list(prefix.encode() if prefix else ffi.NULL, lib._mpy_ns_entry, handle))
    return out


def resolve(target):
    """An Oid for a path (looked up), an Oid, a Port or a port number."""
    if isinstance(target, str):
        return lookup(target)
    if isinstance(target, Oid):
        return target
    if isinstance(target, Port):
        return target.oid
    if isinstance(target, int):
        return Oid(target, 0)
    if isinstance(target, tuple) and len(target) == 2:
        return Oid(*target)
    raise TypeError("a target is a path, an Oid, a Port or a port number")


def _request(target, data, type, fds, raw, move, keep):
    oid = resolve(target)
    m = ffi.new("mp_msg_t *")
    m.type = type
    set_oid(m.oid, oid)
    m.i.data, m.i.size, is_pages = data_ptr(data, keep)
    if is_pages:
        m.flags = pages_flags(move)
    put_fds(m.i, fds)
    put_raw(m.i, raw)
    return oid, m, is_pages


_tls = threading.local()


def _reply_buffer(size):
    buf = getattr(_tls, "buf", None)
    if buf is None or len(buf) < size:
        buf = _tls.buf = ffi.new("char[]", size)
    return buf


def send(target, data=b"", timeout=None, *, type=0, fds=(), raw=None, move=False,
         out=None, reply_size=REPLY_SIZE, inout=False):
    """Call target (a path, an Oid, a Port or a port number) and return
    its Reply.  data: bytes-like (pages travel shared, or moved with
    move=True: then they and every view of them are gone from this
    process, as in C).  out: a writable buffer for the answer (pages there
    are lent to the server with data's pages, or replaced in place);
    else up to reply_size bytes come back as bytes.  inout: out's bytes
    travel to the server too (MP_OUT_INOUT, Phoenix's mapped buffers).
    timeout in seconds (None: no limit).  Raises OSError with the errno:
    TimeoutError, BrokenPipeError (the server died), PermissionError,
    FileNotFoundError (no such path or server), BlockingIOError, ..."""
    keep = []
    oid, m, is_pages = _request(target, data, type, fds, raw, move, keep)
    if out is not None:
        m.o.data, m.o.size, out_pages = data_ptr(out, keep, writable=True)
        if out_pages and not is_pages:
            m.flags = lib.MP_SHARE
    elif reply_size:
        m.o.data, m.o.size = _reply_buffer(reply_size), reply_size
    if inout:
        if out is None:
            raise ValueError("inout needs out")
        m.flags |= lib.MP_OUT_INOUT
    rc = lib.mp_send(oid.port, m, timeout_ns(timeout))
    _after_move(rc, m, is_pages, move, keep)
    check(rc)
    n = m.o.size
    body = memoryview(out)[:n] if out is not None else ffi.unpack(ffi.cast("char *", m.o.data), n) if n else b""
    return Reply(body, m.o.err, taken_fds(m.o), bytes(ffi.buffer(m.o.raw)))


_KEPT_ON_ERROR = (-errno.EINVAL, -errno.EMSGSIZE, -errno.ENOENT, -errno.EACCES,
                  -errno.EAGAIN, -errno.EBADF, -errno.EBUSY)


def _after_move(rc, m, is_pages, move, keep):
    # Moved pages are gone unless the call failed before sending them
    # (msgport.h, mp_send); -EPIPE/-ETIMEDOUT are ambiguous: the library
    # leaves them reserved or back, and mp_pages_free() tells which.
    if not (is_pages and move) or rc in _KEPT_ON_ERROR:
        return
    if rc in (-errno.EPIPE, -errno.ETIMEDOUT):
        return  # back with the caller, or -EINVAL at free: both harmless
    _pages.forget(int(ffi.cast("uintptr_t", keep[0])))


def call(target, data=b"", timeout=None, **kw):
    """Call target and return the answer's bytes (see send() for the
    arguments).  A negative status from the server raises the OSError of
    that errno; descriptors in the answer are closed (use send())."""
    r = send(target, data, timeout, **kw)
    for fd in r.fds:
        os.close(fd)
    if r.err < 0:
        raise error(r.err)
    return r.data


def send_async(target, data=b"", timeout=None, *, type=0, fds=(), raw=None, move=False):
    """Send one-way (no answer).  Returns True when a receiver was waiting
    for it, False when it was queued.  Blocks only while the port's queue
    is full, up to timeout (then BlockingIOError/TimeoutError)."""
    keep = []
    oid, m, is_pages = _request(target, data, type, fds, raw, move, keep)
    rc = lib.mp_send_async(oid.port, m, timeout_ns(timeout))
    _after_move(rc, m, is_pages, move, keep)
    return check(rc) == 0


def pulse(target, code, value=0):
    """Send a pulse (code below PULSE_DISCONNECT, a 64-bit value): never
    blocks; pending pulses of one code coalesce."""
    port = resolve(target).port
    check(lib.mp_pulse(port, code, value))
