"""The database out of reach while the app runs: each API answers 503 with ``Retry-After`` in
its own JSON format (never an HTML error page), and serves again once the database is back.

A gunicorn server of the app reaches the test's PostgreSQL server through a TCP relay; the
outage is the relay stopping (its port refuses connections and the open ones drop), exactly
what the app sees when the database server stops. PostgreSQL only: SQLite cannot go away.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from crm.roles import Role
from crm.services import api_key_create
from crm.tokens import issue_access_token
from tests.factories import UserFactory
from tests.processes import free_port

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a database server that can go away"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class Relay:
    """TCP from 127.0.0.1:<port> to the database server, up or down on demand."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        assert self.listener is not None
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self.listener.close()
        for sock in self.open:
            self._close(sock)
        self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        self._close(source)
        self._close(sink)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture
def relay() -> Relay:
    db = connection.settings_dict
    relay = Relay((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    relay.up()
    yield relay
    if relay.listener is not None and relay.listener.fileno() != -1:
        relay.down()


@pytest.fixture
def server(relay, tmp_path: Path):
    """gunicorn (1 worker, DEBUG=0) on the test database, through the relay."""
    db = connection.settings_dict
    user, password = quote(db["USER"] or "", safe=""), quote(db["PASSWORD"] or "", safe="")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DATABASE_URL": f"postgres://{user}:{password}@127.0.0.1:{relay.port}/{db['NAME']}",
        "DEBUG": "0",
        "SECRET_KEY": django_settings.SECRET_KEY,  # signs the tokens issued here
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "CRITICAL",
    }
    log = (tmp_path / "server.log").open("w")
    command = [sys.executable, "-m", "gunicorn", "crm.wsgi", "--workers", "1"]
    command += ["--bind", f"127.0.0.1:{port}", "--chdir", str(django_settings.BASE_DIR)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (tmp_path / "server.log").read_text()
        try:
            urllib.request.urlopen(f"{base}/accounts/login/", timeout=5)
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=15)
    log.close()


def send(url: str, *, body: dict | None = None, headers: dict[str, str]):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def test_every_api_answers_503_in_its_own_format_while_the_database_is_away(server, relay):
    key = api_key_create(name="Partner integration")[1]
    account_id, _dot, secret = key.partition(".")
    user = UserFactory(role=Role.SALES_MANAGER)
    rest = {"apikey": key, "Authorization": f"Bearer {issue_access_token(user)}"}
    rpc = {"X-Account-Id": account_id, "X-Secret-Key": secret}
    call = {"method": "getFields", "params": {"limit": 1}, "id": "r1"}
    lead = {"mode": "insert", "first_name": "Ada", "email": "ada@example.com"}

    def everything():
        return (
            send(f"{server}/api/v1/leads/list/", headers=rest),
            send(f"{server}/pubapi/v1/", body=call, headers=rpc),
            send(f"{server}/api/service/lead_set", body=lead, headers={"apikey": key}),
        )

    (status, _, _), (rpc_status, _, _), (set_status, _, _) = everything()
    assert (status, rpc_status, set_status) == (200, 200, 200)

    relay.down()
    (status, headers, raw), (rpc_status, rpc_headers, rpc_raw), (set_status, _, set_raw) = (
        everything()
    )
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == "5"
    assert json.loads(raw) == {
        "status_code": 503,
        "error_type": "Service Unavailable",
        "errors": {
            "detail": [
                "The service is temporarily unavailable. Nothing was changed; try again shortly."
            ]
        },
        "data": {},
    }
    assert rpc_status == 503 and rpc_headers["Retry-After"] == "5"
    answer = json.loads(rpc_raw)
    assert answer["result"] is None and answer["error"]["code"] == 503
    assert answer["error"]["message"] == "Service temporarily unavailable."
    assert set_status == 503 and json.loads(set_raw)["status"] == 18

    relay.up()  # the database is back: so is the service
    (status, _, _), (rpc_status, _, _), (set_status, _, set_raw) = everything()
    assert (status, rpc_status, set_status) == (200, 200, 200)
    assert json.loads(set_raw)["status"] == 0
