"""Merging two leads (SPEC §8): picking them, comparing them, and the merge itself, which keeps
the notes, appointments and timeline of both."""

from __future__ import annotations

import pytest

from appointments.models import Appointment
from crm.domain import Actor
from crm.roles import Role
from leads.models import CallLog, Event, EventType, Lead, LeadList, LeadNote, ListMembership
from leads.services import field_create, lead_delete, lead_restore
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory, UserFactory

pytestmark = pytest.mark.django_db

MANAGERS = [Role.ADMINISTRATOR, Role.COMPANY_MANAGER, Role.SALES_MANAGER]


def url(a: Lead | None = None, b: Lead | None = None, **extra: str) -> str:
    params = {"a": a.slug if a else "", "b": b.slug if b else "", **extra}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return "/leads/merge/" + (f"?{query}" if query else "")


@pytest.fixture
def pair(users):
    """Two records of one person, owned by the salesperson, each with a note, an appointment,
    a call, a tag and a list."""
    manager, sp = users["sales_manager"], users["salesperson"]
    keep = LeadFactory(
        by=manager,
        owner=sp,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="5550000001",
        company="",
        status="prospect",
    )
    other = LeadFactory(
        by=manager,
        owner=sp,
        first_name="Annie",
        last_name="Lee",
        email="ann.lee@work.example",
        phone="5550000002",
        company="Acme",
        status="customer",
    )
    for lead, text in ((keep, "Note on the kept lead"), (other, "Note on the other lead")):
        NoteFactory(lead=lead, by=manager, text=text)
        AppointmentFactory(lead=lead, by=manager)
        CallLog.objects.create(lead=lead, user=sp, duration=60, result=f"call {lead.pk}")
    shared, own = LeadList.objects.create(name="Shared"), LeadList.objects.create(name="Own")
    for lead in (keep, other):
        ListMembership.objects.create(list=shared, lead=lead)
    ListMembership.objects.create(list=own, lead=other)
    other.tags.create(name="vip")
    return keep, other


# --- the page -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_page_without_leads_offers_a_search_for_every_role(client, users, role):
    client.force_login(users[role])
    response = client.get("/leads/merge/")
    if role in (Role.JR_SALESPERSON, Role.MARKETING_MANAGER):
        # Roles that delete no lead never merge: not offered, sent back to the list.
        assert response.status_code == 302 and response["Location"] == "/leads/"
        page = client.get(response["Location"]).content.decode()
        assert "You may not merge leads into this one." in page
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="merge-search">Search</label>' in html
    assert 'hx-get="/leads/merge/"' in html and 'action="/leads/merge/"' in html
    assert "First choose the lead to keep." in html


