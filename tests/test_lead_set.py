"""The lead_set service command (seed 003) over HTTP: inserts and updates, duplicate matching,
names, tags, notes, follow-ups, files, custom fields, and every status code it answers."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from appointments.models import Appointment
from crm import ratelimit
from crm.domain import Actor, RuleViolation
from crm.models import ApiKey
from crm.roles import Role
from crm.services import api_key_create, api_key_revoke
from leads import upsert
from leads.api import lead_set as command
from leads.models import Event, EventType, Lead, LeadFile, LeadNote, Tag, Task
from leads.services import field_create, lead_delete, lead_update
from tests.factories import AppointmentFactory, LeadFactory, UserFactory

URL = "/api/service/lead_set/"
DOC = Path(__file__).resolve().parent.parent / "docs" / "lead_set.md"


class LeadSetClient:
    """A partner's server calling lead_set with its whole API key in the apikey header."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"apikey": key} if key is not None else {}

    def form(self, data: dict[str, Any]):
        body = urlencode(data)
        return self.client.post(
            URL, body, content_type="application/x-www-form-urlencoded", headers=self.headers
        )

    def multipart(self, data: dict[str, Any]):
        return self.client.post(URL, data, headers=self.headers)

    def json(self, data: Any):
        return self.client.post(
            URL, json.dumps(data), content_type="application/json", headers=self.headers
        )

    def raw(self, body: bytes | str, content_type: str):
        return self.client.generic("POST", URL, body, content_type, headers=self.headers)

    def send(self, fmt: str, data: dict[str, Any]):
        return getattr(self, fmt)(data)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def key_pair(db) -> tuple[ApiKey, str]:
    return api_key_create(name="Partner integration")


@pytest.fixture
def api_key(key_pair) -> ApiKey:
    return key_pair[0]


@pytest.fixture
def partner(key_pair) -> LeadSetClient:
    return LeadSetClient(key_pair[1])


@pytest.fixture
def owner(db):
    return UserFactory(username="salesperson", role=Role.SALESPERSON)


@pytest.fixture
def as_manager(db) -> Actor:
    """A sales manager working in the web app, beside the partner's integration."""
    return Actor(user=UserFactory(username="sales-manager", role=Role.SALES_MANAGER))


def ok(response, message: str = command.INSERTED) -> int:
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == 0
    assert body["status_message"] == message
    return body["lead_id"]


def failed(response, code: command.StatusCode) -> dict:
    body = response.json()
    assert response.status_code == code.http, body
    assert body["status"] == code.status, body
    assert body["status_message"]
    return body


def totals() -> dict[str, int]:
    """Rows of everything a call may write."""
    return {
        model.__name__: model.objects.count()
        for model in (Lead, LeadNote, Event, Appointment, LeadFile, Tag, Task)
    }


def in_days(days: int, hour: int = 10) -> str:
    when = timezone.localtime() + timedelta(days=days)
    return when.replace(hour=hour, minute=0, second=0, microsecond=0).strftime("%Y-%m-%d %H:%M:%S")


def aware(text: str):
    from django.utils.dateparse import parse_datetime

    return timezone.make_aware(parse_datetime(text))


# --- insert -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["form", "multipart", "json"])
def test_insert_maps_every_seed_field_onto_the_lead(partner, api_key, owner, fmt):
    body = {
        "mode": "insert",
        "external_id": "ABC123456",
        "first_name": "John",
        "last_name": "Doe",
        "company": "Example Company",
        "address": "123 Test Street",
        "address_2": "123rd Ave",
        "city": "Test City",
        "state": "Test State",
        "zip": "97303",
        "country": "Test Country",
        "lat": "44.942898",
        "lng": "-123.035096",
        "phone": "132-123-1234",
        "cell": "321-321-4321",
        "ok_to_text": "No",
        "fax": "213-213-4231",
        "skype": "johnsmith100",
        "ip": "123.123.123.123",
        "besttime": "Morning",
        "status": "1",
        "priority": "Warm",
        "custom_status": "0",
        "gmt_offset": "-1000",
        "email": "example@example.com",
        "admin_notes": "Note text for admins",
        "source": "website",
        "sub_id": "10",
        "sub_id2": "11",
        "birth_date": "1980-01-31",
        "ownerID": str(owner.pk),
        "pool": "billmore",
    }
    lead = Lead.objects.get(pk=ok(partner.send(fmt, body)))
    assert (lead.first_name, lead.last_name, lead.company) == ("John", "Doe", "Example Company")
    assert (lead.street, lead.address_2, lead.city, lead.state, lead.zipcode, lead.country) == (
        "123 Test Street",
        "123rd Ave",
        "Test City",
        "Test State",
        "97303",
        "Test Country",
    )
    assert (str(lead.lat), str(lead.lng)) == ("44.942898", "-123.035096")
    assert (lead.phone, lead.mobile_phone, lead.fax) == ("1321231234", "3213214321", "2132134231")
    assert lead.ok_to_text is False
    assert (lead.skype, lead.ip, lead.best_time) == ("johnsmith100", "123.123.123.123", "Morning")
    assert lead.status_id == "prospect"  # status 1: the first status in the admin's order
    assert (lead.priority, lead.gmt_offset, lead.email) == ("Warm", -1000, "example@example.com")
    assert lead.description == "Note text for admins"
    assert (lead.source_id, lead.sub_id, lead.sub_id2) == ("website", "10", "11")
    assert str(lead.birth_date) == "1980-01-31"
    assert (lead.owner, lead.pool, lead.external_id) == (owner, "billmore", "ABC123456")
    created = Event.objects.get(lead=lead, type=EventType.CREATED)
    assert created.api_key == api_key and created.actor is None


