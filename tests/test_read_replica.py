"""The read replica (crm/replica.py): the heavy reads go to it, a user who has just written
reads from the primary for a few seconds, and a replica out of reach never fails a request.

Against a real streaming replica when ``TEST_DATABASE_REPLICA_URL`` names one (``.ci/run``
starts it with ``.ci/start-replica``: ``pg_basebackup -R`` of the local cluster, on port
5433). The replica copies the primary's whole cluster, so the test database pytest-django
creates on the primary (``test_<name>``, with xdist's suffix) is there a moment later under
the same name: the replica's alias takes that name, and the tests commit their rows
(``transaction=True``) for them to stream over. Without one (SQLite, or PostgreSQL without
a replica) those tests skip; the others run everywhere: the routing, with a "replica" alias
on the primary's own test database (it sees only committed rows, so a test's own rows show
which database answered), and the failures, with replicas that cannot answer.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext

from crm import replica
from crm.roles import Role
from tests.factories import LeadFactory
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
REPLICA_URL = os.environ.get("TEST_DATABASE_REPLICA_URL", "")
ALIAS = "replica"
LEADS = '"leads_lead"'  # the leads table, as the queries name it
ROLLUP = '"leads_leadcount"'

real_replica = pytest.mark.skipif(
    not REPLICA_URL,
    reason="no streaming replica: TEST_DATABASE_REPLICA_URL is unset (.ci/run sets it on "
    "PostgreSQL)",
)


@contextmanager
def replica_alias(settings, database: dict):
    """The app configured with a replica at ``database`` (a DATABASES entry), as
    DATABASE_REPLICA_URL configures it: the alias, ``REPLICA["ALIAS"]`` and the router. The
    connection is made here rather than declared in the settings of the whole run (a
    connection Django's test cases did not set up, which they let the tests use)."""
    primary = connections.settings[DEFAULT_DB_ALIAS]
    configured = connections.configure_settings({DEFAULT_DB_ALIAS: primary, ALIAS: dict(database)})
    connection = load_backend(database["ENGINE"]).DatabaseWrapper(configured[ALIAS], ALIAS)
    setattr(connections._connections, ALIAS, connection)
    settings.REPLICA = {**settings.REPLICA, "ALIAS": ALIAS}
    settings.DATABASE_ROUTERS = ["crm.replica.ReplicaRouter"]
    replica._down_until = 0.0
    try:
        yield connection
    finally:
        connection.close()
        del connections[ALIAS]
        replica._down_until = 0.0


@pytest.fixture
def on_own_database(settings, db):
    """A "replica" that is the primary's own test database, through a second connection:
    it sees what is committed, not the test's own (uncommitted) rows."""
    with replica_alias(settings, connections[DEFAULT_DB_ALIAS].settings_dict) as connection:
        yield connection


@pytest.fixture
def streaming(settings, transactional_db):
    """The real replica of TEST_DATABASE_REPLICA_URL, on the test database."""
    from crm.settings import replica_database

    database = replica_database(REPLICA_URL)
    database["NAME"] = connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]
    with replica_alias(settings, database) as connection:
        yield connection


def caught_up(timeout: float = 15) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (lsn,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.02)


class Reads:
    """The queries each database ran while a request was served."""

    def __init__(self) -> None:
        self.on = {DEFAULT_DB_ALIAS: CaptureQueriesContext(connections[DEFAULT_DB_ALIAS])}
        self.on[ALIAS] = CaptureQueriesContext(connections[ALIAS])

    def __enter__(self) -> Reads:
        for capture in self.on.values():
            capture.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for capture in self.on.values():
            capture.__exit__(*exc)

    def of(self, alias: str, table: str) -> list[str]:
        return [q["sql"] for q in self.on[alias].captured_queries if table in q["sql"]]

    def went_to(self, alias: str, *tables: str) -> bool:
        """Whether ``tables`` (the leads and their counts by default) were read on ``alias``
        and not on the other database. (An empty list reads only the counts.)"""
        other = ALIAS if alias == DEFAULT_DB_ALIAS else DEFAULT_DB_ALIAS
        tables = tables or (LEADS, ROLLUP)
        return any(self.of(alias, t) for t in tables) and not any(self.of(other, t) for t in tables)


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["slug"] for row in response.json()["data"]["results"]]


