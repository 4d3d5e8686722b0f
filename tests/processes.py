"""Servers the tests start in processes of their own: a free port to give one, and stopping
them all, whatever happened."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterable


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(processes: Iterable[subprocess.Popen]) -> None:
    """SIGTERM to each, then up to 15 seconds each to exit before it is killed."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def interrupt(session: subprocess.Popen, timeout: float = 30) -> None:
    """Ctrl-C as a terminal sends it: SIGINT to every process of the session the process leads
    (started with ``start_new_session=True``); SIGKILL to them if it has not exited in time."""
    os.killpg(session.pid, signal.SIGINT)
    try:
        session.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(session.pid, signal.SIGKILL)
        session.wait()
