"""Every message of the REST API's message table (SPEC §4), verbatim, typos included.

Partner code matches on these strings, so each test sends the real request through the
partner's client and pins the whole answer: the HTTP status, the envelope's ``status_code``,
``error_type``, the one field in ``errors`` and its exact message, and ``data == {}``.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from crm.domain import Actor
from crm.models import User
from crm.roles import Role
from leads.services import lead_delete, note_delete
from tests.conftest import build_once, per_test
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory, UserFactory

# Most tests name ``lead`` and many ``appointment``: both are built once for the module.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world", "built")]

REQUIRED = "This field is required."
BLANK = "This field may not be blank."
# The three appointment endpoints answer an empty value with the source API's own wording.
APPOINTMENT_BLANK = "This field is may not be blank."
ERROR_TYPES = {400: "Validation Error", 401: "Request Failed"}
FORMATS = ("multipart", "json", "urlencoded")
LEAD_FIELDS = ("first_name", "last_name", "email", "phone")
LEAD_ENDPOINTS = ("create/lead/", "update/lead/")
APPOINTMENT_WRITES = ("create/appointment/", "update/appointment/")


def too_long(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


# --- helpers ------------------------------------------------------------------------------


def send(client, path: str, data: dict[str, Any], fmt: str = "multipart"):
    """POST ``data`` as a partner would: multipart (the docs' formData), urlencoded or JSON."""
    if fmt == "urlencoded":
        return client.post_raw(path, urlencode(data), "application/x-www-form-urlencoded")
    return client.post(path, data, fmt=fmt)


def assert_error(response, status: int, field: str, message: str) -> None:
    """The whole documented error envelope, with exactly one message on one field."""
    body = response.json()
    assert response.status_code == status, body
    assert body == {
        "status_code": status,
        "error_type": ERROR_TYPES[status],
        "errors": {field: [message]},
        "data": {},
    }


def assert_ok(response, status: int = 200) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["status_code"] == status
    assert body["errors"] == {}
    assert "error_type" not in body
    return body["data"]


def local(moment) -> str:
    """``yyyy-mm-dd HH:MM`` in the server's time zone, as the API documents appointment times."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def future(days: int = 2, hours: int = 0) -> Any:
    """A minute-aligned moment ``days`` ahead, so what the API parses equals what we booked."""
    return (timezone.now() + timedelta(days=days, hours=hours)).replace(second=0, microsecond=0)


def lead_fields(**overrides: str) -> dict[str, str]:
    data = {
        "first_name": "Pat",
        "last_name": "Buyer",
        "email": "buyer@example.com",
        "phone": "5551234567",
    }
    data.update(overrides)
    return data


def lead_payload(endpoint: str, lead, **overrides: str) -> dict[str, str]:
    """A valid body for ``create/lead/`` or ``update/lead/`` (the latter names ``lead``)."""
    data = lead_fields()
    if endpoint == "update/lead/":
        data["slug"] = lead.slug
    data.update(overrides)
    return data


def booking(lead, days: int = 2, **overrides: str) -> dict[str, str]:
    start = future(days)
    data = {
        "slug": lead.slug,
        "appointment_date": local(start),
        "appointment_to": local(start + timedelta(hours=1)),
        "appointment_note": "Product demo",
        "appointment_status": "pending",
    }
    data.update(overrides)
    return data


def appointment_payload(endpoint: str, lead, appointment, **overrides: str) -> dict[str, str]:
    """A valid body for ``create/appointment/`` or ``update/appointment/``."""
    if endpoint == "create/appointment/":
        data = booking(lead, days=9)
    else:
        data = {"appointment_id": str(appointment.pk), "appointment_note": "Moved to the lab"}
    data.update(overrides)
    return data


def without(data: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in data.items() if k != key}


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def deleted_lead(manager):
    lead = LeadFactory(by=manager, owner=manager)
    return lead_delete(actor=Actor(user=manager), lead=lead)


@pytest.fixture(scope="module")
def built(cast, django_db_blocker) -> SimpleNamespace:
    """A sales manager's lead with an appointment the manager hosts."""

    def build() -> SimpleNamespace:
        manager = cast[Role.SALES_MANAGER]
        lead = LeadFactory(by=manager, owner=manager)
        start = future(days=4)
        end = start + timedelta(hours=1)
        appointment = AppointmentFactory(lead=lead, by=manager, start=start, end=end)
        return SimpleNamespace(lead=lead, appointment=appointment)

    return build_once(django_db_blocker, build)


@pytest.fixture
def lead(built):
    return per_test(built.lead)


@pytest.fixture
def appointment(built, lead):
    """The test's copy of the appointment, on the test's copy of the lead."""
    appointment = per_test(built.appointment)
    appointment.lead = lead
    return appointment


@pytest.fixture
def stranger_lead(users):
    """A lead owned by a jr salesperson: a salesperson neither owns nor is assigned to it."""
    return LeadFactory(owner=users[Role.JR_SALESPERSON])


# --- overview -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yesterday", "year", "0"])
def test_overview_refuses_an_unknown_appointment_filter(api, value):
    response = api.get("overview/", {"appointment": value})
    assert_error(response, 400, "appointment", "Invalid appointment filter value.")


@pytest.mark.parametrize("value", ["upcoming", "today", "week", "month", None])
def test_overview_accepts_the_documented_filters(api, value):
    params = {} if value is None else {"appointment": value}
    data = assert_ok(api.get("overview/", params))
    assert set(data) == {"LeadsData", "TotalLeads", "appointments"}


# --- view/lead ----------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"slug": ""}], ids=["missing", "empty"])
def test_view_lead_needs_a_slug(api, params):
    response = api.get("view/lead/", params)
    assert_error(response, 400, "slug", "This field is required and this may not be blank.")


def test_view_lead_refuses_an_unknown_slug(api):
    response = api.get("view/lead/", {"slug": "no-such-lead"})
    assert_error(response, 400, "slug", "Requested slug is invalid.")


def test_view_lead_answers_a_deleted_lead_as_an_unknown_slug(api, deleted_lead):
    response = api.get("view/lead/", {"slug": deleted_lead.slug})
    assert_error(response, 400, "slug", "Requested slug is invalid.")


def test_view_lead_answers_a_lead_the_user_may_not_see_as_an_unknown_slug(
    client_for, salesperson, stranger_lead
):
    response = client_for(salesperson).get("view/lead/", {"slug": stranger_lead.slug})
    assert_error(response, 400, "slug", "Requested slug is invalid.")


def test_view_lead_answers_the_lead_in_the_success_envelope(api, lead, appointment):
    data = assert_ok(api.get("view/lead/", {"slug": lead.slug}))
    assert (data["slug"], data["notes"]) == (lead.slug, [])
    assert [a["appointment_id"] for a in data["appointments"]] == [appointment.pk]


# --- create/lead and update/lead: the four required fields ---------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("field", LEAD_FIELDS)
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_requires_each_contact_field(api, lead, endpoint, field, fmt):
    data = without(lead_payload(endpoint, lead), field)
    assert_error(send(api, endpoint, data, fmt), 400, field, REQUIRED)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("field", LEAD_FIELDS)
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_each_contact_field_blank(api, lead, endpoint, field, fmt):
    data = lead_payload(endpoint, lead, **{field: ""})
    assert_error(send(api, endpoint, data, fmt), 400, field, BLANK)


TOO_LONG_CONTACT = {
    "first_name": "F" * 256,
    "last_name": "L" * 256,
    "email": "a" * 244 + "@example.com",  # 256 characters
    "phone": "5" * 256,
}


@pytest.mark.parametrize("field", LEAD_FIELDS)
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_each_contact_field_over_255_characters(api, lead, endpoint, field):
    value = TOO_LONG_CONTACT[field]
    assert len(value) == 256
    data = lead_payload(endpoint, lead, **{field: value})
    assert_error(send(api, endpoint, data), 400, field, too_long(255))


@pytest.mark.parametrize(
    ("endpoint", "field", "limit"),
    [
        ("create/lead/", "first_name", 255),
        ("create/lead/", "location", 255),
        ("create/lead/", "status", 50),
        ("create/appointment/", "appointment_note", 200),
        ("/api/v1/user/login/", "username", 150),
    ],
)
def test_a_length_counts_the_text_as_sent_whitespace_around_it_included(
    api, lead, endpoint, field, limit
):
    data = booking(lead) if endpoint == "create/appointment/" else lead_fields(password="x")
    data[field] = " " + "x" * limit  # one over the limit; trimmed, at it
    assert_error(send(api, endpoint, data), 400, field, too_long(limit))


@pytest.mark.parametrize("fmt", FORMATS)
def test_create_lead_with_an_empty_body_names_every_required_field(api, fmt):
    response = send(api, "create/lead/", {}, fmt)
    body = response.json()
    assert response.status_code == 400, body
    assert body == {
        "status_code": 400,
        "error_type": "Validation Error",
        "errors": {field: [REQUIRED] for field in LEAD_FIELDS},
        "data": {},
    }


@pytest.mark.parametrize("email", ["not-an-email", "buyer@", "buyer@example", "two@@example.com"])
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_an_invalid_email(api, lead, endpoint, email):
    data = lead_payload(endpoint, lead, email=email)
    assert_error(send(api, endpoint, data), 400, "email", "Invalid email.")


PHONE_MESSAGE = "Phone number must be entered in the format: '999999999'. Up to 15 digits allowed."


@pytest.mark.parametrize("phone", ["12345", "phone-number", "5" * 16, "555-123-456x"])
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_an_invalid_phone(api, lead, endpoint, phone):
    data = lead_payload(endpoint, lead, phone=phone)
    assert_error(send(api, endpoint, data), 400, "phone", PHONE_MESSAGE)


@pytest.mark.parametrize("field", ["location", "message"])
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_location_and_message_over_255_characters(api, lead, endpoint, field):
    data = lead_payload(endpoint, lead, **{field: "x" * 256})
    assert_error(send(api, endpoint, data), 400, field, too_long(255))


@pytest.mark.parametrize("field", ["location", "message"])
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_accepts_location_and_message_of_255_characters(api, lead, endpoint, field):
    data = lead_payload(endpoint, lead, **{field: "x" * 255})
    response = send(api, endpoint, data)
    saved = assert_ok(response, 201 if endpoint == "create/lead/" else 200)
    assert saved[field] == "x" * 255


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "bogus"),
        ("status", "Prospect!"),
        ("status", "deleted"),  # reserved for soft delete, never set through a write
        ("source", "bogus"),
        ("source", "billboard"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_an_unknown_status_or_source(api, lead, endpoint, fmt, field, value):
    data = lead_payload(endpoint, lead, **{field: value})
    assert_error(send(api, endpoint, data, fmt), 400, field, f'"{value}" is not a valid choice.')


@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_accepts_a_documented_status_and_source(api, lead, endpoint):
    data = lead_payload(endpoint, lead, status="customer", source="referral")
    saved = assert_ok(send(api, endpoint, data), 201 if endpoint == "create/lead/" else 200)
    assert (saved["status"], saved["source"]) == ("customer", "referral")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_a_blank_assignee(api, lead, endpoint, fmt):
    data = lead_payload(endpoint, lead, assignee="")
    assert_error(send(api, endpoint, data, fmt), 400, "assignee", BLANK)


@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_an_unknown_assignee(api, lead, endpoint):
    data = lead_payload(endpoint, lead, assignee="nobody-by-this-name")
    assert_error(send(api, endpoint, data), 400, "assignee", "Assignee not found.")


@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_refuses_a_deactivated_assignee(api, lead, endpoint):
    former = UserFactory(username="former-salesperson", role=Role.SALESPERSON)
    User.objects.filter(pk=former.pk).update(is_active=False)  # as the admin deactivates
    data = lead_payload(endpoint, lead, assignee=former.username)
    assert_error(send(api, endpoint, data), 400, "assignee", "Assignee not found.")


@pytest.mark.parametrize("endpoint", LEAD_ENDPOINTS)
def test_lead_write_answers_the_assignee_by_username(api, lead, endpoint, salesperson):
    data = lead_payload(endpoint, lead, assignee=salesperson.username)
    saved = assert_ok(send(api, endpoint, data), 201 if endpoint == "create/lead/" else 200)
    assert saved["assignee"] == salesperson.username


# --- update/lead: slug and the two 401s ---------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "message"),
    [(None, REQUIRED), ("", BLANK), ("s" * 259, too_long(258))],
    ids=["missing", "blank", "too-long"],
)
def test_update_lead_checks_the_slug(api, lead, slug, message):
    data = lead_fields() if slug is None else lead_fields(slug=slug)
    assert_error(send(api, "update/lead/", data), 400, "slug", message)


