"""The lead page and the lead create/edit forms (SPEC §8), through Django's test client: what
each role may open and do (SPEC §3), the REST wording of the form errors next to the fields,
HTMX fragments against full pages, and pinned query counts."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from crm.domain import Actor, NotFound
from crm.roles import Role
from crm.services import api_key_create
from leads import access, selectors
from leads.models import Event, EventType, Lead, LeadNote
from leads.services import (
    field_create,
    lead_delete,
    lead_file_attach,
    lead_update,
    note_create,
    task_create,
)
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
CONFIRMED = {"confirmed": "1"}  # what confirm.js or the confirm page adds to a delete
PHONE_MESSAGE = "Phone number must be entered in the format: '999999999'. Up to 15 digits allowed."
VALID = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "5551234567",
    "status": "prospect",
}


@pytest.fixture
def other(db):
    """A salesperson who owns leads nobody in ``users`` owns or works."""
    return UserFactory(username="other", role=Role.SALESPERSON)


def errors_of(response, name: str) -> list[str]:
    """The error messages shown next to the input ``name`` (the field template's errorlist)."""
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(name)}_error">(.*?)</ul>', html)
    return [unescape(e) for e in re.findall(r"<li>(.*?)</li>", match.group(1))] if match else []


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def edit_data(lead: Lead, **changes: str) -> dict[str, str]:
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "status": lead.status_id,
        "source": lead.source_id or "",
    }
    return {**data, **changes}


# --- who may open and do what (SPEC §3) -----------------------------------------------------

MANAGERS = (Role.ADMINISTRATOR, Role.COMPANY_MANAGER, Role.SALES_MANAGER)
ACTIONS = ("detail", "edit", "status", "assign", "note_add", "note_delete", "delete")
ALL_OK = dict.fromkeys(ACTIONS, 200)
NOT_FOUND = dict.fromkeys(ACTIONS, 404)
MARKETING = {**ALL_OK, "assign": 403, "note_add": 403, "note_delete": 403, "delete": 403}
# (role, lead: someone else's, the unowned pool's or the user's own) -> answer per action, each
# as an HTMX request (a refusal is 403 there; a plain request is sent back with a message).
# "assign" makes the user the lead's assignee: managers give, salespeople take a free slot.
EXPECTED = {
    **{(role, kind): ALL_OK for role in MANAGERS for kind in ("other", "pool", "own")},
    (Role.MARKETING_MANAGER, "other"): MARKETING,
    (Role.MARKETING_MANAGER, "pool"): MARKETING,
    (Role.MARKETING_MANAGER, "own"): MARKETING,
    (Role.SALESPERSON, "other"): NOT_FOUND,
    (Role.SALESPERSON, "pool"): {
        "detail": 200,
        "edit": 403,
        "status": 403,
        "assign": 200,  # takes it
        "note_add": 403,
        "note_delete": 403,
        "delete": 403,
    },
    (Role.SALESPERSON, "own"): {**ALL_OK, "note_delete": 403},  # a manager's note
    (Role.JR_SALESPERSON, "other"): NOT_FOUND,
    (Role.JR_SALESPERSON, "pool"): NOT_FOUND,
    (Role.JR_SALESPERSON, "own"): {**ALL_OK, "note_delete": 403, "delete": 403},
}


def make_lead(kind: str, user, other, manager) -> Lead:
    owner = {"other": other, "pool": None, "own": user}[kind]
    lead = LeadFactory(by=manager, owner=owner)
    NoteFactory(lead=lead, by=manager, text="The manager's note.")
    return lead


def act(client, action: str, lead: Lead, user):
    slug = lead.slug
    note = LeadNote.objects.filter(lead=lead).first()
    calls = {
        "detail": lambda: client.get(f"/leads/{slug}/", headers=HTMX),
        "edit": lambda: client.get(f"/leads/{slug}/edit/?inline=1", headers=HTMX),
        "status": lambda: client.post(
            f"/leads/{slug}/status/", {"status": "customer"}, headers=HTMX
        ),
        "assign": lambda: client.post(
            f"/leads/{slug}/assign/", {"assignee": str(user.pk)}, headers=HTMX
        ),
        "note_add": lambda: client.post(f"/leads/{slug}/notes/", {"note": "Hi."}, headers=HTMX),
        "note_delete": lambda: client.post(f"/leads/{slug}/notes/{note.pk}/delete/", headers=HTMX),
        "delete": lambda: client.post(f"/leads/{slug}/delete/", CONFIRMED, headers=HTMX),
    }
    return calls[action]()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("role", "kind"), list(EXPECTED))
