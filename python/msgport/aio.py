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
Calls: the C library has no non-blocking call yet, so call() and send()
wait in the loop's default executor (a worker thread per call in
flight, not per port; cffi releases the GIL while it waits).  mp_send()
blocks until the answer and mp_send_async() is one-way; a thread-free
call needs one the library lacks: start a call, learn of its answer on a
descriptor, then collect it (or cancel it).
"""
import asyncio
import functools

from . import _api


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


async def call(target, data=b"", timeout=None, **kw):
    """msgport.call() as a coroutine: the answer's bytes."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(_api.call, target, data, timeout, **kw))


async def send(target, data=b"", timeout=None, **kw):
    """msgport.send() as a coroutine: the Reply."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(_api.send, target, data, timeout, **kw))