def exported(response) -> list[list[str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text)))


NEW_LEAD = {"first_name": "Ada", "last_name": "Byron", "email": "ada@example.com",
            "phone": "5550100200"}  # fmt: skip


# --- the routing, on the primary's own test database -----------------------------------------


HEAVY_READS = [
    ("list/", {"list_type": "all"}, ROLLUP),  # an empty list: its count, from the rollup
    ("view/lead/", {"slug": "{slug}"}, LEADS),
    ("appointments/list/", {}, '"appointments_appointment"'),
    ("overview/", {}, ROLLUP),
]


@pytest.mark.parametrize(("path", "params", "table"), HEAVY_READS)
def test_the_rest_lists_and_getters_read_the_replica(
    on_own_database, api, manager, path, params, table
):
    lead = LeadFactory(by=manager, owner=manager)
    params = {k: v.format(slug=lead.slug) for k, v in params.items()}
    with Reads() as reads:
        response = api.get(path, params)
    assert reads.went_to(ALIAS, table)
    if path == "list/":  # the test's lead is not committed: the replica's list is without it
        assert slugs(response) == []
    if path == "view/lead/":
        assert response.status_code == 400  # not there (yet)
    # The API key, the token's user and the rate limit are read on the primary.
    assert reads.on[DEFAULT_DB_ALIAS].captured_queries


def test_the_export_and_the_dashboard_read_the_replica(on_own_database, web, manager):
    LeadFactory(by=manager, owner=manager)
    client = web(manager)
    with Reads() as reads:
        rows = exported(client.get("/leads/export.csv"))
    assert reads.went_to(ALIAS)
    assert len(rows) == 1  # the header: the lead is not committed
    with Reads() as reads:
        assert client.get("/").status_code == 200
    assert reads.went_to(ALIAS, ROLLUP)
    assert reads.went_to(ALIAS, '"leads_leadweekcount"')  # the new leads per week picture


def test_other_reads_and_every_write_stay_on_the_primary(on_own_database, web, manager):
    lead = LeadFactory(by=manager, owner=manager)
    client = web(manager)
    with Reads() as reads:
        assert client.get("/leads/").status_code == 200  # the web list: not a heavy read
        assert client.get(f"/leads/{lead.slug}/").status_code == 200
        answer = client.post(f"/leads/{lead.slug}/status/", {"status": "customer"})
        assert answer.status_code == 302
    assert reads.went_to(DEFAULT_DB_ALIAS)
    assert reads.of(DEFAULT_DB_ALIAS, "UPDATE " + LEADS)
    assert not reads.on[ALIAS].captured_queries


@pytest.fixture
def pin_clock(settings, monkeypatch) -> Callable[[], None]:
    """Pins of 5 seconds on a clock that stands still; calling the fixture's value moves the
    clock past them."""
    settings.REPLICA = {**settings.REPLICA, "PIN_SECONDS": 5}
    now = time.time()
    monkeypatch.setattr(replica, "clock", lambda: now)
    return lambda: monkeypatch.setattr(replica, "clock", lambda: now + 5.01)


def a_manager_writes(client_for, users):
    """A sales manager creates a lead through REST; their client, an administrator's client on
    the same API key, and the new lead's slug."""
    writer = client_for(users[Role.SALES_MANAGER])
    other = client_for(users[Role.ADMINISTRATOR])
    created = writer.post("create/lead/", NEW_LEAD)
    assert created.status_code == 201
    return writer, other, created.json()["data"]["slug"]