def test_insert_of_nothing_but_the_mode_creates_a_prospect(partner):
    lead = Lead.objects.get(pk=ok(partner.form({"mode": "insert"})))
    assert lead.status_id == "prospect" and lead.owner is None


def test_answers_the_lead_id_as_an_integer(partner):
    body = partner.json({"mode": "insert", "email": "a@example.com"}).json()
    assert isinstance(body["lead_id"], int)
    assert list(body) == ["status", "status_message", "lead_id"]


def test_served_without_the_trailing_slash_too(partner):
    response = partner.client.post(URL.rstrip("/"), {"mode": "insert"}, headers=partner.headers)
    ok(response)


@pytest.mark.parametrize(
    ("value", "stored"),
    [("1980-01-31", "1980-01-31"), ("01-31", "1604-01-31"), ("2-29", "1604-02-29"), ("", None)],
)
def test_birth_date_takes_a_full_date_or_month_and_day(partner, value, stored):
    lead = Lead.objects.get(pk=ok(partner.form({"mode": "insert", "birth_date": value})))
    assert (str(lead.birth_date) if lead.birth_date else None) == stored


@pytest.mark.parametrize(
    ("status", "custom_status", "key"),
    [
        ("2", "", "tentative"),
        ("", "3", "potential"),
        ("customer", "0", "customer"),
        ("", "Contact", "contact"),
        ("CLOSED", "6", "closed"),
    ],
)
def test_status_and_custom_status_take_a_position_key_or_label(partner, status, custom_status, key):
    lead_id = ok(partner.form({"mode": "insert", "status": status, "custom_status": custom_status}))
    assert Lead.objects.get(pk=lead_id).status_id == key


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"status": "7"}, "status", '"7" is not a valid choice.'),
        ({"status": "deleted"}, "status", '"deleted" is not a valid choice.'),
        ({"custom_status": "hot"}, "custom_status", '"hot" is not a valid choice.'),
        (
            {"status": "1", "custom_status": "2"},
            "custom_status",
            "status and custom_status name different statuses.",
        ),
        ({"source": "example.com"}, "source", '"example.com" is not a valid choice.'),
    ],
)
def test_unknown_statuses_and_sources_are_refused(partner, params, field, message):
    before = totals()
    body = failed(partner.form({"mode": "insert", **params}), command.VALIDATION_FAILED)
    assert body["errors"] == {field: [message]}
    assert totals() == before


def test_source_takes_its_label_too(partner):
    lead_id = ok(partner.form({"mode": "insert", "source": "Social media"}))
    assert Lead.objects.get(pk=lead_id).source_id == "social"


def test_coordinates_are_rounded_to_six_decimals(partner):
    lead_id = ok(partner.form({"mode": "insert", "lat": "45.12345678", "lng": "-0.0000004"}))
    lead = Lead.objects.get(pk=lead_id)
    assert (str(lead.lat), str(lead.lng)) == ("45.123457", "0.000000")


# --- update -----------------------------------------------------------------------------------


def test_update_by_lead_id_overwrites_the_given_fields_only(partner, api_key):
    lead = LeadFactory(first_name="Ann", last_name="Lee", email="ann@example.com", city="Salem")
    response = partner.form(
        {"mode": "update", "lead_id": str(lead.pk), "email": "ann@example.org", "city": ""}
    )
    assert ok(response, command.UPDATED) == lead.pk
    lead.refresh_from_db()
    assert (lead.first_name, lead.email, lead.city) == ("Ann", "ann@example.org", "")
    updated = Event.objects.get(lead=lead, type=EventType.UPDATED)
    assert updated.api_key == api_key
    assert updated.data["changes"]["email"] == ["ann@example.com", "ann@example.org"]


def test_update_by_external_id(partner):
    lead = LeadFactory(external_id="CRM-7", first_name="Old")
    LeadFactory(external_id="CRM-8")
    response = partner.json({"mode": "update", "external_id": "CRM-7", "first_name": "New"})
    assert ok(response, command.UPDATED) == lead.pk
    lead.refresh_from_db()
    assert lead.first_name == "New"


def test_update_by_lead_id_may_set_the_external_id(partner):
    lead = LeadFactory()
    ok(partner.form({"mode": "update", "lead_id": lead.pk, "external_id": "X-1"}), command.UPDATED)
    lead.refresh_from_db()
    assert lead.external_id == "X-1"


