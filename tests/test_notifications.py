"""Notifications (SPEC §11): who is told of what, never of their own action; the bell's
bounded count and the list, each with its queries pinned; reading them, one by one and all at
once; and only one's own, about leads one may still see.

Sam (a salesperson) works leads; Mia (a sales manager) gives him leads, books on them and
gives him tasks; a partner's integration changes his leads through the three APIs.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.services import appointment_cancel, appointment_create, appointment_update
from crm import notifications
from crm.domain import Actor
from crm.models import Notification, NotificationKind
from crm.roles import Role
from leads.privacy import personal_data_erase
from leads.services import (
    lead_assign,
    lead_create,
    lead_delete,
    lead_update,
    note_create,
    task_create,
    task_reassign,
)
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
BELL = "/notifications/?bell=1"
LIST = "/notifications/"


@pytest.fixture
def sam(db):
    return UserFactory(username="sam", first_name="Sam", last_name="Seller")


@pytest.fixture
def mia(db):
    return UserFactory(
        username="mia", first_name="Mia", last_name="Manager", role=Role.SALES_MANAGER
    )


@pytest.fixture
def ted(db):
    return UserFactory(username="ted", first_name="Ted", last_name="Other")


@pytest.fixture
def jane(sam):
    """Sam's own lead, made by himself: nobody is told."""
    return LeadFactory(by=sam, first_name="Jane", last_name="Roe")


def soon(hours: int = 24):
    start = timezone.now() + timedelta(hours=hours)
    return start, start + timedelta(hours=1)


def told(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).order_by("id"))


def only(user) -> Notification:
    found = told(user)
    assert len(found) == 1, [n.text for n in found]
    return found[0]


# --- who is told of what ------------------------------------------------------------------


def test_a_lead_given_by_a_manager(sam, mia, jane):
    lead = LeadFactory(by=mia, first_name="Lou", last_name="Poe")
    lead_assign(actor=Actor(user=mia), lead=lead, people={"owner": sam})
    note = only(sam)
    assert note.kind == NotificationKind.LEAD_GIVEN
    assert note.text == "Mia Manager gave you the lead Lou Poe."
    assert note.url == f"/leads/{lead.slug}/" and note.lead == lead and note.read_at is None
    assert told(mia) == []


def test_a_new_lead_for_someone_else_and_assigned(sam, mia, ted):
    LeadFactory(by=mia, owner=sam, assignee=ted, first_name="Ann", last_name="Lee")
    assert only(sam).text == "Mia Manager gave you the lead Ann Lee."
    assert only(ted).text == "Mia Manager assigned you the lead Ann Lee."
    assert told(mia) == []


def test_nobody_is_told_of_their_own_action(sam, mia, jane):
    me = Actor(user=sam)
    lead_update(actor=me, lead=jane, data={"city": "Oslo", "status": "closed"})
    note_create(actor=me, lead=jane, text="Called.")
    start, end = soon()
    appointment = appointment_create(actor=me, lead=jane, start=start, end=end)
    later = {"start": start + timedelta(days=1), "end": end + timedelta(days=1)}
    appointment_update(actor=me, appointment=appointment, changes=later)
    task_create(actor=me, title="Call back", due=start, lead=jane)
    pool = LeadFactory(by=mia, owner=None)
    lead_assign(actor=me, lead=pool, people={"owner": sam})  # claims a pool lead
    mine = Actor(user=mia)
    lead_update(actor=mine, lead=pool, data={"city": "Bergen"})  # a manager's web edit
    assert Notification.objects.count() == 0


def test_appointments_booked_moved_and_cancelled_on_ones_lead(sam, mia, jane):
    manager = Actor(user=mia)
    start, end = soon()
    appointment = appointment_create(actor=manager, lead=jane, start=start, end=end)
    later = {"start": start + timedelta(days=1), "end": end + timedelta(days=1)}
    appointment_update(actor=manager, appointment=appointment, changes=later)
    appointment_cancel(actor=manager, appointment=appointment, reason="Ill")
    assert [(n.kind, n.text) for n in told(sam)] == [
        (NotificationKind.APPOINTMENT, "Mia Manager booked an appointment with Jane Roe."),
        (NotificationKind.APPOINTMENT, "Mia Manager moved the appointment with Jane Roe."),
        (NotificationKind.APPOINTMENT, "Mia Manager cancelled the appointment with Jane Roe."),
    ]
    assert told(mia) == []