def test_a_rest_write_pins_its_user_until_the_pin_expires(
    on_own_database, pin_clock, client_for, users
):
    writer, other, slug = a_manager_writes(client_for, users)
    with Reads() as reads:
        assert slugs(writer.get("list/", {"list_type": "all"})) == [slug]
        assert writer.get("view/lead/", {"slug": slug}).json()["data"]["email"] == NEW_LEAD["email"]
    assert reads.went_to(DEFAULT_DB_ALIAS)
    with Reads() as reads:
        assert slugs(other.get("list/", {"list_type": "all"})) == []
    assert reads.went_to(ALIAS)
    pin_clock()  # the pin has expired
    with Reads() as reads:
        assert slugs(writer.get("list/", {"list_type": "all"})) == []
    assert reads.went_to(ALIAS)


def test_a_failed_write_pins_nobody(on_own_database, api):
    assert api.post("create/lead/", {"first_name": "No contact"}).status_code == 400
    with Reads() as reads:
        api.get("list/", {"list_type": "all"})
    assert reads.went_to(ALIAS)


def test_a_browser_write_pins_its_user_by_a_signed_cookie(on_own_database, client, users):
    salesperson = users[Role.SALESPERSON]
    client.force_login(salesperson)
    assert client.post("/leads/new/", {**NEW_LEAD, "status": "prospect"}).status_code == 302
    assert replica.PIN_COOKIE in client.cookies
    cache.clear()  # another server process, whose cache knows nothing of the write
    with Reads() as reads:
        rows = exported(client.get("/leads/export.csv"))
    assert reads.went_to(DEFAULT_DB_ALIAS)
    assert [row[2] for row in rows[1:]] == [NEW_LEAD["email"]]
    # A cookie that is not the app's signs nothing.
    client.cookies[replica.PIN_COOKIE] = "1:forged"
    with Reads() as reads:
        client.get("/leads/export.csv").getvalue()
    assert reads.went_to(ALIAS)


def test_an_api_key_used_alone_pins_its_account(on_own_database, api, api_key, client):
    answer = client.post(
        "/api/service/lead_set/", json.dumps({"mode": "insert", "first_name": "Partner",
        "email": "partner.lead@example.com"}), content_type="application/json",
        headers={"apikey": api_key},
    )  # fmt: skip
    assert answer.status_code == 200, answer.content
    with Reads() as reads:
        assert len(slugs(api.get("list/", {"list_type": "all"}))) == 1
    assert reads.went_to(DEFAULT_DB_ALIAS)


# --- a replica that cannot answer ------------------------------------------------------------


def test_a_replica_out_of_reach_reads_the_primary(settings, db, api, manager, caplog):
    lead = LeadFactory(by=manager, owner=manager)
    closed = {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1",
              "PORT": free_port(), "NAME": "crm", "USER": "crm", "PASSWORD": "crm",
              "OPTIONS": {"connect_timeout": 2}}  # fmt: skip
    with replica_alias(settings, closed), caplog.at_level(logging.WARNING, "crm.replica"):
        assert slugs(api.get("list/", {"list_type": "all"})) == [lead.slug]
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert "Read replica unavailable" in caplog.records[0].getMessage()
        # Left alone for REPLICA["RETRY_SECONDS"]: no second attempt, no second warning.
        assert api.get("view/lead/", {"slug": lead.slug}).status_code == 200
        assert len(caplog.records) == 1
        replica._down_until = 0.0  # the retry period is over
        assert slugs(api.get("list/", {"list_type": "all"})) == [lead.slug]
        assert len(caplog.records) == 2


def test_a_read_that_fails_on_the_replica_is_read_again_from_the_primary(
    settings, db, api, manager, tmp_path
):
    """A replica that answers but fails the reads (here a database without the app's
    tables): the request is answered from the primary."""
    lead = LeadFactory(by=manager, owner=manager)
    empty = {**connections[DEFAULT_DB_ALIAS].settings_dict, "TEST": {}}
    if empty["ENGINE"].endswith("sqlite3"):
        empty["NAME"] = str(tmp_path / "empty.sqlite3")
    else:
        empty["NAME"] = "postgres"
    with replica_alias(settings, empty):
        assert slugs(api.get("list/", {"list_type": "all"})) == [lead.slug]
        assert replica._down_until > time.monotonic()


# --- the settings ------------------------------------------------------------------------------

