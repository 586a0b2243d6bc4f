# SPDX-License-Identifier: MIT
"""Fixtures: a private namespace root per test, servers in threads, and
Python children that run with the same package."""
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
TOP = os.path.dirname(PYDIR)
BUILD = os.path.join(TOP, os.environ.get("B", "build"))
sys.path[:0] = [os.path.join(BUILD, "python"), PYDIR]

import msgport  # noqa: E402

WAIT = 30       # seconds: generous, for a loaded 2-core machine


# One private root for the session: the library caches connections by
# port number, so a process does not switch roots under live caches.
ROOT = tempfile.mkdtemp(prefix="mp-py.")
os.environ["MSGPORT_ROOT"] = ROOT
os.environ["PYTHONPATH"] = os.pathsep.join([os.path.join(BUILD, "python"), PYDIR])


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(ROOT, ignore_errors=True)


class Server:
    """A port served by handler(msg) in a thread until the port closes."""

    def __init__(self, handler, path=None, **opts):
        self.port = msgport.Port(**opts)
        if path:
            self.port.register(path)
        self.handler, self.errors = handler, []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                msg = self.port.recv()
            except (BrokenPipeError, FileNotFoundError, ValueError):
                return                  # closed (during or before the recv)
            try:
                self.handler(msg)
            except Exception as e:  # reported by close()
                self.errors.append(e)
            del msg                     # a call left unanswered is answered now

    def close(self):
        self.port.close()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors


@pytest.fixture
def serve():
    made = []

    def start(handler, path=None, **opts):
        s = Server(handler, path, **opts)
        made.append(s)
        return s
    yield start
    for s in made:
        s.close()


def echo(msg):
    if msg.kind == msgport.CALL:
        msg.respond(msg.data, err=msg.type)


def run_child(code, *args, check=True):
    """Run Python code in a child process (msgport importable)."""
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       timeout=WAIT * 2)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


def open_fds():
    return set(os.listdir("/proc/self/fd"))
