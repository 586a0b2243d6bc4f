#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A NumPy image passed between two processes without a copy.

The parent serves /demo/py-image; a child process draws a 1024x768 RGB
image straight into pages (msgport.pages, numpy.frombuffer) and calls the
parent with them shared.  The parent's view of the image is the child's
pages, mapped: it computes the mean colour in place, and inverts the
image through its own mapping, which the child then sees in its array.
Usage: numpy_image.py
"""
import os
import subprocess
import sys

import numpy as np

import msgport

H, W = 768, 1024
PATH = "/demo/py-image"


def child():
    buf = msgport.pages(H * W * 3)
    img = np.frombuffer(buf, dtype=np.uint8).reshape(H, W, 3)
    img[:, :, 0] = np.arange(W, dtype=np.uint16) % 256      # red: a ramp
    img[:, :, 1] = 128
    img[:, :, 2] = (np.arange(H, dtype=np.uint16) % 256)[:, None]
    mean = msgport.call(PATH, buf, timeout=30)
    print("child: the server saw mean colour", mean.decode())
    ok = img[0, 0, 1] == 255 - 128
    print("child: after the call my image is inverted:", bool(ok))
    return 0 if ok else 1


def parent():
    with msgport.Port() as port:
        port.register(PATH)
        kid = subprocess.Popen([sys.executable, __file__, "child"])
        msg = port.recv(timeout=30)
        shared = bool(msg.flags & msgport.SHARE)
        pages = msg.keep()                  # the child's pages, writable, mapped here
        img = np.frombuffer(pages, dtype=np.uint8).reshape(H, W, 3)
        mean = img.reshape(-1, 3).mean(axis=0)
        np.subtract(255, img, out=img)       # in place: the child sees it
        print("parent: received %d bytes as pages (shared: %s), pid %d" % (len(msg.data), shared, msg.pid))
        msg.respond(("%.1f %.1f %.1f" % tuple(mean)).encode())
        rc = kid.wait(timeout=30)
        return rc if shared else 1


if __name__ == "__main__":
    sys.exit(child() if sys.argv[1:] == ["child"] else parent())
