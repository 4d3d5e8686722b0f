"""Issue 14, items 5, 6, 10 and the lead page's part of 4, through Django's test client: the
timeline reads as one sentence per change with labels (not keys), a deleted note comes back
with "Undo" (a service with its timeline event), the web app's words have correct plurals and
plain English (the REST API keeps its seed messages), phone numbers are shown formatted, and
the lead page offers only what the role may do."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.messages import get_messages

from appointments.services import appointment_cancel
from crm.domain import Actor, Forbidden, RuleViolation
from crm.filters import phone, tel
from crm.jinja import plural
from crm.roles import Role
from leads import access, timeline
from leads.models import Event, EventType, LeadNote, Status
from leads.services import lead_merge, lead_update, note_delete, note_restore
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def timeline_of(html: str) -> list[str]:
    """The lead page's timeline entries, as text, newest first."""
    part = html.split('id="lead-timeline"', 1)[1]
    items = re.findall(r"<li>(.*?)</li>", part, flags=re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- item 6: timeline wording ---------------------------------------------------------------


def test_a_status_change_reads_once_with_the_labels(web, salesperson, manager):
    lead = LeadFactory(owner=salesperson, by=manager)
    Status.objects.filter(key="potential").update(label="Hot prospect")  # the admin renames it
    client = web(salesperson)
    client.post(f"/leads/{lead.slug}/status/", {"status": "potential"}, headers=HTMX)
    # Both events are written (the partner APIs and webhooks rely on them)...
    types = list(Event.objects.filter(lead=lead).values_list("type", flat=True))
    assert EventType.UPDATED in types and EventType.STATUS_CHANGED in types
    # ...but the timeline tells the change once, with the labels.
    entries = timeline_of(client.get(f"/leads/{lead.slug}/").content.decode())
    assert entries[0].startswith("Status changed from Prospect to Hot prospect")
    assert not any("potential" in e for e in entries)
    assert not any(e.startswith(("Updated", "Changed status", "Changed")) for e in entries)
    assert entries[-1].startswith("Lead created")


def test_an_edit_of_status_and_fields_tells_each_change_once(web, salesperson, manager):
    lead = LeadFactory(owner=salesperson, by=manager, company="Old")
    lead_update(
        actor=Actor(user=manager),
        lead=lead,
        data={"status": "customer", "company": "New", "assignee": salesperson},
    )
    entries = timeline_of(web(salesperson).get(f"/leads/{lead.slug}/").content.decode())
    heads = [e.split(" · ")[0] for e in entries]
    assert any(h.startswith("Changed company ") for h in heads)
    assert not any("status" in h.lower() and h.startswith("Changed") for h in heads)
    assert sum(h.startswith("Status changed from Prospect to Customer") for h in heads) == 1
    assert any(h.startswith(f"Assigned to {salesperson}") for h in heads)


def test_cancelling_an_appointment_says_appointment_cancelled(web, salesperson):
    lead = LeadFactory(owner=salesperson, by=salesperson)
    appointment = AppointmentFactory(lead=lead, by=salesperson)
    appointment_cancel(actor=Actor(user=salesperson), appointment=appointment, reason="Ill")
    entries = timeline_of(web(salesperson).get(f"/leads/{lead.slug}/").content.decode())
    assert entries[0].startswith("Appointment cancelled")
    assert "reason: “Ill”" in entries[0]
    assert not any(e.startswith("Appointment changed") for e in entries)


def test_merged_with_reads_once(web, manager):
    keep = LeadFactory(by=manager, first_name="Annie", last_name="Lee")
    other = LeadFactory(by=manager, first_name="Annie", last_name="Leigh")
    NoteFactory(lead=other, by=manager)
    lead_merge(actor=Actor(user=manager), keep=keep, other=other, choices={})
    html = web(manager).get(f"/leads/{keep.slug}/").content.decode()
    merged = [e for e in timeline_of(html) if "Merged" in e]
    assert len(merged) == 1
    assert merged[0].count("Merged with Annie Leigh") == 1
    assert "Moved 1 note" in merged[0]


def test_the_dashboard_activity_reads_as_sentences(web, salesperson, manager):
    lead = LeadFactory(owner=salesperson, by=manager, first_name="Ada", last_name="Lovelace")
    lead_update(actor=Actor(user=manager), lead=lead, data={"status": "potential"})
    NoteFactory(lead=lead, by=salesperson)
    html = web(salesperson).get("/").content.decode()
    part = html.split('id="activity"', 1)[1]
    sentences = [
        " ".join(unescape(re.sub(r"<[^>]+>", " ", p)).split())
        for p in re.findall(r'<p class="event-sentence">(.*?)</p>', part, flags=re.S)
    ]
    assert sentences[:2] == [
        f"{salesperson} added a note to Ada Lovelace",
        f"{manager} moved Ada Lovelace from Prospect to Potential",
    ]
    assert sentences[-1] == f"{manager} created Ada Lovelace"
    assert not any("Updated" in s or "status_changed" in s for s in sentences)


def test_wording_is_pure_and_hides_only_what_another_event_tells():
    def event(type, data):
        return Event(type=type, data=data)

    statuses = {"prospect": "Prospect", "potential": "Potential"}
    covered = event(EventType.UPDATED, {"changes": {"status": ["prospect", "potential"]}})
    assert timeline.word(covered, statuses, {}) is None
    both = event(
        EventType.UPDATED, {"changes": {"status": [1, 2], "city": [1, 2], "email": [1, 2]}}
    )
    assert timeline.word(both, statuses, {}).headline == "Changed city and email"
    status = event(EventType.STATUS_CHANGED, {"from": "prospect", "to": "gone_cold"})
    assert (
        timeline.word(status, statuses, {}).headline == "Status changed from Prospect to Gone cold"
    )
    released = event(EventType.ASSIGNED, {"field": "owner", "from": 3, "to": None})
    assert timeline.word(released, statuses, {}).headline.startswith("Owner removed")


# --- item 5: a deleted note comes back --------------------------------------------------------


def test_note_restore_service(salesperson, manager, users):
    lead = LeadFactory(owner=salesperson, by=manager)
    note = NoteFactory(lead=lead, by=salesperson, text="Back again.")
    with pytest.raises(RuleViolation):
        note_restore(actor=Actor(user=salesperson), note=note)  # not deleted
    note_delete(actor=Actor(user=salesperson), note=note)
    with pytest.raises(Forbidden):  # only who may delete it may restore it
        note_restore(actor=Actor(user=users[Role.JR_SALESPERSON]), note=note)
    note_restore(actor=Actor(user=salesperson), note=note)
    note.refresh_from_db()
    assert note.deleted_at is None
    event = Event.objects.filter(lead=lead).first()
    assert (event.type, event.data, event.actor_id) == (
        EventType.NOTE_RESTORED,
        {"note_id": note.pk},
        salesperson.pk,
    )


def test_delete_then_undo_on_the_lead_page(web, salesperson, manager):
    lead = LeadFactory(owner=salesperson, by=manager)
    note = NoteFactory(lead=lead, by=salesperson, text="Keep me after all.")
    client = web(salesperson)
    # With HTMX: the notes card comes back with "Undo" where the note was.
    html = client.post(f"/leads/{lead.slug}/notes/{note.pk}/delete/", headers=HTMX)
    html = html.content.decode()
    assert f'action="/leads/{lead.slug}/notes/{note.pk}/restore/"' in html
    restored = client.post(f"/leads/{lead.slug}/notes/{note.pk}/restore/", headers=HTMX)
    assert restored.status_code == 200
    assert LeadNote.objects.get(pk=note.pk).deleted_at is None
    text = unescape(restored.content.decode())
    assert "Keep me after all." in text and "/restore/" not in text.split("lead-timeline")[0]
    assert timeline_of(text)[0].startswith("Note restored")
    # Without JavaScript: back to the page, which offers "Undo" for that note.
    response = client.post(f"/leads/{lead.slug}/notes/{note.pk}/delete/")
    assert response["Location"] == f"/leads/{lead.slug}/?deleted_note={note.pk}#lead-notes"
    page = client.get(response["Location"]).content.decode()
    assert f"/notes/{note.pk}/restore/" in page and ">Undo<" in page
    assert client.post(f"/leads/{lead.slug}/notes/{note.pk}/restore/").status_code == 302
    assert LeadNote.objects.get(pk=note.pk).deleted_at is None
    # A live note, or one of another lead, is not found.
    assert client.post(f"/leads/{lead.slug}/notes/{note.pk}/restore/").status_code == 404


def test_another_users_deleted_note_offers_no_undo(web, users, manager):
    salesperson = users[Role.SALESPERSON]
    lead = LeadFactory(owner=salesperson, by=manager)
    note = NoteFactory(lead=lead, by=manager)
    note_delete(actor=Actor(user=manager), note=note)
    page = web(salesperson).get(f"/leads/{lead.slug}/?deleted_note={note.pk}").content.decode()
    assert "/restore/" not in page
    response = web(salesperson).post(f"/leads/{lead.slug}/notes/{note.pk}/restore/")
    assert response.status_code == 302
    assert messages_of(response) == ["You can't restore this note."]
    assert LeadNote.objects.get(pk=note.pk).deleted_at is not None


# --- item 10: words and formats ----------------------------------------------------------------


def test_plural_helper():
    assert plural(1, "%(n)s lead", "%(n)s leads") == "1 lead"
    assert plural(0, "%(n)s lead", "%(n)s leads") == "0 leads"
    assert plural(1200, "%(n)s lead", "%(n)s leads") == "1,200 leads"


def test_the_dashboard_count_says_lead_or_leads(web, salesperson):
    LeadFactory(owner=salesperson, by=salesperson)
    html = web(salesperson).get("/").content.decode()
    assert '<span class="muted">lead in all</span>' in html
    LeadFactory(owner=salesperson, by=salesperson)
    html = web(salesperson).get("/").content.decode()
    assert '<span class="muted">leads in all</span>' in html


def test_the_web_app_speaks_plain_english_where_the_api_keeps_its_seed(web, users, manager):
    jr = users[Role.JR_SALESPERSON]
    lead = LeadFactory(assignee=jr, by=manager)  # assigned, not owned: jr may not edit it
    response = web(jr).post(f"/leads/{lead.slug}/status/", {"status": "closed"})
    assert messages_of(response) == ["You are not the owner of this lead."]


@pytest.mark.parametrize(
    ("stored", "shown", "link"),
    [
        ("5556079806", "(555) 607-9806", "+15556079806"),
        ("555-607-9806", "(555) 607-9806", "+15556079806"),
        ("+4930123456", "+49 30 123456", "+4930123456"),
        ("ext. 12", "ext. 12", "ext. 12"),
    ],
)
def test_phone_numbers_are_shown_formatted(stored, shown, link):
    assert (phone(stored), tel(stored)) == (shown, link)


def test_the_lead_page_shows_the_phone_formatted_and_stores_it_as_given(web, salesperson):
    lead = LeadFactory(owner=salesperson, by=salesperson, phone="5556079806")
    html = web(salesperson).get(f"/leads/{lead.slug}/").content.decode()
    assert '<a href="tel:+15556079806">(555) 607-9806</a>' in html
    lead.refresh_from_db()
    assert lead.phone == "5556079806"


# --- item 4: the lead page offers what the role may do ------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_the_lead_page_offers_what_access_allows(web, users, manager, role):
    user = users[role]
    lead = LeadFactory(owner=user, by=manager)
    html = web(user).get(f"/leads/{lead.slug}/").content.decode()
    actor = Actor(user=user)
    offered = {
        "merge": "Merge with another lead" in html,
        "delete": ">Delete lead<" in html,
        "erase": ">Erase personal data<" in html,
        "edit": f'href="/leads/{lead.slug}/edit/"' in html,
        "note": ">Add note<" in html,
    }
    assert offered == {
        "merge": access.can_merge_into(actor, lead),
        "delete": access.can_delete(actor, lead),
        "erase": access.can_handle_personal_data(actor),
        "edit": access.can_edit(actor, lead),
        "note": access.can_write_activity(actor, lead),
    }
    if role == Role.JR_SALESPERSON:
        assert offered["merge"] is False and offered["edit"] is True


def test_a_jr_salesperson_is_offered_no_merge_of_a_duplicate(web, users, manager):
    jr = users[Role.JR_SALESPERSON]
    first = LeadFactory(owner=jr, by=manager, email="same@example.com")
    second = LeadFactory(owner=jr, by=manager)
    data = {
        "first_name": "Lead",
        "last_name": "Again",
        "email": "same@example.com",
        "phone": "5550001111",
        "status": "prospect",
    }
    response = web(jr).post(f"/leads/{second.slug}/edit/", data)
    html = response.content.decode()
    assert "This lead may already exist" in html and first.slug in html
    assert "/leads/merge/?a=" not in html
    # The merge page is not offered either (and the server refuses the merge anyway).
    redirected = web(jr).get(f"/leads/merge/?a={first.slug}&b={second.slug}")
    assert redirected.status_code == 302 and redirected["Location"] == f"/leads/{first.slug}/"
