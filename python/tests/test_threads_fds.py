# SPDX-License-Identifier: MIT
"""The GIL is released around the C calls; descriptors in and out."""
import os
import socket
import stat
import tempfile
import threading

import pytest

import msgport
from conftest import WAIT, open_fds


def test_gil_released_while_calling_own_server(serve):
    # The server runs Python code in a thread of this process while the
    # caller waits inside mp_send: that can only happen if the call let
    # go of the GIL (else this is a TimeoutError after WAIT seconds).
    serve(lambda m: m.respond(b"%d" % threading.get_ident()), "/py/gil")
    assert int(msgport.call("/py/gil", timeout=WAIT)) != threading.get_ident()


def test_gil_released_while_receiving():
    ticks = []
    with msgport.Port() as port:
        inside = threading.Event()

        def receiver():
            inside.set()
            with pytest.raises(TimeoutError):
                port.recv(timeout=1.0)
        t = threading.Thread(target=receiver)
        t.start()
        inside.wait(WAIT)
        while t.is_alive():             # runs only if recv let go of the GIL
            ticks.append(1)
            t.join(0.01)
    assert len(ticks) > 5


def test_many_threads_call_and_receive(serve):
    serve(lambda m: m.respond(m.data), "/py/mt")
    serve(lambda m: m.respond(m.data), "/py/mt2")
    bad = []

    def client(k):
        for j in range(50):
            data = b"%d-%d" % (k, j)
            if msgport.call("/py/mt" if k % 2 else "/py/mt2", data, timeout=WAIT) != data:
                bad.append(data)
    ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(WAIT * 2)
    assert not bad


def test_fds_as_ints_and_files_in_ints_out(serve):
    def handler(msg):
        assert len(msg.fds) == 2
        for fd in msg.fds:      # the server's own copies: written, then closed
            os.write(fd, b"via fd %d;" % msg.fds.index(fd))
            os.close(fd)
        msg.respond(b"ok")
    serve(handler, "/py/fds")
    r, w = os.pipe()
    with tempfile.TemporaryFile() as f:
        assert msgport.call("/py/fds", fds=[w, w], timeout=WAIT) == b"ok"
        assert os.read(r, 100) == b"via fd 0;via fd 1;"
        before = open_fds()             # the connection is open now
        assert msgport.call("/py/fds", fds=[w, f], timeout=WAIT) == b"ok"
        assert open_fds() == before     # nothing of ours consumed, nothing leaked
        os.close(w)
        assert os.read(r, 100) == b"via fd 0;"
        f.seek(0)
        assert f.read() == b"via fd 1;"
    os.close(r)


def test_fds_in_the_answer(serve):
    a, b = socket.socketpair()

    def handler(msg):
        msg.respond(b"here", fds=[b])
    serve(handler, "/py/fdout")
    assert msgport.call("/py/fdout", timeout=WAIT) == b"here"      # connected
    before = open_fds()
    r = msgport.send("/py/fdout", timeout=WAIT)
    assert len(r.fds) == 1 and r.fds[0] != b.fileno()
    assert stat.S_ISSOCK(os.fstat(r.fds[0]).st_mode)
    with socket.socket(fileno=r.fds[0]) as mine:        # the caller owns it
        mine.send(b"ping")
        assert a.recv(4) == b"ping"
    assert open_fds() == before
    assert msgport.call("/py/fdout", timeout=WAIT) == b"here"   # call() closes them
    assert open_fds() == before
    a.close()
    b.close()


def test_too_many_fds():
    with pytest.raises(ValueError):
        msgport.send_async(1, fds=[0] * (msgport.FDS_MAX + 1))
