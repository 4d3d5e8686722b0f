"""DATABASE_POOL=N: on PostgreSQL each server process keeps at most N connections, however many
threads serve requests (psycopg's pool, through Django's "pool" option)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("DATABASE_URL", "")

SCRIPT = """
import threading
import django
django.setup()
from django.db import connection

pids, lock = set(), threading.Lock()

def work():
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.02)")
            pid = cursor.fetchone()[0]
        connection.close()  # back to the pool
        with lock:
            pids.add(pid)

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(pids), connection.settings_dict["CONN_MAX_AGE"])
"""


@pytest.mark.skipif(not URL.startswith("postgres"), reason="a PostgreSQL setting")
@pytest.mark.parametrize("size", [1, 2])
def test_threads_share_at_most_the_pools_connections(size):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "DATABASE_POOL": str(size),
           "CONN_MAX_AGE": "60"}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout.split()  # fmt: skip
    assert int(out[0]) <= size  # 8 threads, 24 queries, at most `size` server processes
    assert out[1] == "0"  # persistent connections are the pool's job


@pytest.mark.parametrize(("value", "disabled"), [("1", "True"), ("0", "False")])
def test_pgbouncer_mode_turns_server_side_cursors_and_binding_off(value, disabled):
    """Behind PgBouncer, no server-side cursor and no statement prepared on a server
    connection; without it, statements are bound (and prepared) on the server."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "DATABASE_PGBOUNCER": value,
           "DATABASE_URL": "postgres://user:password@127.0.0.1:6432/crm"}  # fmt: skip
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(db.get('DISABLE_SERVER_SIDE_CURSORS', False), db['OPTIONS']['server_side_binding'],"
        " db['OPTIONS']['prepare_threshold'])"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout  # fmt: skip
    cursors_off, binding, threshold = out.split()
    assert cursors_off == disabled
    assert binding == ("False" if disabled == "True" else "True")
    assert threshold == ("None" if disabled == "True" else "5")


@pytest.mark.skipif(not URL.startswith("postgres"), reason="a PostgreSQL setting")
@pytest.mark.django_db
def test_a_statement_sent_again_and_again_is_prepared_on_the_server():
    """PostgreSQL then neither parses nor plans it again (Django leaves psycopg's preparing
    off unless the settings ask for it)."""
    from django.db import connection

    from leads.models import Status

    for _ in range(6):
        list(Status.objects.filter(key="prospect"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any('FROM "leads_status"' in statement for statement in statements), statements
