"""The domain service behind lead_set, called directly (no HTTP): ``leads.upsert.lead_upsert``
finds the lead, writes it with its notes, follow-up and file in one transaction, and refuses
with the domain's errors; a refusal writes nothing and leaves no file in storage."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.utils import timezone

from appointments.models import Appointment
from crm.domain import READ_ONLY_CODE, Actor, Forbidden, NotFound, RuleViolation
from crm.models import KeyScope
from crm.roles import Role
from crm.services import api_key_create
from leads import upsert
from leads.models import Event, EventType, Lead, LeadFile, LeadNote, Task
from leads.services import lead_choices, lead_delete
from leads.upsert import INSERT, UPDATE, LeadUpsert, lead_upsert
from tests.factories import LeadFactory, UserFactory


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def partner(db) -> Actor:
    """A partner's integration: an API key acting alone, as lead_set runs it."""
    key, _secret = api_key_create(name="Partner integration")
    return Actor.for_key(key)


@pytest.fixture
def alice(db):
    """Alice, the salesperson who owns the leads the partner sends."""
    return UserFactory(username="alice", role=Role.SALESPERSON)


def totals() -> dict[str, int]:
    """Rows of everything the service may write."""
    models = (Lead, LeadNote, Event, Appointment, LeadFile, Task)
    return {model.__name__: model.objects.count() for model in models}


def stored_files(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


def soon(days: int = 2):
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0)


def test_an_insert_writes_the_lead_its_notes_follow_up_and_file(partner, alice, media):
    command = LeadUpsert(
        mode=INSERT,
        data={"first_name": "Jane", "email": "jane@example.com", "owner": alice},
        tags=["vip"],
        notes=[("note", "Asked for a quote"), ("notes", "Message: call back")],
        followup_given=True,
        followup=soon(),
        upload=("../quote.txt", b"quote"),
    )
    lead, created = lead_upsert(actor=partner, command=command)
    assert created and lead.first_name == "Jane" and lead.owner == alice
    assert [note.text for note in lead.notes.order_by("pk")] == [
        "Asked for a quote",
        "Message: call back",
    ]
    assert Task.objects.get(lead=lead, followup=True).assignee == alice
    assert LeadFile.objects.get(lead=lead).name == "quote.txt"
    assert len(stored_files(media)) == 1
    types = set(Event.objects.filter(lead=lead).values_list("type", flat=True))
    assert {EventType.CREATED, EventType.NOTE_ADDED, EventType.FOLLOWUP_SET} <= types
    assert EventType.FILE_ATTACHED in types


def test_an_update_names_the_lead_by_id_or_external_id(partner):
    lead = LeadFactory(external_id="EXT-1")
    by_id = LeadUpsert(mode=UPDATE, lead_id=lead.pk, data={"company": "Acme"})
    assert lead_upsert(actor=partner, command=by_id) == (lead, False)
    by_external = LeadUpsert(mode=UPDATE, data={"external_id": "EXT-1", "city": "Salem"})
    found, created = lead_upsert(actor=partner, command=by_external)
    assert found == lead and not created
    lead.refresh_from_db()
    assert (lead.company, lead.city) == ("Acme", "Salem")


def test_an_update_needs_a_lead_id_or_an_external_id(partner):
    before = totals()
    with pytest.raises(RuleViolation) as refused:
        lead_upsert(actor=partner, command=LeadUpsert(mode=UPDATE, data={"city": "Salem"}))
    assert refused.value.code == upsert.REFERENCE_REQUIRED
    assert refused.value.message == "mode=update needs lead_id or external_id."
    assert totals() == before


def test_a_missing_or_deleted_lead_is_not_found(partner):
    deleted = LeadFactory(external_id="GONE")
    lead_delete(actor=partner, lead=deleted)
    before = totals()
    with pytest.raises(NotFound, match="No lead has this lead_id."):
        lead_upsert(actor=partner, command=LeadUpsert(mode=UPDATE, lead_id=deleted.pk))
    command = LeadUpsert(mode=UPDATE, data={"external_id": "GONE", "city": "Salem"})
    with pytest.raises(NotFound, match="No lead has this external_id."):
        lead_upsert(actor=partner, command=command)
    assert totals() == before


def test_several_leads_with_one_external_id_are_ambiguous(partner):
    first, second = LeadFactory(external_id="TWICE"), LeadFactory(external_id="TWICE")
    before = totals()
    command = LeadUpsert(mode=UPDATE, data={"external_id": "TWICE", "city": "Salem"})
    with pytest.raises(upsert.Ambiguous) as refused:
        lead_upsert(actor=partner, command=command)
    assert refused.value.code == upsert.AMBIGUOUS
    assert refused.value.matches == [first.pk, second.pk]
    assert totals() == before


