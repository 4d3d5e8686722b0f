"""Revocation that holds: a new password (web or admin) and "Sign out everywhere" end every
other session and refuse every API token issued before; an API logout refuses the access
tokens its refresh token gave, not only the refresh token."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from rest_framework.test import APIClient

from crm.models import User
from crm.tokens import issue_tokens
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LIST = "/api/v1/leads/list/"
REFRESH = "/api/v1/user/token/refresh/"
LOGIN = "/api/v1/user/login/"
LOGOUT = "/api/v1/user/logout/"
NEW_PASSWORD = "a-much-better-password-42"


def signed_in(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def api(api_key: str, access: str) -> int:
    headers = {"apikey": api_key, "Authorization": f"Bearer {access}"}
    return APIClient().get(LIST, headers=headers).status_code


def refresh(api_key: str, token: str) -> int:
    return APIClient().post(REFRESH, {"refresh": token}, headers={"apikey": api_key}).status_code


def login(api_key: str, username: str, password: str) -> dict:
    response = APIClient().post(
        LOGIN, {"username": username, "password": password}, headers={"apikey": api_key}
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_new_password_on_the_web_signs_out_everywhere_else(api_key, users):
    seller = users["salesperson"]
    here, elsewhere = signed_in(seller), signed_in(seller)
    tokens = issue_tokens(seller)
    assert api(api_key, tokens["access"]) == 200

    response = here.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert is_signed_in(here)  # where the password was changed
    assert not is_signed_in(elsewhere)
    assert api(api_key, tokens["access"]) == 401
    assert refresh(api_key, tokens["refresh"]) == 401
    fresh = login(api_key, "salesperson", NEW_PASSWORD)
    assert api(api_key, fresh["access"]) == 200


def test_a_password_an_administrator_sets_revokes_too(api_key, users):
    seller = users["salesperson"]
    session = signed_in(seller)
    tokens = issue_tokens(seller)
    admin = Client()
    admin.force_login(users["administrator"])
    response = admin.post(
        f"/admin/crm/user/{seller.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not is_signed_in(session)
    assert api(api_key, tokens["access"]) == 401
    assert refresh(api_key, tokens["refresh"]) == 401


def test_sign_out_everywhere(api_key, users):
    seller, manager = users["salesperson"], users["sales_manager"]
    here, elsewhere, colleague = signed_in(seller), signed_in(seller), signed_in(manager)
    mine, theirs = issue_tokens(seller), issue_tokens(manager)
    page = here.get("/accounts/password/").content.decode()
    assert 'action="/accounts/sign-out-everywhere/"' in page

    response = here.post("/accounts/sign-out-everywhere/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert [str(m) for m in get_messages(response.wsgi_request)][0].startswith(
        "You were signed out everywhere"
    )
    assert not is_signed_in(here) and not is_signed_in(elsewhere)
    assert api(api_key, mine["access"]) == 401 and refresh(api_key, mine["refresh"]) == 401
    # Nobody else is touched, and signing in again works.
    assert is_signed_in(colleague) and api(api_key, theirs["access"]) == 200
    assert is_signed_in(signed_in(seller))
    assert api(api_key, issue_tokens(User.objects.get(pk=seller.pk))["access"]) == 200


def test_sign_out_everywhere_takes_a_post(users):
    client = signed_in(users["salesperson"])
    assert client.get("/accounts/sign-out-everywhere/").status_code == 405
    assert is_signed_in(client)


def test_an_api_logout_refuses_the_access_tokens_of_its_refresh_token(api_key, users):
    phone = login(api_key, "salesperson", PASSWORD)
    laptop = login(api_key, "salesperson", PASSWORD)
    renewed = (
        APIClient()
        .post(REFRESH, {"refresh": phone["refresh"]}, headers={"apikey": api_key})
        .json()["access"]
    )
    assert api(api_key, phone["access"]) == 200 and api(api_key, renewed) == 200

    response = APIClient().post(LOGOUT, {"refresh": phone["refresh"]}, headers={"apikey": api_key})
    assert response.status_code == 200
    assert api(api_key, phone["access"]) == 401
    assert api(api_key, renewed) == 401  # issued from the same refresh token
    assert api(api_key, laptop["access"]) == 200  # another sign-in of the same user


def test_a_password_hash_upgrade_at_sign_in_is_not_a_new_password(api_key, users, settings):
    """Django re-hashes a password with the preferred hasher when it checks it; that must not
    revoke the user's tokens."""
    seller = users["salesperson"]
    tokens = issue_tokens(seller)
    version = User.objects.get(pk=seller.pk).sign_in_version
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    user = User.objects.get(pk=seller.pk)
    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("scrypt$")  # upgraded and saved
    assert user.sign_in_version == version
    assert api(api_key, tokens["access"]) == 200 and refresh(api_key, tokens["refresh"]) == 200
