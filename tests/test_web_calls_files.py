"""Calls and files on the lead page: "Log a call" writes through the JSON-RPC ``logCalls``
service and the timeline shows the call in full; files are uploaded with lead_set's size limit
and storage and deleted (softly) by those the rules allow; query counts pinned."""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from crm.domain import Actor
from crm.roles import Role
from leads.models import CallLog, Event, EventType, LeadFile
from leads.services import lead_file_attach
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
AUTH = 2  # every signed-in request: the session, then the user


@pytest.fixture
def other(db):
    """A salesperson who does not see the lead."""
    return UserFactory(username="other", role=Role.SALESPERSON)


@pytest.fixture
def lead(salesperson, manager):
    return LeadFactory(by=manager, owner=salesperson, first_name="Ada", last_name="Lovelace")


def local(when: dt.datetime) -> str:
    return f"{timezone.localtime(when):%Y-%m-%dT%H:%M}"


def a_call(**changes) -> dict:
    earlier = timezone.now() - dt.timedelta(hours=1)
    data = {
        "call-result": "Connected",
        "call-timestamp": local(earlier),
        "call-minutes": "12",
        "call-notes": "Wants 12 seats.\nCall back on Monday.",
    }
    return {**data, **changes}


# --- log a call ---------------------------------------------------------------------------


def test_the_lead_page_offers_log_a_call_to_whoever_may_write_on_the_lead(
    web, salesperson, manager, users, lead
):
    page = web(salesperson).get(f"/leads/{lead.slug}/").content.decode()
    assert ">Log a call</button>" in page and 'name="call-result"' in page
    assert 'id="log-call" hidden' in page  # closed until asked for
    opened = web(salesperson).get(f"/leads/{lead.slug}/?call=1").content.decode()
    assert 'id="log-call" hidden' not in opened and 'id="log-call"' in opened  # without JS
    marketing = web(users["marketing_manager"]).get(f"/leads/{lead.slug}/").content.decode()
    assert "Log a call" not in marketing  # reads the activity only


def test_a_salesperson_logs_a_call_and_the_timeline_shows_it_in_full(web, salesperson, lead):
    response = web(salesperson).post(f"/leads/{lead.slug}/calls/", a_call(), headers=HTMX)
    assert response.status_code == 200
    call = CallLog.objects.get()
    assert (call.lead, call.user, call.result, call.duration) == (
        lead,
        salesperson,
        "Connected",
        12 * 60,
    )
    assert call.notes == "Wants 12 seats.\nCall back on Monday."
    event = Event.objects.get(type=EventType.CALL_LOGGED)
    assert event.actor == salesperson and event.data["notes"] == call.notes
    html = unescape(response.content.decode())
    assert 'id="lead-notes"' in html and 'hx-swap-oob="true"' in html  # notes + timeline
    timeline = html[html.index('id="lead-timeline"') :]
    assert "Call logged" in timeline and "Connected · 12 min" in timeline
    assert "Wants 12 seats.<br>Call back on Monday." in timeline


def test_a_call_is_logged_without_htmx_and_redirected_back(web, salesperson, lead):
    response = web(salesperson).post(f"/leads/{lead.slug}/calls/", a_call(**{"call-minutes": ""}))
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.slug}/#lead-timeline"
    assert CallLog.objects.get().duration == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"call-result": "Maybe"}, "Select a valid choice."),
        ({"call-timestamp": ""}, "This field is required."),
        ({"call-timestamp": "soon"}, "Enter a valid date/time."),
        ({"call-minutes": "-1"}, "greater than or equal to 0"),
        ({"call-minutes": "999999"}, "less than or equal to 1440"),
        ({"call-notes": "x" * 10_001}, "can be at most 499 characters; this one has 10001"),
        ({"call-notes": "bad\x00byte"}, "Null characters are not allowed."),
    ],
)
def test_a_call_with_errors_is_shown_again_and_nothing_is_saved(
    web, salesperson, lead, changes, message
):
    response = web(salesperson).post(f"/leads/{lead.slug}/calls/", a_call(**changes), headers=HTMX)
    assert response.status_code == 422
    html = unescape(response.content.decode())
    assert message in html and 'id="log-call" hidden' not in html  # the form stays open
    assert not CallLog.objects.exists() and not Event.objects.filter(type="call_logged").exists()


def test_a_call_in_the_future_is_refused(web, salesperson, lead):
    later = local(timezone.now() + dt.timedelta(hours=2))
    response = web(salesperson).post(
        f"/leads/{lead.slug}/calls/", a_call(**{"call-timestamp": later}), headers=HTMX
    )
    assert response.status_code == 422
    assert "Enter a time that has passed" in response.content.decode()
    assert not CallLog.objects.exists()