def test_an_ambiguous_reference_lists_the_twenty_oldest_matches(partner):
    leads = [LeadFactory(external_id="MANY") for _ in range(21)]
    command = LeadUpsert(mode=UPDATE, data={"external_id": "MANY", "city": "Salem"})
    with pytest.raises(upsert.Ambiguous) as refused:
        lead_upsert(actor=partner, command=command)
    assert refused.value.matches == [lead.pk for lead in leads[:20]]  # docs/lead_set.md


def test_matching_updates_the_one_lead_found_and_refuses_several(partner):
    lead = LeadFactory(email="Pat@Example.com")
    command = LeadUpsert(
        mode=INSERT, match_kinds=["email"], data={"email": "pat@example.com", "city": "Salem"}
    )
    assert lead_upsert(actor=partner, command=command) == (lead, False)
    LeadFactory(email="pat@example.com")
    before = totals()
    with pytest.raises(upsert.Ambiguous) as refused:
        lead_upsert(actor=partner, command=command)
    assert refused.value.message == (
        "2 leads match; nothing was written. Update one by its lead_id."
    )
    assert len(refused.value.matches) == 2
    assert totals() == before


def test_without_matching_an_insert_makes_a_new_lead(partner):
    lead = LeadFactory(email="pat@example.com")
    command = LeadUpsert(mode=INSERT, data={"email": "pat@example.com"})
    new, created = lead_upsert(actor=partner, command=command)
    assert created and new != lead


def test_invalid_values_are_keyed_by_lead_field_and_write_nothing(partner):
    before = totals()
    command = LeadUpsert(mode=INSERT, data={"email": "not an email"}, notes=[("note", "x")])
    with pytest.raises(ValidationError) as refused:
        lead_upsert(actor=partner, command=command)
    assert refused.value.message_dict == {"email": ["Invalid email."]}
    assert totals() == before


def test_upsert_errors_finds_the_same_refusals_without_writing(partner):
    command = LeadUpsert(mode=INSERT, data={"email": "not an email"}, custom={"Nope_1": "x"})
    before = totals()
    errors = upsert.upsert_errors(command, lead_choices())
    assert errors == {"email": ["Invalid email."], "Nope_1": ["Unknown field."]}
    assert totals() == before


def test_a_step_refusal_is_keyed_by_the_commands_name_and_rolls_back(partner):
    before = totals()
    command = LeadUpsert(mode=INSERT, data={"first_name": "Jo"}, notes=[("notes", "x" * 500)])
    with pytest.raises(ValidationError) as refused:
        lead_upsert(actor=partner, command=command)
    assert list(refused.value.message_dict) == ["notes"]
    assert totals() == before


def test_a_past_follow_up_is_an_overdue_task(partner, alice):
    when = timezone.now() - timedelta(days=1)
    command = LeadUpsert(mode=INSERT, data={"owner": alice}, followup_given=True, followup=when)
    lead, _created = lead_upsert(actor=partner, command=command)
    task = Task.objects.open().get(lead=lead)
    assert task.due == when and task.assignee == alice and lead.followup_date == when


def test_a_file_too_large_is_refused_under_its_name_and_nothing_is_stored(partner, settings, media):
    settings.CRM = {**settings.CRM, "LEAD_FILE_MAX_BYTES": 10}
    before = totals()
    command = LeadUpsert(mode=INSERT, upload=("big.txt", b"x" * 11))
    with pytest.raises(RuleViolation) as refused:
        lead_upsert(actor=partner, command=command)
    assert (refused.value.code, refused.value.field) == ("file_too_large", upsert.UPLOAD_CONTENT)
    assert totals() == before
    assert stored_files(media) == []


def test_a_read_only_key_writes_nothing(db):
    key, _secret = api_key_create(name="Reporting", scope=KeyScope.READ_ONLY)
    before = totals()
    with pytest.raises(Forbidden) as refused:
        lead_upsert(actor=Actor.for_key(key), command=LeadUpsert(mode=INSERT))
    assert refused.value.code == READ_ONLY_CODE
    assert totals() == before


def test_a_failure_after_the_file_was_stored_removes_it_again(partner, media, monkeypatch):
    """The transaction fails after every step ran (as a commit that the database refuses
    would): the rows roll back, and the file's bytes leave the storage too."""
    write = upsert._upsert

    def fails_at_the_end(*args, **kwargs):
        write(*args, **kwargs)
        assert len(stored_files(media)) == 1
        raise OperationalError("the database went away")

    monkeypatch.setattr(upsert, "_upsert", fails_at_the_end)
    before = totals()
    command = LeadUpsert(mode=INSERT, upload=("quote.txt", b"quote"))
    with pytest.raises(OperationalError):
        lead_upsert(actor=partner, command=command)
    assert totals() == before
    assert stored_files(media) == []
