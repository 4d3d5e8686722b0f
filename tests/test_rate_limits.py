"""Per-API-key request limits (SPEC §5): requests per second and per UTC day, counted in a store
every server process shares.

Over HTTP through the test client, the limiter's clock (``crm.ratelimit.clock``) is pinned, so
windows are set rather than waited for. Then the real thing: concurrent threads calling
``hit()`` at once, and two gunicorn servers (each with two worker processes) answering one
key's requests from the test database: the limit holds across all of them, not per process.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm import ratelimit
from crm.models import RateCounter
from crm.ratelimit import Verdict
from crm.roles import Role
from crm.services import api_key_create
from crm.tokens import issue_access_token
from tests.conftest import PartnerClient
from tests.factories import PASSWORD, UserFactory
from tests.processes import free_port, stop

pytestmark = pytest.mark.django_db

# A moment well inside a UTC day, a quarter into its second.
NOON = datetime(2031, 5, 6, 12, 0, 0, 250_000, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2031, 5, 7, tzinfo=UTC).timestamp()
ALLOWED = Verdict(allowed=True, period=None, retry_after=0)
FOR_THE_SECOND = Verdict(allowed=False, period="second", retry_after=1)
LIST = "list/"


class Clock:
    """The limiter's clock, pinned; ``tick`` moves it forward."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    pinned = Clock(NOON)
    monkeypatch.setattr(ratelimit, "clock", pinned)
    return pinned


@pytest.fixture
def limits(settings):
    """Sets the limits (and the store) for the test; the suite's settings raise them high."""

    def set_limits(per_second: int = 100_000, per_day: int = 10**9, store: str = "database"):
        settings.CRM = {
            **settings.CRM,
            "RATE_LIMIT_PER_SECOND": per_second,
            "RATE_LIMIT_PER_DAY": per_day,
            "RATE_LIMIT_STORE": store,
        }

    return set_limits


def refused(message: str) -> dict:
    return {
        "status_code": 429,
        "error_type": "Too Many Requests",
        "errors": {"detail": [message]},
        "data": {},
    }


def per_second_message(limit: int) -> str:
    return (
        f"Rate limit exceeded: {limit} requests per second for this API key. Retry after 1 second."
    )


def new_key() -> str:
    return api_key_create(name="Another integration")[1]


# -- over HTTP, one process -------------------------------------------------------------------