def test_the_host_of_an_appointment_on_someone_elses_lead(sam, mia):
    lead = LeadFactory(by=mia, owner=mia, first_name="Kim", last_name="Wu")
    start, end = soon()
    appointment_create(actor=Actor(user=mia), lead=lead, start=start, end=end, host=sam)
    assert only(sam).text == "Mia Manager booked an appointment with Kim Wu."
    assert told(mia) == []


def test_a_task_given_and_reassigned(sam, mia, ted, jane):
    manager = Actor(user=mia)
    task = task_create(
        actor=manager, title="Send the quote", due=soon()[0], lead=jane, assignee=sam
    )
    assert only(sam).kind == NotificationKind.TASK
    assert only(sam).text == "Mia Manager gave you the task “Send the quote” on Jane Roe."
    task_create(actor=manager, title="Mine", due=soon()[0], lead=jane)  # her own: nobody told
    lead_assign(actor=manager, lead=jane, people={"assignee": ted})
    task_reassign(actor=manager, task=task, assignee=ted)
    texts = [n.text for n in told(ted)]
    assert texts == [
        "Mia Manager assigned you the lead Jane Roe.",
        "Mia Manager reassigned the task “Send the quote” on Jane Roe to you.",
    ]
    assert told(mia) == []


def test_a_partner_change_through_the_rest_api_tells_the_owner(sam, mia, jane, client_for):
    response = client_for(mia).post(
        "update/lead/",
        {
            "slug": jane.slug,
            "first_name": "Jane",
            "last_name": "Roe",
            "email": jane.email,
            "phone": jane.phone,
            "message": "Wants a call on Monday.",
        },
    )
    assert response.status_code == 200, response.content
    note = only(sam)
    assert note.kind == NotificationKind.PARTNER
    assert note.text == "Mia Manager updated your lead Jane Roe through the API."
    assert told(mia) == []


def test_the_owners_own_rest_change_tells_nobody(sam, jane, client_for):
    response = client_for(sam).post("create/leadnote/", {"slug": jane.slug, "note": "Hi"})
    assert response.status_code == 201, response.content
    assert Notification.objects.count() == 0


def test_json_rpc_changes_tell_the_owner_once(sam, ted, jane, rpc):
    rpc.result("updateLeads", {"objects": [{"id": jane.pk, "city": "Oslo", "title": "CEO"}]})
    assert only(sam).text == "The API key “Partner integration” updated your lead Jane Roe."
    assert only(sam).kind == NotificationKind.PARTNER
    rpc.result("updateLeads", {"objects": [{"id": jane.pk, "ownerID": ted.pk}]})
    assert only(ted).text == "The API key “Partner integration” gave you the lead Jane Roe."
    assert len(told(sam)) == 1  # no longer his lead
    result = rpc.result(
        "createLeads", {"objects": [{"emailAddress": "new@example.com", "ownerID": sam.pk}]}
    )
    assert result["creates"][0]["success"]
    assert [n.kind for n in told(sam)] == [NotificationKind.PARTNER, NotificationKind.LEAD_GIVEN]


def test_a_pool_lead_from_a_partner_tells_nobody(rpc):
    rpc.result(
        "createLeads", {"objects": [{"emailAddress": f"p{i}@example.com"} for i in range(3)]}
    )
    assert Notification.objects.count() == 0


def test_lead_set_note_tells_the_owner(sam, jane, api_key, client):
    response = client.post(
        "/api/service/lead_set/",
        {"mode": "update", "lead_id": jane.pk, "note": "From the web form."},
        headers={"apikey": api_key},
    )
    assert response.status_code == 200 and response.json()["status"] == 0, response.content
    assert [n.kind for n in told(sam)] == [NotificationKind.PARTNER]
    assert "added a note to your lead Jane Roe" in told(sam)[0].text


