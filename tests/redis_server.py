"""Debian's redis-server for the tests: a server of a test's own (that it may stop and start
again, as an outage), or the one .ci/run starts (``TEST_REDIS_URL``), one database number per
test process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.processes import free_port, stop

BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"
AVAILABLE = os.path.exists(BINARY) or bool(os.environ.get("TEST_REDIS_URL"))
needs_redis = pytest.mark.skipif(
    not AVAILABLE, reason="needs Redis: Debian's redis-server (.ci/run installs it)"
)


class RedisServer:
    """One redis-server on 127.0.0.1, without persistence (a restart loses every key: what is
    recovered after an outage comes from the database, not from Redis)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop([self.process])
            self.process = None


@pytest.fixture
def redis_server(tmp_path) -> RedisServer:
    """A redis-server of this test's own, stopped at the end."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _shared_redis(tmp_path_factory, worker_id) -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if url:  # one database number per test process (xdist worker), emptied first
        parts = urlsplit(url)
        number = 1 + (int(worker_id[2:]) if worker_id.startswith("gw") else 0)
        yield f"{parts.scheme}://{parts.netloc}/{number}"
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(_shared_redis) -> str:
    """A running Redis to use (not to stop), empty."""
    import redis

    redis.Redis.from_url(_shared_redis).flushdb()
    return _shared_redis
