#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A client of examples/fs/fs-server (the Phoenix-RTOS file server, C):
creates a file, writes it, reads it back, in Phoenix messages.
Usage: fs_client.py [MOUNT] (default /fs); run build/examples/fs/fs-server first.
"""
import sys

import msgport
from msgport import phoenix as phx


def call(oid, type, raw=None, data=b"", out=None):
    """One Phoenix call: its o.err (a count or -errno) and the reply."""
    r = msgport.send(oid, data, timeout=10, type=type, raw=raw, out=out)
    if r.err < 0:
        raise OSError(-r.err, "%s: %s" % (type, msgport.strerror(r.err)))
    return r


def main(mount):
    root, _ = msgport.lookup_dev(mount)
    name = "py-hello"
    r = call(root, phx.mtCreate, phx.pack("create", type=phx.otFile), name.encode() + b"\0")
    file = phx.unpack("ocreate", r.raw)["oid"]
    print("created %s/%s: oid %s" % (mount, name, tuple(file)))
    _, dev = msgport.lookup_dev("%s/%s" % (mount, name))
    text = b"Hello from Python, in Phoenix messages."
    call(dev, phx.mtOpen)
    n = call(dev, phx.mtWrite, phx.pack("io", offs=0), text).err
    buf = bytearray(128)
    got = call(dev, phx.mtRead, phx.pack("io", offs=0, len=len(buf)), out=buf).err
    call(dev, phx.mtClose)
    print("wrote %d bytes, read back %d: %r" % (n, got, bytes(buf[:got])))
    if bytes(buf[:got]) != text:
        print("fs_client: FAILED")
        return 1
    print("fs_client: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/fs"))
