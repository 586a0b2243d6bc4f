#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python benchmark row: a 64-byte call and a 1 MiB call in pages with
msgport, against multiprocessing.Pipe and a Unix socket, in the same run
(a server process each, echoing 64 bytes or answering 8 bytes to 1 MiB).
Prints microseconds per round trip and the ratio to msgport.

Usage: bench.py [SECONDS_PER_ROW]   (default 1.0; figures are only
comparable within one run on one machine)
"""
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time

import msgport

MIB = 1 << 20


def timed(fn, seconds):
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(100 if n < 1000 else 1000):
            fn()
        n += 100 if n < 1000 else 1000
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return dt / n * 1e6


def msgport_server(path, ready):
    with msgport.Port() as port:
        port.register(path)
        ready.set()
        while True:
            m = port.recv()
            if m.kind != msgport.CALL:
                return
            m.respond(m.data if len(m.data) <= 64 else b"%8d" % len(m.data))


def pipe_server(conn):
    while True:
        b = conn.recv_bytes()
        if not b:
            return
        conn.send_bytes(b if len(b) <= 64 else b"%8d" % len(b))


def recv_exact(s, n):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = s.recv_into(view[got:])
        if not k:
            raise EOFError
        got += k
    return buf


def sock_server(path, ready):
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(1)
    ready.set()
    s, _ = ls.accept()
    while True:
        try:
            n = int.from_bytes(recv_exact(s, 4), "little")
        except EOFError:
            return
        b = recv_exact(s, n)
        s.sendall(bytes(b) if n <= 64 else b"%8d" % n)


def main(seconds):
    ctx = mp.get_context("fork")
    path = "/bench/py-%d" % os.getpid()
    ready = ctx.Event()
    srv = ctx.Process(target=msgport_server, args=(path, ready))
    srv.start()
    ready.wait(30)
    oid = msgport.lookup(path)
    small = b"x" * 64
    pages = msgport.pages(MIB)
    rows = {"msgport": (timed(lambda: msgport.call(oid, small, reply_size=64), seconds),
                        timed(lambda: msgport.call(oid, pages, reply_size=64), seconds))}
    msgport.send_async(oid, b"")
    srv.join(30)

    a, b = ctx.Pipe()
    srv = ctx.Process(target=pipe_server, args=(b,))
    srv.start()
    big = bytes(MIB)

    def pipe_call(data):
        a.send_bytes(data)
        return a.recv_bytes()
    rows["multiprocessing.Pipe"] = (timed(lambda: pipe_call(small), seconds),
                                    timed(lambda: pipe_call(big), seconds))
    a.send_bytes(b"")
    srv.join(30)

    d = tempfile.mkdtemp()
    spath = os.path.join(d, "s")
    ready = ctx.Event()
    srv = ctx.Process(target=sock_server, args=(spath, ready))
    srv.start()
    ready.wait(30)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(spath)

    def sock_call(data, answer):
        c.sendall(len(data).to_bytes(4, "little") + data if len(data) <= 64 else len(data).to_bytes(4, "little"))
        if len(data) > 64:
            c.sendall(data)
        return recv_exact(c, answer)
    rows["Unix socket"] = (timed(lambda: sock_call(small, 64), seconds),
                           timed(lambda: sock_call(big, 8), seconds))
    c.close()
    srv.join(30)
    os.unlink(spath)
    os.rmdir(d)

    base = rows["msgport"]
    print("%-22s %14s %8s %16s %8s" % ("python, same run", "64 B call us", "ratio", "1 MiB call us", "ratio"))
    for name, (t64, t1m) in rows.items():
        print("%-22s %14.2f %8.2f %16.2f %8.2f" % (name, t64, t64 / base[0], t1m, t1m / base[1]))
    print("(ratio: time / msgport's; msgport's 1 MiB travels as pages, MP_SHARE)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