def test_who_may_not_write_on_the_lead_cannot_log_a_call(web, users, other, lead):
    marketing = web(users["marketing_manager"])
    response = marketing.post(f"/leads/{lead.slug}/calls/", a_call(), headers=HTMX)
    assert response.status_code == 403 and "log calls" in response.content.decode()
    assert web(other).post(f"/leads/{lead.slug}/calls/", a_call()).status_code == 404
    assert not CallLog.objects.exists()


@pytest.mark.parametrize("n", [1, 8])
def test_log_a_call_queries(web, salesperson, lead, django_assert_num_queries, n):
    client = web(salesperson)
    for _ in range(n):
        client.post(f"/leads/{lead.slug}/calls/", a_call())
    # + the lead; + the service: savepoint, the lead (as logCalls reads it), INSERT call,
    # INSERT event, webhook subscriptions (EXISTS), release; + the lead again and its notes for
    # the fragments; + the timeline's events
    with django_assert_num_queries(AUTH + 1 + 6 + 2 + 1):
        client.post(f"/leads/{lead.slug}/calls/", a_call(), headers=HTMX)


# --- files --------------------------------------------------------------------------------


def upload(name: str = "quote.pdf", content: bytes = b"%PDF-1.4 12 seats") -> dict:
    return {"file": SimpleUploadedFile(name, content)}


def test_a_salesperson_uploads_a_file_and_downloads_it(web, salesperson, lead):
    client = web(salesperson)
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    assert 'id="lead-files"' in page and 'type="file"' in page and ">Upload</button>" in page
    response = client.post(f"/leads/{lead.slug}/files/", upload(), headers=HTMX)
    assert response.status_code == 200
    attached = LeadFile.objects.get()
    assert (attached.name, attached.size, attached.uploaded_by) == ("quote.pdf", 17, salesperson)
    html = unescape(response.content.decode())
    assert ">quote.pdf</a>" in html and "File attached" in html  # the list and the timeline
    download = client.get(f"/leads/{lead.slug}/files/{attached.pk}/")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 12 seats"
    attached.file.storage.delete(attached.file.name)


def test_a_file_over_the_limit_is_refused_with_the_limit(web, salesperson, lead, settings):
    settings.CRM = {**settings.CRM, "LEAD_FILE_MAX_BYTES": 10}
    response = web(salesperson).post(
        f"/leads/{lead.slug}/files/", upload(content=b"x" * 11), headers=HTMX
    )
    assert response.status_code == 422
    assert "The file is too large: 11 bytes, at most 10 allowed." in response.content.decode()
    assert not LeadFile.objects.exists()


def test_no_file_chosen_is_a_clear_error(web, salesperson, lead):
    response = web(salesperson).post(f"/leads/{lead.slug}/files/", {}, headers=HTMX)
    assert response.status_code == 422 and "Choose a file to attach." in response.content.decode()


def test_who_may_not_write_on_the_lead_cannot_upload(web, users, other, lead):
    response = web(users["marketing_manager"]).post(
        f"/leads/{lead.slug}/files/", upload(), headers=HTMX
    )
    assert response.status_code == 403
    assert web(other).post(f"/leads/{lead.slug}/files/", upload()).status_code == 404
    assert not LeadFile.objects.exists()


def test_the_uploader_deletes_a_file_softly(web, salesperson, lead):
    attached = lead_file_attach(
        actor=Actor(user=salesperson), lead=lead, name="old.txt", content=b"old"
    )
    client = web(salesperson)
    url = f"/leads/{lead.slug}/files/{attached.pk}/delete/"
    response = client.post(url, {"confirmed": "1"}, headers=HTMX)
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert ">old.txt</a>" not in html and "File deleted" in html
    attached.refresh_from_db()
    assert attached.deleted_at is not None and attached.file.storage.exists(attached.file.name)
    assert client.get(f"/leads/{lead.slug}/files/{attached.pk}/").status_code == 404
    again = client.post(url, {"confirmed": "1"})
    assert again.status_code == 404  # already gone
    assert Event.objects.filter(type=EventType.FILE_DELETED).count() == 1
    attached.file.storage.delete(attached.file.name)


def test_who_may_delete_a_file(web, salesperson, manager, users, lead):
    """The uploader and the lead's owner on a lead they work; managers on any lead; never a
    marketing manager (reads activity only) or an assignee who did not upload it."""
    by_manager = lead_file_attach(actor=Actor(user=manager), lead=lead, name="a.txt", content=b"a")
    page = web(salesperson).get(f"/leads/{lead.slug}/").content.decode()
    assert f"/files/{by_manager.pk}/delete/" in page  # the lead's owner
    assistant = users["jr_salesperson"]
    lead.assignee = assistant
    lead.save(update_fields=["assignee"])
    page = web(assistant).get(f"/leads/{lead.slug}/").content.decode()
    assert f"/files/{by_manager.pk}/delete/" not in page
    refused = web(assistant).post(f"/leads/{lead.slug}/files/{by_manager.pk}/delete/")
    assert refused.status_code == 302 and not LeadFile.objects.get().deleted_at
    marketing = web(users["marketing_manager"])
    assert (
        f"/files/{by_manager.pk}/delete/"
        not in marketing.get(f"/leads/{lead.slug}/").content.decode()
    )
    delete = f"/leads/{lead.slug}/files/{by_manager.pk}/delete/"
    assert web(manager).post(delete, {"confirmed": "1"}).status_code == 302
    assert LeadFile.objects.get().deleted_at is not None
    by_manager.file.storage.delete(by_manager.file.name)


