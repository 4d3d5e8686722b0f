"""Every write leaves its timeline event; a deleted lead vanishes everywhere and an
administrator brings it back from the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.domain import Actor, RuleViolation
from leads.models import Event, Lead
from leads.services import (
    lead_assign,
    lead_delete,
    lead_file_attach,
    lead_followup_set,
    lead_restore,
    lead_update,
    note_create,
)
from tests.conftest import error_of
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory

pytestmark = pytest.mark.django_db


def minutes(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def events_of(lead) -> list[str]:
    return list(Event.objects.filter(lead=lead).order_by("id").values_list("type", flat=True))


def test_every_rest_write_records_its_event_with_user_and_key(api, manager, salesperson):
    created = api.post(
        "create/lead/",
        {"first_name": "A", "last_name": "Buyer", "email": "a@example.com", "phone": "5550001234"},
    )
    assert created.status_code == 201
    slug = created.json()["data"]["slug"]
    lead = Lead.objects.get(slug=slug)
    assert events_of(lead) == ["created"]

    updated = api.post(
        "update/lead/",
        {
            "slug": slug,
            "first_name": "A",
            "last_name": "Buyer",
            "email": "a@example.com",
            "phone": "5550001234",
            "status": "potential",
            "assignee": salesperson.username,
        },
    )
    assert updated.status_code == 200, updated.json()
    assert events_of(lead)[1:] == ["updated", "status_changed", "assigned"]
    status_event = Event.objects.get(lead=lead, type="status_changed")
    assert status_event.data == {"from": "prospect", "to": "potential"}

    note = api.post("create/leadnote/", {"slug": slug, "note": "Asked for a quote."})
    note_id = note.json()["data"]["note_id"]
    assert api.post("delete/leadnote/", {"note_id": note_id}).status_code == 200

    start = timezone.now() + timedelta(days=2)
    booked = api.post(
        "create/appointment/",
        {
            "slug": slug,
            "appointment_date": minutes(start),
            "appointment_to": minutes(start + timedelta(hours=1)),
        },
    )
    appointment_id = booked.json()["data"]["appointment_id"]
    moved = api.post(
        "update/appointment/",
        {
            "appointment_id": appointment_id,
            "appointment_date": minutes(start + timedelta(hours=3)),
            "appointment_to": minutes(start + timedelta(hours=4)),
        },
    )
    assert moved.status_code == 200, moved.json()
    assert api.post("delete/appointment/", {"appointment_id": appointment_id}).status_code == 200
    assert api.post("delete/lead/", {"slug": slug}).status_code == 200

    assert events_of(lead) == [
        "created",
        "updated",
        "status_changed",
        "assigned",
        "note_added",
        "note_deleted",
        "appointment_created",
        "appointment_updated",
        "appointment_deleted",
        "deleted",
    ]
    move = Event.objects.get(lead=lead, type="appointment_updated")
    assert move.data["previous"] == {
        "start": start.replace(second=0, microsecond=0).isoformat(),
        "end": (start + timedelta(hours=1)).replace(second=0, microsecond=0).isoformat(),
    }
    actors = set(Event.objects.filter(lead=lead).values_list("actor", "api_key__name"))
    assert actors == {(manager.pk, "Partner integration")}


def test_a_refused_write_leaves_no_event(api, lead):
    before = Event.objects.count()
    response = api.post(
        "update/lead/",
        {"slug": lead.slug, "first_name": "A", "last_name": "B", "email": "bad", "phone": "1"},
    )
    assert response.status_code == 400
    assert Event.objects.count() == before


def test_an_update_that_changes_nothing_records_nothing(api, lead):
    before = Event.objects.count()
    response = api.post(
        "update/lead/",
        {
            "slug": lead.slug,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "email": lead.email,
            "phone": lead.phone,
        },
    )
    assert response.status_code == 200
    assert Event.objects.count() == before


@pytest.fixture
def deleted_lead(api, manager):
    lead = LeadFactory(by=manager, owner=manager, first_name="Gone")
    NoteFactory(lead=lead, by=manager)
    AppointmentFactory(lead=lead, by=manager)
    assert api.post("delete/lead/", {"slug": lead.slug}).status_code == 200
    lead.refresh_from_db()
    return lead


def test_a_deleted_lead_disappears_from_every_endpoint(api, deleted_lead):
    slug = deleted_lead.slug
    assert Lead.objects.filter(pk=deleted_lead.pk).exists()  # soft: still stored
    assert deleted_lead.status_id == "deleted"

    for list_type in ("owned", "all"):
        listed = api.get("list/", {"list_type": list_type}).json()["data"]
        assert slug not in [r["slug"] for r in listed["results"]]
    assert api.get("list/", {"search": "Gone", "list_type": "all"}).json()["data"]["count"] == 0
    overview = api.get("overview/").json()["data"]
    assert overview["TotalLeads"] == 0
    assert overview["appointments"] == []
    assert api.get("appointments/list/").json()["data"]["count"] == 0

    assert error_of(api.get("view/lead/", {"slug": slug})) == (
        400,
        "Validation Error",
        {"slug": ["Requested slug is invalid."]},
    )
    update = api.post(
        "update/lead/",
        {"slug": slug, "first_name": "A", "last_name": "B", "email": "a@b.co", "phone": "5551234"},
    )
    assert error_of(update) == (
        401,
        "Request Failed",
        {"detail": ["Requested lead does not esixt."]},
    )
    assert error_of(api.post("delete/lead/", {"slug": slug}))[2] == {
        "slug": ["Requested lead already has a deleted status."]
    }
    assert error_of(api.post("create/leadnote/", {"slug": slug, "note": "x"}))[2] == {
        "slug": ["Requested lead already has a deleted status."]
    }
    start = timezone.now() + timedelta(days=9)
    booking = api.post(
        "create/appointment/",
        {
            "slug": slug,
            "appointment_date": minutes(start),
            "appointment_to": minutes(start + timedelta(hours=1)),
        },
    )
    assert error_of(booking)[2] == {"slug": ["You can't take appointment under this lead."]}


# Every change of a lead, called on a deleted one (the services, below the adapters that
# answer such a lead as unknown).
WRITES_TO_A_LEAD = {
    "update": lambda actor, lead, u: lead_update(actor=actor, lead=lead, data={"city": "Salem"}),
    "assign": lambda actor, lead, u: lead_assign(
        actor=actor, lead=lead, people={"assignee": u["salesperson"]}
    ),
    "note": lambda actor, lead, u: note_create(actor=actor, lead=lead, text="Called."),
    "file": lambda actor, lead, u: lead_file_attach(
        actor=actor, lead=lead, name="quote.txt", content=b"quote"
    ),
    "follow-up": lambda actor, lead, u: lead_followup_set(
        actor=actor, lead=lead, when=timezone.now() + timedelta(days=2)
    ),
}


@pytest.mark.parametrize("write", WRITES_TO_A_LEAD)
def test_the_services_refuse_every_write_to_a_deleted_lead(users, write):
    """A deleted lead changes again only once restored, whoever asks (here a manager, who may
    change any lead) and whichever way they reached it."""
    manager = users["sales_manager"]
    actor = Actor(user=manager)
    lead = LeadFactory(by=manager, owner=manager)
    lead_delete(actor=actor, lead=lead)
    before = events_of(lead)
    with pytest.raises(RuleViolation) as refused:
        WRITES_TO_A_LEAD[write](actor, lead, users)
    assert refused.value.code == "lead_deleted"
    lead = Lead.objects.get(pk=lead.pk)
    assert (lead.city, lead.assignee, lead.followup_date) == ("", None, None)
    assert not (lead.notes.exists() or lead.files.exists() or lead.appointments.exists())
    assert not lead.tasks.exists()
    assert events_of(lead) == before


def test_a_restore_brings_back_the_status_the_lead_had_before(users):
    manager = users["sales_manager"]
    lead = LeadFactory(by=manager, owner=manager, status="customer")
    lead_delete(actor=Actor(user=manager), lead=lead)
    lead.refresh_from_db()
    assert (lead.status_id, lead.status_before_delete_id) == ("deleted", "customer")
    lead_restore(actor=Actor(user=users["administrator"]), lead=lead)
    lead.refresh_from_db()
    assert (lead.status_id, lead.status_before_delete_id) == ("customer", None)
    assert Event.objects.filter(lead=lead).latest("id").data == {"to": "customer"}


def test_the_admin_restores_a_deleted_lead(api, deleted_lead, users, client):
    client.force_login(users["administrator"])
    listing = client.get("/admin/leads/deletedlead/")
    assert listing.status_code == 200
    assert deleted_lead.slug.encode() in listing.content or b"Gone" in listing.content

    response = client.post(
        "/admin/leads/deletedlead/",
        {"action": "restore", "_selected_action": [deleted_lead.pk]},
        follow=True,
    )
    assert response.status_code == 200
    deleted_lead.refresh_from_db()
    assert deleted_lead.status_id == "prospect"  # the status it had before deletion
    assert events_of(deleted_lead)[-1] == "restored"
    restored_event = Event.objects.filter(lead=deleted_lead).latest("id")
    assert restored_event.actor == users["administrator"]

    viewed = api.get("view/lead/", {"slug": deleted_lead.slug})
    assert viewed.status_code == 200
    assert viewed.json()["data"]["status"] == "prospect"
    assert api.get("overview/").json()["data"]["TotalLeads"] == 1


def test_the_admin_lists_only_live_leads_and_cannot_hard_delete(deleted_lead, users, client):
    client.force_login(users["administrator"])
    live = LeadFactory(first_name="Alive")
    page = client.get("/admin/leads/lead/")
    assert page.status_code == 200
    assert b"Alive" in page.content and b"Gone" not in page.content
    assert client.get(f"/admin/leads/lead/{live.pk}/delete/").status_code == 403
    assert client.get(f"/admin/leads/deletedlead/{deleted_lead.pk}/delete/").status_code == 403