def test_each_role_opens_and_changes_what_spec_3_allows(
    web, users, other, manager, role, kind, action
):
    user = users[role]
    lead = make_lead(kind, user, other, manager)
    before = Event.objects.filter(lead=lead).count()
    response = act(web(user), action, lead, user)
    expected = EXPECTED[(role, kind)][action]
    assert response.status_code == expected, response.content[:300]
    events = Event.objects.filter(lead=lead).count()
    if expected != 200 or action in ("detail", "edit"):
        assert events == before  # a refusal or a read changes nothing
    else:
        assert events > before  # the service ran and wrote its timeline event


@pytest.mark.parametrize(
    "path",
    [
        "/leads/{slug}/",
        "/leads/{slug}/edit/",
        "/leads/{slug}/edit/?inline=1",
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_deleted_lead_is_not_found_even_for_a_manager(web, manager, path, htmx):
    lead = LeadFactory(by=manager, owner=manager)
    lead_delete(actor=Actor(user=manager), lead=lead)
    response = web(manager).get(path.format(slug=lead.slug), headers=HTMX if htmx else {})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("status/", {"status": "customer"}),
        ("assign/", {"owner": ""}),
        ("notes/", {"note": "Hello"}),
        ("delete/", {}),
    ],
)
def test_posts_on_a_lead_the_user_may_not_see_answer_404(web, users, other, path, data):
    lead = LeadFactory(owner=other)
    response = web(users["jr_salesperson"]).post(f"/leads/{lead.slug}/{path}", data)
    assert response.status_code == 404
    assert Event.objects.filter(lead=lead).count() == 1  # only "created"


def test_a_note_of_another_lead_is_not_found_through_this_one(web, salesperson, manager):
    mine = LeadFactory(owner=salesperson)
    theirs = LeadFactory(owner=salesperson)
    note = NoteFactory(lead=theirs, by=salesperson)
    response = web(salesperson).post(f"/leads/{mine.slug}/notes/{note.pk}/delete/")
    assert response.status_code == 404
    assert LeadNote.objects.get(pk=note.pk).deleted_at is None


def test_pages_need_a_signed_in_user(client, manager):
    lead = LeadFactory(owner=manager)
    for path in (f"/leads/{lead.slug}/", f"/leads/{lead.slug}/edit/", "/leads/new/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_refusal_without_htmx_goes_back_with_the_services_message(web, salesperson):
    lead = LeadFactory(owner=None)  # the pool: a salesperson sees it but does not own it
    response = web(salesperson).post(f"/leads/{lead.slug}/status/", {"status": "customer"})
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.slug}/"
    assert message_texts(response) == ["You are not the owner of this lead."]
    lead.refresh_from_db()
    assert lead.status_id == "prospect"


def test_the_edit_page_of_a_lead_the_user_may_not_edit_goes_back_with_a_message(web, salesperson):
    lead = LeadFactory(owner=None)
    response = web(salesperson).get(f"/leads/{lead.slug}/edit/")
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.slug}/"
    assert message_texts(response) == ["You may not edit this lead."]


# --- the lead page ------------------------------------------------------------------------


