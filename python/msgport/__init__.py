# SPDX-License-Identifier: MIT
"""msgport: microkernel-style message passing between Linux processes.

    import msgport
    with msgport.Port() as port:            # a server
        port.register("/demo/echo", 0o600)
        msg = port.recv()
        msg.respond(bytes(msg.data))

    msgport.call("/demo/echo", b"hi", timeout=1.0)   # a client: b"hi"

Errors are OSError subclasses carrying the errno (TimeoutError,
BrokenPipeError, PermissionError, FileNotFoundError, ...).  msgport.aio
has the asyncio variants, msgport.phoenix the Phoenix-RTOS types.
See python/README.md.
"""
from ._ffi import ffi, lib, strerror, timeout_ns
from ._pages import pages
from ._message import CALL, ONEWAY, PULSE, Message, Oid
from ._api import (REPLY_SIZE, Entry, Port, Reply, call, entries, lookup, lookup_dev, pulse,
                   resolve, send, send_async, unregister)

MOVE, SHARE, OUT_INOUT = lib.MP_MOVE, lib.MP_SHARE, lib.MP_OUT_INOUT
RAW_SIZE, FDS_MAX, DATA_MAX = lib.MP_RAW_SIZE, lib.MP_FDS_MAX, lib.MP_DATA_MAX
PULSE_DISCONNECT, PULSE_CODES = lib.MP_PULSE_DISCONNECT, lib.MP_PULSE_CODES
MT_LOOKUP = lib.MP_MT_LOOKUP


async def call_async(target, data=b"", timeout=None, **kw):
    """call() as a coroutine (msgport.aio.call)."""
    from . import aio
    return await aio.call(target, data, timeout, **kw)


__all__ = ["Port", "Message", "Oid", "Reply", "Entry", "call", "send", "send_async", "pulse",
           "lookup", "lookup_dev", "unregister", "entries", "resolve", "pages", "strerror",
           "call_async", "CALL", "ONEWAY", "PULSE", "MOVE", "SHARE", "OUT_INOUT", "RAW_SIZE",
           "FDS_MAX", "DATA_MAX", "PULSE_DISCONNECT", "PULSE_CODES", "MT_LOOKUP", "REPLY_SIZE"]
