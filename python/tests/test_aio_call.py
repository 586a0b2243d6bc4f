# SPDX-License-Identifier: MIT
"""aio.call() on started calls (mp_call_start): many in flight from one
loop with no thread of ours, answered out of order, and cancelled."""
import asyncio
import threading

import pytest

import msgport
from msgport import aio
from conftest import WAIT, Server

N = 50


def test_50_concurrent_calls_no_thread():
    held = []

    def handler(msg):
        held.append(msg)
        if len(held) == N:             # all in flight at once: answer, last first
            for m in reversed(held):
                m.respond(bytes(m.data)[::-1])
            held.clear()

    srv = Server(handler, "/py/acall")

    async def main():
        threads = threading.active_count()
        counts = []

        async def watch():
            while True:
                counts.append(threading.active_count())
                await asyncio.sleep(0.005)
        w = asyncio.ensure_future(watch())
        calls = [aio.call("/py/acall", b"call %d" % k, timeout=WAIT) for k in range(N)]
        res = await asyncio.wait_for(asyncio.gather(*calls), WAIT)
        w.cancel()
        return threads, counts, res
    try:
        threads, counts, res = asyncio.run(main())
    finally:
        srv.close()
    assert res == [(b"call %d" % k)[::-1] for k in range(N)]
    assert counts and all(c == threads for c in counts)
    assert not srv.errors


def test_cancelled_call_then_more():
    got = []
    release = {1: threading.Event(), 3: threading.Event()}

    def handler(msg):
        got.append(msg.type)
        if msg.type in release:
            # held until the caller gave up: the respond then fails
            release[msg.type].wait(WAIT)
            with pytest.raises(OSError):
                msg.respond(b"late")
            return
        msg.respond(b"ok")

    srv = Server(handler, "/py/acall-cancel")

    async def main():
        threads = threading.active_count()
        task = asyncio.ensure_future(aio.call("/py/acall-cancel", b"x", type=1))
        for _ in range(int(WAIT / 0.01)):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got == [1] and not task.done()
        assert threading.active_count() == threads
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release[1].set()
        # a timeout abandons a call too; calls go on afterwards
        with pytest.raises(TimeoutError):
            await aio.call("/py/acall-cancel", b"y", timeout=0.05, type=3)
        release[3].set()
        return await aio.send("/py/acall-cancel", b"z", timeout=WAIT, type=2)
    try:
        r = asyncio.run(main())
        assert msgport.call("/py/acall-cancel", b"w", timeout=WAIT, type=2) == b"ok"
    finally:
        srv.close()
    assert r.data == b"ok" and r.err == 0 and r.fds == []
    assert got == [1, 3, 2, 2]
    assert not srv.errors