def test_update_by_an_external_id_several_leads_share_is_refused(partner):
    first, second = LeadFactory(external_id="DUP"), LeadFactory(external_id="DUP")
    before = totals()
    body = failed(
        partner.form({"mode": "update", "external_id": "DUP", "city": "X"}),
        command.AMBIGUOUS_LEAD,
    )
    assert body["matches"] == [first.pk, second.pk]
    assert totals() == before


def test_update_without_lead_id_or_external_id_is_refused(partner):
    failed(partner.form({"mode": "update", "first_name": "X"}), command.LEAD_REFERENCE_REQUIRED)
    failed(
        partner.form({"mode": "update", "lead_id": "", "external_id": ""}),
        command.LEAD_REFERENCE_REQUIRED,
    )


def test_update_of_an_unknown_or_deleted_lead_is_not_found(partner, as_manager):
    lead = LeadFactory(external_id="GONE")
    lead_delete(actor=as_manager, lead=lead)
    for params in ({"lead_id": str(lead.pk)}, {"lead_id": "999999"}, {"external_id": "GONE"}):
        failed(partner.form({"mode": "update", **params}), command.LEAD_NOT_FOUND)


@pytest.mark.parametrize("lead_id", ["abc", "0", "-3", "1.5", str(2**63), "9" * 40])
def test_a_lead_id_that_is_not_an_id_is_invalid(partner, lead_id):
    body = failed(partner.form({"mode": "update", "lead_id": lead_id}), command.VALIDATION_FAILED)
    assert body["errors"] == {"lead_id": ["Enter a lead id (a whole number)."]}


def test_lead_id_with_insert_is_refused(partner):
    lead = LeadFactory()
    body = failed(partner.form({"mode": "insert", "lead_id": lead.pk}), command.VALIDATION_FAILED)
    assert list(body["errors"]) == ["lead_id"]


# --- duplicate matching -----------------------------------------------------------------------


def test_match_update_on_email_updates_the_matching_lead(partner):
    lead = LeadFactory(email="Jane@Example.com", company="")
    response = partner.form(
        {"mode": "insert", "match_update": "1", "email": "jane@example.com", "company": "Acme"}
    )
    assert ok(response, command.UPDATED) == lead.pk
    lead.refresh_from_db()
    assert lead.company == "Acme"
    assert Lead.objects.count() == 1


def test_match_update_without_a_match_inserts(partner):
    LeadFactory(email="someone@example.com")
    lead_id = ok(partner.form({"mode": "insert", "match_update": "1", "email": "new@example.com"}))
    assert Lead.objects.count() == 2 and Lead.objects.get(pk=lead_id).email == "new@example.com"


def test_without_match_update_a_same_email_lead_is_inserted(partner):
    LeadFactory(email="jane@example.com")
    ok(partner.form({"mode": "insert", "email": "jane@example.com"}))
    assert Lead.objects.filter(email="jane@example.com").count() == 2


def test_match_name_and_address(partner, as_manager):
    lead = LeadFactory(
        first_name="Jane", last_name="Roe", street="12 Main St.", zipcode="97303", email=""
    )
    same_place = {
        "mode": "insert",
        "match_update": "1",
        "first_name": "jane",
        "last_name": "ROE",
        "address": "12 main st",
        "zip": "97303",
        "skype": "jroe",
    }
    # Without the option, name and address alone do not match.
    ok(partner.form({**same_place, "skype": "other"}))
    new = Lead.objects.latest("pk")
    lead_delete(actor=as_manager, lead=new)
    response = partner.form({**same_place, "match_name_and_address": "1"})
    assert ok(response, command.UPDATED) == lead.pk
    lead.refresh_from_db()
    assert lead.skype == "jroe"


def test_match_name_and_phone(partner):
    lead = LeadFactory(first_name="Jane", last_name="Roe", phone="5031234567", email="")
    response = partner.form(
        {
            "mode": "insert",
            "match_update": "1",
            "match_name_and_phone": "1",
            "full_name": "Jane Roe",
            "phone": "(503) 123-4567",
            "city": "Salem",
        }
    )
    assert ok(response, command.UPDATED) == lead.pk
    lead.refresh_from_db()
    assert lead.city == "Salem"


def test_match_name_and_phone_needs_the_same_name(partner):
    LeadFactory(first_name="Jane", last_name="Roe", phone="5031234567", email="")
    response = partner.form(
        {
            "mode": "insert",
            "match_update": "1",
            "match_name_and_phone": "1",
            "full_name": "John Roe",
            "phone": "5031234567",
        }
    )
    ok(response)
    assert Lead.objects.count() == 2