def test_search_lists_matching_leads_as_choices(client, users, pair):
    keep, other = pair
    hidden = LeadFactory(by=users["sales_manager"], first_name="Annabel", last_name="Lee")
    gone = LeadFactory(by=users["sales_manager"], owner=users["salesperson"], first_name="Ann Z")
    lead_delete(actor=Actor(user=users["sales_manager"]), lead=gone)
    client.force_login(users["salesperson"])

    response = client.get(url(keep, q="Ann"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="merge-results"') and "<html" not in html
    assert f'href="/leads/merge/?a={keep.slug}&amp;b={other.slug}"' in html
    assert f"b={keep.slug}" not in html  # not the lead itself
    assert hidden.slug not in html  # a lead the salesperson may not see
    assert gone.slug not in html  # nor a deleted one

    full = client.get(url(keep, q="Ann")).content.decode()
    assert "<html" in full and f"b={other.slug}" in full
    assert "No lead matches “zzz”." in client.get(url(keep, q="zzz")).content.decode()


def test_search_for_the_lead_to_keep(client, users, pair):
    keep, _ = pair
    client.force_login(users["sales_manager"])
    html = client.get(url(q="ann@example.com"), headers={"HX-Request": "true"}).content.decode()
    assert f'href="/leads/merge/?a={keep.slug}"' in html


def test_comparison_offers_a_choice_per_differing_field(client, users, pair):
    keep, other = pair
    client.force_login(users["sales_manager"])
    response = client.get(url(keep, other))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<legend>Email</legend>" in html
    assert 'name="choose_email" value="keep" checked' in html
    # A blank on the kept lead is filled from the other unless chosen otherwise.
    assert 'name="choose_company" value="other" checked' in html
    assert "<legend>Last name</legend>" not in html  # the same on both: nothing to choose
    assert "<dt>Last name</dt><dd>Lee</dd>" in html
    assert "<li>1 note</li>" in html and "<li>1 appointment</li>" in html
    assert '<span class="tag">vip</span>' in html
    assert f'href="/leads/merge/?a={other.slug}&amp;b={keep.slug}">Swap' in html
    assert '<button type="submit" class="btn btn-primary">Merge</button>' in html


def test_leads_the_user_may_not_see_are_404(client, users, pair):
    keep, other = pair
    stranger = LeadFactory(by=users["sales_manager"], owner=UserFactory(username="x"))
    client.force_login(users["salesperson"])
    assert client.get(url(stranger)).status_code == 404
    assert client.get(url(keep, stranger)).status_code == 404
    response = client.post("/leads/merge/", {"a": keep.slug, "b": stranger.slug})
    assert response.status_code == 404
    client.force_login(users["jr_salesperson"])
    assert client.get(url(keep)).status_code == 404
    assert client.post("/leads/merge/", {"a": keep.slug, "b": other.slug}).status_code == 404
    assert not Lead.objects.deleted().exists()


def test_a_deleted_lead_is_404(client, users, pair):
    keep, other = pair
    lead_delete(actor=Actor(user=users["sales_manager"]), lead=other)
    client.force_login(users["sales_manager"])
    assert client.get(url(keep, other)).status_code == 404


def test_the_same_lead_twice_is_refused(client, users, pair):
    keep, _ = pair
    client.force_login(users["sales_manager"])
    response = client.get(url(keep, keep), follow=True)
    assert "Choose two different leads to merge." in response.content.decode()
    response = client.post("/leads/merge/", {"a": keep.slug, "b": keep.slug}, follow=True)
    assert "Choose two different leads to merge." in response.content.decode()
    assert not Lead.objects.deleted().exists()


# --- the merge ----------------------------------------------------------------------------


def test_merge_keeps_everything_of_both_on_the_kept_lead(client, users, pair):
    keep, other = pair
    keep_events = set(keep.events.values_list("pk", flat=True))
    other_events = set(other.events.values_list("pk", flat=True))
    client.force_login(users["salesperson"])  # owns both: edits one, deletes the other

    response = client.post(
        "/leads/merge/",
        {"a": keep.slug, "b": other.slug, "choose_email": "other", "choose_status": "keep"},
    )
    assert response.status_code == 302 and response["Location"] == f"/leads/{keep.slug}/"

    keep.refresh_from_db()
    other.refresh_from_db()
    # Chosen values win; a blank is filled from the other; the rest stays.
    assert keep.email == "ann.lee@work.example"
    assert keep.company == "Acme"
    assert (keep.first_name, keep.phone, keep.status_id) == ("Ann", "5550000001", "prospect")
    # Notes, appointments, calls, events, tags and lists of both are on the kept lead.
    texts = set(LeadNote.objects.filter(lead=keep).values_list("text", flat=True))
    assert texts == {"Note on the kept lead", "Note on the other lead"}
    assert Appointment.objects.filter(lead=keep).count() == 2
    assert CallLog.objects.filter(lead=keep).count() == 2
    assert keep_events | other_events <= set(keep.events.values_list("pk", flat=True))
    assert set(keep.tags.values_list("name", flat=True)) == {"vip"}
    assert set(keep.lists.values_list("name", flat=True)) == {"Shared", "Own"}
    assert not other.notes.exists() and not other.appointments.exists()
    # The other lead is deleted, restorably, and both timelines name the other lead.
    assert other.is_deleted and other.status_before_delete_id == "customer"
    merged_into = other.events.get(type=EventType.MERGED)
    assert merged_into.data["into"] == keep.slug and merged_into.actor == users["salesperson"]
    assert other.events.filter(type=EventType.DELETED).exists()
    merged = keep.events.get(type=EventType.MERGED)
    assert merged.data["other"] == other.slug
    assert merged.data["moved"]["notes"] == 1 and merged.data["moved"]["appointments"] == 1
    assert "email" in merged.data["fields"]
    assert merged.data["summary"].startswith("Merged with Annie Lee (moved 1 note, 1 appointment, ")
    assert merged.data["summary"].endswith(" timeline events, 1 call, 1 list membership)")
    updated = keep.events.filter(type=EventType.UPDATED).latest("pk")
    assert "email" in updated.data["changes"]
    lead_restore(actor=Actor(user=users["administrator"]), lead=other)
    assert Lead.objects.get(pk=other.pk).status_id == "customer"

    page = client.get(response["Location"]).content.decode()
    assert "Annie Lee was merged into Ann Lee" in page


def test_custom_values_of_the_kept_lead_win_unless_chosen(client, users):
    manager = users["sales_manager"]
    colour, size = field_create(label="Colour"), field_create(label="Size")
    a = LeadFactory(by=manager, custom={colour.system_name: "blue"})
    b = LeadFactory(by=manager, custom={colour.system_name: "red", size.system_name: "XL"})
    client.force_login(manager)
    client.post("/leads/merge/", {"a": a.slug, "b": b.slug})
    a.refresh_from_db()
    assert a.custom_fields == {colour.system_name: "blue", size.system_name: "XL"}

    c = LeadFactory(by=manager, custom={colour.system_name: "green"})
    client.post(
        "/leads/merge/", {"a": a.slug, "b": c.slug, f"choose_custom:{colour.system_name}": "other"}
    )
    a.refresh_from_db()
    assert a.custom_fields[colour.system_name] == "green"


def test_people_of_the_other_lead_are_taken_only_when_chosen(client, users):
    """A blank value of the kept lead takes the other's, but a blank owner or assignee stays
    blank: a lead is only given to someone on purpose."""
    manager, salesperson = users["sales_manager"], users["salesperson"]
    keep = LeadFactory(by=manager, owner=None, company="")
    other = LeadFactory(
        by=manager, owner=salesperson, assignee=users["jr_salesperson"], company="Acme"
    )
    client.force_login(manager)
    client.post("/leads/merge/", {"a": keep.slug, "b": other.slug})
    keep.refresh_from_db()
    assert (keep.company, keep.owner, keep.assignee) == ("Acme", None, None)

    third = LeadFactory(by=manager, owner=salesperson)
    client.post("/leads/merge/", {"a": keep.slug, "b": third.slug, "choose_owner": "other"})
    keep.refresh_from_db()
    assert keep.owner == salesperson


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.MARKETING_MANAGER])
def test_no_merge_of_a_lead_the_user_may_not_delete(client, users, role):
    manager = users["sales_manager"]
    mine = LeadFactory(by=manager, owner=users[role], first_name="Mine")
    pool = LeadFactory(by=manager, owner=None, first_name="Pool")  # a salesperson sees the pool
    NoteFactory(lead=pool, by=manager)
    client.force_login(users[role])
    # Not offered: the comparison page sends back with the reason...
    shown = client.get(url(mine, pool))
    assert shown.status_code == 302
    assert shown.status_code == 302 and "b=" not in shown["Location"]

    # ...and the server refuses the merge all the same.
    response = client.post(
        "/leads/merge/", {"a": mine.slug, "b": pool.slug, "choose_first_name": "other"}
    )
    assert response.status_code == 302 and response["Location"] == url(mine, pool)
    page = client.get(response["Location"], follow=True).content.decode()
    assert (
        "Nothing was merged: You can&#39;t delete the other lead, so you can&#39;t merge it."
        in page
    )
    mine.refresh_from_db()
    pool.refresh_from_db()
    assert mine.first_name == "Mine" and not pool.is_deleted
    assert pool.notes.count() == 1
    assert not Event.objects.filter(type=EventType.MERGED).exists()


