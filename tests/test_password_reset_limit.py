"""The "Forgot password?" page has a limit of its own (issue 14, item 13): at most
``PASSWORD_RESETS_PER_HOUR`` requests per email address and per client address in an hour.
Over it no email goes out and the page says plainly to try later (429), the same whether the
address has an account or not. Counted in the shared store of ``crm.ratelimit`` (the database,
or a shared cache), whose clock is pinned here."""

from __future__ import annotations

from html import unescape

import pytest
from django.core import mail

from crm import ratelimit

pytestmark = pytest.mark.django_db

URL = "/accounts/password/reset/"
HOUR_START = 1_800_000_000 // 3600 * 3600  # the start of an hour
LIMIT = 5
SENT = "/accounts/password/reset/sent/"


@pytest.fixture(params=["database", "default"])
def store(request, settings, monkeypatch):
    """The limit in each kind of store, its clock pinned ten minutes into an hour."""
    settings.CRM = {
        **settings.CRM,
        "RATE_LIMIT_STORE": request.param,
        "PASSWORD_RESETS_PER_HOUR": LIMIT,
    }
    monkeypatch.setattr(ratelimit, "clock", lambda: HOUR_START + 600.5)
    return request.param


@pytest.fixture
def account(users):
    seller = users["salesperson"]
    seller.email = "seller@example.com"
    seller.save(update_fields=["email"])
    return seller


def ask(client, email: str, address: str = "198.51.100.7"):
    return client.post(URL, {"email": email}, REMOTE_ADDR=address)


def refused(response) -> bool:
    html = unescape(response.content.decode())
    said = "Too many requests for a new password. Try again in 50 minutes." in html
    return response.status_code == 429 and said


def test_five_requests_for_an_address_send_five_emails_the_sixth_none(client, store, account):
    for _ in range(LIMIT):
        response = ask(client, "seller@example.com")
        assert (response.status_code, response["Location"]) == (302, SENT)
    assert len(mail.outbox) == LIMIT
    # The same address from elsewhere, in another case: still the same address.
    response = ask(client, "SELLER@example.com", address="203.0.113.9")
    assert refused(response)
    html = unescape(response.content.decode())
    assert 'value="SELLER@example.com"' in html  # the form as sent, on our page
    assert "Forgot your password?" in html
    assert len(mail.outbox) == LIMIT


def test_an_unknown_address_is_refused_the_same_way(client, store, account):
    """The limit tells nobody which addresses have an account."""
    known = [ask(client, "seller@example.com", f"192.0.2.{i}") for i in range(LIMIT + 1)]
    unknown = [ask(client, "nobody@example.com", f"192.0.2.{i}") for i in range(LIMIT + 1)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert refused(known[-1]) and refused(unknown[-1])
    assert len(mail.outbox) == LIMIT  # only the known address's, under the limit


def test_one_client_address_is_limited_across_email_addresses(client, store, account):
    for i in range(LIMIT):
        assert ask(client, f"someone{i}@example.com").status_code == 302
    assert refused(ask(client, "seller@example.com"))
    assert mail.outbox == []
    # Another client may still ask for the account.
    assert ask(client, "seller@example.com", address="203.0.113.9").status_code == 302
    assert len(mail.outbox) == 1


def test_the_next_hour_may_ask_again(client, store, account, monkeypatch):
    for _ in range(LIMIT + 1):
        ask(client, "seller@example.com")
    assert len(mail.outbox) == LIMIT
    monkeypatch.setattr(ratelimit, "clock", lambda: HOUR_START + 3600 + 1.0)
    assert ask(client, "seller@example.com").status_code == 302
    assert len(mail.outbox) == LIMIT + 1


def test_an_invalid_email_is_not_counted(client, store, account):
    for _ in range(LIMIT + 2):
        response = ask(client, "not an address")
        assert response.status_code == 200 and "Too many" not in response.content.decode()
    assert ask(client, "seller@example.com").status_code == 302