def test_match_items_are_ored_and_several_matches_are_refused(partner):
    by_email = LeadFactory(email="jane@example.com", first_name="A", last_name="B")
    by_phone = LeadFactory(first_name="Jane", last_name="Roe", phone="5031234567", email="")
    params = {
        "mode": "insert",
        "match_update": "1",
        "match_name_and_phone": "1",
        "email": "jane@example.com",
        "full_name": "Jane Roe",
        "phone": "5031234567",
        "note": "should not be written",
    }
    before = totals()
    body = failed(partner.form(params), command.AMBIGUOUS_LEAD)
    assert body["matches"] == [by_email.pk, by_phone.pk]
    assert totals() == before
    # Either rule alone finds one lead, which is updated.
    ok(partner.form({**params, "match_name_and_phone": "0"}), command.UPDATED)
    assert LeadNote.objects.get().lead == by_email


# --- names, tags, notes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("full_name", "first", "last"),
    [
        ("John Doe", "John", "Doe"),
        # The rule of every channel (leads.rules.split_full_name): given names / family name.
        ("Mary Ann Lee", "Mary Ann", "Lee"),
        ("Dr. John Q. Public Jr.", "John Q.", "Public Jr."),
        ("Doe, John", "John", "Doe"),
        ("Juan de la Vega", "Juan", "de la Vega"),
        ("Madonna", "Madonna", ""),
    ],
)
def test_full_name_is_split_into_first_and_last_name(partner, full_name, first, last):
    lead = Lead.objects.get(pk=ok(partner.form({"mode": "insert", "full_name": full_name})))
    assert (lead.first_name, lead.last_name) == (first, last)


def test_explicit_first_and_last_names_win_over_full_name(partner):
    response = partner.form(
        {"mode": "insert", "full_name": "John Doe", "first_name": "Johnny", "last_name": ""}
    )
    lead = Lead.objects.get(pk=ok(response))
    assert (lead.first_name, lead.last_name) == ("Johnny", "Doe")


def test_tags_set_the_exact_list(partner):
    lead_id = ok(partner.form({"mode": "insert", "tags": "tag1, tag2,tag3,,tag1"}))
    lead = Lead.objects.get(pk=lead_id)
    assert sorted(lead.tags.values_list("name", flat=True)) == ["tag1", "tag2", "tag3"]
    ok(partner.json({"mode": "update", "lead_id": lead_id, "tags": "tag3,tag4"}), command.UPDATED)
    assert sorted(lead.tags.values_list("name", flat=True)) == ["tag3", "tag4"]
    ok(partner.json({"mode": "update", "lead_id": lead_id, "tags": ["tag5"]}), command.UPDATED)
    assert list(lead.tags.values_list("name", flat=True)) == ["tag5"]
    ok(partner.form({"mode": "update", "lead_id": lead_id, "tags": ""}), command.UPDATED)
    assert not lead.tags.exists()


def test_tags_left_out_stay(partner):
    lead_id = ok(partner.form({"mode": "insert", "tags": "keep"}))
    ok(partner.form({"mode": "update", "lead_id": lead_id, "city": "X"}), command.UPDATED)
    assert list(Lead.objects.get(pk=lead_id).tags.values_list("name", flat=True)) == ["keep"]


def test_note_and_notes_are_appended(partner, api_key):
    lead = LeadFactory()
    existing = LeadNote.objects.create(lead=lead, text="Earlier note")
    notes = [{"Status": "Message", "Notes": "test"}, {"Status": "Email", "Notes": "a@example.com"}]
    response = partner.form(
        {"mode": "update", "lead_id": lead.pk, "note": "Bla bla bla", "notes": json.dumps(notes)}
    )
    ok(response, command.UPDATED)
    texts = list(lead.notes.order_by("pk").values_list("text", flat=True))
    assert texts == ["Earlier note", "Bla bla bla", "Message: test", "Email: a@example.com"]
    added = Event.objects.filter(lead=lead, type=EventType.NOTE_ADDED)
    assert added.count() == 3 and {e.api_key for e in added} == {api_key}
    written = LeadNote.objects.filter(lead=lead).exclude(pk=existing.pk)
    assert {(n.author, n.api_key) for n in written} == {(None, api_key)}  # the key wrote them
    assert LeadNote.objects.filter(pk=existing.pk).exists()


def test_notes_as_a_json_list_in_a_json_body(partner):
    lead_id = ok(
        partner.json({"mode": "insert", "notes": [{"status": "Call", "notes": "Left a message"}]})
    )
    assert list(LeadNote.objects.filter(lead_id=lead_id).values_list("text", flat=True)) == [
        "Call: Left a message"
    ]


@pytest.mark.parametrize(
    "notes",
    [
        "[{",
        "not json",
        '{"Status": "Message", "Notes": "test"}',
        '[{"Status": "Message"}]',
        '[{"Status": "", "Notes": "x"}]',
        '["just text"]',
        '[{"Status": ["a"], "Notes": "x"}]',
    ],
)
def test_malformed_notes_write_nothing(partner, notes):
    before = totals()
    failed(
        partner.form({"mode": "insert", "note": "first", "notes": notes}), command.NOTES_MALFORMED
    )
    assert totals() == before


