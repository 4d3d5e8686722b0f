"""The Django admin: every configuration page answers, API keys are shown once, statuses keep
their keys, users are deactivated rather than deleted."""

import re
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command

from crm.models import ApiKey, User
from crm.roles import Role
from crm.services import api_key_authenticate, user_create
from leads.models import Status
from leads.selectors import leads_exist

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["administrator"])
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/crm/user/",
        "/admin/crm/user/add/",
        "/admin/crm/apikey/",
        "/admin/crm/apikey/add/",
        "/admin/leads/status/",
        "/admin/leads/status/prospect/change/",
        "/admin/leads/source/",
        "/admin/leads/campaign/",
        "/admin/leads/campaign/add/",
        "/admin/leads/field/",
        "/admin/leads/field/add/",
        "/admin/leads/lead/",
        "/admin/leads/deletedlead/",
        "/admin/leads/leadlist/",
        "/admin/appointments/appointment/",
    ],
)
def test_every_admin_page_answers(admin_client, path):
    assert admin_client.get(path).status_code == 200


def test_only_administrators_reach_the_admin(client, users):
    for role, user in users.items():
        client.force_login(user)
        status = client.get("/admin/leads/status/").status_code
        assert (status == 200) == (role == "administrator"), role


def test_a_new_api_key_is_shown_once_and_stored_hashed(admin_client):
    response = admin_client.post(
        "/admin/crm/apikey/add/", {"name": "Website forms", "scope": "full"}, follow=True
    )
    assert response.status_code == 200
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    shown = [re.search(r"([0-9a-f]{16}\.[\w-]{20,})", t) for t in texts]
    raw = next(m.group(1) for m in shown if m)
    key = ApiKey.objects.get(name="Website forms")
    assert raw.startswith(key.account_id + ".")
    assert raw.split(".", 1)[1] not in key.secret_hash
    assert api_key_authenticate(raw) == key
    again = admin_client.get(f"/admin/crm/apikey/{key.pk}/change/")
    assert raw.split(".", 1)[1].encode() not in again.content


def test_revoking_a_key_in_the_admin_stops_it(admin_client):
    out = StringIO()
    call_command("create_api_key", "Old integration", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(name="Old integration")
    admin_client.post("/admin/crm/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert api_key_authenticate(raw) is None


def test_the_reserved_deleted_status_cannot_be_deleted_or_deactivated(admin_client):
    assert admin_client.get("/admin/leads/status/deleted/delete/").status_code == 403
    page = admin_client.get("/admin/leads/status/deleted/change/")
    assert b'name="active"' not in page.content
    assert b'name="key"' not in page.content  # keys are fixed once created


def test_admin_edits_a_status_label_and_colour(admin_client):
    response = admin_client.post(
        "/admin/leads/status/prospect/change/",
        {
            "label": "New prospect",
            "description": "Fresh",
            "color": "#123456",
            "order": 0,
            "active": "on",
        },
    )
    assert response.status_code == 302
    status = Status.objects.get(pk="prospect")
    assert (status.label, status.color) == ("New prospect", "#123456")


def test_admin_creates_a_user_with_a_role(admin_client):
    response = admin_client.post(
        "/admin/crm/user/add/",
        {
            "username": "new-salesperson",
            "role": "jr_salesperson",
            "password1": "a-long-enough-password",
            "password2": "a-long-enough-password",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="new-salesperson").role == "jr_salesperson"


def test_users_are_deactivated_not_deleted(admin_client, users):
    salesperson = users["salesperson"]
    assert admin_client.get(f"/admin/crm/user/{salesperson.pk}/delete/").status_code == 403


def test_seed_demo_creates_one_user_per_role_and_prints_a_login(db):
    out = StringIO()
    call_command("seed_demo", "--leads", "12", stdout=out)
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    assert "http://127.0.0.1:8000/ as salesperson / demo-password" in out.getvalue()
    assert User.objects.get(username="administrator").check_password("demo-password")
    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "not added again" in again.getvalue()


def test_seed_demo_if_empty_adds_nothing_to_a_database_with_users(db):
    """`make serve` seeds a fresh database only: never demo accounts beside real ones."""
    user_create(username="real-manager", role="sales_manager", password="x" * 20, validate=False)
    out = StringIO()
    call_command("seed_demo", "--if-empty", "--port", "8001", stdout=out)
    assert list(User.objects.values_list("username", flat=True)) == ["real-manager"]
    assert not leads_exist()
    assert "no demo data added" in out.getvalue() and "127.0.0.1:8001" in out.getvalue()

    User.objects.all().delete()
    call_command("seed_demo", "--if-empty", "--leads", "3", stdout=StringIO())
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert leads_exist()