def test_no_merge_into_a_lead_the_user_may_not_edit(client, users):
    manager, sp = users["sales_manager"], users["salesperson"]
    pool = LeadFactory(by=manager, owner=None)
    mine = LeadFactory(by=manager, owner=sp)
    client.force_login(sp)
    response = client.post("/leads/merge/", {"a": pool.slug, "b": mine.slug}, follow=True)
    assert "You can&#39;t edit the lead to keep" in response.content.decode()
    mine.refresh_from_db()
    assert not mine.is_deleted


def test_a_refused_value_rolls_the_whole_merge_back(client, users, pair):
    """A salesperson may not give a lead away: choosing the other lead's owner refuses the
    merge, and nothing of it is written."""
    keep, other = pair
    manager = users["sales_manager"]
    from leads.services import lead_update

    lead_update(actor=Actor(user=manager), lead=other, data={"assignee": manager})
    client.force_login(users["salesperson"])
    response = client.post(
        "/leads/merge/", {"a": keep.slug, "b": other.slug, "choose_assignee": "other"}, follow=True
    )
    assert (
        "Nothing was merged: You can&#39;t give a lead to someone else."
        in response.content.decode()
    )
    keep.refresh_from_db()
    other.refresh_from_db()
    assert not other.is_deleted and keep.assignee is None and keep.company == ""
    assert other.notes.count() == 1


