"""REST authentication: the ``apikey`` header (an integration) and the bearer access token (a
user) on every request; login, token refresh and logout; deactivated users and revoked keys;
keys stored hashed; and the provisioning commands that create users, keys and tokens.

Every refusal answers 401 ``Authentication failed`` with a message naming the credential at
fault: the API key, the access token or the refresh token."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from crm.models import ApiKey, User
from crm.roles import Role
from crm.services import api_key_create, api_key_revoke
from crm.tokens import issue_access_token, issue_tokens
from leads.models import Lead
from tests.conftest import PartnerClient
from tests.factories import PASSWORD, LeadFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/user/login/"
REFRESH = "/api/v1/user/token/refresh/"
LOGOUT = "/api/v1/user/logout/"
BAD_CREDENTIALS = {
    "status_code": 401,
    "error_type": "Authentication failed",
    "errors": {"detail": ["The supplied authentication credentials are invalid."]},
    "data": {},
}
# One request per endpoint, valid once authenticated (the lead endpoints and two aliases).
PROTECTED = [
    ("GET", "/api/v1/leads/overview/"),
    ("GET", "/api/v1/leads/list/"),
    ("GET", "/api/v1/leads/appointments/list/"),
    ("GET", "/api/v1/leads/view/lead/"),
    ("POST", "/api/v1/leads/create/appointment/"),
    ("POST", "/api/v1/leads/update/appointment/"),
    ("POST", "/api/v1/leads/delete/appointment/"),
    ("POST", "/api/v1/leads/create/lead/"),
    ("POST", "/api/v1/leads/update/lead/"),
    ("POST", "/api/v1/leads/delete/lead/"),
    ("POST", "/api/v1/leads/create/leadnote/"),
    ("POST", "/api/v1/leads/delete/leadnote/"),
    ("GET", "/api/v1/view/lead/"),
    ("POST", "/api/v1/create/lead/"),
]
NEW_LEAD = {
    "first_name": "Pat",
    "last_name": "Buyer",
    "email": "pat@example.com",
    "phone": "5551234567",
}


def call(headers: dict[str, str], method: str = "GET", path: str = "/api/v1/leads/list/"):
    client = APIClient()
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, {}, format="multipart", headers=headers)


def post(path: str, data: dict, headers: dict[str, str], fmt: str = "multipart"):
    return APIClient().post(path, data, format=fmt, headers=headers)


def refusal(response) -> str:
    """The one message of a 401 ``Authentication failed`` answer in the envelope."""
    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body) == {"status_code", "error_type", "errors", "data"}, body
    assert body["status_code"] == 401
    assert body["error_type"] == "Authentication failed"
    assert body["data"] == {}
    assert list(body["errors"]) == ["detail"] and len(body["errors"]["detail"]) == 1, body
    message = body["errors"]["detail"][0]
    assert isinstance(message, str) and message
    return message.lower()


def blames_api_key(response) -> None:
    message = refusal(response)
    assert "api key" in message, message
    assert "token" not in message, message


def blames_access_token(response) -> None:
    message = refusal(response)
    assert "access token" in message, message
    assert "api key" not in message, message


def blames_refresh_token(response) -> None:
    message = refusal(response)
    assert "refresh token" in message, message
    assert "api key" not in message, message


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expired_access(user: User) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=1))
    return str(token)


# --- login ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_login_answers_a_refresh_and_an_access_token(api_key, salesperson, fmt):
    response = post(
        LOGIN, {"username": "salesperson", "password": PASSWORD}, {"apikey": api_key}, fmt
    )
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert set(tokens) == {"refresh", "access"}
    assert tokens["refresh"] != tokens["access"]
    listed = call({"apikey": api_key, **bearer(tokens["access"])})
    assert listed.status_code == 200, listed.json()
    refreshed = post(REFRESH, {"refresh": tokens["refresh"]}, {"apikey": api_key})
    assert refreshed.status_code == 200, refreshed.json()


def test_login_answers_as_the_user_who_signed_in(api_key, users):
    tokens = post(LOGIN, {"username": "jr_salesperson", "password": PASSWORD}, {"apikey": api_key})
    created = post(
        "/api/v1/leads/create/lead/",
        NEW_LEAD,
        {"apikey": api_key, **bearer(tokens.json()["access"])},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["data"]["owner"] == "jr_salesperson"
    assert Lead.objects.get(slug=created.json()["data"]["slug"]).owner == users["jr_salesperson"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "salesperson", "password": "wrong-password"},
        {"username": "salesperson", "password": PASSWORD.upper()},
        {"username": "no-such-user", "password": PASSWORD},
        {"username": "SALESPERSON ", "password": PASSWORD},
        {"username": "salesperson", "password": PASSWORD + " "},
    ],
    ids=["wrong-password", "wrong-case-password", "unknown-user", "other-username", "padded"],
)
@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_bad_credentials_answer_the_documented_401(api_key, salesperson, credentials, fmt):
    response = post(LOGIN, credentials, {"apikey": api_key}, fmt)
    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS


def test_a_deactivated_user_cannot_log_in(api_key, salesperson):
    salesperson.is_active = False
    salesperson.save(update_fields=["is_active"])
    response = post(LOGIN, {"username": "salesperson", "password": PASSWORD}, {"apikey": api_key})
    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS


@pytest.mark.parametrize(
    "headers",
    [{}, {"apikey": ""}, {"apikey": "garbage"}, {"apikey": "abc.def"}],
    ids=["missing", "empty", "garbage", "unknown"],
)
def test_login_needs_a_valid_api_key(salesperson, headers):
    response = post(LOGIN, {"username": "salesperson", "password": PASSWORD}, headers)
    blames_api_key(response)


def test_login_ignores_a_stale_authorization_header(api_key, salesperson):
    """A client whose token expired signs in again; its old header must not get in the way."""
    headers = {"apikey": api_key, **bearer(expired_access(salesperson))}
    response = post(LOGIN, {"username": "salesperson", "password": PASSWORD}, headers)
    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"refresh", "access"}


def test_login_records_the_last_login(api_key, salesperson):
    assert salesperson.last_login is None
    post(LOGIN, {"username": "salesperson", "password": PASSWORD}, {"apikey": api_key})
    salesperson.refresh_from_db()
    assert salesperson.last_login is not None


# --- refresh and logout -------------------------------------------------------------------------


def test_refresh_answers_a_new_working_access_token(api_key, salesperson):
    tokens = issue_tokens(salesperson)
    response = post(REFRESH, {"refresh": tokens["refresh"]}, {"apikey": api_key}, "json")
    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"access"}
    access = response.json()["access"]
    assert str(AccessToken(access)["user_id"]) == str(salesperson.pk)
    assert call({"apikey": api_key, **bearer(access)}).status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda user: "garbage",
        lambda user: "a.b.c",
        lambda user: issue_access_token(user),
        lambda user: str(_expired_refresh(user)),
        lambda user: jwt.encode(
            {"token_type": "refresh", "user_id": str(user.pk), "jti": "x", "exp": 9999999999},
            "not-the-server-secret-but-just-as-long-0123456789",
            algorithm="HS256",
        ),
    ],
    ids=["garbage", "not-a-jwt", "an-access-token", "expired", "forged"],
)
def test_refresh_refuses_a_bad_refresh_token(api_key, salesperson, make):
    response = post(REFRESH, {"refresh": make(salesperson)}, {"apikey": api_key})
    blames_refresh_token(response)


def _expired_refresh(user: User) -> RefreshToken:
    token = RefreshToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=30))
    return token


@pytest.mark.parametrize("path", [REFRESH, LOGOUT])
@pytest.mark.parametrize("headers", [{}, {"apikey": "garbage"}], ids=["missing", "garbage"])
def test_refresh_and_logout_need_a_valid_api_key(salesperson, path, headers):
    response = post(path, {"refresh": issue_tokens(salesperson)["refresh"]}, headers)
    blames_api_key(response)


def test_logout_revokes_the_refresh_token(api_key, salesperson):
    tokens = issue_tokens(salesperson)
    response = post(LOGOUT, {"refresh": tokens["refresh"]}, {"apikey": api_key})
    assert response.status_code == 200, response.json()
    assert response.json() == {"status_code": 200, "errors": {}, "data": {}}

    blames_refresh_token(post(REFRESH, {"refresh": tokens["refresh"]}, {"apikey": api_key}))
    blames_refresh_token(post(LOGOUT, {"refresh": tokens["refresh"]}, {"apikey": api_key}))


def test_logout_leaves_the_users_other_sessions_alone(api_key, salesperson):
    phone, laptop = issue_tokens(salesperson), issue_tokens(salesperson)
    assert post(LOGOUT, {"refresh": phone["refresh"]}, {"apikey": api_key}).status_code == 200
    response = post(REFRESH, {"refresh": laptop["refresh"]}, {"apikey": api_key})
    assert response.status_code == 200, response.json()


def test_logout_refuses_a_bad_refresh_token(api_key, salesperson):
    blames_refresh_token(post(LOGOUT, {"refresh": "garbage"}, {"apikey": api_key}))
    access = issue_access_token(salesperson)
    blames_refresh_token(post(LOGOUT, {"refresh": access}, {"apikey": api_key}))


# --- deactivated users ------------------------------------------------------------------------


def test_a_deactivated_users_tokens_are_refused(api_key, salesperson):
    tokens = issue_tokens(salesperson)
    headers = {"apikey": api_key, **bearer(tokens["access"])}
    assert call(headers).status_code == 200

    salesperson.is_active = False
    salesperson.save(update_fields=["is_active"])

    blames_access_token(call(headers))
    blames_refresh_token(post(REFRESH, {"refresh": tokens["refresh"]}, {"apikey": api_key}))


def test_deactivating_in_the_admin_revokes_the_refresh_tokens(api_key, users, client):
    salesperson = users["salesperson"]
    tokens = issue_tokens(salesperson)
    client.force_login(users["administrator"])
    page = client.get(f"/admin/crm/user/{salesperson.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name != "password"
    }
    data.update(
        {
            "is_active": "",
            "groups": [],
            "user_permissions": [],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": timezone.localtime(salesperson.date_joined).strftime("%Y-%m-%d"),
            "date_joined_1": timezone.localtime(salesperson.date_joined).strftime("%H:%M:%S"),
        }
    )
    data = {k: v for k, v in data.items() if v is not False}
    response = client.post(f"/admin/crm/user/{salesperson.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    salesperson.refresh_from_db()
    assert not salesperson.is_active

    # Even once reactivated, the sessions that existed when it was deactivated stay revoked.
    salesperson.is_active = True
    salesperson.save(update_fields=["is_active"])
    blames_refresh_token(post(REFRESH, {"refresh": tokens["refresh"]}, {"apikey": api_key}))


# --- API keys ---------------------------------------------------------------------------------


def test_a_revoked_api_key_is_refused(api_key, salesperson):
    headers = {"apikey": api_key, **bearer(issue_access_token(salesperson))}
    assert call(headers).status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get())

    blames_api_key(call(headers))
    blames_api_key(post(LOGIN, {"username": "salesperson", "password": PASSWORD}, headers))
    blames_api_key(post(REFRESH, {"refresh": issue_tokens(salesperson)["refresh"]}, headers))


def test_revoking_one_key_leaves_the_other_integrations_working(api_key, salesperson):
    _other, other_raw = api_key_create(name="Second integration")
    api_key_revoke(api_key=ApiKey.objects.get(name="Partner integration"))
    access = issue_access_token(salesperson)
    blames_api_key(call({"apikey": api_key, **bearer(access)}))
    assert call({"apikey": other_raw, **bearer(access)}).status_code == 200


def _garbage_keys(raw: str) -> dict[str, str]:
    account_id, _dot, secret = raw.partition(".")
    return {
        "empty": "",
        "blank": "   ",
        "garbage": "garbage",
        "dot": ".",
        "account-id-only": account_id,
        "account-id-and-dot": f"{account_id}.",
        "secret-only": secret,
        "wrong-secret": f"{account_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",
        "unknown-account": f"0000000000000000.{secret}",
        "swapped": f"{secret}.{account_id}",
        "bearer-prefix": f"Bearer {raw}",
        "huge": "x" * 10_000,
        "huge-secret": f"{account_id}.{'x' * 10_000}",
        "non-ascii": "clé.secrète",
    }


GARBAGE_KEY_KINDS = list(_garbage_keys("0123456789abcdef.secret"))


@pytest.mark.parametrize("kind", GARBAGE_KEY_KINDS)
def test_a_garbage_api_key_is_refused(api_key, salesperson, kind):
    garbage = _garbage_keys(api_key)[kind]
    headers = {"apikey": garbage, **bearer(issue_access_token(salesperson))}
    blames_api_key(call(headers))


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[p for _m, p in PROTECTED])
def test_every_endpoint_refuses_a_missing_api_key(salesperson, method, path):
    blames_api_key(call(bearer(issue_access_token(salesperson)), method, path))


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[p for _m, p in PROTECTED])
def test_every_endpoint_refuses_a_garbage_api_key(salesperson, method, path):
    headers = {"apikey": "garbage.key", **bearer(issue_access_token(salesperson))}
    blames_api_key(call(headers, method, path))


def test_a_bad_api_key_is_named_first_when_both_credentials_are_bad():
    blames_api_key(call({"apikey": "garbage", "Authorization": "Bearer garbage"}))
    blames_api_key(call({}))


def test_the_api_key_is_stored_hashed(api_key):
    account_id, _dot, secret = api_key.partition(".")
    row = ApiKey.objects.get()
    assert row.account_id == account_id
    stored = [str(value) for value in ApiKey.objects.values_list().get()]
    assert all(secret not in value for value in stored), stored
    assert all(api_key not in value for value in stored), stored
    assert row.secret_hash != secret
    assert row.matches(secret)
    assert not row.matches(secret + "x")


def test_keys_are_unique_and_random():
    raws = {api_key_create(name=f"Integration {i}")[1] for i in range(5)}
    assert len(raws) == 5
    assert all(re.fullmatch(r"[0-9a-f]{16}\.[A-Za-z0-9_-]{40,}", raw) for raw in raws), raws


def test_the_last_use_of_a_key_is_recorded(api_key, salesperson):
    key = ApiKey.objects.get()
    assert key.last_used_at is None

    account_id = api_key.partition(".")[0]
    blames_api_key(call({"apikey": f"{account_id}.wrong", **bearer("x")}))
    key.refresh_from_db()
    assert key.last_used_at is None  # a wrong secret is not a use

    before = timezone.now()
    assert call({"apikey": api_key, **bearer(issue_access_token(salesperson))}).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert before <= key.last_used_at <= timezone.now()


def test_the_last_use_is_recorded_by_a_login_too(api_key, salesperson):
    post(LOGIN, {"username": "salesperson", "password": PASSWORD}, {"apikey": api_key})
    assert ApiKey.objects.get().last_used_at is not None


# --- access tokens ------------------------------------------------------------------------------


def _forged(user: User) -> str:
    payload = {"token_type": "access", "user_id": str(user.pk), "jti": "x", "exp": 9999999999}
    return jwt.encode(
        payload, "not-the-server-secret-but-just-as-long-0123456789", algorithm="HS256"
    )


def _unsigned(user: User) -> str:
    payload = {"token_type": "access", "user_id": str(user.pk), "jti": "x", "exp": 9999999999}
    return jwt.encode(payload, None, algorithm="none")


def _for_a_missing_user(user: User) -> str:
    token = AccessToken.for_user(user)
    token["user_id"] = "987654321"
    return str(token)


BAD_AUTHORIZATION = {
    "missing": lambda user: None,
    "empty": lambda user: "",
    "bearer-only": lambda user: "Bearer",
    "bearer-space": lambda user: "Bearer ",
    "garbage": lambda user: "Bearer garbage",
    "not-a-jwt": lambda user: "Bearer a.b.c",
    "no-scheme": lambda user: issue_access_token(user),
    "basic": lambda user: "Basic c2FsZXNwZXJzb246dGVzdC1wYXNzd29yZA==",
    "token-scheme": lambda user: f"Token {issue_access_token(user)}",
    "two-tokens": lambda user: f"Bearer {issue_access_token(user)} {issue_access_token(user)}",
    "expired": lambda user: f"Bearer {expired_access(user)}",
    "refresh-token": lambda user: f"Bearer {issue_tokens(user)['refresh']}",
    "forged": lambda user: f"Bearer {_forged(user)}",
    "unsigned": lambda user: f"Bearer {_unsigned(user)}",
    "missing-user": lambda user: f"Bearer {_for_a_missing_user(user)}",
    "huge": lambda user: "Bearer " + "x" * 10_000,
    "non-ascii": lambda user: "Bearer jéton",
}


@pytest.mark.parametrize("kind", BAD_AUTHORIZATION)
def test_a_missing_or_bad_access_token_is_refused(api_key, salesperson, kind):
    value = BAD_AUTHORIZATION[kind](salesperson)
    headers = {"apikey": api_key} if value is None else {"apikey": api_key, "Authorization": value}
    blames_access_token(call(headers))


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[p for _m, p in PROTECTED])
@pytest.mark.parametrize("kind", ["missing", "garbage", "expired"])
def test_every_endpoint_refuses_a_bad_access_token(api_key, salesperson, method, path, kind):
    value = BAD_AUTHORIZATION[kind](salesperson)
    headers = {"apikey": api_key} if value is None else {"apikey": api_key, "Authorization": value}
    blames_access_token(call(headers, method, path))


def test_a_refused_request_writes_nothing(api_key, manager):
    lead = LeadFactory(by=manager, owner=manager)
    headers = {"apikey": api_key, **bearer(expired_access(manager))}
    response = post("/api/v1/leads/delete/lead/", {"slug": lead.slug}, headers)
    blames_access_token(response)
    response = post("/api/v1/leads/create/lead/", NEW_LEAD, {"apikey": "garbage", **bearer("x")})
    blames_api_key(response)
    lead.refresh_from_db()
    assert not lead.is_deleted
    assert Lead.objects.count() == 1


def test_a_users_token_works_with_any_integrations_key(salesperson, manager):
    """Keys belong to integrations and tokens to users: any pairing of the two works."""
    _first, first = api_key_create(name="CRM sync")
    _second, second = api_key_create(name="Web form")
    tokens = post(LOGIN, {"username": "salesperson", "password": PASSWORD}, {"apikey": first})
    access = tokens.json()["access"]
    for key in (first, second):
        created = post("/api/v1/leads/create/lead/", NEW_LEAD, {"apikey": key, **bearer(access)})
        assert created.status_code == 201, created.json()
        assert created.json()["data"]["owner"] == "salesperson"
    # ... and the same key carries any user's token.
    created = post(
        "/api/v1/leads/create/lead/",
        NEW_LEAD,
        {"apikey": second, **bearer(issue_access_token(manager))},
    )
    assert created.json()["data"]["owner"] == manager.username
    refreshed = post(REFRESH, {"refresh": tokens.json()["refresh"]}, {"apikey": second})
    assert refreshed.status_code == 200, refreshed.json()


# --- provisioning commands --------------------------------------------------------------------


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_create_api_key_prints_a_working_key_alone_on_the_last_line(salesperson):
    lines = run("create_api_key", "Billing integration")
    raw = lines[-1]
    assert raw == raw.strip() and " " not in raw
    assert re.fullmatch(r"[0-9a-f]{16}\.[A-Za-z0-9_-]+", raw), lines
    key = ApiKey.objects.get(name="Billing integration")
    assert raw.startswith(key.account_id + ".")
    assert all(raw.partition(".")[2] not in line for line in lines[:-1])
    response = call({"apikey": raw, **bearer(issue_access_token(salesperson))})
    assert response.status_code == 200, response.json()


def test_each_create_api_key_run_makes_a_new_key():
    first, second = run("create_api_key", "Web form")[-1], run("create_api_key", "Web form")[-1]
    assert first != second
    assert ApiKey.objects.filter(name="Web form").count() == 2


def test_issue_token_prints_a_working_access_token_alone_on_the_last_line(api_key, users):
    lines = run("issue_token", "jr_salesperson")
    token = lines[-1]
    assert token == token.strip() and " " not in token and token.count(".") == 2, lines
    created = post("/api/v1/leads/create/lead/", NEW_LEAD, {"apikey": api_key, **bearer(token)})
    assert created.status_code == 201, created.json()
    assert created.json()["data"]["owner"] == "jr_salesperson"


def test_issue_token_refuses_an_unknown_or_deactivated_user(salesperson):
    with pytest.raises(CommandError):
        run("issue_token", "no-such-user")
    salesperson.is_active = False
    salesperson.save(update_fields=["is_active"])
    with pytest.raises(CommandError):
        run("issue_token", "salesperson")


@pytest.mark.parametrize("role", Role.values)
def test_create_user_makes_a_user_who_logs_in_through_the_api(api_key, role):
    run("create_user", f"new_{role}", "--role", role, "--password", "A-long-pass-phrase-42")
    user = User.objects.get(username=f"new_{role}")
    assert user.role == role
    assert user.is_active
    assert user.password != "A-long-pass-phrase-42"
    response = post(
        LOGIN, {"username": f"new_{role}", "password": "A-long-pass-phrase-42"}, {"apikey": api_key}
    )
    assert response.status_code == 200, response.json()
    access = response.json()["access"]
    assert call({"apikey": api_key, **bearer(access)}).status_code == 200


def test_create_user_refuses_an_unknown_role_and_a_taken_username(users):
    with pytest.raises(CommandError):
        run("create_user", "someone", "--role", "emperor", "--password", "A-long-pass-phrase-42")
    assert not User.objects.filter(username="someone").exists()
    with pytest.raises(CommandError):
        run("create_user", "salesperson", "--role", "salesperson", "--password", "Another-one-42")
    assert User.objects.filter(username="salesperson").count() == 1


def test_every_refusal_of_a_partner_client_is_a_401(api_key, salesperson):
    """The shared PartnerClient, stripped of one header at a time."""
    client = PartnerClient(api_key, salesperson)
    assert client.get("list/").status_code == 200
    client.headers.pop("Authorization")
    blames_access_token(client.get("list/"))
    client = PartnerClient(api_key, salesperson)
    client.headers.pop("apikey")
    blames_api_key(client.get("list/"))
