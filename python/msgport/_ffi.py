# SPDX-License-Identifier: MIT
"""The compiled extension (build_msgport.py), errors and timeouts."""
import os
import sys

try:
    from _msgport_cffi import ffi, lib
except ImportError:  # in the source tree: the extension is in build/python
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path.append(os.path.join(_here, "..", "..", os.environ.get("B", "build"), "python"))
    from _msgport_cffi import ffi, lib

__all__ = ["ffi", "lib", "error", "check", "timeout_ns", "strerror"]


def strerror(err):
    """Text for an errno value (positive or negative), as mp_strerror()."""
    return ffi.string(lib.mp_strerror(-abs(err))).decode()


def error(rc):
    """The exception for a negative errno rc: OSError picks the subclass
    (ETIMEDOUT TimeoutError, EPIPE BrokenPipeError, EACCES
    PermissionError, ENOENT FileNotFoundError, EAGAIN BlockingIOError)."""
    return OSError(-rc, strerror(rc))


def check(rc):
    """rc when it is not negative, else raise its exception."""
    if rc < 0:
        raise error(rc)
    return rc


def timeout_ns(timeout):
    """Seconds (None: no limit, 0: poll) as the library's nanoseconds."""
    if timeout is None:
        return lib.MP_FOREVER
    if timeout < 0:
        raise ValueError("timeout must be None or >= 0 seconds")
    ns = int(timeout * 1e9)
    return ns if ns > 0 or timeout == 0 else 1