def test_no_notification_of_a_change_that_rolls_back(sam, mia, jane):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        lead_assign(actor=Actor(user=mia), lead=LeadFactory(by=mia), people={"owner": sam})
        raise RuntimeError
    assert told(sam) == []


def test_erasing_a_leads_personal_data_erases_its_notifications(sam, users):
    admin = users["administrator"]
    lead = LeadFactory(by=admin, owner=sam, first_name="Eve", last_name="Secret")
    assert "Eve Secret" in only(sam).text
    personal_data_erase(actor=Actor(user=admin), lead=lead)
    assert told(sam) == []


# --- the bell and the list ----------------------------------------------------------------


def give(user, manager, n: int) -> None:
    for _ in range(n):
        LeadFactory(by=manager, owner=user)


def bell_name(response) -> str:
    found = re.search(r'aria-label="([^"]*)"', response.content.decode())
    assert found, response.content
    return found.group(1)


def test_the_bell_counts_unread_in_one_query(web, sam, mia, django_assert_num_queries):
    client = web(sam)
    # the session, the user, the unread count (a COUNT over a subquery of at most 100 rows)
    with django_assert_num_queries(3):
        response = client.get(BELL, headers=HTMX)
    assert bell_name(response) == "Notifications: none unread"
    assert "bell-count" not in response.content.decode()
    give(sam, mia, 2)
    with django_assert_num_queries(3):
        response = client.get(BELL, headers=HTMX)
    assert bell_name(response) == "Notifications: 2 unread"
    assert re.search(r'class="bell-count"[^>]*>2<', response.content.decode())
    assert "<html" not in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_the_count_is_bounded(web, sam, mia):
    lead = LeadFactory(by=mia, owner=sam)
    Notification.objects.bulk_create(
        Notification(recipient=sam, lead=lead, kind="lead_given", text=f"n{i}", url="/")
        for i in range(notifications.COUNT_CAP + 5)
    )
    with CaptureQueriesContext(connection) as captured:
        response = web(sam).get(BELL, headers=HTMX)
    assert bell_name(response) == "Notifications: more than 99 unread"
    assert ">99+<" in response.content.decode()
    count = next(q["sql"] for q in captured if "crm_notification" in q["sql"])
    assert "LIMIT 100" in count and "COUNT(" in count.upper()


def test_the_bell_without_htmx_is_the_page(web, sam):
    response = web(sam).get(BELL)
    assert response.status_code == 200 and "<html" in response.content.decode()


@pytest.mark.parametrize("n", [2, 15])
def test_the_list_page_queries_stay_flat(web, sam, mia, django_assert_num_queries, n):
    give(sam, mia, n)
    client = web(sam)
    # the session, the user, the latest notifications (lead visibility checked in the join)
    with django_assert_num_queries(3):
        response = client.get(LIST)
    html = response.content.decode()
    assert html.count('class="notification notification-unread"') == n
    assert "Mark all read" in html and "<h1>Notifications</h1>" in html
    with django_assert_num_queries(3):
        fragment = client.get(LIST, headers=HTMX)
    assert "<html" not in fragment.content.decode()
    assert fragment.content.decode().count("?open=") == n


def test_the_list_is_bounded_and_newest_first(web, sam, mia):
    give(sam, mia, notifications.LIST_LIMIT + 3)
    html = web(sam).get(LIST).content.decode()
    assert html.count("?open=") == notifications.LIST_LIMIT
    newest = Notification.objects.filter(recipient=sam).latest("created_at", "id")
    assert html.index(f'?open={newest.pk}"') == html.index("?open=")


def test_pages_do_not_count_notifications(web, sam, mia):
    """The bell's count comes after the page, with HTMX: the page's own render reads none."""
    give(sam, mia, 1)
    client = web(sam)
    for url in ("/", "/leads/", "/appointments/"):
        with CaptureQueriesContext(connection) as captured:
            html = client.get(url).content.decode()
        assert not [q for q in captured if "crm_notification" in q["sql"]], url
        assert 'hx-get="/notifications/?bell=1"' in html
        assert 'aria-label="Notifications"' in html and 'href="/notifications/"' in html


# --- reading ------------------------------------------------------------------------------


