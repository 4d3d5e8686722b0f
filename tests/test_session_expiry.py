"""An expired session (or a sign-out in another tab) met by an in-place action (issue 14, item 1):
the browser goes to the sign-in page, whole, with ``next`` the page the user was on; and an
action sent with a stale security token goes back to its page. The browser half (the typed
text kept and put back) is tests/browser/test_session_focus.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from crm.web import KEPT_INPUT_HEADER
from leads.models import LeadNote as Note
from tests.factories import PASSWORD, LeadFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def next_of(url: str) -> str | None:
    parts = urlsplit(url)
    assert parts.path == LOGIN
    return parse_qs(parts.query).get("next", [None])[0]


@pytest.fixture
def own_lead(users):
    salesperson = users["salesperson"]
    return LeadFactory(by=salesperson, owner=salesperson)


def htmx_from(page: str, host: str = "testserver", scheme: str = "http") -> dict[str, str]:
    return {"HX-Request": "true", "HX-Current-URL": f"{scheme}://{host}{page}"}


def test_a_note_sent_without_a_session_sends_the_browser_to_sign_in_back_to_the_lead(
    client, own_lead
):
    page = f"/leads/{own_lead.slug}/"
    response = client.post(f"{page}notes/", {"note": "Call back on Monday"})
    assert response.status_code == 302  # a plain form: Django's redirect, as before

    response = client.post(
        f"{page}notes/", {"note": "Call back on Monday"}, headers=htmx_from(page)
    )
    assert response.status_code == 200
    assert response.content == b""  # nothing swapped into the card
    assert next_of(response["HX-Redirect"]) == page  # the page, never .../notes/ (405 on GET)
    assert response[KEPT_INPUT_HEADER] == "signed-out"
    assert "HX-Request" in response["Vary"]
    assert not Note.objects.filter(lead=own_lead).exists()


def test_next_keeps_the_query_of_the_page_and_drops_its_fragment(client):
    response = client.get("/leads/?page=2", headers=htmx_from("/leads/?status=new&ordering=name#x"))
    assert next_of(response["HX-Redirect"]) == "/leads/?status=new&ordering=name"


@pytest.mark.parametrize(
    "current",
    ["https://evil.example/leads/", "http://evil.example/leads/", "//evil.example/", "", "junk"],
)
def test_next_is_only_ever_a_page_of_this_site(client, current):
    headers = {"HX-Request": "true"}
    if current:
        headers["HX-Current-URL"] = current
    response = client.get("/leads/", headers=headers)
    assert response.status_code == 200
    assert next_of(response["HX-Redirect"]) is None


def test_the_bell_poll_without_a_session_gets_the_redirect_too(client):
    # app.js keeps the user on the page for a poll (not their own action) and says so instead.
    response = client.get("/notifications/?bell=1", headers=htmx_from("/leads/"))
    assert next_of(response["HX-Redirect"]) == "/leads/"


def test_a_plain_get_keeps_the_usual_redirect(client, own_lead):
    page = f"/leads/{own_lead.slug}/"
    response = client.get(page)
    assert response.status_code == 302
    assert next_of(response["Location"]) == page
    assert "HX-Redirect" not in response


def test_a_plain_post_without_a_session_comes_back_to_the_referring_page(client, own_lead):
    page = f"/leads/{own_lead.slug}/"
    response = client.post(
        f"{page}notes/", {"note": "x"}, headers={"Referer": f"http://testserver{page}"}
    )
    assert response.status_code == 302
    assert next_of(response["Location"]) == page
    response = client.post(
        f"{page}notes/", {"note": "x"}, headers={"Referer": "https://evil.example/"}
    )
    assert next_of(response["Location"]) is None


def test_signed_in_htmx_actions_are_untouched(web, users, own_lead):
    page = f"/leads/{own_lead.slug}/"
    response = web(users["salesperson"]).post(
        f"{page}notes/", {"note": "Still here"}, headers=htmx_from(page)
    )
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert "Still here" in response.content.decode()


def stale_client(user) -> Client:
    """A browser tab whose page holds a token from before the user signed in again."""
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    old_token = client.cookies["csrftoken"].value
    response = client.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": old_token}
    )
    assert response.status_code == 302
    client.old_token = old_token
    return client


def test_an_action_with_a_stale_token_reloads_its_page_keeping_the_input(users, own_lead):
    client = stale_client(users["salesperson"])
    page = f"/leads/{own_lead.slug}/"
    headers = {**htmx_from(page), "X-CSRFToken": client.old_token}
    response = client.post(f"{page}notes/", {"note": "After signing in again"}, headers=headers)
    assert response.status_code == 200
    assert response["HX-Redirect"] == page
    assert response[KEPT_INPUT_HEADER] == "stale-page"
    assert not Note.objects.filter(lead=own_lead).exists()


def test_a_stale_token_without_a_session_goes_to_sign_in(users, own_lead):
    client = Client(enforce_csrf_checks=True)
    page = f"/leads/{own_lead.slug}/"
    headers = {**htmx_from(page), "X-CSRFToken": "x" * 32}
    response = client.post(f"{page}notes/", {"note": "x"}, headers=headers)
    assert next_of(response["HX-Redirect"]) == page
    assert response[KEPT_INPUT_HEADER] == "signed-out"


def test_a_plain_form_with_a_stale_token_still_gets_the_403_page(users, own_lead):
    client = stale_client(users["salesperson"])
    response = client.post(
        f"/leads/{own_lead.slug}/notes/",
        {"note": "x", "csrfmiddlewaretoken": client.old_token},
    )
    assert response.status_code == 403
