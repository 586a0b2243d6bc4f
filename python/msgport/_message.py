# SPDX-License-Identifier: MIT
"""Messages: what a call carries out (request) and what recv gives back."""
import collections
import errno
import threading

from . import _pages
from ._ffi import ffi, lib, check

Oid = collections.namedtuple("Oid", "port id")
Oid.__new__.__defaults__ = (0,)
Oid.__doc__ = "An object inside a server (Phoenix's oid_t): its port and the server's id."

CALL, ONEWAY, PULSE = "call", "oneway", "pulse"


def oid_of(c):
    return Oid(c.port, c.id)


def set_oid(c, oid):
    c.port, c.id = oid


def _fileno(f):
    return f if isinstance(f, int) else f.fileno()


def put_fds(part, fds):
    fds = [_fileno(f) for f in fds]
    if len(fds) > lib.MP_FDS_MAX:
        raise ValueError("at most %d fds" % lib.MP_FDS_MAX)
    for k, fd in enumerate(fds):
        part.fds[k] = fd
    part.nfds = len(fds)


def put_raw(part, raw):
    if raw is not None:
        raw = bytes(raw)
        if len(raw) > lib.MP_RAW_SIZE:
            raise ValueError("raw is at most %d bytes" % lib.MP_RAW_SIZE)
        ffi.memmove(part.raw, raw, len(raw))


def data_ptr(data, keep, writable=False):
    """(pointer, size, is_pages) of a bytes-like object; keep holds what
    must live until the C call returns."""
    if data is None or len(data) == 0:
        return ffi.NULL, 0, False
    buf = ffi.from_buffer(data, require_writable=writable)
    keep.append(buf)
    addr = int(ffi.cast("uintptr_t", buf))
    return ffi.cast("void *", buf), len(buf), _pages.is_pages(addr)


def pages_flags(move):
    return lib.MP_MOVE if move else lib.MP_SHARE


def taken_fds(part):
    return [part.fds[k] for k in range(min(part.nfds, lib.MP_FDS_MAX))]


class Message:
    """A message from Port.recv().

    kind   CALL (answer it with respond()), ONEWAY or PULSE
    type   the application's message type (a pulse's code)
    data   the input, a read-only memoryview read in place: valid until
           respond() (a call) or this thread's next recv() (one-way); use
           bytes(msg.data) to keep a copy, keep() to keep received pages
    fds    descriptors received (ints): the receiver owns them and closes
           them (os.close, or os.fdopen / socket.socket(fileno=...))
    raw    the 64-byte inline header (bytes); oid, pid, uid, gid,
           priority, flags as in mp_msg_t
    capacity  bytes the caller can take in the answer
    out    for calls, a writable memoryview of the caller's capacity
           (with flags & MP_OUT_INOUT it holds the caller's bytes)
    code, value, count  of a pulse (count: pulses merged into it, 1 none)
    """

    def __init__(self, port, m, rid, kind):
        self._port, self._m, self._rid = port, m, rid
        self._lock = threading.Lock()
        self.kind = kind
        self.type = m.type
        self.flags = m.flags
        self.oid = oid_of(m.oid)
        self.pid, self.uid, self.gid, self.priority = m.pid, m.uid, m.gid, m.priority
        self.raw = bytes(ffi.buffer(m.i.raw))
        self.fds = taken_fds(m.i)
        self.capacity = m.o.size if kind == CALL else 0
        self.data = self._view(m.i.data, m.i.size).toreadonly()
        self.out = self._view(m.o.data, self.capacity)
        if kind == PULSE:
            info = lib.mp_msg_pulse(m)
            self.code, self.value, self.count = m.type, info.value, info.count

    @staticmethod
    def _view(ptr, size):
        if ptr == ffi.NULL or size == 0:
            return memoryview(b"")
        return memoryview(ffi.buffer(ffi.cast("char *", ptr), size))

    def __repr__(self):
        return "<msgport.Message %s type=%d %d bytes pid=%d>" % (
            self.kind, self.type, len(self.data), self.pid)

    def keep(self):
        """Received pages (flags MP_MOVE or MP_SHARE) made this process's
        own: a writable buffer over them, valid after respond(), released
        when it is garbage."""
        if not (self.flags & (lib.MP_MOVE | lib.MP_SHARE)) or len(self.data) == 0:
            raise ValueError("the message's data is not pages")
        m = self._m
        check(lib.mp_pages_keep(m.i.data, m.i.size))
        return _pages._adopt(m.i.data, m.i.size)

    def respond(self, data=b"", err=0, *, fds=(), raw=None, move=False, size=None):
        """Answer a call: data (bytes-like, at most capacity bytes; pages
        travel shared, or moved with move=True), the status err (an int,
        e.g. -errno), fds (ints or file objects: still the caller's, not
        closed), raw (up to 64 bytes).  size instead of data: answer the
        first size bytes written into self.out.  From any thread, once.
        Raises OSError (EMSGSIZE over capacity, EPIPE the caller died or
        gave up, ...), ValueError not a call or answered already."""
        with self._lock:
            if self.kind != CALL or self._m is None:
                raise ValueError("not a call, or answered already")
            m, keep = self._m, []
            if size is not None:
                if not 0 <= size <= self.capacity:
                    raise ValueError("size beyond the capacity")
                m.o.size = size
                m.flags = 0
            else:
                ptr, n, is_pages = data_ptr(data, keep)
                if n > self.capacity:
                    raise OSError(errno.EMSGSIZE, "answer of %d bytes, capacity %d" % (n, self.capacity))
                m.o.data, m.o.size = ptr, n
                m.flags = pages_flags(move) if is_pages else 0
            m.o.err = err
            put_fds(m.o, fds)
            put_raw(m.o, raw)
            rc = lib.mp_respond(self._port, m, self._rid)
            if rc in (-errno.EINVAL, -errno.EMSGSIZE, -errno.EBADF, -errno.EBUSY):
                check(rc)   # the rid stays valid: the caller may try again
            self._m = None
            if rc == 0 and is_pages_moved(keep, move, size):
                _pages.forget(int(ffi.cast("uintptr_t", keep[0])))
            self._release()
            check(rc)

    def _release(self):
        for v in (self.data, self.out):
            try:
                v.release()
            except BufferError:
                pass    # a view of it is still exported; it is the user's to drop

    def __del__(self):
        # A call dropped unanswered: answer -EPIPE, so that its caller
        # does not wait for it forever.
        if getattr(self, "_m", None) is not None and self.kind == CALL:
            try:
                self.respond(err=-errno.EPIPE)
            except Exception:
                pass


def is_pages_moved(keep, move, size):
    if not move or size is not None or not keep:
        return False
    return _pages.is_pages(int(ffi.cast("uintptr_t", keep[0])))