def test_update_lead_answers_an_unknown_slug_as_not_existing(api):
    response = send(api, "update/lead/", lead_fields(slug="no-such-lead"))
    assert_error(response, 401, "detail", "Requested lead does not esixt.")


def test_update_lead_answers_a_deleted_lead_as_not_existing(api, deleted_lead):
    response = send(api, "update/lead/", lead_fields(slug=deleted_lead.slug))
    assert_error(response, 401, "detail", "Requested lead does not esixt.")


def test_update_lead_answers_a_lead_the_user_may_not_see_as_not_existing(
    client_for, salesperson, stranger_lead
):
    response = send(client_for(salesperson), "update/lead/", lead_fields(slug=stranger_lead.slug))
    assert_error(response, 401, "detail", "Requested lead does not esixt.")


@pytest.mark.parametrize("role", [Role.JR_SALESPERSON, Role.SALESPERSON])
def test_update_lead_refuses_an_assignee_who_does_not_own_the_lead(
    client_for, users, manager, role
):
    lead = LeadFactory(owner=manager, assignee=users[role])
    response = send(client_for(users[role]), "update/lead/", lead_fields(slug=lead.slug))
    assert_error(response, 401, "detail", "You are not owner of this lead.")


def test_update_lead_lets_a_jr_salesperson_edit_the_lead_it_owns(client_for, users):
    jr = users[Role.JR_SALESPERSON]
    lead = LeadFactory(owner=jr)
    data = assert_ok(send(client_for(jr), "update/lead/", lead_fields(slug=lead.slug)))
    assert (data["slug"], data["first_name"]) == (lead.slug, "Pat")