def test_the_request_over_the_per_second_limit_answers_429_until_the_next_second(
    api, manager, limits, clock
):
    limits(per_second=3)

    assert [api.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(LIST)

    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert response.json() == refused(per_second_message(3))
    # Another key is counted on its own.
    assert PartnerClient(new_key(), manager).get(LIST).status_code == 200
    # Still the same second: still refused, whatever the endpoint.
    assert api.get("overview/").status_code == 429
    clock.tick(0.8)  # 12:00:01.05, the next window
    assert [api.get(LIST).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_daily_limit_answers_429_until_the_next_utc_midnight(api, limits, clock):
    limits(per_day=5)
    clock.now = MIDNIGHT - 100.5  # 23:58:19.5 UTC

    assert [api.get(LIST).status_code for _ in range(5)] == [200] * 5
    response = api.get(LIST)

    assert response.status_code == 429
    assert response["Retry-After"] == "101"
    assert response.json() == refused(
        "Rate limit exceeded: 5 requests per day for this API key. Retry after 101 seconds."
    )
    clock.tick(100)  # 23:59:59.5: the same day
    assert api.get(LIST).status_code == 429
    assert api.get(LIST)["Retry-After"] == "1"
    clock.tick(0.6)  # 00:00:00.1, a new day
    assert [api.get(LIST).status_code for _ in range(6)] == [200] * 5 + [429]


def test_requests_refused_for_the_second_leave_the_daily_budget_alone(api, limits, clock):
    limits(per_second=2, per_day=4)

    first_second = [api.get(LIST) for _ in range(5)]
    clock.tick()
    next_second = [api.get(LIST) for _ in range(3)]

    assert [r.status_code for r in first_second] == [200, 200, 429, 429, 429]
    # Four allowed requests in all: the three refused ones above took nothing from the day.
    assert [r.status_code for r in next_second] == [200, 200, 429]
    assert (
        next_second[-1]
        .json()["errors"]["detail"][0]
        .startswith("Rate limit exceeded: 4 requests per day for this API key.")
    )


def test_requests_refused_by_authentication_are_not_counted(api_key, manager, limits, clock):
    limits(per_second=1)
    stale = PartnerClient(api_key)
    stale.headers["Authorization"] = "Bearer not-a-token"

    assert [stale.get(LIST).status_code for _ in range(3)] == [401] * 3
    assert PartnerClient(api_key, manager).get(LIST).status_code == 200


def test_sign_in_views_count_against_their_api_key(api_key, salesperson, limits, clock):
    limits(per_second=2)
    client = PartnerClient(api_key)
    login = {"username": salesperson.username, "password": PASSWORD}

    first = client.post("/api/v1/user/login/", login)
    assert first.status_code == 200
    refresh = client.post("/api/v1/user/token/refresh/", {"refresh": first.json()["refresh"]})
    assert refresh.status_code == 200
    third = client.post("/api/v1/user/login/", login)

    assert third.status_code == 429
    assert third["Retry-After"] == "1"
    assert third.json() == refused(per_second_message(2))
    # An unknown key is not limited here: the view answers it 401 itself.
    bad = PartnerClient(api_key.partition(".")[0] + ".wrong-secret")
    assert bad.post("/api/v1/user/login/", login).status_code == 401
    assert PartnerClient(new_key()).post("/api/v1/user/login/", login).status_code == 200


# -- the limiter itself -----------------------------------------------------------------------


@pytest.mark.parametrize("store", ["database", "default"])
def test_hit_counts_each_key_per_second_and_per_day(store, limits, clock):
    # "default" is the suite's LocMemCache: the cache path, atomic only within one process.
    limits(per_second=2, per_day=3, store=store)
    key, other = api_key_create(name="One")[0], api_key_create(name="Two")[0]

    assert [ratelimit.hit(key) for _ in range(3)] == [ALLOWED, ALLOWED, FOR_THE_SECOND]
    assert ratelimit.hit(other) == ALLOWED
    clock.tick()
    to_midnight = math.ceil(MIDNIGHT - clock.now)
    assert [ratelimit.hit(key) for _ in range(2)] == [
        ALLOWED,
        Verdict(allowed=False, period="day", retry_after=to_midnight),
    ]
    clock.now = MIDNIGHT
    assert ratelimit.hit(key) == ALLOWED


def test_each_key_keeps_one_row_per_period_that_never_overflows(limits, clock):
    limits(per_second=3, per_day=5)
    key = api_key_create(name="Busy")[0]

    for _ in range(3):
        for _ in range(4):
            ratelimit.hit(key)
        clock.tick()
    for _ in range(20):
        ratelimit.hit(key)

    rows = RateCounter.objects.filter(key=key.account_id).values_list("period", "window", "count")
    # 3 + 2 allowed in the first two seconds; then refused for the day, held at the limit + 1.
    assert sorted(rows) == [("day", int(NOON // 86_400), 6), ("second", int(NOON) + 3, 4)]


def test_a_server_whose_clock_lags_counts_into_the_newer_window(limits, clock):
    limits(per_second=2)
    key = api_key_create(name="Skewed")[0]

    clock.tick()
    assert ratelimit.hit(key) == ALLOWED
    clock.tick(-1)  # another server, a second behind
    assert [ratelimit.hit(key) for _ in range(2)] == [ALLOWED, FOR_THE_SECOND]


def test_hit_inside_a_callers_transaction_joins_it(limits, clock):
    limits(per_second=1)
    key = api_key_create(name="Inside")[0]

    with transaction.atomic():
        assert ratelimit.hit(key) == ALLOWED
        assert ratelimit.hit(key) == FOR_THE_SECOND
        key.name = "Still usable"
        key.save()

    assert RateCounter.objects.get(key=key.account_id, period="day").count == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own path")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_a_hit_is_one_statement_on_an_unlogged_table(limits, clock):
    limits(per_second=1, per_day=2)
    key = api_key_create(name="Quick")[0]
    with CaptureQueriesContext(connection) as queries:
        assert ratelimit.hit(key) == ALLOWED
    # No BEGIN, SET or COMMIT around it: the statement is its own transaction.
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["WITH"]
    assert [ratelimit.hit(key), ratelimit.hit(key)] == [FOR_THE_SECOND, FOR_THE_SECOND]
    clock.tick()
    assert ratelimit.hit(key) == ALLOWED
    clock.tick()
    assert ratelimit.hit(key).period == "day"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE relname = %s", [RateCounter._meta.db_table]
        )
        assert cursor.fetchone() == ("u",)


# -- real concurrency -------------------------------------------------------------------------


def at_once(count: int, call) -> list:
    """``count`` calls, each in its own thread (and database connection), released together."""
    barrier = threading.Barrier(count)

    def run(_index: int):
        barrier.wait(timeout=30)
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("store", ["database", "default"])
def test_concurrent_hits_never_allow_more_than_the_limit(store, limits, clock):
    limits(per_second=5, per_day=1000, store=store)
    key = api_key_create(name="Concurrent")[0]  # no counter rows yet: every thread inserts

    verdicts = at_once(20, lambda: ratelimit.hit(key))

    assert verdicts.count(ALLOWED) == 5
    assert verdicts.count(FOR_THE_SECOND) == 15
    # The fifteen refused requests gave their unit of the day back.
    clock.tick()
    limits(per_second=1000, per_day=10, store=store)
    assert [ratelimit.hit(key).allowed for _ in range(6)] == [True] * 5 + [False]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_hits_never_exceed_the_daily_limit(limits, clock):
    limits(per_day=7)
    key = api_key_create(name="Concurrent day")[0]

    verdicts = at_once(20, lambda: ratelimit.hit(key))

    assert verdicts.count(ALLOWED) == 7
    assert {v.period for v in verdicts if not v.allowed} == {"day"}
    assert RateCounter.objects.get(key=key.account_id, period="day").count == 8


# -- two server processes, one store ----------------------------------------------------------


@dataclass
class Answer:
    server: int
    status: int
    retry_after: str | None
    body: dict
    sent: float
    received: float


def database_url() -> str:
    """The current test run's database, as DATABASE_URL spells it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    quote = urllib.parse.quote
    return (
        f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'])}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"
    )


def get(base: str, path: str, headers: dict[str, str], server: int = 0) -> Answer:
    request = urllib.request.Request(base + path, headers=headers)
    sent = time.time()
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, retry, raw = response.status, response.headers["Retry-After"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, retry, raw = error.code, error.headers["Retry-After"], error.read()
    return Answer(server, status, retry, json.loads(raw), sent, time.time())


@pytest.fixture
def start_servers(tmp_path):
    """Starts two gunicorn servers of the app on the test database, with the given limits;
    stops them after the test, whatever happens."""
    processes: list[subprocess.Popen] = []
    logs = []

    def start(per_second: int, per_day: int) -> list[str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DATABASE_URL": database_url(),
            "DEBUG": "1",
            "SECRET_KEY": django_settings.SECRET_KEY,  # signs the tokens issued here
            "RATE_LIMIT_PER_SECOND": str(per_second),
            "RATE_LIMIT_PER_DAY": str(per_day),
            "RATE_LIMIT_STORE": "database",
        }
        bases = []
        for index in range(2):
            port = free_port()
            log = (tmp_path / f"server{index}.log").open("w")
            logs.append(log)
            command = [sys.executable, "-m", "gunicorn", "crm.wsgi", "--workers", "2"]
            command += ["--bind", f"127.0.0.1:{port}", "--chdir", str(django_settings.BASE_DIR)]
            processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
            bases.append(f"http://127.0.0.1:{port}/api/v1/leads/")
        for index, base in enumerate(bases):
            wait_until_up(base, processes[index], tmp_path / f"server{index}.log")
        return bases

    yield start
    stop(processes)
    for log in logs:
        log.close()


def wait_until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    """Polls until the server answers (401 without credentials: nothing is counted)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            assert get(base, LIST, {}).status == 401
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"the server did not start: {log.read_text()}")


@pytest.fixture
def credentials(transactional_db) -> dict[str, str]:
    """A committed key and user, visible to the servers."""
    user = UserFactory(role=Role.SALES_MANAGER)
    return {"apikey": new_key(), "Authorization": f"Bearer {issue_access_token(user)}"}


def clear_of_midnight() -> None:
    """The daily count must not restart midway: within 30 s of UTC midnight, wait it out."""
    to_midnight = 86_400 - time.time() % 86_400
    if to_midnight < 30:
        time.sleep(to_midnight + 0.1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_server_processes_share_one_daily_limit(start_servers, credentials):
    servers = start_servers(per_second=1000, per_day=10)
    clear_of_midnight()

    answers = [get(servers[i % 2], LIST, credentials, server=i % 2) for i in range(16)]

    assert [a.status for a in answers] == [200] * 10 + [429] * 6, answers
    # Both servers let requests through: five each, ten in all, not ten each.
    assert [a.server for a in answers if a.status == 200] == [0, 1] * 5
    assert {a.server for a in answers if a.status == 429} == {0, 1}
    for answer in answers[10:]:
        assert 1 <= int(answer.retry_after) <= 86_400
        assert answer.body["errors"]["detail"][0].startswith(
            "Rate limit exceeded: 10 requests per day for this API key. Retry after "
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_server_processes_share_one_per_second_limit(start_servers, credentials):
    limit, burst = 4, 12
    servers = start_servers(per_second=limit, per_day=10**6)
    clean_bursts = 0
    for _attempt in range(5):
        # Start just after a second begins, every request at once, half to each server.
        time.sleep(1.02 - time.time() % 1)
        answers = at_once_http(servers, burst, credentials)
        assert {a.status for a in answers} <= {200, 429}, answers
        # Whatever the timing: requests sent and answered within one second never got more
        # than the limit through, across both servers.
        for window in {int(a.sent) for a in answers}:
            inside = [a for a in answers if int(a.sent) == int(a.received) == window]
            assert sum(a.status == 200 for a in inside) <= limit, answers
        if int(min(a.sent for a in answers)) != int(max(a.received for a in answers)):
            continue  # the burst straddled two seconds: try again in a later one
        clean_bursts += 1
        assert sorted(a.status for a in answers) == [200] * limit + [429] * (burst - limit)
        for answer in answers:
            if answer.status == 429:
                assert answer.retry_after == "1"
                assert answer.body == refused(per_second_message(limit))
        if clean_bursts == 2:
            break
    assert clean_bursts == 2


def at_once_http(servers: list[str], burst: int, headers: dict[str, str]) -> list[Answer]:
    barrier = threading.Barrier(burst)

    def run(index: int) -> Answer:
        barrier.wait(timeout=30)
        return get(servers[index % 2], LIST, headers, server=index % 2)

    with ThreadPoolExecutor(max_workers=burst) as pool:
        return list(pool.map(run, range(burst)))
