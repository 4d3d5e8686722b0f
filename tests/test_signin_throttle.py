"""Sign-in throttling (crm.signin): failures counted per account and per client address in the
shared store; past the limit, the web, the admin and the API refuse every sign-in of that
account (or from that address), even with the right password, until the window ends or an
administrator unlocks the account."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crm import ratelimit
from tests.factories import PASSWORD
from tests.test_rate_limits import start_servers  # noqa: F401 - a fixture

NOON = 1_800_000_000.0  # a window boundary is far from it
LOGIN = "/accounts/login/"
API_LOGIN = "/api/v1/user/login/"
LOCKED = "Too many failed sign-in attempts. Try again in"


@pytest.fixture(autouse=True)
def window(monkeypatch, settings):
    """The limits and a pinned clock (``window.now``), in the middle of a 15-minute window."""
    settings.CRM = {
        **settings.CRM,
        "LOGIN_FAILURES_PER_ACCOUNT": 5,
        "LOGIN_FAILURES_PER_ADDRESS": 50,
        "LOGIN_LOCKOUT_SECONDS": 900,
    }

    class Clock:
        now = NOON + 300

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    monkeypatch.setattr(ratelimit, "clock", clock)
    return clock


def web_sign_in(password: str, username: str = "salesperson", address: str = "10.1.1.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password})
    return response, client


def api_sign_in(api_key: str, password: str, username: str = "salesperson"):
    return APIClient().post(
        API_LOGIN, {"username": username, "password": password}, headers={"apikey": api_key}
    )


def test_the_web_refuses_a_locked_account_even_with_the_right_password(users):
    for _ in range(5):
        response, _client = web_sign_in("wrong")
        assert "Please enter a correct username and password" in response.content.decode()
    response, client = web_sign_in(PASSWORD)
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert "Try again in 10 minutes" in response.content.decode()  # the rest of the window
    assert client.get("/").status_code == 302  # not signed in
    # Other accounts are not locked.
    response, _client = web_sign_in(PASSWORD, username="sales_manager")
    assert response.status_code == 302


def test_a_successful_sign_in_clears_the_accounts_failures(users):
    for _ in range(4):
        web_sign_in("wrong")
    assert web_sign_in(PASSWORD)[0].status_code == 302
    for _ in range(4):
        web_sign_in("wrong")
    assert web_sign_in(PASSWORD)[0].status_code == 302


def test_the_lock_ends_with_its_window(users, window):
    for _ in range(5):
        web_sign_in("wrong")
    assert LOCKED in web_sign_in(PASSWORD)[0].content.decode()
    window.now += 600  # the next window
    assert web_sign_in(PASSWORD)[0].status_code == 302


def test_the_api_answers_429_with_retry_after(api_key, users):
    for _ in range(5):
        assert api_sign_in(api_key, "wrong").status_code == 401
    response = api_sign_in(api_key, PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "600"  # the rest of the window
    body = response.json()
    assert body["error_type"] == "Too Many Requests" and body["status_code"] == 429
    assert body["errors"]["detail"][0].startswith(LOCKED)
    # The web app shares the count: the account is locked there too.
    assert LOCKED in web_sign_in(PASSWORD)[0].content.decode()


def test_one_address_trying_many_accounts_is_locked_out(users, settings):
    settings.CRM = {**settings.CRM, "LOGIN_FAILURES_PER_ADDRESS": 3}
    for username in ("a", "b", "c"):
        web_sign_in("wrong", username=username, address="10.9.9.9")
    response, _client = web_sign_in(PASSWORD, address="10.9.9.9")
    assert LOCKED in response.content.decode()
    assert web_sign_in(PASSWORD, address="10.2.2.2")[0].status_code == 302


def test_the_address_comes_from_the_proxys_header_when_set(users, settings):
    settings.CRM = {
        **settings.CRM,
        "LOGIN_FAILURES_PER_ADDRESS": 3,
        "LOGIN_CLIENT_ADDRESS_HEADER": "HTTP_X_REAL_IP",
    }
    behind_proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for username in ("a", "b", "c"):
        Client(**behind_proxy, HTTP_X_REAL_IP="10.9.9.9").post(
            LOGIN, {"username": username, "password": "wrong"}
        )
    other = Client(**behind_proxy, HTTP_X_REAL_IP="10.2.2.2")
    assert other.post(LOGIN, {"username": "salesperson", "password": PASSWORD}).status_code == 302
    same = Client(**behind_proxy, HTTP_X_REAL_IP="10.9.9.9")
    response = same.post(LOGIN, {"username": "sales_manager", "password": PASSWORD})
    assert LOCKED in response.content.decode()


def test_the_admin_sign_in_is_throttled_and_an_administrator_unlocks(users):
    for _ in range(5):
        Client().post("/admin/login/", {"username": "administrator", "password": "wrong"})
    response = Client().post("/admin/login/", {"username": "administrator", "password": PASSWORD})
    assert LOCKED in response.content.decode()
    for _ in range(5):
        web_sign_in("wrong")
    admin = Client()
    admin.force_login(users["administrator"])
    seller = users["salesperson"]
    response = admin.post(
        "/admin/crm/user/",
        {"action": "unlock_sign_in", "_selected_action": [seller.pk]},
        follow=True,
    )
    assert "Unlocked sign-in for 1 user." in response.content.decode()
    assert web_sign_in(PASSWORD)[0].status_code == 302


def test_the_count_may_live_in_a_shared_cache(users, settings):
    settings.CRM = {**settings.CRM, "RATE_LIMIT_STORE": "default"}
    for _ in range(5):
        web_sign_in("wrong")
    assert LOCKED in web_sign_in(PASSWORD)[0].content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_server_processes_share_the_count(start_servers, users):  # noqa: F811
    """Failures spread over two gunicorn servers lock the account on both."""
    from crm.services import api_key_create

    key = api_key_create(name="Partner integration")[1]
    servers = [base.replace("/api/v1/leads/", API_LOGIN) for base in start_servers(1000, 10**6)]

    def sign_in(server: str, password: str) -> tuple[int, dict]:
        body = json.dumps({"username": "salesperson", "password": password}).encode()
        request = urllib.request.Request(
            server, data=body, headers={"apikey": key, "Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    left = 900 - time.time() % 900  # the servers count in real 15-minute windows
    if left < 15:
        time.sleep(left + 0.1)
    for attempt in range(5):
        assert sign_in(servers[attempt % 2], "wrong")[0] == 401
    for server in servers:
        status, body = sign_in(server, PASSWORD)
        assert status == 429 and body["errors"]["detail"][0].startswith(LOCKED)
