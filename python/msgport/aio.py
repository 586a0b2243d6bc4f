# SPDX-License-Identifier: MIT
"""msgport for asyncio.

    from msgport import aio
    port = aio.Port()                 # a msgport.Port whose recv() is a coroutine
    msg = await port.recv()
    reply = await aio.call("/demo/echo", b"hi", timeout=1.0)

Receiving needs no thread: the loop watches the port's descriptor
(mp_port_fd) with add_reader and takes messages with a polling recv.
aio.Port asks for the descriptor when it is made (the library then has
clients ring it).
Calls need no thread either: call() and send() start the call
(mp_call_start), watch its descriptor (mp_call_fd) with add_reader and
collect the answer with a polling mp_call_finish; any number may be in
flight from one loop, each on a connection of its own.  Cancelling the
task (or its timeout) abandons the call (mp_call_cancel: the server's
respond then fails).  Only a call with pages (mp_pages_alloc) as data or
out, which started calls do not carry, waits in the loop's default
executor as mp_send() does.
"""
import asyncio
import errno
import functools
import os

from . import _api
from ._ffi import ffi, lib, check, error
from ._message import data_ptr, taken_fds


class _Reader:
    """The coroutines waiting on one port's descriptor, under one reader."""

    def __init__(self, loop, fd):
        self.loop, self.fd, self.waiters = loop, fd, []

    def wait(self):
        fut = self.loop.create_future()
        if not self.waiters:
            self.loop.add_reader(self.fd, self._ready)
        self.waiters.append(fut)
        return fut

    def _ready(self):
        self.loop.remove_reader(self.fd)
        waiters, self.waiters = self.waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


_readers = {}   # (loop, port number) -> _Reader


async def recv(port):
    """The next Message of port (an aio.Port), awaited on its descriptor."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return _api.Port.recv(port, timeout=0)
        except BlockingIOError:
            pass
        key = (id(loop), port.number)
        reader = _readers.get(key)
        if reader is None or reader.loop is not loop:
            reader = _readers[key] = _Reader(loop, port.fileno())
        await reader.wait()


class Port(_api.Port):
    """A msgport.Port whose recv() is a coroutine (await port.recv());
    options as msgport.Port."""

    def __init__(self, **opts):
        super().__init__(**opts)
        self.fileno()   # before the first recv: the library has clients ring it

    async def recv(self, timeout=None):
        """The next Message; timeout in seconds (then TimeoutError, as
        the blocking recv)."""
        if timeout is None:
            return await recv(self)
        try:
            return await asyncio.wait_for(recv(self), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError("no message in %g s" % timeout) from None

    def close(self):
        for key in [k for k in _readers if k[1] == self.number]:
            r = _readers.pop(key)
            if r.waiters:
                r.loop.remove_reader(r.fd)
                for fut in r.waiters:
                    if not fut.done():
                        fut.set_exception(BrokenPipeError("the port was closed"))
        super().close()


def _start(target, data, type=0, fds=(), raw=None, move=False, out=None,
           reply_size=_api.REPLY_SIZE, inout=False):
    """The started call's (msg, keep, cdata call), or None when it has
    pages, which only mp_send() carries."""
    keep = []
    oid, m, is_pages = _api._request(target, data, type, fds, raw, move, keep)
    if is_pages:
        return None
    if out is not None:
        m.o.data, m.o.size, out_pages = data_ptr(out, keep, writable=True)
        if out_pages:
            return None
    elif reply_size:
        buf = ffi.new("char[]", reply_size)     # the call's own: several in flight
        keep.append(buf)
        m.o.data, m.o.size = buf, reply_size
    if inout:
        if out is None:
            raise ValueError("inout needs out")
        m.flags |= lib.MP_OUT_INOUT
    cp = ffi.new("mp_call_t **")
    check(lib.mp_call_start(oid.port, m, cp))
    return m, keep, cp[0]


async def _finish(call):
    """mp_call_finish(call) once the descriptor says so; the call is
    cancelled if this is (task cancelled, timeout)."""
    loop = asyncio.get_running_loop()
    fd = lib.mp_call_fd(call)
    ready = asyncio.Event()
    loop.add_reader(fd, ready.set)
    try:
        while True:
            rc = lib.mp_call_finish(call, 0)
            if rc != -errno.EAGAIN:
                call = None             # freed by the finish
                return rc
            ready.clear()               # no await since the finish: nothing lost
            await ready.wait()
    finally:
        loop.remove_reader(fd)          # before the descriptor goes
        if call is not None:
            lib.mp_call_cancel(call)


async def send(target, data=b"", timeout=None, **kw):
    """msgport.send() as a coroutine: the Reply.  No thread: the call is
    started and its answer awaited on its descriptor; a timeout (seconds)
    or a cancelled task abandons it."""
    started = _start(target, data, **kw)
    if started is None:     # pages: as msgport.send(), in the executor
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(_api.send, target, data,
                                                                  timeout, **kw))
    m, keep, call = started
    try:
        rc = await asyncio.wait_for(_finish(call), timeout)
    except asyncio.TimeoutError:
        raise error(-errno.ETIMEDOUT) from None
    check(rc)
    n = m.o.size
    out = kw.get("out")
    body = memoryview(out)[:n] if out is not None else ffi.unpack(ffi.cast("char *", m.o.data), n) if n else b""
    return _api.Reply(body, m.o.err, taken_fds(m.o), bytes(ffi.buffer(m.o.raw)))


async def call(target, data=b"", timeout=None, **kw):
    """msgport.call() as a coroutine: the answer's bytes (a negative
    status raises its OSError; descriptors in the answer are closed)."""
    r = await send(target, data, timeout, **kw)
    for fd in r.fds:
        os.close(fd)
    if r.err < 0:
        raise error(r.err)
    return r.data
