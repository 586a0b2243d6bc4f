# SPDX-License-Identifier: MIT
"""Pages: the buffer protocol, NumPy, shared and moved without a copy."""
import numpy as np
import pytest

import msgport
from conftest import WAIT, run_child


def test_pages_buffer_protocol():
    p = msgport.pages(10000)
    assert len(p) == 10000 and bytes(p[:4]) == b"\0" * 4
    mv = memoryview(p)
    mv[:3] = b"abc"
    a = np.frombuffer(p, dtype=np.uint8)
    assert bytes(a[:3]) == b"abc"
    a[3] = 100
    assert p[3] == b"d"


def test_shared_pages_are_the_same_memory(serve):
    # The server writes through the pages it received: the caller sees it
    # in its own array, so they travelled as pages, not as a copy.
    def handler(msg):
        assert msg.flags & msgport.SHARE
        assert bytes(msg.data[:5]) == b"hello"
        kept = msg.keep()
        np.frombuffer(kept, dtype=np.uint8)[:5] = np.frombuffer(b"HELLO", dtype=np.uint8)
        msg.respond(b"%d" % len(msg.data))
    serve(handler, "/py/pages")
    p = msgport.pages(1 << 20)
    p[:5] = b"hello"
    assert msgport.call("/py/pages", p, timeout=WAIT) == b"%d" % (1 << 20)
    assert bytes(p[:5]) == b"HELLO"


def test_numpy_array_in_pages_across_processes(serve):
    def handler(msg):
        a = np.frombuffer(msg.data, dtype=np.float64)   # read in place
        msg.respond(b"%s %d %d" % (str(a.sum()).encode(), bool(msg.flags & msgport.MOVE),
                                    bool(msg.flags & msgport.SHARE)))
    serve(handler, "/py/np")
    code = """
import msgport, numpy as np, sys
buf = msgport.pages(8 * 1000)
a = np.frombuffer(buf, dtype=np.float64); a[:] = np.arange(1000)
print(msgport.call('/py/np', buf, timeout=30).decode())
del a
buf2 = msgport.pages(8 * 1000)
np.frombuffer(buf2, dtype=np.float64)[:] = 2.0
print(msgport.call('/py/np', buf2, timeout=30, move=True).decode())
"""
    out = run_child(code).stdout.split("\n")
    assert out[0] == "499500.0 0 1"      # shared
    assert out[1] == "2000.0 1 0"        # moved


def test_pages_answer_in_place(serve):
    def handler(msg):
        ans = msgport.pages(4096)
        ans[:4] = b"page"
        msg.respond(ans)
    serve(handler, "/py/pans")
    out = msgport.pages(4096)
    r = msgport.send("/py/pans", out=out, timeout=WAIT)
    assert bytes(r.data) == b"page" + b"\0" * 4092
    assert bytes(out[:4]) == b"page"


def test_kept_pages_need_pages(serve):
    errors = []

    def handler(msg):
        with pytest.raises(ValueError):
            msg.keep()
        msg.respond()
    serve(handler, "/py/nokeep")
    msgport.call("/py/nokeep", b"plain bytes", timeout=WAIT)
