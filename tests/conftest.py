from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.roles import Role
from crm.services import api_key_create
from crm.tokens import issue_access_token
from tests.factories import LeadFactory, UserFactory

API = "/api/v1/leads/"


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


@pytest.fixture
def api_key(db) -> str:
    _key, raw = api_key_create(name="Partner integration")
    return raw


@pytest.fixture
def rpc(api_key):
    """A JSON-RPC client as a partner's code uses it (tests/rpc.py), with the API key."""
    from tests.rpc import RpcClient

    return RpcClient(api_key)


@pytest.fixture
def users(db) -> dict[str, Any]:
    """One user per role, named by role: users["salesperson"], users["sales_manager"], ..."""
    return {role.value: UserFactory(username=role.value, role=role.value) for role in Role}


@pytest.fixture
def client_for(api_key):
    def make(user) -> PartnerClient:
        return PartnerClient(api_key, user)

    return make


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
