from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.roles import Role
from crm.services import api_key_create
from crm.tokens import issue_access_token
from tests import pgbouncer
from tests.factories import LeadFactory, UserFactory
from tests.redis_server import _shared_redis, redis_server, redis_url  # noqa: F401 - fixtures

API = "/api/v1/leads/"


# The longest module first among the transactional tests: the suite runs on two xdist workers,
# pytest-django runs the transactional tests last, and a module of a minute collected at their
# end (as test_schemathesis.py is) would run alone while the other worker waits.
LONGEST_FIRST = ("test_schemathesis.py",)
HERE = Path(__file__).resolve().parent


@pytest.hookimpl(trylast=True)  # after pytest-django's order: database tests, then transactional
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    longest = [i for i in items if i.path.parent == HERE and i.path.name in LONGEST_FIRST]
    rest = [i for i in items if i not in longest]
    first = next((n for n, item in enumerate(rest) if _transactional(item)), len(rest))
    items[:] = [*rest[:first], *longest, *rest[first:]]


# --- PgBouncer (TEST_PGBOUNCER=host:port, tests/pgbouncer.py) ---------------------------------
# Its own tests are collected only in the run through it (make test-pgbouncer).
collect_ignore = [] if pgbouncer.ADDRESS else ["test_pgbouncer.py"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases; with TEST_PGBOUNCER, the tests reach them through that
    PgBouncer, while they are made and dropped on DATABASE_URL's server directly."""
    if not pgbouncer.ADDRESS:
        yield
        return
    with django_db_blocker.unblock():
        direct = pgbouncer.connect_through_pgbouncer()
    yield
    with django_db_blocker.unblock():
        pgbouncer.connect_directly(direct)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (the offset pages' anchors live there), as ids of
    rolled-back rows come again in the next test."""
    from django.core.cache import cache

    cache.clear()


class PartnerClient:
    """An HTTP client as a partner's code uses it: apikey + bearer token on every request."""

    def __init__(self, key: str, user=None) -> None:
        self.client = APIClient()
        self.key = key
        self.user = user
        self.headers: dict[str, str] = {"apikey": key}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {issue_access_token(user)}"

    def get(self, path: str, params: dict | None = None, **extra: Any):
        return self.client.get(_url(path), params or {}, headers=self.headers, **extra)

    def post(self, path: str, data: Any = None, fmt: str = "multipart", **extra: Any):
        return self.client.post(_url(path), data, format=fmt, headers=self.headers, **extra)

    def post_raw(self, path: str, body: bytes | str, content_type: str, **extra: Any):
        return self.client.generic(
            "POST", _url(path), body, content_type=content_type, headers=self.headers, **extra
        )


def _url(path: str) -> str:
    return path if path.startswith("/") else API + path


# --- a module's world, built once ------------------------------------------------------------
#
# A module that says
#     pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world")]
# runs inside one transaction opened before its first test and rolled back after its last: what
# its module-scoped fixtures build (``cast``, ``module_api_key``, a module's own world) is built
# once, and each test's own transaction (pytest-django's ``django_db``, as in Django's TestCase)
# is a savepoint inside it, rolled back after the test (Django's ``setUpTestData`` pattern). Tests
# get copies of the module's model instances (``per_test``), so what one test changes in memory
# no other test sees. A module with ``transaction=True`` tests or ``live_server`` cannot do this.

TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences"}


def _transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool(TRANSACTIONAL_FIXTURES & set(getattr(item, "fixturenames", ())))


@pytest.fixture(scope="module")
def module_db(request, django_db_setup, django_db_blocker):
    """One transaction around the whole module, rolled back at its end."""
    from django.db import transaction

    module = request.module
    if any(
        _transactional(item)
        for item in request.session.items
        if getattr(item, "module", None) is module
    ):
        pytest.fail(f"{module.__name__} has transactional tests: it cannot share a module world")
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic._from_testcase = True  # a test's durable atomic block may open inside it
        atomic.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _outside_the_tests() -> None:
    from django.db import connection

    if len(connection.atomic_blocks) != 1:
        # Built in a test's transaction, it would vanish with it: a module-scoped fixture must
        # be requested by name (not getfixturevalue) or by a fixture ``module_world`` needs.
        raise RuntimeError("A module world must be built outside the tests' transactions.")


def build_once(django_db_blocker, build: Callable[[], Any]) -> Any:
    """What ``build()`` makes in the database, for a module-scoped fixture of a ``module_world``
    module (the database is open to tests only, so the fixture opens it for the build)."""
    _outside_the_tests()
    with django_db_blocker.unblock():
        return build()


@contextmanager
def built_in_savepoint(django_db_blocker, build: Callable[[], Any]) -> Iterator[Any]:
    """``build_once`` for a module-scoped fixture that depends on a module-scoped parameter
    (``parametrize(..., scope="module")``): what it builds is rolled back when pytest drops it
    for the next value. Every test of the module must use the fixture (``usefixtures``), so
    that pytest changes it before a test's transaction opens."""
    from django.db import transaction

    _outside_the_tests()
    with django_db_blocker.unblock():
        savepoint = transaction.savepoint_create()
    try:
        yield build_once(django_db_blocker, build)
    finally:
        _outside_the_tests()
        with django_db_blocker.unblock():
            transaction.savepoint_rollback(savepoint)


def per_test(built: Any) -> Any:
    """A test's own copy of what a module-scoped fixture built (model instances included)."""
    return copy.deepcopy(built)


def in_module_world(request) -> bool:
    return "module_world" in request.fixturenames


def one_user_per_role() -> dict[str, Any]:
    return {role.value: UserFactory(username=role.value, role=role.value) for role in Role}


@pytest.fixture(scope="module")
def cast(module_db, django_db_blocker) -> dict[str, Any]:
    """The module world's users, one per role (what ``users`` copies in such a module)."""
    return build_once(django_db_blocker, one_user_per_role)


@pytest.fixture(scope="module")
def module_api_key(module_db, django_db_blocker) -> str:
    return build_once(django_db_blocker, lambda: api_key_create(name="Partner integration")[1])


@pytest.fixture(scope="module")
def module_world(module_db, cast, module_api_key) -> None:
    """The opt-in (``usefixtures``): the module's transaction, users and API key, built before
    its first test."""


@pytest.fixture
def api_key(request, db) -> str:
    if in_module_world(request):
        return request.getfixturevalue("module_api_key")
    _key, raw = api_key_create(name="Partner integration")
    return raw


@pytest.fixture
def rpc(api_key):
    """A JSON-RPC client as a partner's code uses it (tests/rpc.py), with the API key."""
    from tests.rpc import RpcClient

    return RpcClient(api_key)


@pytest.fixture
def users(request, db) -> dict[str, Any]:
    """One user per role, named by role: users["salesperson"], users["sales_manager"], ...
    (in a ``module_world`` module, a copy of the module's ``cast``)."""
    if in_module_world(request):
        return per_test(request.getfixturevalue("cast"))
    return one_user_per_role()


@pytest.fixture
def client_for(api_key):
    def make(user) -> PartnerClient:
        return PartnerClient(api_key, user)

    return make


@pytest.fixture
def web(client):
    """``web(user)``: the test client, signed in as ``user``."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def salesperson(users):
    return users[Role.SALESPERSON]


@pytest.fixture
def manager(users):
    return users[Role.SALES_MANAGER]


@pytest.fixture
def api(client_for, manager) -> PartnerClient:
    """A sales manager's client: sees and changes every lead."""
    return client_for(manager)


@pytest.fixture
def lead(manager):
    return LeadFactory(by=manager, owner=manager)


def error_of(response) -> tuple[int, str, dict]:
    body = response.json()
    assert body["status_code"] == response.status_code
    assert body["data"] == {}
    return response.status_code, body["error_type"], body["errors"]