@pytest.mark.parametrize("n", [1, 8])
def test_upload_queries(web, salesperson, lead, django_assert_num_queries, n):
    for i in range(n):
        lead_file_attach(actor=Actor(user=salesperson), lead=lead, name=f"{i}.txt", content=b"x")
    client = web(salesperson)
    # + the lead; + the service: savepoint, INSERT file, INSERT event, webhook subscriptions
    # (EXISTS), release; + the lead again and its files for the fragment; + the timeline
    with django_assert_num_queries(AUTH + 1 + 5 + 2 + 1):
        client.post(f"/leads/{lead.slug}/files/", upload(), headers=HTMX)
    for attached in LeadFile.objects.all():
        attached.file.storage.delete(attached.file.name)


# --- the duplicate warning ----------------------------------------------------------------


def new_lead(**changes) -> dict:
    data = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
    data |= {"phone": "5550199999"}
    data |= {"status": "prospect", "source": "", "company": "", "title": "", "location": ""}
    return {**data, "message": "", "tags": "", **changes}


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"email": "ADA@example.com "}, "same email"),
        (
            {"first_name": "ada", "last_name": "LOVELACE", "phone": "1-555-010-2000"},
            "same name and phone",
        ),
    ],
)
def test_creating_a_duplicate_warns_and_save_anyway_saves(web, salesperson, lead, changes, why):
    lead.email, lead.phone = "ada@example.com", "15550102000"
    lead.save(update_fields=["email", "phone"])
    client = web(salesperson)
    response = client.post("/leads/new/", new_lead(**changes), headers=HTMX)
    assert response.status_code == 422
    html = unescape(response.content.decode())
    assert "This lead may already exist" in html and why in html
    assert f'href="/leads/{lead.slug}/"' in html and ">Save anyway</button>" in html
    assert "/leads/merge/" not in html  # nothing to merge before it is saved
    assert LeadFactory._meta.model.objects.count() == 1
    saved = client.post("/leads/new/", {**new_lead(**changes), "save_anyway": "1"}, headers=HTMX)
    assert saved.status_code == 200 and saved["HX-Redirect"].startswith("/leads/")
    assert LeadFactory._meta.model.objects.count() == 2


def test_no_warning_for_a_lead_unlike_any_other(web, salesperson, lead):
    response = web(salesperson).post("/leads/new/", new_lead())
    assert response.status_code == 302


def test_a_lead_the_user_may_not_see_is_never_named(web, other, lead):
    lead.email = "ada@example.com"
    lead.save(update_fields=["email"])
    response = web(other).post("/leads/new/", new_lead(email="ada@example.com"))
    assert response.status_code == 302  # no warning that would reveal another's lead


def test_editing_into_a_duplicate_warns_and_links_to_merge(web, salesperson, manager, lead):
    lead.email = "ada@example.com"
    lead.save(update_fields=["email"])
    second = LeadFactory(by=manager, owner=salesperson, first_name="A.", last_name="L.")
    before = second.email
    client = web(salesperson)
    edit = new_lead(first_name="A.", last_name="L.", email="ada@example.com")
    response = client.post(f"/leads/{second.slug}/edit/", edit)
    assert response.status_code == 422
    html = unescape(response.content.decode())
    assert f"/leads/merge/?a={lead.slug}&b={second.slug}" in html
    second.refresh_from_db()
    assert second.email == before  # not saved yet
    response = client.post(f"/leads/{second.slug}/edit/", {**edit, "save_anyway": "1"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.email == "ada@example.com"
    # Saved as a duplicate, its next edit of other fields is not warned again.
    response = client.post(f"/leads/{second.slug}/edit/", {**edit, "company": "Navy"})
    assert response.status_code == 302


@pytest.mark.parametrize("n", [1, 5])
def test_duplicate_warning_queries(web, salesperson, manager, django_assert_num_queries, n):
    for _ in range(n):
        LeadFactory(by=manager, owner=salesperson, email="dup@example.com")
    client = web(salesperson)
    # + statuses; + sources; + the custom fields; + the leads with the same email, and those
    # with the same phone (then compared by name), with their owners
    with django_assert_num_queries(AUTH + 5):
        response = client.post("/leads/new/", new_lead(email="dup@example.com"), headers=HTMX)
    assert unescape(response.content.decode()).count("same email") == n