def test_a_note_too_long_writes_nothing(partner):
    lead = LeadFactory(city="Before")
    before = totals()
    response = partner.form(
        {"mode": "update", "lead_id": lead.pk, "city": "After", "note": "x" * 500}
    )
    body = failed(response, command.VALIDATION_FAILED)
    assert list(body["errors"]) == ["note"]
    assert totals() == before
    lead.refresh_from_db()
    assert lead.city == "Before"


# --- follow-ups -------------------------------------------------------------------------------


def open_followup(lead_id: int) -> Task:
    return Task.objects.open().get(lead_id=lead_id, followup=True)


def test_followup_date_creates_the_owners_follow_up_task(partner, api_key, owner):
    when = in_days(3)
    lead_id = ok(partner.form({"mode": "insert", "ownerID": owner.pk, "followup_date": when}))
    lead = Lead.objects.get(pk=lead_id)
    assert lead.followup_date == aware(when)
    task = open_followup(lead_id)
    assert (task.assignee, task.due, task.title) == (owner, aware(when), "Follow-up")
    assert not Appointment.objects.exists()  # a to-do, not a meeting
    event = Event.objects.get(lead=lead, type=EventType.FOLLOWUP_SET)
    assert event.api_key == api_key and event.data["task_id"] == task.pk
    # The same date again changes nothing.
    ok(partner.form({"mode": "update", "lead_id": lead_id, "followup_date": when}), command.UPDATED)
    assert Task.objects.filter(lead=lead).count() == 1
    assert Event.objects.filter(lead=lead, type=EventType.FOLLOWUP_SET).count() == 1


def test_a_new_followup_date_moves_the_open_task(partner, owner):
    lead_id = ok(partner.form({"mode": "insert", "ownerID": owner.pk, "followup_date": in_days(2)}))
    first = open_followup(lead_id)
    later = in_days(5)
    ok(
        partner.form({"mode": "update", "lead_id": lead_id, "followup_date": later}),
        command.UPDATED,
    )
    moved = open_followup(lead_id)
    assert moved.pk == first.pk and moved.due == aware(later)
    assert Lead.objects.get(pk=lead_id).followup_date == aware(later)


def test_a_followup_date_goes_to_the_assignee_of_a_lead_without_owner(partner, owner):
    lead = LeadFactory(owner=None, assignee=owner)
    ok(
        partner.form({"mode": "update", "lead_id": lead.pk, "followup_date": in_days(1)}),
        command.UPDATED,
    )
    assert open_followup(lead.pk).assignee == owner


def test_followup_date_of_a_lead_without_owner_records_the_event_only(partner):
    when = in_days(2)
    lead_id = ok(partner.form({"mode": "insert", "followup_date": when}))
    assert Lead.objects.get(pk=lead_id).followup_date == aware(when)
    assert not Task.objects.exists() and not Appointment.objects.exists()
    assert Event.objects.filter(lead_id=lead_id, type=EventType.FOLLOWUP_SET).count() == 1


def test_an_empty_followup_date_clears_it_and_deletes_the_task(partner, owner):
    lead_id = ok(partner.form({"mode": "insert", "ownerID": owner.pk, "followup_date": in_days(2)}))
    ok(partner.form({"mode": "update", "lead_id": lead_id, "followup_date": ""}), command.UPDATED)
    assert Lead.objects.get(pk=lead_id).followup_date is None
    assert not Task.objects.open().exists()
    assert Task.objects.filter(lead_id=lead_id, deleted_at__isnull=False).count() == 1


def test_a_past_followup_date_makes_an_overdue_task(partner, owner):
    lead_id = ok(
        partner.form(
            {"mode": "insert", "ownerID": owner.pk, "followup_date": "2010-01-01 12:00:00"}
        )
    )
    assert open_followup(lead_id).due == aware("2010-01-01 12:00:00")


def test_a_followup_at_the_time_of_an_appointment_is_no_conflict(partner, owner):
    lead = LeadFactory(owner=owner)
    when = in_days(4)
    AppointmentFactory(
        lead=lead, host=owner, start=aware(when), end=aware(when) + timedelta(hours=1)
    )
    ok(partner.form({"mode": "update", "lead_id": lead.pk, "followup_date": when}), command.UPDATED)
    assert open_followup(lead.pk).due == aware(when)


def test_a_refused_call_leaves_the_follow_up_as_it_was(partner, owner):
    lead = LeadFactory(owner=owner)
    before = totals()
    response = partner.form(
        {"mode": "update", "lead_id": lead.pk, "followup_date": in_days(3), "email": "not-an-email"}
    )
    failed(response, command.VALIDATION_FAILED)
    assert totals() == before and not Task.objects.exists()
    lead.refresh_from_db()
    assert lead.followup_date is None


@pytest.mark.parametrize(
    "value", ["tomorrow", "2030-13-01 10:00:00", "9999-12-31 23:59:59-14:00", "01-01"]
)
def test_a_followup_date_that_is_not_a_date_is_invalid(partner, value):
    body = failed(
        partner.form({"mode": "insert", "followup_date": value}), command.VALIDATION_FAILED
    )
    assert body["errors"] == {"followup_date": ["Enter a date and time as YYYY-MM-DD HH:MM:SS."]}


