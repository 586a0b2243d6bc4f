# SPDX-License-Identifier: MIT
"""Pages: memory from mp_pages_alloc() that travels without a copy.

pages(n) gives a buffer object (the buffer protocol: memoryview(),
numpy.frombuffer(), slicing) over n bytes of pages.  Passed as the data
of a call, a one-way send or a respond, it travels as the allocation
itself: shared (MP_SHARE, the default here: both sides keep it) or
moved (move=True: MP_MOVE, it leaves this process).  The memory is
released when the last reference to the buffer (and to every view of it)
is gone.
"""
import threading

from ._ffi import ffi, lib, strerror

# Live allocations: address -> token.  A buffer's finaliser frees its
# pages only while its own token is there: after a move the library may
# map a later allocation at the same address, which must not be freed.
_live = {}
_lock = threading.Lock()


def _finaliser(addr, size, token):
    def free(ptr):
        with _lock:
            mine = _live.get(addr) is token
            if mine:
                del _live[addr]
        if mine:
            lib.mp_pages_free(ptr, size)
    return free


def _adopt(ptr, size):
    """Own ptr (pages of this process) as a buffer freed by the GC."""
    addr = int(ffi.cast("uintptr_t", ptr))
    token = object()
    with _lock:
        _live[addr] = token
    owned = ffi.gc(ffi.cast("char *", ptr), _finaliser(addr, size, token), size)
    return ffi.buffer(owned, size)


def pages(n):
    """n bytes (n > 0) of zeroed pages, as a writable buffer object.
    Raises OSError (EINVAL n is 0, EMSGSIZE n over MP_DATA_MAX, ENOMEM)."""
    if n <= 0:
        raise ValueError("pages(n) needs n > 0")
    ptr = lib.mp_pages_alloc(n)
    if ptr == ffi.NULL:
        err = ffi.errno
        raise OSError(err, strerror(err))
    return _adopt(ptr, n)


def is_pages(addr):
    """Whether addr is the start of a live allocation of pages()."""
    with _lock:
        return addr in _live


def forget(addr):
    """The pages at addr were moved away: never free them here."""
    with _lock:
        _live.pop(addr, None)