def test_opening_one_marks_it_read_and_goes_to_its_lead(web, sam, mia):
    give(sam, mia, 2)
    first, second = told(sam)
    client = web(sam)
    response = client.get(f"{LIST}?open={first.pk}")
    assert response.status_code == 302 and response["Location"] == first.url
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert bell_name(client.get(BELL, headers=HTMX)) == "Notifications: 1 unread"
    read_at = first.read_at
    client.get(f"{LIST}?open={first.pk}")  # again: still read, at the first time
    first.refresh_from_db()
    assert first.read_at == read_at


def test_mark_all_read(web, sam, mia, ted):
    give(sam, mia, 3)
    give(ted, mia, 1)
    client = web(sam)
    response = client.post("/notifications/read-all/", follow=True)
    assert "Marked 3 notifications read." in response.content.decode()
    assert not Notification.objects.filter(recipient=sam, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=ted, read_at__isnull=True).count() == 1
    assert bell_name(client.get(BELL, headers=HTMX)) == "Notifications: none unread"
    assert client.get("/notifications/read-all/").status_code == 405


@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "99999999", "1" * 30, "1.5", "\x00"])
def test_an_unknown_notification_is_404(web, sam, value):
    assert web(sam).get(LIST, {"open": value}).status_code == 404


def test_someone_elses_notification_is_404_and_stays_unread(web, sam, mia, ted):
    give(ted, mia, 1)
    theirs = only(ted)
    assert web(sam).get(f"{LIST}?open={theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert f"?open={theirs.pk}" not in web(sam).get(LIST).content.decode()


def test_a_lead_deleted_or_taken_away_is_left_out(web, sam, mia, ted):
    manager = Actor(user=mia)
    deleted = LeadFactory(by=mia, owner=sam, first_name="Del", last_name="Eted")
    taken = LeadFactory(by=mia, owner=sam, first_name="Tak", last_name="En")
    kept = LeadFactory(by=mia, owner=sam, first_name="Kee", last_name="Pt")
    lead_delete(actor=manager, lead=deleted)
    lead_assign(actor=manager, lead=taken, people={"owner": ted})
    client = web(sam)
    html = client.get(LIST).content.decode()
    assert "Kee Pt" in html and "Del Eted" not in html and "Tak En" not in html
    assert bell_name(client.get(BELL, headers=HTMX)) == "Notifications: 1 unread"
    gone = Notification.objects.get(recipient=sam, lead=taken)
    response = client.get(f"{LIST}?open={gone.pk}", follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert "you may no longer see it" in response.content.decode()
    assert kept.pk != gone.lead_id


def test_a_manager_still_sees_a_lead_given_away(web, mia, users):
    admin = users["administrator"]
    lead = LeadFactory(by=admin, owner=mia, first_name="Ola", last_name="Nor")
    lead_assign(actor=Actor(user=admin), lead=lead, people={"owner": admin})
    assert "Ola Nor" in web(mia).get(LIST).content.decode()  # managers see every lead


def test_signed_out_the_bell_and_the_list_ask_to_sign_in(client):
    for url in (BELL, LIST):
        response = client.get(url, headers=HTMX)  # the whole page goes (crm.web)
        assert response.status_code == 200 and "/accounts/login/" in response["HX-Redirect"]


def test_the_admin_lists_notifications_read_only(client, users, sam, mia):
    admin = users["administrator"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    give(sam, mia, 1)
    client.force_login(admin)
    response = client.get("/admin/crm/notification/")
    assert (
        response.status_code == 200 and "Mia Manager gave you the lead" in response.content.decode()
    )
    assert client.get("/admin/crm/notification/add/").status_code == 403


def test_a_partner_created_lead_for_a_user_names_the_key(sam, api_key):
    from crm.models import ApiKey

    key = ApiKey.objects.get(account_id=api_key.partition(".")[0])
    lead_create(actor=Actor.for_key(key), data={"first_name": "Al", "last_name": "Bo",
                                                "email": "al@example.com", "phone": "5550001111",
                                                "owner": sam})  # fmt: skip
    assert only(sam).text == "The API key “Partner integration” gave you the lead Al Bo."