# --- files ------------------------------------------------------------------------------------


def test_a_file_given_as_text_is_stored_under_its_base_name(partner, api_key, media):
    contents = "first line\nsecond line é"
    response = partner.form(
        {
            "mode": "insert",
            "upload_file_name": "../../etc/notes.txt",
            "upload_file_contents": contents,
        }
    )
    lead_id = ok(response)
    stored = LeadFile.objects.get(lead_id=lead_id)
    assert stored.name == "notes.txt"
    assert stored.size == len(contents.encode())
    with stored.file.open("rb") as handle:
        assert handle.read() == contents.encode()
    assert Path(stored.file.path).is_relative_to(media)
    event = Event.objects.get(lead_id=lead_id, type=EventType.FILE_ATTACHED)
    assert event.api_key == api_key and event.data["name"] == "notes.txt"


def test_a_file_part_keeps_its_bytes(partner):
    data = bytes(range(256)) * 4
    lead = LeadFactory()
    response = partner.multipart(
        {
            "mode": "update",
            "lead_id": lead.pk,
            "upload_file_name": r"C:\Users\me\quote.pdf",
            "upload_file_contents": SimpleUploadedFile("ignored.bin", data),
        }
    )
    ok(response, command.UPDATED)
    stored = LeadFile.objects.get(lead=lead)
    assert (stored.name, stored.size) == ("quote.pdf", len(data))
    with stored.file.open("rb") as handle:
        assert handle.read() == data


def test_a_file_part_without_a_name_takes_its_own(partner):
    response = partner.multipart(
        {"mode": "insert", "upload_file_contents": SimpleUploadedFile("scan.png", b"\x89PNG")}
    )
    assert LeadFile.objects.get(lead_id=ok(response)).name == "scan.png"


def test_a_file_in_base64(partner):
    data = b"\x00\x01binary\xff"
    response = partner.json(
        {
            "mode": "insert",
            "upload_file_name": "blob.bin",
            "upload_file_contents": base64.b64encode(data).decode(),
            "upload_file_encoding": "base64",
        }
    )
    stored = LeadFile.objects.get(lead_id=ok(response))
    with stored.file.open("rb") as handle:
        assert handle.read() == data


@pytest.mark.parametrize("as_part", [False, True])
def test_a_file_too_large_is_refused_and_nothing_is_written(partner, settings, media, as_part):
    settings.CRM = {**settings.CRM, "LEAD_FILE_MAX_BYTES": 10}
    contents = "x" * 11
    upload = SimpleUploadedFile("big.txt", contents.encode()) if as_part else contents
    before = totals()
    response = partner.multipart(
        {
            "mode": "insert",
            "note": "hi",
            "upload_file_name": "big.txt",
            "upload_file_contents": upload,
        }
    )
    body = failed(response, command.FILE_TOO_LARGE)
    assert "10" in body["status_message"]
    assert totals() == before
    assert not any(path.is_file() for path in media.rglob("*"))
    # At the limit it is taken.
    ok(
        partner.form(
            {"mode": "insert", "upload_file_name": "ok.txt", "upload_file_contents": "x" * 10}
        )
    )


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"upload_file_name": "a.txt"}, {"upload_file_contents": ["This field is required."]}),
        ({"upload_file_contents": "abc"}, {"upload_file_name": ["This field is required."]}),
        (
            {"upload_file_name": "dir/", "upload_file_contents": "a"},
            {"upload_file_name": ["Enter a file name."]},
        ),
        (
            {"upload_file_name": "..", "upload_file_contents": "a"},
            {"upload_file_name": ["Enter a file name."]},
        ),
        (
            {
                "upload_file_name": "a.bin",
                "upload_file_contents": "@@",
                "upload_file_encoding": "base64",
            },
            {"upload_file_contents": ["Enter valid base64 data."]},
        ),
        (
            {
                "upload_file_name": "a.bin",
                "upload_file_contents": "a",
                "upload_file_encoding": "zip",
            },
            {"upload_file_encoding": ['Enter "text" or "base64".']},
        ),
    ],
)
def test_incomplete_uploads_are_refused(partner, params, errors):
    before = totals()
    body = failed(partner.form({"mode": "insert", **params}), command.VALIDATION_FAILED)
    assert body["errors"] == errors
    assert totals() == before


# --- custom fields ----------------------------------------------------------------------------


def test_custom_fields_by_system_name(partner):
    color = field_create(label="Favorite Color")
    size = field_create(label="Shoe size", data_type="number")
    lead_id = ok(
        partner.form({"mode": "insert", color.system_name: "Blue", size.system_name: "42"})
    )
    assert Lead.objects.get(pk=lead_id).custom_fields == {
        color.system_name: "Blue",
        size.system_name: 42,
    }
    body = failed(
        partner.form({"mode": "update", "lead_id": lead_id, size.system_name: "big", "Nope": "x"}),
        command.VALIDATION_FAILED,
    )
    assert body["errors"] == {size.system_name: ["Enter a number."], "Nope": ["Unknown field."]}


