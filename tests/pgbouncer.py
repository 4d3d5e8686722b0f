"""The tests through PgBouncer (``make test-pgbouncer``; .ci/run's third run).

``TEST_PGBOUNCER=host:port`` names a PgBouncer in transaction pooling mode in front of the
PostgreSQL server of ``DATABASE_URL`` (every database name passed on, as .ci/run configures
it), and ``DATABASE_PGBOUNCER=1`` sets the app up for it (crm/settings.py). pytest-django makes
the test databases on ``DATABASE_URL`` directly; then every connection of the tests, of their
threads and of the processes they start (gunicorn, ``run_worker``, which take the test
database's address from the connection's settings) goes through PgBouncer.

The test databases are dropped on ``DATABASE_URL`` too, and PgBouncer keeps its server
connections to a database open after its clients have gone (``server_idle_timeout``), which
would make ``DROP DATABASE`` fail ("is being accessed by other users"): before the drop, those
server connections, which are crm_ci's own, are ended on the server (``pg_terminate_backend``);
PgBouncer drops them from its pool and opens new ones when a client next asks.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path

ADDRESS = os.environ.get("TEST_PGBOUNCER", "")
ROOT = Path(__file__).resolve().parent.parent


def host_and_port() -> tuple[str, int]:
    host, port = ADDRESS.rsplit(":", 1)
    return host, int(port)


def connect_through_pgbouncer() -> tuple[str, str]:
    """From now on the default database's connections go through PgBouncer. Returns the
    server's address, for ``connect_directly``."""
    from django.conf import settings
    from django.db import connection

    if not settings.PGBOUNCER or connection.vendor != "postgresql":
        raise RuntimeError("TEST_PGBOUNCER needs a PostgreSQL DATABASE_URL, DATABASE_PGBOUNCER=1")
    db = connection.settings_dict  # the dict every connection of this alias is made from
    direct = db["HOST"], db["PORT"]
    connection.close()
    db["HOST"], db["PORT"] = host_and_port()
    return direct


def connect_directly(direct: tuple[str, str]) -> None:
    """Back to the server's address; PgBouncer's connections to the test database end."""
    from django.db import connection

    db = connection.settings_dict
    connection.close()
    db["HOST"], db["PORT"] = direct
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()


def admin_rows(command: str) -> list[dict[str, object]]:
    """The rows of a ``SHOW`` command on PgBouncer's admin console (the test database's user
    is one of its ``stats_users``). The console speaks only the simple query protocol."""
    import psycopg
    from django.db import connection

    host, port = host_and_port()
    db = connection.settings_dict
    with psycopg.connect(
        host=host, port=port, dbname="pgbouncer", user=db["USER"], password=db["PASSWORD"],
        autocommit=True,
    ) as admin:  # fmt: skip
        result = admin.pgconn.exec_(command.encode())
        names = [result.fname(i).decode() for i in range(result.nfields)]
        return [
            {
                name: (value.decode() if (value := result.get_value(row, i)) is not None else None)
                for i, name in enumerate(names)
            }
            for row in range(result.ntuples)
        ]


# --- PostgreSQL through PgBouncer, as deploy/pgbouncer.ini sets it up ----------------------

PGBOUNCER = "/usr/sbin/pgbouncer"


def maintenance(url: str):
    """A connection to the server's ``postgres`` database, as the URL's user (autocommit)."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    return psycopg.connect(
        host=parts.hostname, port=parts.port or 5432, user=urllib.parse.unquote(parts.username),
        password=urllib.parse.unquote(parts.password or ""), dbname="postgres", autocommit=True,
    )  # fmt: skip


def database_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def drop_database(url: str) -> None:
    with maintenance(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def pgbouncer_command(folder: Path, port: int, url: str) -> list[str]:
    """deploy/pgbouncer.ini (transaction pooling) with this machine's port, files and the
    database of ``url``, each replacement found exactly once, as the nginx site is adapted.
    PgBouncer refuses to run as root: then it runs as ``nobody``, in a folder of its own."""
    folder = folder / "pgbouncer"
    folder.mkdir()
    parts = urllib.parse.urlsplit(url)
    user, password = urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password)
    (folder / "userlist.txt").write_text(f'"{user}" "{password}"\n')  # a password, or its SCRAM
    name = database_name(url)
    replacements = {
        "crm = host=127.0.0.1 port=5432 dbname=crm":
            f"{name} = host={parts.hostname} port={parts.port or 5432} dbname={name}",
        "listen_port = 6432": f"listen_port = {port}",
        "unix_socket_dir = /var/run/postgresql": "unix_socket_dir =",
        "/var/log/postgresql/pgbouncer.log": str(folder / "pgbouncer.log"),
        "/var/run/postgresql/pgbouncer.pid": str(folder / "pgbouncer.pid"),
        "/etc/pgbouncer/userlist.txt": str(folder / "userlist.txt"),
    }  # fmt: skip
    ini = (ROOT / "deploy" / "pgbouncer.ini").read_text()
    for old, new in replacements.items():
        assert ini.count(old) == 1, f"{old!r} is not once in deploy/pgbouncer.ini"
        ini = ini.replace(old, new)
    (folder / "pgbouncer.ini").write_text(ini)
    if os.geteuid() != 0:
        return [PGBOUNCER, str(folder / "pgbouncer.ini")]
    folder.parent.chmod(0o711)
    for path in (folder, *folder.iterdir()):
        shutil.chown(path, "nobody")
    return [PGBOUNCER, "-u", "nobody", str(folder / "pgbouncer.ini")]


def through(url: str, port: int) -> str:
    """``url`` with PgBouncer's address in place of the server's."""
    parts = urllib.parse.urlsplit(url)
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
