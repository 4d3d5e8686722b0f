"""Custom fields: created in the admin, system name fixed for life, values validated by type
and settable by system name through the REST API."""

import re

import pytest

from leads.models import Field, Lead, phone_validator
from leads.services import field_create
from tests.conftest import error_of

pytestmark = pytest.mark.django_db

LEAD = {"first_name": "A", "last_name": "Buyer", "email": "a@example.com", "phone": "5550001234"}


def test_admin_creates_a_field_whose_system_name_survives_relabelling(users, client):
    client.force_login(users["administrator"])
    response = client.post(
        "/admin/leads/field/add/",
        {
            "label": "Favorite Color",
            "source": "",
            "data_type": "text",
            "data_length": 50,
            "is_active": "on",
            "is_available_in_contact_manager": "on",
            "is_editable_in_contact_manager": "on",
            "is_available_in_forms": "on",
            "options": "[]",
            "order": 0,
        },
    )
    assert response.status_code == 302, response.content
    field = Field.objects.get(label="Favorite Color")
    assert re.fullmatch(r"Favorite_Color_[0-9a-f]{13}", field.system_name)
    assert field.is_custom
    system_name = field.system_name

    page = client.get(f"/admin/leads/field/{field.pk}/change/")
    assert system_name.encode() in page.content
    assert b'name="system_name"' not in page.content  # shown read-only, never an input

    response = client.post(
        f"/admin/leads/field/{field.pk}/change/",
        {
            "label": "Pet's Name",
            "source": "",
            "data_type": "text",
            "data_length": 50,
            "is_active": "on",
            "options": "[]",
            "order": 0,
            "system_name": "Hacked_name",
        },
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert field.label == "Pet's Name"
    assert field.system_name == system_name


def test_builtin_fields_are_listed_and_not_editable(users, client):
    builtin = Field.objects.get(system_name="emailAddress")
    assert not builtin.is_custom and builtin.is_required
    client.force_login(users["administrator"])
    page = client.get(f"/admin/leads/field/{builtin.pk}/change/")
    assert page.status_code == 200
    assert b'name="label"' not in page.content


@pytest.fixture
def fields(db):
    return {
        "color": field_create(label="Favorite Color", data_length=10),
        "seats": field_create(label="Seats", data_type="number"),
        "renewal": field_create(label="Renewal", data_type="date"),
        "plan": field_create(label="Plan", data_type="picklist", options=["basic", "pro"]),
        "vip": field_create(label="VIP", data_type="boolean"),
        "site": field_create(label="Site", data_type="url"),
        "contact": field_create(label="Contact", data_type="email"),
        "hotline": field_create(label="Hotline", data_type="phone"),
    }


def test_values_set_by_system_name_are_stored_typed_and_returned(api, fields):
    names = {key: f.system_name for key, f in fields.items()}
    body = {
        **LEAD,
        names["color"]: "blue",
        names["seats"]: "12",
        names["renewal"]: "2027-03-01",
        names["plan"]: "pro",
        names["vip"]: "yes",
        names["site"]: "https://example.com",
        names["contact"]: "pat@example.com",
        names["hotline"]: "(555) 123-4567",
    }
    created = api.post("create/lead/", body)
    assert created.status_code == 201, created.json()
    expected = {
        names["color"]: "blue",
        names["seats"]: 12,
        names["renewal"]: "2027-03-01",
        names["plan"]: "pro",
        names["vip"]: True,
        names["site"]: "https://example.com",
        names["contact"]: "pat@example.com",
        names["hotline"]: "5551234567",  # stored as every phone number: without separators
    }
    assert created.json()["data"]["custom_fields"] == expected
    slug = created.json()["data"]["slug"]
    assert api.get("view/lead/", {"slug": slug}).json()["data"]["custom_fields"] == expected

    updated = api.post(
        "update/lead/", {**LEAD, "slug": slug, names["seats"]: "", names["plan"]: "basic"}
    )
    assert updated.status_code == 200, updated.json()
    custom = Lead.objects.get(slug=slug).custom_fields
    assert names["seats"] not in custom  # an empty value clears it
    assert custom[names["plan"]] == "basic"
    assert custom[names["color"]] == "blue"  # untouched values stay


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("color", "x" * 11, "Ensure this field has no more than 10 characters."),
        ("seats", "twelve", "Enter a number."),
        ("renewal", "2027-02-30", "Enter a date as YYYY-MM-DD."),
        ("plan", "gold", '"gold" is not a valid choice.'),
        ("vip", "maybe", "Enter yes or no."),
        ("site", "not a url", "Enter a valid URL."),
        ("contact", "pat at example", "Invalid email."),
        ("hotline", "call me", phone_validator.message),
    ],
)
def test_invalid_values_are_refused_by_system_name(api, fields, key, value, message):
    name = fields[key].system_name
    response = api.post("create/lead/", {**LEAD, name: value})
    assert error_of(response) == (400, "Validation Error", {name: [message]})
    assert not Lead.objects.exists()


def test_a_required_field_must_be_given_on_create(api):
    field = field_create(label="Contract number", is_required=True)
    response = api.post("create/lead/", LEAD)
    assert error_of(response) == (
        400,
        "Validation Error",
        {field.system_name: ["This field is required."]},
    )
    assert api.post("create/lead/", {**LEAD, field.system_name: "C-1"}).status_code == 201


def test_an_inactive_field_is_not_settable(api):
    field = field_create(label="Old field", is_active=False)
    created = api.post("create/lead/", {**LEAD, field.system_name: "ignored"})
    assert created.status_code == 201
    assert created.json()["data"]["custom_fields"] == {}