def test_a_required_custom_field_is_required_on_insert(partner):
    field = field_create(label="Region", is_required=True)
    body = failed(partner.form({"mode": "insert"}), command.VALIDATION_FAILED)
    assert body["errors"] == {field.system_name: ["This field is required."]}


def test_govt_id_goes_to_the_configured_custom_field(partner, settings):
    field = field_create(label="Government ID")
    settings.CRM = {**settings.CRM, "LEAD_SET_GOVT_ID_FIELD": field.system_name}
    lead_id = ok(partner.form({"mode": "insert", "govt_id": "100-10-1000"}))
    assert Lead.objects.get(pk=lead_id).custom_fields == {field.system_name: "100-10-1000"}
    body = failed(
        partner.form({"mode": "insert", "govt_id": "1", field.system_name: "2"}),
        command.VALIDATION_FAILED,
    )
    assert list(body["errors"]) == ["govt_id"]


def test_govt_id_without_a_field_to_store_it_is_refused(partner):
    before = totals()
    body = failed(
        partner.form({"mode": "insert", "govt_id": "100-10-1000"}), command.VALIDATION_FAILED
    )
    assert list(body["errors"]) == ["govt_id"]
    assert totals() == before
    ok(partner.form({"mode": "insert", "govt_id": ""}))  # an empty one asks for nothing


# --- validation -------------------------------------------------------------------------------


def test_errors_are_named_by_the_commands_own_parameters(partner):
    inactive = UserFactory(username="gone", role=Role.SALESPERSON)
    inactive.is_active = False  # a user who left: deactivated in the admin
    inactive.save(update_fields=["is_active"])
    before = totals()
    body = failed(
        partner.form(
            {
                "mode": "insert",
                "email": "not-an-email",
                "phone": "12",
                "zip": "9" * 51,
                "besttime": "m" * 101,
                "ip": "999.1.1.1",
                "lat": "north",
                "lng": "1234.5",
                "ok_to_text": "maybe",
                "gmt_offset": "-10.5",
                "birth_date": "1980-02-30",
                "ownerID": "987654",
                "match_update": "2",
                "tags": "t" * 101,
            }
        ),
        command.VALIDATION_FAILED,
    )
    assert set(body["errors"]) == {
        "email",
        "phone",
        "zip",
        "besttime",
        "ip",
        "lat",
        "lng",
        "ok_to_text",
        "gmt_offset",
        "birth_date",
        "ownerID",
        "match_update",
        "tags",
    }
    assert body["errors"]["email"] == ["Invalid email."]
    assert body["errors"]["ownerID"] == ["User not found."]
    assert totals() == before
    body = failed(
        partner.form({"mode": "insert", "ownerID": inactive.pk}), command.VALIDATION_FAILED
    )
    assert body["errors"] == {"ownerID": ["This user is not active."]}


def test_ok_to_text_takes_yes_and_no(partner):
    yes = ok(partner.form({"mode": "insert", "ok_to_text": "Yes"}))
    no = ok(partner.json({"mode": "insert", "ok_to_text": False}))
    assert Lead.objects.get(pk=yes).ok_to_text is True
    assert Lead.objects.get(pk=no).ok_to_text is False


def test_a_domain_refusal_without_a_code_of_its_own(partner, monkeypatch):
    def refuse(**kwargs):
        raise RuleViolation("Notes are closed on this lead.", code="notes_closed")

    monkeypatch.setattr(upsert, "note_create", refuse)
    before = totals()
    body = failed(partner.form({"mode": "insert", "note": "x"}), command.REFUSED)
    assert body["status_message"] == "Notes are closed on this lead."
    assert totals() == before


# --- mode, body, method -----------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"mode": ""}, {"mode": "upsert"}, {"first_name": "X"}])
def test_mode_must_be_insert_or_update(partner, params):
    failed(partner.form(params), command.INVALID_MODE)


def test_mode_is_case_insensitive(partner):
    ok(partner.form({"mode": "INSERT"}))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{", "application/json"),
        ("[1, 2]", "application/json"),
        ('"insert"', "application/json"),
        (b"\xff\xfe", "application/json"),
        ("[" * 100_000, "application/json"),
        ("--\r\n", "multipart/form-data; boundary="),
        ("x", "multipart/form-data"),
    ],
)
def test_unreadable_bodies_are_malformed(partner, body, content_type):
    failed(partner.raw(body, content_type), command.MALFORMED_REQUEST)