# --- delete/lead --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, REQUIRED),
        ({"slug": ""}, BLANK),
        ({"slug": "no-such-lead"}, "Requested lead not found."),
    ],
    ids=["missing", "blank", "unknown"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_delete_lead_checks_the_slug(api, fmt, data, message):
    assert_error(send(api, "delete/lead/", data, fmt), 400, "slug", message)


def test_delete_lead_refuses_a_lead_already_deleted(api, deleted_lead):
    response = send(api, "delete/lead/", {"slug": deleted_lead.slug})
    assert_error(response, 400, "slug", "Requested lead already has a deleted status.")


def test_delete_lead_answers_a_lead_the_user_may_not_see_as_not_found(
    client_for, salesperson, stranger_lead
):
    response = send(client_for(salesperson), "delete/lead/", {"slug": stranger_lead.slug})
    assert_error(response, 400, "slug", "Requested lead not found.")


@pytest.mark.parametrize(
    ("role", "relation"),
    [
        (Role.JR_SALESPERSON, "owner"),  # a jr salesperson never deletes
        (Role.SALESPERSON, "assignee"),  # a salesperson deletes only the leads it owns
        (Role.MARKETING_MANAGER, None),  # sees every lead, deletes none
    ],
)
def test_delete_lead_refuses_a_user_who_may_not_delete_it(client_for, users, role, relation):
    lead = LeadFactory(**({relation: users[role]} if relation else {}))
    response = send(client_for(users[role]), "delete/lead/", {"slug": lead.slug})
    assert_error(response, 401, "detail", "You can't delete this lead.")


def test_delete_lead_answers_the_success_envelope(client_for, salesperson):
    lead = LeadFactory(owner=salesperson)
    data = assert_ok(send(client_for(salesperson), "delete/lead/", {"slug": lead.slug}))
    assert data["slug"] == lead.slug


# --- create/leadnote ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "message"),
    [(None, REQUIRED), ("", BLANK), ("no-such-lead", "Requested lead not found.")],
    ids=["missing", "blank", "unknown"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_create_note_checks_the_slug(api, fmt, slug, message):
    data = {"note": "Called back."} if slug is None else {"slug": slug, "note": "Called back."}
    assert_error(send(api, "create/leadnote/", data, fmt), 400, "slug", message)


def test_create_note_refuses_a_deleted_lead(api, deleted_lead):
    response = send(api, "create/leadnote/", {"slug": deleted_lead.slug, "note": "Hello?"})
    assert_error(response, 400, "slug", "Requested lead already has a deleted status.")


@pytest.mark.parametrize(
    ("note", "message"),
    [(None, REQUIRED), ("", BLANK), ("n" * 500, too_long(499))],
    ids=["missing", "blank", "too-long"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_create_note_checks_the_note(api, lead, fmt, note, message):
    data = {"slug": lead.slug} if note is None else {"slug": lead.slug, "note": note}
    assert_error(send(api, "create/leadnote/", data, fmt), 400, "note", message)


def test_create_note_accepts_499_characters(api, lead):
    data = assert_ok(send(api, "create/leadnote/", {"slug": lead.slug, "note": "n" * 499}), 201)
    assert data["note"] == "n" * 499


def test_create_note_refuses_a_user_who_only_reads_notes(client_for, users, lead):
    marketing = client_for(users[Role.MARKETING_MANAGER])
    response = send(marketing, "create/leadnote/", {"slug": lead.slug, "note": "Hello"})
    assert_error(response, 401, "detail", "You can't add note on this lead.")


# --- delete/leadnote ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, REQUIRED),
        ({"note_id": ""}, BLANK),
        ({"note_id": "abc"}, "Invalid note id."),
        ({"note_id": "1.5"}, "Invalid note id."),
        ({"note_id": "999999"}, "Requested note not found."),
    ],
    ids=["missing", "blank", "letters", "decimal", "unknown"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_delete_note_checks_the_note_id(api, fmt, data, message):
    assert_error(send(api, "delete/leadnote/", data, fmt), 400, "note_id", message)


def test_delete_note_answers_a_deleted_note_as_not_found(api, lead, manager):
    note = NoteFactory(lead=lead, by=manager)
    note_delete(actor=Actor(user=manager), note=note)
    response = send(api, "delete/leadnote/", {"note_id": str(note.pk)})
    assert_error(response, 400, "note_id", "Requested note not found.")


def test_delete_note_answers_a_note_on_a_lead_the_user_may_not_see_as_not_found(
    client_for, salesperson, stranger_lead
):
    note = NoteFactory(lead=stranger_lead)
    response = send(client_for(salesperson), "delete/leadnote/", {"note_id": str(note.pk)})
    assert_error(response, 400, "note_id", "Requested note not found.")


def test_delete_note_refuses_a_salesperson_who_did_not_write_it(client_for, salesperson, manager):
    lead = LeadFactory(owner=salesperson)
    note = NoteFactory(lead=lead, by=manager)
    response = send(client_for(salesperson), "delete/leadnote/", {"note_id": str(note.pk)})
    assert_error(response, 401, "detail", "You can't delete this note.")


def test_delete_note_lets_its_author_delete_it(client_for, salesperson):
    lead = LeadFactory(owner=salesperson)
    note = NoteFactory(lead=lead, by=salesperson)
    data = assert_ok(
        send(client_for(salesperson), "delete/leadnote/", {"note_id": note.pk}, "json")
    )
    assert data == {"note_id": note.pk}


# --- create/appointment and update/appointment: body and fields ---------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_with_an_empty_body_is_refused(api, endpoint, fmt):
    assert_error(send(api, endpoint, {}, fmt), 401, "detail", "Body data not found.")


@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_with_no_body_at_all_is_refused(api, endpoint):
    response = api.post_raw(endpoint, b"", "application/json")
    assert_error(response, 401, "detail", "Body data not found.")


@pytest.mark.parametrize(
    ("slug", "message"),
    [(None, REQUIRED), ("", APPOINTMENT_BLANK), ("no-such-lead", "Requested slug is invalid.")],
    ids=["missing", "blank", "unknown"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_create_appointment_checks_the_slug(api, lead, fmt, slug, message):
    data = booking(lead)
    data = without(data, "slug") if slug is None else {**data, "slug": slug}
    assert_error(send(api, "create/appointment/", data, fmt), 400, "slug", message)


def test_create_appointment_refuses_a_deleted_lead(api, deleted_lead):
    response = send(api, "create/appointment/", booking(deleted_lead))
    assert_error(response, 400, "slug", "You can't take appointment under this lead.")


def test_create_appointment_refuses_a_user_who_may_not_book_on_the_lead(client_for, users, lead):
    marketing = client_for(users[Role.MARKETING_MANAGER])
    response = send(marketing, "create/appointment/", booking(lead))
    assert_error(response, 400, "slug", "You can't take appointment under this lead.")


def test_create_appointment_answers_a_lead_the_user_may_not_see_as_invalid(
    client_for, salesperson, stranger_lead
):
    response = send(client_for(salesperson), "create/appointment/", booking(stranger_lead))
    assert_error(response, 400, "slug", "Requested slug is invalid.")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("field", ["appointment_date", "appointment_to"])
def test_create_appointment_requires_both_times(api, lead, field, fmt):
    data = without(booking(lead), field)
    assert_error(send(api, "create/appointment/", data, fmt), 400, field, REQUIRED)


@pytest.mark.parametrize("fmt", FORMATS)
def test_create_appointment_with_only_a_note_names_every_required_field(api, fmt):
    response = send(api, "create/appointment/", {"appointment_note": "Soon"}, fmt)
    body = response.json()
    assert response.status_code == 400, body
    assert body == {
        "status_code": 400,
        "error_type": "Validation Error",
        "errors": {
            "slug": [REQUIRED],
            "appointment_date": [REQUIRED],
            "appointment_to": [REQUIRED],
        },
        "data": {},
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("field", ["appointment_date", "appointment_to", "appointment_status"])
@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_answers_blank_in_the_appointment_wording(
    api, lead, appointment, endpoint, field, fmt
):
    data = appointment_payload(endpoint, lead, appointment, **{field: ""})
    assert_error(send(api, endpoint, data, fmt), 400, field, APPOINTMENT_BLANK)


@pytest.mark.parametrize("fmt", FORMATS)
def test_update_appointment_answers_a_blank_slug_in_the_appointment_wording(api, appointment, fmt):
    data = {"appointment_id": str(appointment.pk), "slug": ""}
    assert_error(send(api, "update/appointment/", data, fmt), 400, "slug", APPOINTMENT_BLANK)


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "2031-13-01 10:00",  # no 13th month
        "2031-02-30 10:00",  # no 30th of February
        "01/02/2031 10:00",  # the list filter's MM/DD/YYYY is a date, not an appointment time
        "2031-01-02 25:00",
        "2031-1-2 10:00",  # two digits each, as the schema's pattern says
        " 2031-01-02 10:00",  # as written: no whitespace around it
        "2031-01-02",  # a time too
        "2031-01-02T10:00:00.1234567",  # at most six digits of a second
        "0000-01-02 10:00",  # no year 0
    ],
)
@pytest.mark.parametrize("field", ["appointment_date", "appointment_to"])
@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_refuses_an_invalid_date_format(
    api, lead, appointment, endpoint, field, value
):
    data = appointment_payload(endpoint, lead, appointment, **{field: value})
    assert_error(send(api, endpoint, data), 400, field, "Invalid date format.")


@pytest.mark.parametrize(("suffix", "hours_ahead_of_utc"), [("", None), ("Z", 0), ("+02:00", 2)])
@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_accepts_iso_8601_times(
    api, lead, appointment, endpoint, suffix, hours_ahead_of_utc
):
    """``T``, seconds with a fraction, and ``Z`` or an offset; without one, the server's zone."""
    start = future(20)
    utc = hours_ahead_of_utc is not None
    wall = start.astimezone(UTC) if utc else timezone.localtime(start)
    data = appointment_payload(
        endpoint,
        lead,
        appointment,
        appointment_date=wall.strftime("%Y-%m-%dT%H:%M:%S.5") + suffix,
        appointment_to=(wall + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M") + suffix,
    )
    status = 201 if endpoint == "create/appointment/" else 200
    saved = assert_ok(send(api, endpoint, data), status)
    expected = start - timedelta(hours=hours_ahead_of_utc or 0)
    assert saved["appointment_date"] == local(expected)
    assert saved["appointment_to"] == local(expected + timedelta(hours=1))


@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_refuses_a_note_over_200_characters(api, lead, appointment, endpoint):
    data = appointment_payload(endpoint, lead, appointment, appointment_note="n" * 201)
    assert_error(send(api, endpoint, data), 400, "appointment_note", too_long(200))


@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_accepts_a_note_of_200_characters(api, lead, appointment, endpoint):
    data = appointment_payload(endpoint, lead, appointment, appointment_note="n" * 200)
    status = 201 if endpoint == "create/appointment/" else 200
    assert assert_ok(send(api, endpoint, data), status)["appointment_note"] == "n" * 200


@pytest.mark.parametrize(
    "value", ["done", "deleted", "fulfiled", "pending!", "Pending", "CONFIRMED", " pending"]
)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_refuses_an_unknown_status(api, lead, appointment, endpoint, fmt, value):
    data = appointment_payload(endpoint, lead, appointment, appointment_status=value)
    response = send(api, endpoint, data, fmt)
    assert_error(response, 400, "appointment_status", "Invalid appointment status.")


@pytest.mark.parametrize("value", ["fullfilled", "fulfilled"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES)
def test_appointment_write_accepts_the_documented_fullfilled_spelling(
    api, lead, appointment, endpoint, fmt, value
):
    data = appointment_payload(endpoint, lead, appointment, appointment_status=value)
    status = 201 if endpoint == "create/appointment/" else 200
    saved = assert_ok(send(api, endpoint, data, fmt), status)
    assert saved["appointment_status"] == "fulfilled"


# --- the date rules (401) -----------------------------------------------------------------


CONFLICT = "Appointment schedule exists for this time."
END_BEFORE_START = "End Date Can't be prior to Start Date."
NOT_FUTURE = "Please Specify a date in the future."


@pytest.mark.parametrize(
    ("offset_minutes", "length_minutes"),
    [(0, 60), (30, 60), (-30, 60), (10, 20), (-30, 120)],
    ids=["same-time", "overlaps-the-end", "overlaps-the-start", "inside", "around"],
)
def test_create_appointment_refuses_a_time_the_host_is_already_booked(
    api, lead, appointment, offset_minutes, length_minutes
):
    start = appointment.start + timedelta(minutes=offset_minutes)
    data = booking(
        lead,
        appointment_date=local(start),
        appointment_to=local(start + timedelta(minutes=length_minutes)),
    )
    assert_error(send(api, "create/appointment/", data), 401, "detail", CONFLICT)


def test_create_appointment_accepts_the_slot_right_after_another(api, lead, appointment):
    data = booking(
        lead,
        appointment_date=local(appointment.end),
        appointment_to=local(appointment.end + timedelta(hours=1)),
    )
    saved = assert_ok(send(api, "create/appointment/", data), 201)
    assert saved["appointment_date"] == local(appointment.end)


@pytest.mark.parametrize("minutes", [-60, -1, 0], ids=["an-hour-before", "a-minute-before", "same"])
def test_create_appointment_refuses_an_end_not_after_the_start(api, lead, minutes):
    start = future(days=3)
    data = booking(
        lead,
        appointment_date=local(start),
        appointment_to=local(start + timedelta(minutes=minutes)),
    )
    assert_error(send(api, "create/appointment/", data), 401, "detail", END_BEFORE_START)


def test_create_appointment_refuses_a_date_in_the_past(api, lead):
    start = timezone.now() - timedelta(days=1)
    data = booking(
        lead, appointment_date=local(start), appointment_to=local(start + timedelta(hours=1))
    )
    assert_error(send(api, "create/appointment/", data), 401, "detail", NOT_FUTURE)


def test_update_appointment_refuses_a_move_onto_another_booking(api, lead, appointment, manager):
    other_start = appointment.end + timedelta(hours=3)
    AppointmentFactory(
        lead=lead, by=manager, start=other_start, end=other_start + timedelta(hours=1)
    )
    data = {
        "appointment_id": str(appointment.pk),
        "appointment_date": local(other_start + timedelta(minutes=30)),
        "appointment_to": local(other_start + timedelta(minutes=90)),
    }
    assert_error(send(api, "update/appointment/", data), 401, "detail", CONFLICT)


def test_update_appointment_refuses_an_end_before_the_start(api, appointment):
    data = {
        "appointment_id": str(appointment.pk),
        "appointment_to": local(appointment.start - timedelta(minutes=30)),
    }
    assert_error(send(api, "update/appointment/", data), 401, "detail", END_BEFORE_START)


def test_update_appointment_refuses_a_move_into_the_past(api, appointment):
    start = timezone.now() - timedelta(days=2)
    data = {
        "appointment_id": str(appointment.pk),
        "appointment_date": local(start),
        "appointment_to": local(start + timedelta(hours=1)),
    }
    assert_error(send(api, "update/appointment/", data), 401, "detail", NOT_FUTURE)


# --- update/appointment and delete/appointment: the id and the host -----------------------


APPOINTMENT_ID_CASES = [
    ({"appointment_id": ""}, APPOINTMENT_BLANK),
    ({"appointment_id": "abc"}, "Invalid appointment id."),
    ({"appointment_id": "1.5"}, "Invalid appointment id."),
    ({"appointment_id": "999999"}, "Requested appointment not found."),
]
APPOINTMENT_ID_IDS = ["blank", "letters", "decimal", "unknown"]


@pytest.mark.parametrize(("data", "message"), APPOINTMENT_ID_CASES, ids=APPOINTMENT_ID_IDS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("endpoint", ["update/appointment/", "delete/appointment/"])
def test_appointment_id_is_checked(api, endpoint, fmt, data, message):
    if endpoint == "update/appointment/":
        data = {**data, "appointment_note": "Bring the samples"}
    assert_error(send(api, endpoint, data, fmt), 400, "appointment_id", message)


def test_update_appointment_requires_the_appointment_id(api):
    data = {"appointment_note": "Bring the samples"}
    assert_error(send(api, "update/appointment/", data), 400, "appointment_id", REQUIRED)


@pytest.mark.parametrize("fmt", FORMATS)
def test_delete_appointment_requires_the_appointment_id(api, fmt):
    response = send(api, "delete/appointment/", {}, fmt)
    assert_error(response, 400, "appointment_id", REQUIRED)


@pytest.mark.parametrize("endpoint", ["update/appointment/", "delete/appointment/"])
def test_a_deleted_appointment_is_not_found(api, appointment, endpoint):
    assert_ok(send(api, "delete/appointment/", {"appointment_id": str(appointment.pk)}))
    data = {"appointment_id": str(appointment.pk), "appointment_note": "Again"}
    response = send(api, endpoint, data)
    assert_error(response, 400, "appointment_id", "Requested appointment not found.")


@pytest.mark.parametrize("endpoint", ["update/appointment/", "delete/appointment/"])
def test_an_appointment_on_a_lead_the_user_may_not_see_is_not_found(
    client_for, salesperson, stranger_lead, endpoint
):
    appointment = AppointmentFactory(lead=stranger_lead)
    data = {"appointment_id": str(appointment.pk), "appointment_note": "Mine now"}
    response = send(client_for(salesperson), endpoint, data)
    assert_error(response, 400, "appointment_id", "Requested appointment not found.")


@pytest.fixture
def hosted_by_manager(salesperson, manager):
    """An appointment a manager hosts on a lead a salesperson owns (and so sees)."""
    lead = LeadFactory(owner=salesperson)
    return AppointmentFactory(lead=lead, by=manager)


def test_update_appointment_refuses_a_salesperson_who_is_not_the_host(
    client_for, salesperson, hosted_by_manager
):
    data = {"appointment_id": str(hosted_by_manager.pk), "appointment_note": "Let me take it"}
    response = send(client_for(salesperson), "update/appointment/", data)
    assert_error(response, 401, "detail", "You can't update this appointment.")


def test_delete_appointment_refuses_a_salesperson_who_is_not_the_host(
    client_for, salesperson, hosted_by_manager
):
    data = {"appointment_id": str(hosted_by_manager.pk)}
    response = send(client_for(salesperson), "delete/appointment/", data)
    assert_error(response, 401, "detail", "You can't delete this appointment.")


def test_delete_appointment_answers_the_success_envelope(client_for, salesperson):
    lead = LeadFactory(owner=salesperson)
    appointment = AppointmentFactory(lead=lead, by=salesperson)
    data = {"appointment_id": appointment.pk}
    response = send(client_for(salesperson), "delete/appointment/", data, "json")
    assert assert_ok(response) == {"appointment_id": appointment.pk}


# --- success envelopes --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_create_lead_answers_201_in_the_success_envelope(api, manager, fmt):
    response = send(api, "create/lead/", lead_fields(status="prospect", source="website"), fmt)
    data = assert_ok(response, 201)
    assert {k: data[k] for k in (*LEAD_FIELDS, "status", "source", "owner", "assignee")} == {
        **lead_fields(),
        "status": "prospect",
        "source": "website",
        "owner": manager.username,
        "assignee": None,
    }
    assert data["slug"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_update_lead_answers_200_in_the_success_envelope(api, lead, fmt):
    data = assert_ok(
        send(api, "update/lead/", lead_fields(slug=lead.slug, last_name="Seller"), fmt)
    )
    assert (data["slug"], data["last_name"]) == (lead.slug, "Seller")


@pytest.mark.parametrize("fmt", FORMATS)
def test_create_note_answers_201_in_the_success_envelope(api, lead, manager, fmt):
    response = send(api, "create/leadnote/", {"slug": lead.slug, "note": "Wants a quote."}, fmt)
    data = assert_ok(response, 201)
    assert (data["note"], data["author"]) == ("Wants a quote.", manager.username)
    assert isinstance(data["note_id"], int)


@pytest.mark.parametrize("fmt", FORMATS)
def test_create_appointment_answers_201_in_the_success_envelope(api, lead, manager, fmt):
    sent = booking(lead, days=6, appointment_status="confirmed")
    data = assert_ok(send(api, "create/appointment/", sent, fmt), 201)
    assert data == {
        "appointment_id": data["appointment_id"],
        "slug": lead.slug,
        "appointment_date": sent["appointment_date"],
        "appointment_to": sent["appointment_to"],
        "appointment_note": "Product demo",
        "appointment_status": "confirmed",
        "host": manager.username,
    }


def test_create_appointment_defaults_to_pending(api, lead):
    sent = without(booking(lead), "appointment_status")
    data = assert_ok(send(api, "create/appointment/", sent), 201)
    assert data["appointment_status"] == "pending"


@pytest.mark.parametrize("fmt", FORMATS)
def test_update_appointment_answers_200_in_the_success_envelope(api, appointment, fmt):
    start = appointment.start + timedelta(days=1)
    sent = {
        "appointment_id": str(appointment.pk),
        "appointment_date": local(start),
        "appointment_to": local(start + timedelta(minutes=45)),
        "appointment_status": "rescheduled",
    }
    data = assert_ok(send(api, "update/appointment/", sent, fmt))
    assert (data["appointment_id"], data["appointment_status"]) == (appointment.pk, "rescheduled")
    assert (data["appointment_date"], data["appointment_to"]) == (
        sent["appointment_date"],
        sent["appointment_to"],
    )
