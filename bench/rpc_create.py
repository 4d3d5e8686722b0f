"""Leads per second through the JSON-RPC ``createLeads``, end to end over HTTP.

    .venv/bin/python bench/rpc_create.py [--calls 40] [--clients 4] [--workers 2]
    DATABASE_URL=postgres://... .venv/bin/python bench/rpc_create.py

Migrates a scratch database (SQLite ``bench/rpc.sqlite3`` unless ``DATABASE_URL`` names another,
e.g. PostgreSQL), starts gunicorn on 127.0.0.1 with ``--workers`` processes, and has
``--clients`` threads send ``--calls`` createLeads calls of 500 new leads each (every lead with
a name, email, phone, company, status and a custom field), as a partner's code would. Prints
the wall time, leads/s, and the median and worst call. The API key's rate limit is raised for
the run (the default, 10 calls/s, is itself 5,000 leads/s at 500 per call), and the server
keeps its database connections between requests (``CONN_MAX_AGE=60``, as a production
deployment does; set ``CONN_MAX_AGE=0`` to measure a connection per request).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'bench' / 'rpc.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CONN_MAX_AGE", "60")
os.environ["RATE_LIMIT_PER_SECOND"] = "100000"
os.environ["RATE_LIMIT_PER_DAY"] = "100000000"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from crm.services import api_key_create  # noqa: E402
from leads.models import Field  # noqa: E402
from leads.services import field_create  # noqa: E402

PER_CALL = 500
STATUSES = ["open", "qualified", "contact", "unqualified"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def batch(run: str, call: int, custom: str) -> bytes:
    objects = [
        {
            "firstName": f"First{i}",
            "lastName": f"Last {call}-{i}",
            "emailAddress": f"{run}.{call}.{i}@bench.example.com",
            "phoneNumber": f"555{call:03d}{i:04d}",
            "companyName": f"Company {i % 97}",
            "leadStatus": STATUSES[i % len(STATUSES)],
            custom: f"value {i}",
        }
        for i in range(PER_CALL)
    ]
    body = {"method": "createLeads", "params": {"objects": objects}, "id": call}
    return json.dumps(body).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    field = Field.objects.filter(label="Bench budget").first() or field_create(label="Bench budget")
    _key, raw = api_key_create(name="createLeads benchmark")
    account_id, _dot, secret = raw.partition(".")
    run = str(int(time.time()))
    bodies = [batch(run, call, field.system_name) for call in range(args.calls)]
    connection.close()

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "crm.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "0", "SECRET_KEY": "bench-" * 8, "ALLOWED_HOSTS": "127.0.0.1"},
    )
    url = f"http://127.0.0.1:{port}/pubapi/v1/?accountID={account_id}&secretKey={secret}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/pubapi/v1/", timeout=1)
            except urllib.error.HTTPError:
                break  # the endpoint answers (405 to a GET): the server is up
            except OSError:
                time.sleep(0.1)
        times: list[float] = []
        lock = threading.Lock()

        def send(body: bytes) -> int:
            request = urllib.request.Request(
                url, body, {"Content-Type": "application/json"}, method="POST"
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.load(response)
            elapsed = time.perf_counter() - started
            with lock:
                times.append(elapsed)
            creates = answer["result"]["creates"]
            return sum(1 for c in creates if c["success"] == "true")

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            created = sum(pool.map(send, bodies))
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    vendor = connection.vendor
    print(
        f"{vendor}: {created} leads in {args.calls} createLeads calls of {PER_CALL} "
        f"({args.clients} clients, {args.workers} gunicorn workers): {wall:.2f} s, "
        f"{created / wall:,.0f} leads/s; call median {statistics.median(times) * 1000:.0f} ms, "
        f"worst {max(times) * 1000:.0f} ms"
    )
    if created != args.calls * PER_CALL:
        sys.exit(f"expected {args.calls * PER_CALL} leads, created {created}")


if __name__ == "__main__":
    main()
