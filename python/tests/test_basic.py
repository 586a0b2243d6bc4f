# SPDX-License-Identifier: MIT
"""Ports, the namespace, calls, errors carrying errno, one-way sends."""
import errno
import os
import threading
import time

import pytest

import msgport
from conftest import WAIT, echo, run_child


def test_register_lookup_unregister():
    with msgport.Port() as port:
        port.register("/py/reg/a", 0o600)
        port.register("/py/reg/b", 0o644, id=7)
        assert msgport.lookup("/py/reg/a") == msgport.Oid(port.number, 0)
        assert msgport.lookup("/py/reg/b") == (port.number, 7)
        paths = [(e.path, e.mode, e.live) for e in msgport.entries("/py/reg")]
        assert paths == [("/py/reg/a", 0o600, True), ("/py/reg/b", 0o644, True)]
        with pytest.raises(FileExistsError):
            port.register("/py/reg/a")
        msgport.unregister("/py/reg/a")
        with pytest.raises(FileNotFoundError) as e:
            msgport.lookup("/py/reg/a")
        assert e.value.errno == errno.ENOENT
    with pytest.raises(FileNotFoundError):
        msgport.lookup("/py/reg/b")     # went with the port


def test_bad_arguments():
    with pytest.raises(OSError) as e:
        msgport.lookup("relative")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        msgport.call(1, "a str is not bytes")
    with pytest.raises(TypeError):
        msgport.resolve(1.5)
    with pytest.raises(ValueError):
        msgport.pages(0)
    with pytest.raises(ValueError):
        msgport.call(1, b"", timeout=-1)
    port = msgport.Port()
    port.close()
    port.close()
    with pytest.raises(ValueError):
        port.recv(timeout=0)


def test_call_echo_message_fields(serve):
    seen = []

    def handler(msg):
        seen.append((msg.kind, msg.type, bytes(msg.data), type(msg.data), msg.pid, msg.uid,
                     msg.oid, msg.raw[:3], msg.fds))
        msg.respond(bytes(msg.data).upper(), raw=b"RAW")
    s = serve(handler, "/py/echo")
    r = msgport.send("/py/echo", b"hello", timeout=WAIT, type=42, raw=b"abc")
    assert r.data == b"HELLO" and r.err == 0 and r.fds == [] and r.raw[:3] == b"RAW"
    assert seen == [("call", 42, b"hello", memoryview, os.getpid(), os.getuid(),
                     (s.port.number, 0), b"abc", [])]
    assert msgport.call(s.port, b"x" * 5000, timeout=WAIT) == b"X" * 5000


def test_call_from_another_process(serve):
    s = serve(echo, "/py/echo")
    p = run_child("import msgport, os; print(msgport.call('/py/echo', b'from %d' % os.getpid(), timeout=30).decode())")
    assert p.stdout.startswith("from ")
    assert msgport.call("/py/echo", b"", timeout=WAIT) == b""


def test_server_status_raises_its_errno(serve):
    def handler(msg):
        msg.respond(err=-msg.type)
    serve(handler, "/py/err")
    for code, exc in [(errno.EACCES, PermissionError), (errno.ENOENT, FileNotFoundError),
                      (errno.ETIMEDOUT, TimeoutError), (errno.EPIPE, BrokenPipeError)]:
        with pytest.raises(exc) as e:
            msgport.call("/py/err", type=code, timeout=WAIT)
        assert e.value.errno == code
    assert msgport.send("/py/err", type=0, timeout=WAIT).err == 0


def test_call_timeout():
    with msgport.Port() as port:        # nobody receives
        port.register("/py/slow")
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as e:
            msgport.call("/py/slow", b"x", timeout=0.2)
        assert e.value.errno == errno.ETIMEDOUT
        assert time.monotonic() - t0 >= 0.2
        with pytest.raises(BlockingIOError):
            port.recv(timeout=0) if False else msgport.call("/py/slow", b"x", timeout=0)
        m = port.recv(timeout=WAIT)     # the timed-out call is still queued, or gone
        if m.kind == msgport.CALL:
            with pytest.raises(OSError):
                m.respond(b"late")
        with pytest.raises(TimeoutError):
            port.recv(timeout=0.05)


def test_server_gone_is_broken_pipe():
    port = msgport.Port()
    port.register("/py/dying")
    got = threading.Event()

    def server():
        msg = port.recv(timeout=WAIT)
        got.set()
        port.close()                    # destroyed before answering
        del msg
    t = threading.Thread(target=server)
    t.start()
    with pytest.raises(BrokenPipeError) as e:
        msgport.call("/py/dying", b"?", timeout=WAIT)
    assert e.value.errno == errno.EPIPE and got.is_set()
    t.join(WAIT)
    with pytest.raises(FileNotFoundError):
        msgport.call("/py/dying", b"?", timeout=WAIT)


def test_unanswered_call_is_answered_epipe(serve):
    serve(lambda msg: None, "/py/drop")      # drops every message
    with pytest.raises(BrokenPipeError):
        msgport.call("/py/drop", b"?", timeout=WAIT)


def test_respond_once_and_capacity(serve):
    results = []
    handled = threading.Event()     # the handler goes on after it responds

    def handler(msg):
        if msg.kind != msgport.CALL:
            return
        try:
            msg.respond(b"x" * (msg.capacity + 1))
        except OSError as e:
            results.append(e.errno)
        msg.out[:2] = b"ok"
        msg.respond(size=2)
        with pytest.raises(ValueError):
            msg.respond(b"again")
        results.append("done")
        handled.set()
    serve(handler, "/py/cap")
    assert msgport.call("/py/cap", b"", timeout=WAIT, reply_size=16) == b"ok"
    assert handled.wait(WAIT)
    assert results == [errno.EMSGSIZE, "done"]
    with pytest.raises(ValueError):
        msgport.send_async("/py/cap", raw=b"r" * 65)


def test_send_async_one_way(serve):
    got = []
    done = threading.Event()

    def handler(msg):
        got.append((msg.kind, bytes(msg.data)))
        with pytest.raises(ValueError):
            msg.respond(b"no answer to one-way")
        if len(got) == 3:
            done.set()
    serve(handler, "/py/oneway")
    for k in range(3):
        assert msgport.send_async("/py/oneway", b"m%d" % k, timeout=WAIT) in (True, False)
    assert done.wait(WAIT)
    assert got == [("oneway", b"m0"), ("oneway", b"m1"), ("oneway", b"m2")]   # in order


def test_respond_from_another_thread(serve):
    import queue
    q = queue.Queue()

    def answerer():
        while True:
            msg = q.get()
            if msg is None:
                return
            msg.respond(b"answered by %d" % threading.get_ident())
    t = threading.Thread(target=answerer)
    t.start()
    serve(q.put, "/py/handoff")
    try:
        assert msgport.call("/py/handoff", timeout=WAIT) == b"answered by %d" % t.ident
    finally:
        q.put(None)
        t.join(WAIT)