def test_manager_merges_leads_of_others(client, users, pair):
    keep, other = pair
    client.force_login(users["company_manager"])
    client.post("/leads/merge/", {"a": keep.slug, "b": other.slug})
    other.refresh_from_db()
    assert other.is_deleted


def test_get_is_read_only_and_other_methods_are_refused(client, users, pair):
    keep, other = pair
    client.force_login(users["sales_manager"])
    client.get(url(keep, other, choose_email="other"))
    assert not Lead.objects.deleted().exists()
    assert client.put("/leads/merge/").status_code == 405


# --- query counts -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 6])
def test_comparison_page_query_count_does_not_grow(client, users, django_assert_num_queries, n):
    manager = users["sales_manager"]
    a, b = LeadFactory(by=manager), LeadFactory(by=manager, company="Acme")
    for _ in range(n):
        NoteFactory(lead=b, by=manager)
        AppointmentFactory(lead=b, by=manager)
    client.force_login(manager)
    # session, user, lead a, lead b (each with status, source, people and campaign), custom
    # fields; then what moves: notes, appointments, events, calls, lists, tags
    with django_assert_num_queries(11):
        response = client.get(url(a, b))
    assert f"<li>{n} note{'s' if n > 1 else ''}</li>" in response.content.decode()


@pytest.mark.parametrize("n", [1, 8])
def test_search_query_count_does_not_grow(client, users, django_assert_num_queries, n):
    manager = users["sales_manager"]
    a = LeadFactory(by=manager)
    for _ in range(n):
        LeadFactory(by=manager, company="Acme")
    client.force_login(manager)
    # session, user, lead a, the matching leads with their owners
    with django_assert_num_queries(4):
        response = client.get(url(a, q="Acme"), headers={"HX-Request": "true"})
    assert response.content.decode().count("<li><a href") == n


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.SALES_MANAGER, True),
        (Role.SALESPERSON, True),  # it deletes the leads it owns
        (Role.JR_SALESPERSON, False),  # it deletes none
        (Role.MARKETING_MANAGER, False),
    ],
)
def test_the_lead_page_offers_a_merge_only_to_a_role_that_can_merge(client, users, role, offered):
    lead = LeadFactory(by=users["sales_manager"], owner=users[role])
    client.force_login(users[role])
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    assert ("Merge with another lead" in page) is offered