def test_too_many_form_fields_is_malformed(partner, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    failed(partner.form({f"f{i}": "x" for i in range(20)}), command.MALFORMED_REQUEST)


def test_a_body_too_large_is_refused(partner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    before = totals()
    failed(partner.form({"mode": "insert", "note": "x" * 200}), command.REQUEST_TOO_LARGE)
    failed(partner.json({"mode": "insert", "note": "x" * 200}), command.REQUEST_TOO_LARGE)
    assert totals() == before


def test_only_post_is_served(partner):
    response = partner.client.get(URL, headers=partner.headers)
    failed(response, command.METHOD_NOT_ALLOWED)
    assert response["Allow"] == "POST"


# --- authentication and limits ----------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_missing_key_is_refused(db, key):
    failed(LeadSetClient(key).form({"mode": "insert"}), command.API_KEY_MISSING)
    assert not Lead.objects.exists()


def test_an_invalid_or_revoked_key_is_refused(key_pair):
    key, raw = key_pair
    account_id, _dot, secret = raw.partition(".")
    for wrong in (f"{account_id}.wrong", secret, f"{account_id}.{secret}x", "a.b\x00c", "x" * 500):
        failed(LeadSetClient(wrong).form({"mode": "insert"}), command.API_KEY_INVALID)
    api_key_revoke(api_key=key)
    failed(LeadSetClient(raw).form({"mode": "insert"}), command.API_KEY_INVALID)
    assert not Lead.objects.exists()


def test_the_key_in_the_query_string_or_body_does_not_authenticate(key_pair):
    raw = key_pair[1]
    client = Client()
    response = client.post(f"{URL}?apikey={raw}", {"mode": "insert", "apikey": raw})
    failed(response, command.API_KEY_MISSING)


def test_too_many_requests_in_a_second(partner, settings, monkeypatch):
    settings.CRM = {**settings.CRM, "RATE_LIMIT_PER_SECOND": 2}
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.25)
    ok(partner.form({"mode": "insert"}))
    ok(partner.form({"mode": "insert"}))
    response = partner.form({"mode": "insert"})
    failed(response, command.RATE_LIMITED_SECOND)
    assert response["Retry-After"] == "1"
    assert Lead.objects.count() == 2
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_001.25)
    ok(partner.form({"mode": "insert"}))


def test_too_many_requests_in_a_day(partner, settings, monkeypatch):
    settings.CRM = {**settings.CRM, "RATE_LIMIT_PER_DAY": 1}
    now = 1_800_000_000.0
    monkeypatch.setattr(ratelimit, "clock", lambda: now)
    ok(partner.form({"mode": "insert"}))
    response = partner.form({"mode": "insert"})
    failed(response, command.RATE_LIMITED_DAY)
    assert response["Retry-After"] == str(math.ceil((now // 86_400 + 1) * 86_400 - now))
    assert Lead.objects.count() == 1


# --- robustness -------------------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**30,
    1e308,
    [],
    ["a", {"b": 1}],
    {"nested": {"deep": [1]}},
    "",
    "x" * 70_000,
    "nul\x00byte",
    "\ud800",
    "２０２０-01-01",
    "١٢٣",
]


def test_odd_values_in_any_parameter_never_fail_with_500(partner):
    lead = LeadFactory(external_id="EXT")
    names = sorted(command.KNOWN_PARAMETERS | {"Unknown_field_x"})
    for name in names:
        for value in ODD_VALUES:
            for mode in ("insert", "update"):
                body = {"mode": mode, "lead_id": lead.pk, name: value}
                if name == "lead_id":
                    body.pop("lead_id")
                    body[name] = value
                response = partner.json(body)
                assert response.status_code < 500, (name, value, response.content[:300])
                answer = response.json()
                assert isinstance(answer["status"], int) and answer["status_message"]
                assert (answer["status"] == 0) == (response.status_code == 200)


def test_odd_form_values_never_fail_with_500(partner):
    lead = LeadFactory()
    for name in sorted(command.KNOWN_PARAMETERS):
        for value in ("", " ", "nul\x00byte", "x" * 70_000, "%ff", "[]", "{}", "-0", "1e999"):
            response = partner.form({"mode": "update", "lead_id": lead.pk, name: value})
            assert response.status_code < 500, (name, value)
            assert response.json()["status_message"]


# --- the table of status codes ----------------------------------------------------------------


def test_status_codes_are_unique_and_documented():
    codes = [code.status for code in command.STATUS_CODES]
    assert codes == sorted(set(codes)) and codes[0] == 0
    rows = {
        int(match.group(1)): int(match.group(2))
        for match in re.finditer(r"^\| (\d+) \| (\d{3}) \|", DOC.read_text(), re.MULTILINE)
    }
    assert rows == {code.status: code.http for code in command.STATUS_CODES}
    refusals = [code for code in command.STATUS_CODES[1:] if code is not command.UNAVAILABLE]
    assert all(400 <= code.http < 500 for code in refusals)
    assert command.UNAVAILABLE.http == 503


def test_an_update_through_the_domain_is_visible_to_lead_set(partner, as_manager):
    """lead_set reads what the other adapters wrote: an external id set through the domain."""
    lead = LeadFactory()
    lead_update(actor=as_manager, lead=lead, data={"external_id": "FROM-UI"})
    assert (
        ok(partner.form({"mode": "update", "external_id": "FROM-UI"}), command.UPDATED) == lead.pk
    )
