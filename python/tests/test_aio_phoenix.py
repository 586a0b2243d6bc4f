# SPDX-License-Identifier: MIT
"""asyncio (no thread per port), the Phoenix types, the examples."""
import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest

import msgport
from msgport import aio, phoenix
from conftest import BUILD, PYDIR, WAIT, echo


def test_await_recv_beside_other_work():
    async def main():
        port = aio.Port()
        port.register("/py/aio")
        ticks = 0
        threads = threading.active_count()

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def server(n):
            for _ in range(n):
                msg = await port.recv()
                assert threading.active_count() == threads or msg   # no thread of ours
                msg.respond(bytes(msg.data)[::-1])
        t = asyncio.ensure_future(ticker())
        srv = asyncio.ensure_future(server(3))
        r1 = await aio.call("/py/aio", b"abc", timeout=WAIT)
        r2 = await msgport.call_async("/py/aio", b"xyz", timeout=WAIT)
        r3 = await aio.send("/py/aio", b"12", timeout=WAIT)
        await asyncio.wait_for(srv, WAIT)
        t.cancel()
        with pytest.raises(TimeoutError):
            await port.recv(timeout=0.05)
        port.close()
        return r1, r2, r3.data, ticks
    r1, r2, r3, ticks = asyncio.run(main())
    assert (r1, r2, r3) == (b"cba", b"zyx", b"21")
    assert ticks >= 1


def test_await_recv_no_thread_while_waiting():
    async def main():
        with aio.Port() as port:
            before = threading.active_count()
            task = asyncio.ensure_future(port.recv())
            await asyncio.sleep(0.1)
            during = threading.active_count()
            assert not task.done()
            msgport.pulse(port, 2, 22)      # never blocks: fine inside the loop
            m = await asyncio.wait_for(task, WAIT)
            return before, during, (m.kind, m.code, m.value)
    before, during, got = asyncio.run(main())
    assert before == during and got == ("pulse", 2, 22)


def test_phoenix_constants_and_parts():
    assert phoenix.mtLookup == msgport.MT_LOOKUP
    assert (phoenix.mtOpen, phoenix.mtRead, phoenix.otFile) == (0, 2, 1)
    raw = phoenix.pack("io", offs=12, len=34, mode=1)
    assert len(raw) == msgport.RAW_SIZE
    assert phoenix.unpack("io", raw) == {"offs": 12, "len": 34, "mode": 1}
    back = phoenix.unpack("lookup", phoenix.pack("lookup", fil=(3, 4), dev=msgport.Oid(5, 6)))
    assert back == {"fil": (3, 4), "dev": (5, 6)}
    with pytest.raises(ValueError):
        phoenix.pack("nonsense")


def test_python_mount_point_answers_lookups(serve):
    def handler(msg):
        if msg.type == phoenix.mtLookup:
            rest = bytes(msg.data).rstrip(b"\0")
            me = (msg.oid.port, 100 + len(rest))
            msg.respond(raw=phoenix.pack("lookup", fil=me, dev=me), err=len(rest))
        else:
            msg.respond(b"obj %d" % msg.oid.id)
    s = serve(handler)
    s.port.mount("/py/mnt")
    f, d = msgport.lookup_dev("/py/mnt/abc")
    assert f == d == (s.port.number, 103)
    assert msgport.call(d, timeout=WAIT) == b"obj 103"


def run_example(args, **kw):
    env = dict(os.environ)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=WAIT * 2, env=env, **kw)


def test_example_fs_client():
    server = os.path.join(BUILD, "examples", "fs", "fs-server")
    if not os.access(server, os.X_OK):
        pytest.skip("build/examples/fs/fs-server not built")
    srv = subprocess.Popen([server, "/fs"], stdout=subprocess.PIPE, text=True)
    try:
        assert "mounted" in srv.stdout.readline()
        p = run_example([os.path.join(PYDIR, "examples", "fs_client.py"), "/fs"])
        assert p.returncode == 0 and "all checks passed" in p.stdout, p.stdout + p.stderr
    finally:
        srv.kill()
        srv.wait()


def test_example_numpy_image():
    p = run_example([os.path.join(PYDIR, "examples", "numpy_image.py")])
    assert p.returncode == 0, p.stdout + p.stderr
    assert "inverted: True" in p.stdout and "shared: True" in p.stdout


def test_example_echo_server():
    srv = subprocess.Popen([sys.executable, os.path.join(PYDIR, "examples", "echo_server.py"),
                            "/py/ex-echo"], stdout=subprocess.PIPE, text=True)
    try:
        assert "serving" in srv.stdout.readline()
        assert msgport.call("/py/ex-echo", b"echo me", timeout=WAIT) == b"echo me"
        msgport.send_async("/py/ex-echo", b"quit", timeout=WAIT)
        assert srv.wait(WAIT) == 0
    finally:
        srv.kill()
