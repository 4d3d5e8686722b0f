"""Sign in, sign out and password change of the web app (SPEC §8: every page needs a user)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PAGES = ["/", "/leads/", "/pipeline/", "/leads/export.csv", "/import/", "/appointments/"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={quote(path)}"


def test_anonymous_htmx_request_is_sent_to_the_login_page_too(client):
    # The whole browser goes (HX-Redirect), not the swapped part (tests/test_session_expiry.py).
    response = client.get("/leads/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(LOGIN)


def test_anonymous_post_changes_nothing(client, users):
    response = client.post("/pipeline/move/", {"slug": "x", "status": "closed"})
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_login_page_labels_its_fields(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Username' in html
    assert '<label for="id_password">Password' in html
    assert "<h1>Sign in to Lead CRM</h1>" in html
    assert 'action="/accounts/login/"' in html and 'method="post"' in html


def test_login_lands_on_the_dashboard(client, users):
    response = client.post(LOGIN, {"username": "salesperson", "password": PASSWORD}, follow=True)
    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert response.context["user"] == users["salesperson"]
    assert "<h1>Dashboard</h1>" in response.content.decode()


def test_login_follows_next(client, users):
    response = client.post(
        LOGIN, {"username": "salesperson", "password": PASSWORD, "next": "/pipeline/"}
    )
    assert response["Location"] == "/pipeline/"


def test_login_never_redirects_off_site(client, users):
    response = client.post(
        LOGIN,
        {"username": "salesperson", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("dashboard")


def test_wrong_password_shows_an_error_and_signs_nobody_in(client, users):
    response = client.post(LOGIN, {"username": "salesperson", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signed_in_user_is_sent_from_the_login_page_to_the_dashboard(client, users):
    client.force_login(users["salesperson"])
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_logout_needs_post(client, users):
    client.force_login(users["salesperson"])
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session  # still signed in

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_every_page_has_the_sign_out_form(client, users):
    client.force_login(users["salesperson"])
    html = client.get("/").content.decode()
    assert '<form method="post" action="/accounts/logout/" data-sign-out>' in html
    assert ">Sign out</button>" in html


def test_logout_without_csrf_token_is_refused(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["salesperson"])
    assert client.post("/accounts/logout/").status_code == 403
    assert "_auth_user_id" in client.session


def test_password_change_page_labels_its_fields(client, users):
    client.force_login(users["salesperson"])
    response = client.get("/accounts/password/")
    assert response.status_code == 200
    html = response.content.decode()
    for field, label in [
        ("old_password", "Old password"),
        ("new_password1", "New password"),
        ("new_password2", "New password confirmation"),
    ]:
        assert f'<label for="id_{field}">{label}' in html


def test_password_change_works_and_says_so(client, users):
    user = users["salesperson"]
    client.force_login(user)
    new = "a-much-better-password-42"
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert "Your password was changed." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(new)
    assert response.context["user"].is_authenticated  # the session survives the change

    fresh = Client()
    assert fresh.login(username="salesperson", password=new)
    assert not Client().login(username="salesperson", password=PASSWORD)


def test_password_change_with_a_wrong_old_password_is_refused(client, users):
    user = users["salesperson"]
    client.force_login(user)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "wrong",
            "new_password1": "x-Y-z-12345678",
            "new_password2": "x-Y-z-12345678",
        },
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert not list(get_messages(response.wsgi_request))
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_needs_sign_in(client):
    response = client.get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_every_page_names_its_own_icon(client):
    """Browsers ask for /favicon.ico when a page names no icon; ours names one it serves."""
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/crm/favicon.svg" type="image/svg+xml">' in page
    icon = finders.find("crm/favicon.svg")
    assert icon and "<svg" in Path(icon).read_text()
