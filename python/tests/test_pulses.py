# SPDX-License-Identifier: MIT
"""Pulses: coalescing, disconnect and death notices, pulses from fds."""
import os

import pytest

import msgport
from conftest import WAIT, run_child


def test_pulses_coalesce():
    with msgport.Port() as port:
        for v in (1, 2, 3):
            msgport.pulse(port, 5, v)
        msgport.pulse(port, 6, 60)
        got = sorted((m.kind, m.code, m.value, m.count, m.pid)
                     for m in (port.recv(timeout=WAIT), port.recv(timeout=WAIT)))
        assert got == [("pulse", 5, 3, 3, os.getpid()), ("pulse", 6, 60, 1, os.getpid())]
        with pytest.raises(BlockingIOError):
            port.recv(timeout=0)
        with pytest.raises(OSError):
            msgport.pulse(port, msgport.PULSE_DISCONNECT, 0)


def test_disconnect_notice():
    with msgport.Port(disconnect_notices=True) as port:
        port.register("/py/notices")
        p = run_child("import msgport, os; msgport.pulse('/py/notices', 1, os.getpid())")
        msgs = [port.recv(timeout=WAIT) for _ in range(2)]
        codes = sorted((m.code, m.value) for m in msgs)
        assert codes[0][0] == 1
        assert codes[1] == (msgport.PULSE_DISCONNECT, codes[0][1])     # the child's pid


def test_death_notice():
    with msgport.Port() as notify:
        watched = msgport.Port()
        notify.watch(watched, 9)
        watched.close()
        m = notify.recv(timeout=WAIT)
        assert (m.kind, m.code) == ("pulse", 9)


def test_pulse_on_eventfd():
    fd = os.eventfd(0)
    try:
        with msgport.Port() as port:
            port.pulse_on_fd(fd, 4)
            os.eventfd_write(fd, 3)
            m = port.recv(timeout=WAIT)
            assert (m.kind, m.code, m.value) == ("pulse", 4, 3)
            port.pulse_on_fd_cancel(4)
            with pytest.raises(FileNotFoundError):
                port.pulse_on_fd_cancel(4)
    finally:
        os.close(fd)