def test_the_lead_page_shows_the_lead(web, salesperson, manager):
    lead = LeadFactory(
        owner=salesperson, by=manager, company="Acme", status="customer", source="referral"
    )
    lead_update(actor=Actor(user=manager), lead=lead, data={}, tags=["vip", "spring fair"])
    NoteFactory(lead=lead, by=salesperson, text="Wants a quote by Friday.")
    response = web(salesperson).get(f"/leads/{lead.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert f"<h1>{lead.first_name} {lead.last_name}</h1>" in html
    assert (
        '<span class="badge" style="--badge: #15803d" data-testid="status-badge">Customer' in html
    )
    assert "Acme" in html and "Referral" in html
    assert '<span class="tag">spring fair</span><span class="tag">vip</span>' in html
    assert "Wants a quote by Friday." in html
    assert f'href="/leads/merge/?a={lead.slug}"' in html
    assert 'id="lead-appointments"' in html  # the appointments section is included
    # The timeline, newest first: the note, the tags update, the creation.
    types = re.findall(r"<li>\s*<strong>([^<]+)</strong>", html)
    assert types == ["Note added", "Changed tags", "Lead created"]


def test_the_lead_page_hides_what_the_user_may_not_do(web, users, manager):
    lead = LeadFactory(owner=manager, by=manager)
    NoteFactory(lead=lead, by=manager)
    html = web(users["marketing_manager"]).get(f"/leads/{lead.slug}/").content.decode()
    assert 'name="note"' not in html  # marketing managers read notes, never write them
    assert "/notes/" not in html  # no delete buttons either
    assert "Delete lead" not in html
    assert "Claim this lead" not in html and 'name="owner"' not in html
    assert "Change status" in html and "/edit/" in html  # they edit fields


def test_a_salesperson_sees_claim_on_a_pool_lead_and_managers_see_owner_selects(
    web, users, manager
):
    lead = LeadFactory(owner=None, by=manager)
    html = web(users["salesperson"]).get(f"/leads/{lead.slug}/").content.decode()
    assert "Claim this lead" in html
    assert "Change status" not in html and "Edit<span" not in html
    html = web(manager).get(f"/leads/{lead.slug}/").content.decode()
    assert '<label for="people-owner">Owner</label>' in html
    assert '<label for="people-assignee">Assignee</label>' in html
    assert "Claim this lead" not in html


def test_the_timeline_is_bounded_to_the_latest_50_events(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    for i in range(55):
        note_create(actor=Actor(user=salesperson), lead=lead, text=f"Note {i}")
    html = web(salesperson).get(f"/leads/{lead.slug}/").content.decode()
    timeline = html.split('id="lead-timeline"')[1]
    assert timeline.count("<strong>Note added</strong>") == 50
    assert "Showing the latest 50 events." in timeline
    assert "Note 54" in timeline and "<strong>Created</strong>" not in timeline


def test_the_details_fragment_is_what_cancel_swaps_back(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).get(f"/leads/{lead.slug}/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="lead-details"')
    assert "<html" not in html and 'id="lead-notes"' not in html


def test_the_timeline_fragment_refreshes_alone(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    NoteFactory(lead=lead, by=salesperson, text="Asked for the price list")
    response = web(salesperson).get(f"/leads/{lead.slug}/?part=timeline", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="lead-timeline"')
    assert "Asked for the price list" in html
    assert "<html" not in html and 'id="lead-details"' not in html


# --- status, people ------------------------------------------------------------------------


def test_changing_the_status_records_the_event_and_updates_badge_and_card(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).post(
        f"/leads/{lead.slug}/status/", {"status": "customer"}, headers=HTMX
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status_id == "customer"
    event = Event.objects.get(lead=lead, type=EventType.STATUS_CHANGED)
    assert event.data == {"from": "prospect", "to": "customer"}
    assert event.actor == salesperson
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="lead-controls"')
    assert '<option value="customer" selected>Customer</option>' in html
    assert 'id="lead-head" hx-swap-oob="true"' in html
    assert 'data-testid="status-badge">Customer<' in html
    assert 'id="lead-timeline" aria-labelledby="lead-timeline-title" hx-swap-oob="true"' in html
    assert "Status changed to Customer." in html  # the message, out of band
    assert "<html" not in html


def test_changing_the_status_without_htmx_redirects_with_a_message(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).post(f"/leads/{lead.slug}/status/", {"status": "closed"})
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.slug}/"
    assert message_texts(response) == ["Status changed to Closed."]


@pytest.mark.parametrize("htmx", [False, True])
def test_an_unknown_status_shows_the_domains_message_next_to_the_select(web, salesperson, htmx):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).post(
        f"/leads/{lead.slug}/status/", {"status": "bogus"}, headers=HTMX if htmx else {}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert ("<html" in html) is not htmx
    errors = re.search(r'id="change-status_error"><li>(.*?)</li>', html)
    assert errors and unescape(errors.group(1)) == '"bogus" is not a valid choice.'
    lead.refresh_from_db()
    assert lead.status_id == "prospect"


def test_a_salesperson_claims_a_pool_lead_through_the_service(web, salesperson):
    lead = LeadFactory(owner=None)
    response = web(salesperson).post(
        f"/leads/{lead.slug}/assign/", {"owner": str(salesperson.pk)}, headers=HTMX
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.owner == salesperson
    event = Event.objects.get(lead=lead, type=EventType.ASSIGNED)
    assert event.data == {"field": "owner", "from": None, "to": salesperson.pk}
    html = response.content.decode()
    # Now its owner, the salesperson may edit, write notes and release the lead.
    assert "Release to the pool" in html
    assert 'id="lead-notes" aria-labelledby="lead-notes-title" hx-swap-oob="true"' in html
    assert 'name="note"' in html
    assert 'id="lead-appointments-slot" hx-swap-oob="true"' in html


def test_a_salesperson_may_not_give_a_lead_to_someone_else(web, salesperson, other):
    lead = LeadFactory(owner=None)
    response = web(salesperson).post(
        f"/leads/{lead.slug}/assign/", {"owner": str(other.pk)}, headers=HTMX
    )
    assert response.status_code == 403
    assert response.content.decode() == "You can't give a lead to someone else."
    lead.refresh_from_db()
    assert lead.owner is None


def test_a_manager_gives_owner_and_assignee(web, manager, salesperson, other):
    lead = LeadFactory(owner=manager)
    response = web(manager).post(
        f"/leads/{lead.slug}/assign/", {"owner": str(other.pk), "assignee": str(salesperson.pk)}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.owner, lead.assignee) == (other, salesperson)
    assert Event.objects.filter(lead=lead, type=EventType.ASSIGNED).count() == 2
    assert message_texts(response) == [f"Owner: {other}. Assignee: {salesperson}."]


def test_a_jr_salesperson_releasing_its_lead_is_sent_to_the_list(web, users):
    jr = users["jr_salesperson"]
    lead = LeadFactory(owner=jr)
    response = web(jr).post(f"/leads/{lead.slug}/assign/", {"owner": ""}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/leads/"
    lead.refresh_from_db()
    assert lead.owner is None


# --- notes -----------------------------------------------------------------------------------


def test_adding_a_note_swaps_the_notes_and_the_timeline(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).post(
        f"/leads/{lead.slug}/notes/", {"note": "  Call back on Monday.  "}, headers=HTMX
    )
    assert response.status_code == 200
    note = LeadNote.objects.get(lead=lead)
    assert (note.text, note.author) == ("Call back on Monday.", salesperson)
    assert Event.objects.filter(lead=lead, type=EventType.NOTE_ADDED).count() == 1
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="lead-notes"')
    assert "Call back on Monday." in html
    assert re.search(r'<textarea name="note"[^>]*id="id_note">\s*</textarea>', html)  # emptied
    assert 'id="lead-timeline" aria-labelledby="lead-timeline-title" hx-swap-oob="true"' in html
    assert "Note added." in html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "This field is required."),
        (
            "x" * 500,  # refused with the count, never cut by the browser
            "A note can be at most 499 characters; this one has 500. "
            "Shorten it, or split it in two.",
        ),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_note_shows_the_rest_message_next_to_the_field(web, salesperson, text, message, htmx):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).post(
        f"/leads/{lead.slug}/notes/", {"note": text}, headers=HTMX if htmx else {}
    )
    assert response.status_code == 422
    assert errors_of(response, "note") == [message]
    assert ("<html" in response.content.decode()) is not htmx
    assert not LeadNote.objects.filter(lead=lead).exists()


def test_adding_a_note_without_htmx_redirects_to_the_notes(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).post(f"/leads/{lead.slug}/notes/", {"note": "Hello"})
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.slug}/#lead-notes"
    assert message_texts(response) == ["Note added."]


def test_deleting_a_note_swaps_the_notes_in_place(web, salesperson, manager):
    lead = LeadFactory(owner=salesperson)
    mine = NoteFactory(lead=lead, by=salesperson, text="Mine to delete.")
    theirs = NoteFactory(lead=lead, by=manager, text="The manager's.")
    client = web(salesperson)
    html = client.get(f"/leads/{lead.slug}/").content.decode()
    # Only notes the user may delete have a delete button.
    assert f"/notes/{mine.pk}/delete/" in html and f"/notes/{theirs.pk}/delete/" not in html
    response = client.post(f"/leads/{lead.slug}/notes/{mine.pk}/delete/", headers=HTMX)
    assert response.status_code == 200
    mine.refresh_from_db()
    assert mine.deleted_at is not None
    event = Event.objects.get(lead=lead, type=EventType.NOTE_DELETED)
    assert event.data == {"note_id": mine.pk}
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="lead-notes"')
    notes = html.split('id="lead-timeline"')[0]
    assert f"/notes/{mine.pk}/delete/" not in notes
    # In its place: "Undo", which restores it.
    assert f"/notes/{mine.pk}/restore/" in notes and ">Undo<" in notes
    assert "The manager&#39;s." in html
    assert "Note deleted." in html


def test_a_note_already_deleted_is_not_found(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    note = NoteFactory(lead=lead, by=salesperson)
    client = web(salesperson)
    assert client.post(f"/leads/{lead.slug}/notes/{note.pk}/delete/").status_code == 302
    assert client.post(f"/leads/{lead.slug}/notes/{note.pk}/delete/").status_code == 404


# --- delete ----------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_deleting_a_lead_is_soft_and_goes_to_the_list(web, salesperson, htmx):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).post(
        f"/leads/{lead.slug}/delete/", CONFIRMED, headers=HTMX if htmx else {}
    )
    lead.refresh_from_db()
    assert lead.status_id == "deleted" and lead.status_before_delete_id == "prospect"
    if htmx:
        assert (response.status_code, response["HX-Redirect"]) == (200, "/leads/")
    else:
        assert (response.status_code, response["Location"]) == (302, "/leads/")
    assert message_texts(response) == [f"Lead {lead} deleted. An administrator can restore it."]


# --- create ----------------------------------------------------------------------------------


def test_the_create_form_has_a_labelled_input_for_every_field(web, salesperson):
    html = web(salesperson).get("/leads/new/").content.decode()
    for name, label in [
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("email", "Email"),
        ("phone", "Phone"),
        ("company", "Company"),
        ("title", "Title"),
        ("status", "Status"),
        ("source", "Source"),
        ("location", "Location"),
        ("message", "Message"),
        ("tags", "Tags"),
    ]:
        assert re.search(rf'<label for="id_{name}">{label}( <span|</label>)', html), name
    assert '<option value="prospect" selected>Prospect</option>' in html
    assert 'value="deleted"' not in html
    assert 'name="owner"' not in html  # only managers give a lead to someone


def test_managers_create_leads_for_someone_else(web, manager, salesperson):
    client = web(manager)
    html = client.get("/leads/new/").content.decode()
    assert f'<option value="{manager.pk}" selected>' in html  # the creator, by default
    response = client.post(
        "/leads/new/", {**VALID, "owner": str(salesperson.pk), "assignee": str(salesperson.pk)}
    )
    assert response.status_code == 302
    lead = Lead.objects.get(email="ada@example.com")
    assert (lead.owner, lead.assignee) == (salesperson, salesperson)


def test_an_empty_create_form_names_every_required_field(web, salesperson):
    response = web(salesperson).post("/leads/new/", {})
    assert response.status_code == 422
    for name in ("first_name", "last_name", "email", "phone"):
        assert errors_of(response, name) == ["This field is required."], name
    assert not Lead.objects.exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_email_and_phone_show_the_rest_messages_next_to_the_fields(web, salesperson, htmx):
    data = {**VALID, "email": "not-an-email", "phone": "12ab"}
    response = web(salesperson).post("/leads/new/", data, headers=HTMX if htmx else {})
    assert response.status_code == 422
    assert errors_of(response, "email") == ["Invalid email."]
    assert errors_of(response, "phone") == [PHONE_MESSAGE]
    html = response.content.decode()
    assert ("<html" in html) is not htmx
    assert 'value="not-an-email"' in html  # what the user typed stays
    assert not Lead.objects.exists()


@pytest.mark.parametrize("name", ["first_name", "last_name", "email", "location", "message"])
def test_too_long_values_get_the_rest_wording(web, salesperson, name):
    response = web(salesperson).post("/leads/new/", {**VALID, name: "x" * 256})
    assert response.status_code == 422
    assert errors_of(response, name) == ["Ensure this field has no more than 255 characters."]


def test_an_unknown_source_gets_the_domains_message(web, salesperson):
    response = web(salesperson).post("/leads/new/", {**VALID, "source": "carrier-pigeon"})
    assert response.status_code == 422
    assert errors_of(response, "source") == ['"carrier-pigeon" is not a valid choice.']


@pytest.mark.parametrize("htmx", [False, True])
def test_creating_a_lead_runs_the_service_and_goes_to_the_lead(web, salesperson, htmx):
    data = {**VALID, "phone": "(555) 123-4567", "source": "referral", "tags": "vip, fair ,, vip"}
    response = web(salesperson).post("/leads/new/", data, headers=HTMX if htmx else {})
    lead = Lead.objects.get(email="ada@example.com")
    url = f"/leads/{lead.slug}/"
    if htmx:
        assert (response.status_code, response["HX-Redirect"]) == (200, url)
    else:
        assert (response.status_code, response["Location"]) == (302, url)
    assert lead.owner == salesperson  # the creator owns it
    assert lead.phone == "5551234567"  # the domain normalised it
    assert (lead.status_id, lead.source_id) == ("prospect", "referral")
    assert sorted(lead.tags.values_list("name", flat=True)) == ["fair", "vip"]
    assert Event.objects.get(lead=lead).type == EventType.CREATED
    assert message_texts(response) == ["Lead Ada Lovelace created."]


# --- custom fields ---------------------------------------------------------------------------


@pytest.fixture
def custom(db):
    return {
        "seats": field_create(label="Seats", data_type="number", is_required=True),
        "renewal": field_create(label="Renewal", data_type="date"),
        "plan": field_create(label="Plan", data_type="picklist", options=["basic", "pro"]),
        "vip": field_create(label="VIP", data_type="boolean"),
        "notes": field_create(label="Background", data_type="textarea"),
        "locked": field_create(label="Locked", is_editable_in_contact_manager=False),
        "hidden": field_create(label="Internal", is_available_in_contact_manager=False),
        "inactive": field_create(label="Old", is_active=False),
    }


def test_custom_fields_get_widgets_of_their_type(web, salesperson, custom):
    html = web(salesperson).get("/leads/new/").content.decode()

    def input_of(key: str) -> str:
        name = custom[key].system_name
        match = re.search(rf'<(input|select|textarea)[^>]*name="{name}"[^>]*>', html)
        return match.group(0) if match else ""

    assert 'type="number"' in input_of("seats")
    assert 'type="date"' in input_of("renewal")
    assert input_of("plan").startswith("<select")
    assert '<option value="pro">pro</option>' in html
    assert 'type="checkbox"' in input_of("vip")
    assert input_of("notes").startswith("<textarea")
    assert "disabled" in input_of("locked")
    assert input_of("hidden") == "" and input_of("inactive") == ""
    assert f'<label for="id_{custom["seats"].system_name}">Seats</label>' in html


def test_custom_field_errors_show_next_to_their_inputs(web, salesperson, custom):
    seats, plan = custom["seats"].system_name, custom["plan"].system_name
    response = web(salesperson).post("/leads/new/", {**VALID, plan: "gold"})
    assert response.status_code == 422
    assert errors_of(response, seats) == ["This field is required."]
    assert errors_of(response, plan) == ['"gold" is not a valid choice.']
    response = web(salesperson).post("/leads/new/", {**VALID, seats: "many"})
    assert errors_of(response, seats) == ["Enter a number."]


def test_custom_values_are_saved_by_system_name(web, salesperson, custom):
    names = {key: field.system_name for key, field in custom.items()}
    data = {
        **VALID,
        names["seats"]: "12",
        names["renewal"]: "2030-01-31",
        names["plan"]: "pro",
        names["vip"]: "on",
        names["locked"]: "sneaked in",
    }
    assert web(salesperson).post("/leads/new/", data).status_code == 302
    lead = Lead.objects.get()
    assert lead.custom_fields == {
        names["seats"]: 12,
        names["renewal"]: "2030-01-31",
        names["plan"]: "pro",
        names["vip"]: True,
    }
    html = web(salesperson).get(f"/leads/{lead.slug}/").content.decode()
    assert "<dt>Seats</dt>\n        <dd>12</dd>" in html
    assert "<dt>VIP</dt>\n        <dd>Yes</dd>" in html
    assert "Internal" not in html


# --- edit --------------------------------------------------------------------------------------


def test_the_edit_page_shows_the_leads_values(web, salesperson, manager):
    lead = LeadFactory(owner=salesperson, company="Acme")
    lead_update(actor=Actor(user=manager), lead=lead, data={}, tags=["b", "a"])
    response = web(salesperson).get(f"/leads/{lead.slug}/edit/")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert f'value="{lead.email}"' in html and 'value="Acme"' in html
    assert 'name="tags" value="a, b"' in html
    assert f'hx-post="/leads/{lead.slug}/edit/"' in html  # the full page: no ?inline


def test_editing_on_the_full_page_redirects_to_the_lead(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    data = edit_data(lead, company="Globex", tags="hot")
    response = web(salesperson).post(f"/leads/{lead.slug}/edit/", data)
    assert (response.status_code, response["Location"]) == (302, f"/leads/{lead.slug}/")
    lead.refresh_from_db()
    assert lead.company == "Globex"
    assert list(lead.tags.values_list("name", flat=True)) == ["hot"]
    event = Event.objects.get(lead=lead, type=EventType.UPDATED)
    assert event.data["changes"] == {"company": ["", "Globex"], "tags": [None, ["hot"]]}
    response = web(salesperson).post(f"/leads/{lead.slug}/edit/", data, headers=HTMX)
    assert response["HX-Redirect"] == f"/leads/{lead.slug}/"  # HTMX from the full page


def test_the_inline_edit_form_is_a_fragment_swapped_into_the_details_card(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    response = web(salesperson).get(f"/leads/{lead.slug}/edit/?inline=1", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card lead-form" id="lead-details"')
    assert "<html" not in html
    assert f'hx-post="/leads/{lead.slug}/edit/?inline=1"' in html
    assert f'hx-get="/leads/{lead.slug}/" hx-target="#lead-details"' in html  # Cancel


def test_saving_the_inline_edit_swaps_the_details_back(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    data = edit_data(lead, first_name="Grace", last_name="Hopper", status="contact")
    response = web(salesperson).post(f"/leads/{lead.slug}/edit/?inline=1", data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="lead-details"')
    assert "<h1>Grace Hopper</h1>" in html  # the page head, out of band
    assert 'id="lead-head" hx-swap-oob="true"' in html
    assert 'id="lead-controls" aria-labelledby="lead-controls-title" hx-swap-oob="true"' in html
    assert "Lead saved." in html
    assert Event.objects.filter(lead=lead, type=EventType.STATUS_CHANGED).count() == 1


def test_a_bad_inline_edit_answers_422_with_the_form(web, salesperson):
    lead = LeadFactory(owner=salesperson)
    data = edit_data(lead, email="nope", first_name="")
    response = web(salesperson).post(f"/leads/{lead.slug}/edit/?inline=1", data, headers=HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card lead-form" id="lead-details"')
    assert errors_of(response, "first_name") == ["This field is required."]
    response = web(salesperson).post(
        f"/leads/{lead.slug}/edit/?inline=1", edit_data(lead, email="nope"), headers=HTMX
    )
    assert errors_of(response, "email") == ["Invalid email."]
    lead.refresh_from_db()
    assert lead.email.startswith("lead")


def test_an_edit_leaves_untouched_inactive_people_and_statuses_alone(web, manager, other):
    from leads.models import Status

    lead = LeadFactory(owner=other, by=manager, status="tentative")
    Status.objects.filter(pk="tentative").update(active=False)
    other.is_active = False
    other.save()
    response = web(manager).post(f"/leads/{lead.slug}/edit/", edit_data(lead, owner=str(other.pk)))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.owner, lead.status_id) == (other, "tentative")


def test_a_managers_edit_form_sets_the_assignee(web, manager, salesperson):
    lead = LeadFactory(owner=manager, by=manager)
    data = edit_data(lead, owner=str(manager.pk), assignee=str(salesperson.pk))
    assert web(manager).post(f"/leads/{lead.slug}/edit/", data).status_code == 302
    lead.refresh_from_db()
    assert lead.assignee == salesperson
    assert Event.objects.get(lead=lead, type=EventType.ASSIGNED).data["field"] == "assignee"


def test_a_marketing_managers_edit_form_has_no_people(web, users, manager):
    lead = LeadFactory(owner=manager, by=manager)
    html = web(users["marketing_manager"]).get(f"/leads/{lead.slug}/edit/").content.decode()
    assert 'name="owner"' not in html and 'name="assignee"' not in html
    assert 'name="first_name"' in html


def test_editing_custom_fields_changes_only_the_editable_ones(web, salesperson, custom):
    names = {key: field.system_name for key, field in custom.items()}
    lead = LeadFactory(owner=salesperson, custom={names["seats"]: 3})
    Lead.objects.filter(pk=lead.pk).update(
        custom_fields={names["seats"]: 3, names["locked"]: "kept"}
    )
    lead.refresh_from_db()
    data = edit_data(lead, **{names["seats"]: "4", names["locked"]: "changed"})
    assert web(salesperson).post(f"/leads/{lead.slug}/edit/", data).status_code == 302
    lead.refresh_from_db()
    assert lead.custom_fields == {names["seats"]: 4, names["locked"]: "kept"}


# --- query counts ----------------------------------------------------------------------------

# Every request of a signed-in user: the session, then the user.
AUTH = 2


def grow(lead, salesperson, n: int) -> None:
    """``n`` notes (each with its timeline event), ``n`` tasks, ``n`` appointments and ``n``
    files on the lead."""
    for i in range(n):
        NoteFactory(lead=lead, by=salesperson, text=f"Note {i}")
        lead_file_attach(actor=Actor(user=salesperson), lead=lead, name=f"{i}.txt", content=b"x")
        task_create(actor=Actor(user=salesperson), title=f"Task {i}", due=timezone.now(), lead=lead)
        start = timezone.now() + timedelta(days=1 + i)
        AppointmentFactory(
            lead=lead, by=salesperson, host=salesperson, start=start, end=start + timedelta(hours=1)
        )


@pytest.fixture
def busy_lead(salesperson, manager, custom):
    lead = LeadFactory(owner=salesperson, by=manager, custom={custom["seats"].system_name: 5})
    lead_update(actor=Actor(user=manager), lead=lead, data={}, tags=["a", "b", "c"])
    return lead


@pytest.mark.parametrize("n", [1, 10])
def test_lead_page_queries(web, salesperson, busy_lead, django_assert_num_queries, n):
    grow(busy_lead, salesperson, n)
    client = web(salesperson)
    # + the lead joined to owner, assignee, status, source; + its live notes with authors;
    # + its tags; + the appointments section's own list; + the status choices; + the custom
    # fields; + the timeline's latest events with actors and API keys; + its files; + its
    # tasks with their assignees
    with django_assert_num_queries(AUTH + 9):
        response = client.get(f"/leads/{busy_lead.slug}/")
    html = response.content.decode()
    assert html.count('class="note-text"') == n and html.count('class="task-title"') == n
    assert html.count('id="file-') == n


@pytest.mark.parametrize("n", [1, 10])
def test_lead_page_queries_for_a_manager(
    web, salesperson, manager, busy_lead, django_assert_num_queries, n
):
    grow(busy_lead, salesperson, n)
    client = web(manager)
    # as for a salesperson, + the users for the Owner, Assignee and task's For selects
    with django_assert_num_queries(AUTH + 10):
        client.get(f"/leads/{busy_lead.slug}/")


@pytest.mark.parametrize("n", [1, 10])
def test_details_fragment_queries(web, salesperson, busy_lead, django_assert_num_queries, n):
    grow(busy_lead, salesperson, n)
    client = web(salesperson)
    # + the lead; + its tags; + the custom fields (its notes and files are not shown)
    with django_assert_num_queries(AUTH + 3):
        client.get(f"/leads/{busy_lead.slug}/", headers=HTMX)


@pytest.mark.parametrize("n", [1, 10])
def test_inline_edit_form_queries(web, salesperson, busy_lead, django_assert_num_queries, n):
    grow(busy_lead, salesperson, n)
    client = web(salesperson)
    # + the lead; + statuses; + sources; + the custom fields; + its tags
    with django_assert_num_queries(AUTH + 5):
        client.get(f"/leads/{busy_lead.slug}/edit/?inline=1", headers=HTMX)


@pytest.mark.parametrize("n", [1, 10])
def test_note_add_fragment_queries(web, salesperson, busy_lead, django_assert_num_queries, n):
    grow(busy_lead, salesperson, n)
    client = web(salesperson)
    # + the lead; + savepoint, INSERT note, INSERT event, webhook subscriptions (EXISTS),
    # release; + the lead again and its notes for the fragments; + the timeline's events
    with django_assert_num_queries(AUTH + 1 + 5 + 2 + 1):
        client.post(f"/leads/{busy_lead.slug}/notes/", {"note": "Hi"}, headers=HTMX)


@pytest.mark.parametrize("n", [1, 10])
def test_status_fragment_queries(web, salesperson, busy_lead, django_assert_num_queries, n):
    grow(busy_lead, salesperson, n)
    client = web(salesperson)
    # + the lead; + the status choices; + the service: savepoint, status check, UPDATE lead,
    # INSERT "updated" and "status_changed" events with a webhook subscriptions check
    # (EXISTS) each, release; + the lead again; + the status choices for the select; + the
    # timeline; + the status labels its "Status changed from ... to ..." reads
    with django_assert_num_queries(AUTH + 1 + 1 + 8 + 1 + 1 + 1 + 1):
        client.post(f"/leads/{busy_lead.slug}/status/", {"status": "closed"}, headers=HTMX)


def test_files_attached_to_the_lead_are_listed_and_downloaded(web, salesperson, manager, other):
    lead = LeadFactory(owner=salesperson, by=manager)
    attached = lead_file_attach(
        actor=Actor(user=manager), lead=lead, name="C:\\offers\\quote.txt", content=b"12 seats"
    )
    client = web(salesperson)
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    url = f"/leads/{lead.slug}/files/{attached.pk}/"
    assert f'href="{url}"' in page and ">quote.txt</a>" in page
    assert "File attached" in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="quote.txt"'
    assert b"".join(response.streaming_content) == b"12 seats"
    assert client.get(f"/leads/{lead.slug}/files/{attached.pk + 1}/").status_code == 404
    assert web(other).get(url).status_code == 404  # a lead one may not see
    attached.file.storage.delete(attached.file.name)
    assert web(salesperson).get(url).status_code == 404  # gone from the storage: never a 500


def test_a_note_written_through_a_partner_api_names_its_api_key(web, salesperson, manager):
    key, _raw = api_key_create(name="Web form integration")
    lead = LeadFactory(owner=salesperson, by=manager)
    note_create(actor=Actor(api_key=key), lead=lead, text="Asked for a quote")
    page = web(salesperson).get(f"/leads/{lead.slug}/").content.decode()
    assert f"{key} ·" in page.replace("&#39;", "'")


@pytest.mark.parametrize("role", list(Role))
def test_the_lead_page_finds_exactly_the_leads_the_rule_lets_each_user_see(role, manager):
    """``selectors.lead_page`` reads through a statement compiled once per role, bound to each
    user's id: two users of one role, each seeing what ``access.lead_for_actor`` lets them."""
    first, second = UserFactory(role=role), UserFactory(role=role)
    leads = [
        LeadFactory(by=manager, owner=first),
        LeadFactory(by=manager, owner=manager, assignee=first),
        LeadFactory(by=manager, owner=second),
        LeadFactory(by=manager, owner=None),
        LeadFactory(by=manager, owner=manager),
    ]
    deleted = LeadFactory(by=manager, owner=first)
    lead_delete(actor=Actor(user=manager), lead=deleted)
    for user in (first, second, first):
        actor = Actor(user=user)
        for lead in [*leads, deleted]:
            try:
                expected = access.lead_for_actor(actor, slug=lead.slug).pk
            except NotFound:
                expected = None
            try:
                found = selectors.lead_page(actor=actor, slug=lead.slug)
            except NotFound:
                found = None
            assert (found and found.pk) == expected, (role, user.username, lead.owner_id)
            if found:
                assert found.owner_id == lead.owner_id and str(found.status) == str(lead.status)
    with pytest.raises(NotFound):
        selectors.lead_page(actor=Actor(user=first), slug="no\x00such")