SETTINGS = """
import json
from django.conf import settings
replica = settings.DATABASES.get("replica")
print(json.dumps({"routers": settings.DATABASE_ROUTERS, "replica": replica,
                  "primary": settings.DATABASES["default"]}, default=str))
"""


def _settings(**env: str) -> dict:
    left_out = {"DATABASE_REPLICA_URL", "DATABASE_POOL", "DATABASE_PGBOUNCER", "CONN_MAX_AGE"}
    base = {k: v for k, v in os.environ.items() if k not in left_out}
    env = {**base, "DJANGO_SETTINGS_MODULE": "crm.settings", **env}
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(){SETTINGS}"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def test_database_replica_url_adds_the_replica_with_the_primarys_options():
    primary = "postgres://crm:secret@db.example.com:6432/crm"
    url = "postgres://crm:secret@replica.example.com:5432/crm"
    found = _settings(DATABASE_URL=primary, DATABASE_REPLICA_URL=url, DATABASE_POOL="4",
                      DATABASE_PGBOUNCER="1")  # fmt: skip
    assert found["routers"] == ["crm.replica.ReplicaRouter"]
    replica_db = found["replica"]
    assert (replica_db["HOST"], replica_db["PORT"]) == ("replica.example.com", 5432)
    options = replica_db["OPTIONS"]
    assert options["pool"]["max_size"] == 4 and options["pool"]["timeout"] == 2
    assert options["connect_timeout"] == 2
    assert options["server_side_binding"] is False and options["prepare_threshold"] is None
    assert replica_db["DISABLE_SERVER_SIDE_CURSORS"] is True
    without = _settings(DATABASE_URL=primary)
    assert without["routers"] == [] and without["replica"] is None


# --- the real replica ---------------------------------------------------------------------------


@real_replica
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_lead_is_listed_from_the_streaming_replica(streaming, api, manager):
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone() == (True,)  # a standby, not the primary
    lead = LeadFactory(by=manager, owner=manager)
    caught_up()
    with Reads() as reads:
        assert slugs(api.get("list/", {"list_type": "all"})) == [lead.slug]
        assert api.get("view/lead/", {"slug": lead.slug}).json()["data"]["slug"] == lead.slug
    assert reads.went_to(ALIAS)


@real_replica
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_read_your_writes_on_the_streaming_replica(streaming, pin_clock, client_for, users):
    writer, other, slug = a_manager_writes(client_for, users)
    with Reads() as reads:  # right after the write: from the primary, with the write
        assert slugs(writer.get("list/", {"list_type": "all"})) == [slug]
    assert reads.went_to(DEFAULT_DB_ALIAS)
    with Reads() as reads:  # someone else: the replica
        other.get("list/", {"list_type": "all"})
    assert reads.went_to(ALIAS)
    pin_clock()  # the pin has expired
    caught_up()
    with Reads() as reads:  # the pin expired: the replica, which has the write by now
        assert slugs(writer.get("list/", {"list_type": "all"})) == [slug]
    assert reads.went_to(ALIAS)


@real_replica
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_export_and_the_dashboard_read_the_streaming_replica(streaming, web, manager):
    lead = LeadFactory(by=manager, owner=manager)
    caught_up()
    client = web(manager)
    with Reads() as reads:
        rows = exported(client.get("/leads/export.csv"))
    assert reads.went_to(ALIAS)
    assert [row[-1] for row in rows[1:]] == [lead.slug]
    with Reads() as reads:
        page = client.get("/")
    assert page.status_code == 200
    assert reads.went_to(ALIAS, ROLLUP)


@real_replica
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_broken_replica_url_still_lists_from_the_primary(settings, api, manager):
    """DATABASE_REPLICA_URL naming a closed port, with the options the settings give it."""
    from crm.settings import replica_database

    lead = LeadFactory(by=manager, owner=manager)
    url = urlsplit(REPLICA_URL)
    closed = url._replace(netloc=f"{url.netloc.rpartition(':')[0]}:{free_port()}").geturl()
    with replica_alias(settings, replica_database(closed)):
        assert slugs(api.get("list/", {"list_type": "all"})) == [lead.slug]
