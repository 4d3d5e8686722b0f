"""The leads list (SPEC §8): filters per role, sorting, keyset pages, HTMX fragments, bulk
actions and the CSV export of the current filter."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from crm.domain import Actor
from crm.roles import Role
from leads.models import Campaign, Event, EventType, Lead
from leads.services import field_create, lead_delete
from tests.factories import LeadFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world")]

HX = {"HX-Request": "true"}
MANAGERS = [Role.ADMINISTRATOR, Role.COMPANY_MANAGER, Role.SALES_MANAGER, Role.MARKETING_MANAGER]


@pytest.fixture
def world(users):
    """Leads in every relation to the salespeople, by first name; Hank is deleted."""
    manager, sp, jr = users["sales_manager"], users["salesperson"], users["jr_salesperson"]
    other = UserFactory(username="other", role=Role.SALESPERSON)
    spring = Campaign.objects.create(name="Spring", slug="spring")
    autumn = Campaign.objects.create(name="Autumn", slug="autumn")

    def lead(first, last, **data):
        return LeadFactory(
            by=manager,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}@{last.lower()}.test",
            **data,
        )

    leads = {
        "Alice": lead(
            "Alice",
            "Archer",
            owner=sp,
            status="prospect",
            source="website",
            company="Acme",
            phone="5551110001",
            campaign=spring,
        ),
        "Bob": lead(
            "Bob",
            "Baker",
            owner=manager,
            assignee=sp,
            status="contact",
            source="referral",
            company="Bakery",
            campaign=autumn,
        ),
        "Carol": lead(
            "Carol", "Cook", owner=None, status="tentative", source="website", company="Cookware"
        ),
        "Dan": lead("Dan", "Diaz", owner=jr, status="prospect", source="email"),
        "Eve": lead("Eve", "Evans", owner=other, assignee=jr, status="closed", source="phone"),
        "Frank": lead(
            "Frank", "Fox", owner=other, status="customer", source="referral", campaign=spring
        ),
        "Gina": lead("Gina", "Gold", owner=manager, status="potential", source="social"),
        "Hank": lead("Hank", "Hill", owner=sp, status="prospect", source="website"),
    }
    lead_delete(actor=Actor(user=manager), lead=leads["Hank"])
    for month, obj in enumerate(leads.values(), start=1):  # Alice in January, Bob in February...
        created = timezone.make_aware(datetime(2024, month, 10, 12))  # noqa: DTZ001
        Lead.objects.filter(pk=obj.pk).update(created_at=created)
    for obj in leads.values():
        obj.refresh_from_db()
    return leads


VISIBLE = {
    Role.SALESPERSON: {"Alice", "Bob", "Carol"},
    Role.JR_SALESPERSON: {"Dan", "Eve"},
    **{role: {"Alice", "Bob", "Carol", "Dan", "Eve", "Frank", "Gina"} for role in MANAGERS},
}


def names(response) -> list[str]:
    return [lead.first_name for lead in response.context["page"].rows]


def row_slugs(html: str) -> list[str]:
    return re.findall(r'<tr data-slug="([^"]+)">', html)


def messages_of(response) -> list[str]:
    """The messages a response left for the next page (taken: the next request sees none)."""
    response.client.cookies.pop("messages", None)
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- pages per role -----------------------------------------------------------------------


@pytest.mark.parametrize("role", list(VISIBLE))
def test_the_list_shows_every_lead_the_role_sees_and_no_other(client, users, world, role):
    client.force_login(users[role])
    response = client.get("/leads/")
    assert response.status_code == 200
    assert set(names(response)) == VISIBLE[role]
    html = response.content.decode()
    assert sorted(row_slugs(html)) == sorted(world[n].slug for n in VISIBLE[role])
    assert "<h1>Leads</h1>" in html
    assert "Hank" not in html  # the deleted lead is in no list


@pytest.mark.parametrize(
    ("role", "params", "expected"),
    [
        # list_type
        (Role.SALESPERSON, {"list_type": "all"}, {"Alice", "Bob", "Carol"}),
        (Role.SALESPERSON, {"list_type": "owned"}, {"Alice"}),
        (Role.SALESPERSON, {"list_type": "assigned"}, {"Bob"}),
        (Role.JR_SALESPERSON, {"list_type": "owned"}, {"Dan"}),
        (Role.JR_SALESPERSON, {"list_type": "assigned"}, {"Eve"}),
        (Role.SALES_MANAGER, {"list_type": "owned"}, {"Bob", "Gina"}),
        (Role.SALES_MANAGER, {"list_type": "assigned"}, set()),
        # search: first name, last name, email, phone, company; several words all match
        (Role.SALESPERSON, {"search": "alice"}, {"Alice"}),
        (Role.SALESPERSON, {"search": "BAKER"}, {"Bob"}),
        (Role.SALESPERSON, {"search": "carol@cook"}, {"Carol"}),
        (Role.SALESPERSON, {"search": "555111"}, {"Alice"}),
        (Role.SALESPERSON, {"search": "acme"}, {"Alice"}),
        (Role.SALESPERSON, {"search": "co"}, {"Carol"}),  # Cook, Cookware
        (Role.SALESPERSON, {"search": "alice acme"}, {"Alice"}),
        (Role.SALESPERSON, {"search": "alice bakery"}, set()),
        (Role.SALESPERSON, {"search": "frank"}, set()),  # exists, but not for this user
        (Role.SALES_MANAGER, {"search": "frank"}, {"Frank"}),
        # status, source
        (Role.SALESPERSON, {"status": "prospect"}, {"Alice"}),
        (Role.SALES_MANAGER, {"status": "prospect"}, {"Alice", "Dan"}),
        (Role.JR_SALESPERSON, {"status": "closed"}, {"Eve"}),
        (Role.SALESPERSON, {"source": "website"}, {"Alice", "Carol"}),
        (Role.MARKETING_MANAGER, {"source": "referral"}, {"Bob", "Frank"}),
        # owner, assignee
        (Role.SALESPERSON, {"owner": "salesperson"}, {"Alice"}),
        (Role.SALESPERSON, {"owner": "other"}, set()),
        (Role.SALES_MANAGER, {"owner": "other"}, {"Eve", "Frank"}),
        (Role.SALESPERSON, {"assignee": "salesperson"}, {"Bob"}),
        (Role.SALES_MANAGER, {"assignee": "jr_salesperson"}, {"Eve"}),
        # campaign
        (Role.SALESPERSON, {"campaign_slug": "spring"}, {"Alice"}),
        (Role.SALES_MANAGER, {"campaign_slug": "spring"}, {"Alice", "Frank"}),
        (Role.SALES_MANAGER, {"campaign_slug": "autumn"}, {"Bob"}),
        # created range: the "to" day counts whole (Bob: February 10th, Carol: March 10th)
        (
            Role.SALES_MANAGER,
            {"created_after": "2024-02-10"},
            {"Bob", "Carol", "Dan", "Eve", "Frank", "Gina"},
        ),
        (Role.SALES_MANAGER, {"created_before": "2024-02-10"}, {"Alice", "Bob"}),
        (
            Role.SALES_MANAGER,
            {"created_after": "2024-02-10", "created_before": "2024-03-10"},
            {"Bob", "Carol"},
        ),
        (
            Role.SALES_MANAGER,
            {"created_after": "2024-02-11", "created_before": "2024-03-09"},
            set(),
        ),
        (Role.SALESPERSON, {"created_after": "2024-02-01"}, {"Bob", "Carol"}),
        # combined
        (Role.SALES_MANAGER, {"status": "prospect", "owner": "jr_salesperson"}, {"Dan"}),
        (Role.SALES_MANAGER, {"list_type": "owned", "source": "social"}, {"Gina"}),
    ],
)
def test_each_filter_narrows_the_list(client, users, world, role, params, expected):
    client.force_login(users[role])
    response = client.get("/leads/", params)
    assert response.status_code == 200
    assert set(names(response)) == expected
    assert not response.context["form"].errors
    if not expected:
        assert "No leads match these filters." in response.content.decode()


def test_the_filters_are_kept_in_the_form_and_links(client, users, world, settings):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 2}
    client.force_login(users["sales_manager"])
    html = client.get("/leads/", {"search": "o", "status": "prospect", "source": ""}).content
    html = html.decode()
    assert 'name="search" value="o"' in html
    assert '<option value="prospect" selected>' in html
    export = unescape(re.search(r'id="export-link" href="([^"]+)"', html).group(1))
    assert parse_qs(urlsplit(export).query) == {"search": ["o"], "status": ["prospect"]}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"status": "nope"}, "Select a valid choice. nope is not one of the available choices."),
        ({"status": "deleted"}, "Select a valid choice."),  # the reserved status is no filter
        ({"source": "x" * 5000}, "Select a valid choice."),
        ({"owner": "nobody-at-all"}, "Select a valid choice."),
        ({"campaign_slug": "nope"}, "Select a valid choice."),
        ({"list_type": "everything"}, "Select a valid choice."),
        ({"search": "x" * 100_000}, "Ensure this value has at most 255 characters"),
        ({"created_after": "yesterday"}, "Enter a valid date."),
        ({"created_before": "2024-02-30"}, "Enter a valid date."),
        ({"created_before": "9999-12-31"}, "Enter a date between the years 1 and 9998."),
        ({"created_after": "0001-01-01"}, None),  # the earliest day works
        (
            {"created_after": "2024-03-01", "created_before": "2024-02-01"},
            "“Created to” is before “Created from”.",
        ),
        ({"ordering": "password"}, "Select a valid choice."),
        ({"search": "a\x00b"}, "Null characters are not allowed."),
    ],
)
@pytest.mark.parametrize("headers", [{}, HX])
def test_invalid_filters_show_an_error_never_a_500(client, users, world, params, error, headers):
    client.force_login(users["salesperson"])
    response = client.get("/leads/", params, headers=headers)
    assert response.status_code == 200
    html = unescape(response.content.decode())
    if error:
        assert error in html  # also in the table fragment, where an HTMX user looks
    # the invalid filter is left out; the rest of the list still shows
    assert set(names(response)) <= VISIBLE[Role.SALESPERSON]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        "x" * 20_000,
        base64.urlsafe_b64encode(b'["2024-01-01T00:00:00", 1]').decode(),  # naive
        base64.urlsafe_b64encode(b'["9999-12-31T23:59:59-14:00", 1]').decode(),
        base64.urlsafe_b64encode(b"[100000000000000000000000000000, 1]").decode(),
        base64.urlsafe_b64encode(b'["\\ud800", 1]').decode(),
        base64.urlsafe_b64encode(b"[null, 99999999999999999999]").decode(),
        base64.urlsafe_b64encode(json.dumps([{"a": 1}, [2]]).encode()).decode(),
    ],
)
@pytest.mark.parametrize("ordering", ["-created_at", "last_name", "status"])
@pytest.mark.parametrize("direction", ["after", "before"])
def test_bad_or_forged_cursors_never_500(client, users, world, cursor, ordering, direction):
    client.force_login(users["sales_manager"])
    response = client.get("/leads/", {"ordering": ordering, direction: cursor})
    assert response.status_code == 200
    assert len(names(response)) <= len(VISIBLE[Role.SALES_MANAGER])


# --- sorting and pages --------------------------------------------------------------------

SORT_KEYS = {
    "last_name": lambda lead: lead.last_name,
    "email": lambda lead: lead.email,
    "status": lambda lead: lead.status_id,
    "created_at": lambda lead: lead.created_at,
}


@pytest.mark.parametrize("field", list(SORT_KEYS))
@pytest.mark.parametrize("descending", [False, True])
def test_sorting_by_each_column_both_ways(client, users, world, field, descending):
    client.force_login(users["sales_manager"])
    ordering = f"-{field}" if descending else field
    response = client.get("/leads/", {"ordering": ordering})
    visible = [world[n] for n in VISIBLE[Role.SALES_MANAGER]]
    key = SORT_KEYS[field]
    expected = sorted(visible, key=lambda lead: (key(lead), lead.pk), reverse=descending)
    assert names(response) == [lead.first_name for lead in expected]

    html = response.content.decode()
    assert row_slugs(html) == [lead.slug for lead in expected]
    column = next(
        c
        for c in response.context["columns"]
        if c["url"].endswith(field)
        or f"ordering=-{field}" in c["url"]
        or f"ordering={field}" in c["url"]
    )
    assert column["aria_sort"] == ("descending" if descending else "ascending")
    assert f'aria-sort="{column["aria_sort"]}"' in html
    # the sorted column's link turns the order around; the other columns sort ascending
    toggled = field if descending else f"-{field}"
    assert parse_qs(urlsplit(column["url"]).query)["ordering"] == [toggled]
    others = [c for c in response.context["columns"] if c is not column]
    assert all(c["aria_sort"] is None for c in others)
    assert all(
        not parse_qs(urlsplit(c["url"]).query)["ordering"][0].startswith("-") for c in others
    )


def test_default_order_is_newest_first(client, users, world):
    client.force_login(users["sales_manager"])
    response = client.get("/leads/")
    assert names(response) == ["Gina", "Frank", "Eve", "Dan", "Carol", "Bob", "Alice"]


@pytest.fixture
def many(users):
    """Thirteen leads of the manager, five sharing one last name (ties)."""
    manager = users["sales_manager"]
    return [
        LeadFactory(
            by=manager,
            owner=manager,
            first_name=f"M{i:02d}",
            last_name="Same" if i % 3 == 0 else f"Name {i:02d}",
        )
        for i in range(13)
    ]


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


@pytest.mark.parametrize("ordering", ["-created_at", "last_name", "-last_name", "email"])
def test_walking_next_pages_visits_every_lead_once_in_order(
    client, users, many, settings, ordering
):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 4}
    client.force_login(users["sales_manager"])
    field = ordering.lstrip("-")
    key = SORT_KEYS[field]
    expected = sorted(many, key=lambda lead: (key(lead), lead.pk), reverse=ordering.startswith("-"))

    pages = []
    url = f"/leads/?ordering={ordering}&search=M"
    while url:
        html = client.get(url).content.decode()
        pages.append(row_slugs(html))
        assert "search=M" in (_link(html, "next") or "search=M")  # filters stay in the links
        url = _link(html, "next")
    assert [len(p) for p in pages] == [4, 4, 4, 1]
    assert [s for page in pages for s in page] == [lead.slug for lead in expected]
    assert _link(html, "prev") is not None

    back = [pages[-1]]
    url = _link(html, "prev")
    while url:
        html = client.get(url).content.decode()
        back.append(row_slugs(html))
        url = _link(html, "prev")
    assert back[::-1] == pages  # previous shows the same rows again, down to the first page
    assert _link(html, "next") is not None


def test_a_first_page_has_no_previous_link_and_a_short_list_no_pager_links(client, users, world):
    client.force_login(users["sales_manager"])
    html = client.get("/leads/").content.decode()
    assert _link(html, "prev") is None and _link(html, "next") is None


# --- HTMX fragment or whole page ----------------------------------------------------------


def test_htmx_request_gets_only_the_table(client, users, world):
    client.force_login(users["salesperson"])
    fragment = client.get("/leads/", {"status": "prospect"}, headers=HX).content.decode()
    assert fragment.lstrip().startswith('<div id="lead-table"')
    assert "<html" not in fragment and 'id="lead-filters"' not in fragment
    assert row_slugs(fragment) == [world["Alice"].slug]

    page = client.get("/leads/", {"status": "prospect"}).content.decode()
    assert page.startswith("<!doctype html>") and 'id="lead-filters"' in page
    assert 'id="lead-table"' in page


def test_the_table_carries_the_sort_for_the_filter_form(client, users, world):
    """Sorting swaps only the table; the filters sent next must keep that sort."""
    client.force_login(users["salesperson"])
    fragment = client.get("/leads/", {"ordering": "-email"}, headers=HX).content.decode()
    assert '<input type="hidden" name="ordering" value="-email" form="lead-filters">' in fragment
    page = client.get("/leads/").content.decode()
    assert 'name="ordering"' not in page  # the default order needs no parameter


def test_boosted_or_history_restore_requests_get_the_whole_page(client, users, world):
    client.force_login(users["salesperson"])
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        html = client.get("/leads/", headers={**HX, **extra}).content.decode()
        assert "<html" in html


def test_the_navigation_marks_the_leads_as_current(client, users, world):
    client.force_login(users["salesperson"])
    html = client.get("/leads/").content.decode()
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == ["/leads/"]


def test_filter_form_and_links_work_without_javascript(client, users, world):
    client.force_login(users["salesperson"])
    html = client.get("/leads/").content.decode()
    assert '<form class="card filters" id="lead-filters" method="get" action="/leads/"' in html
    assert 'hx-push-url="true"' in html
    assert '<form id="bulk-form" method="post" action="/leads/bulk/"' in html
    for label in (
        "Search",
        "Status",
        "Source",
        "Owner",
        "Assignee",
        "Campaign",
        "Created from",
        "Created to",
        "Bulk action",
    ):
        assert re.search(rf'<label for="[^"]+">{label}\b', html), label


def grow(manager, n: int) -> None:
    campaign = Campaign.objects.get_or_create(name="Grow", slug="grow")[0]
    for i in range(n):
        LeadFactory(
            by=manager,
            owner=manager,
            assignee=manager if i % 2 else None,
            source="website",
            campaign=campaign,
        )


@pytest.mark.parametrize("n", [5, 60])
@pytest.mark.parametrize("headers", [{}, HX])
def test_list_query_count_is_pinned(client, users, django_assert_num_queries, n, headers):
    grow(users["sales_manager"], n)
    client.force_login(users["sales_manager"])
    # 1 session, 2 user,
    # 3 the filter form's statuses, sources, active users (owner and assignee) and campaigns
    # in one statement (selectors.list_choices),
    # 4 the page of leads joined to status, source, owner and assignee
    # (the bulk bar offers the filter form's statuses and users),
    # 5 when the list is longer than its page, the total from the lead count rollup (a few
    # rows, whatever the number of leads; a list on one page counts its rows)
    with django_assert_num_queries(4 if n <= 50 else 5):
        response = client.get("/leads/", {"source": "website"}, headers=headers)
    assert len(names(response)) == min(n, 50)


@pytest.mark.parametrize("n", [5, 60])
def test_search_query_count_is_pinned_and_rows_keep_their_order(
    client, users, django_assert_num_queries, n
):
    grow(users["sales_manager"], n)
    client.force_login(users["sales_manager"])
    expected = list(Lead.objects.order_by("-id").values_list("slug", flat=True)[:50])
    # as the list, but a search reads the page's ids (4), then their rows with status,
    # owner and assignee (5); longer than its page, it is not counted: the page's look-ahead
    # row says there are more ("of more than 50")
    with django_assert_num_queries(5):
        response = client.get("/leads/", {"list_type": "all", "search": "lead"})
    assert row_slugs(response.content.decode()) == expected


# --- bulk actions -------------------------------------------------------------------------


def bulk(client, *leads, headers=None, query="", **data):
    payload = {"leads": [lead.slug for lead in leads], "query": query, **data}
    return client.post("/leads/bulk/", payload, headers=headers or {})


def test_bulk_status_change(client, users, world):
    client.force_login(users["sales_manager"])
    response = bulk(
        client,
        world["Alice"],
        world["Dan"],
        action="status",
        status="customer",
        query="status=prospect",
    )
    assert response.status_code == 302
    assert response["Location"] == "/leads/?status=prospect"  # back to the same filter
    assert messages_of(response) == ["Changed the status of 2 leads."]
    for name in ("Alice", "Dan"):
        world[name].refresh_from_db()
        assert world[name].status_id == "customer"
        event = Event.objects.filter(lead=world[name], type=EventType.STATUS_CHANGED).get()
        assert event.data == {"from": "prospect", "to": "customer"}
        assert event.actor == users["sales_manager"]


def test_bulk_assign_by_a_manager_to_another_user(client, users, world):
    client.force_login(users["sales_manager"])
    response = bulk(
        client, world["Carol"], world["Gina"], action="assign", assignee="jr_salesperson"
    )
    assert messages_of(response) == ["Assigned 2 leads."]
    for name in ("Carol", "Gina"):
        world[name].refresh_from_db()
        assert world[name].assignee == users["jr_salesperson"]
        assert Event.objects.filter(lead=world[name], type=EventType.ASSIGNED).exists()

    response = bulk(client, world["Carol"], action="assign", assignee="-")
    world["Carol"].refresh_from_db()
    assert world["Carol"].assignee is None  # "Nobody"


def test_a_salesperson_assigns_only_itself_or_nobody(client, users, world):
    sp = users["salesperson"]
    client.force_login(sp)
    html = client.get("/leads/").content.decode()
    bar = html.split('id="id_bulk_assignee"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', bar) == ["", "-", "salesperson"]

    response = bulk(client, world["Alice"], action="assign", assignee="salesperson")
    assert messages_of(response) == ["Assigned 1 lead."]
    world["Alice"].refresh_from_db()
    assert world["Alice"].assignee == sp

    response = bulk(client, world["Alice"], action="assign", assignee="-")
    world["Alice"].refresh_from_db()
    assert world["Alice"].assignee is None

    before = Event.objects.count()
    response = bulk(client, world["Alice"], action="assign", assignee="jr_salesperson")
    assert any("Select a valid choice" in m for m in messages_of(response))
    world["Alice"].refresh_from_db()
    assert world["Alice"].assignee is None
    assert Event.objects.count() == before


def test_a_marketing_manager_may_not_assign(client, users, world):
    client.force_login(users["marketing_manager"])
    before = Event.objects.count()
    response = bulk(
        client, world["Carol"], world["Gina"], action="assign", assignee="marketing_manager"
    )
    got = messages_of(response)
    assert "Carol Cook: You can't give a lead to someone else." in got
    assert "Gina Gold: You can't give a lead to someone else." in got
    assert not any(m.startswith("Assigned") for m in got)
    response = bulk(client, world["Carol"], action="assign", assignee="salesperson")
    assert any("Select a valid choice" in m for m in messages_of(response))
    for name in ("Carol", "Gina"):
        world[name].refresh_from_db()
        assert world[name].assignee is None
    assert Event.objects.count() == before


def test_a_salesperson_deletes_its_own_leads_only(client, users, world):
    client.force_login(users["salesperson"])
    response = bulk(
        client, world["Alice"], world["Bob"], world["Carol"], action="delete", confirmed="yes"
    )
    got = messages_of(response)
    assert "Deleted 1 lead." in got
    assert "Bob Baker: You can't delete this lead." in got
    assert "Carol Cook: You can't delete this lead." in got
    for name, status in (("Alice", "deleted"), ("Bob", "contact"), ("Carol", "tentative")):
        world[name].refresh_from_db()
        assert world[name].status_id == status
    assert not Event.objects.filter(lead=world["Bob"], type=EventType.DELETED).exists()


def test_a_jr_salesperson_may_not_delete(client, users, world):
    client.force_login(users["jr_salesperson"])
    html = client.get("/leads/").content.decode()
    assert '<option value="delete">' not in html
    response = bulk(client, world["Dan"], world["Eve"], action="delete", confirmed="yes")
    got = messages_of(response)
    assert "Dan Diaz: You can't delete this lead." in got
    assert "Eve Evans: You can't delete this lead." in got
    assert not any(m.startswith("Deleted") for m in got)
    for name in ("Dan", "Eve"):
        world[name].refresh_from_db()
        assert not world[name].is_deleted


def test_refused_leads_are_left_whole(client, users, world):
    """A jr salesperson changes the status of its own lead; the assigned one stays as it was."""
    client.force_login(users["jr_salesperson"])
    eve_events = Event.objects.filter(lead=world["Eve"]).count()
    eve_updated = world["Eve"].updated_at
    response = bulk(client, world["Dan"], world["Eve"], action="status", status="customer")
    assert messages_of(response) == [
        "Changed the status of 1 lead.",
        "Eve Evans: You are not the owner of this lead.",
    ]
    world["Dan"].refresh_from_db()
    world["Eve"].refresh_from_db()
    assert world["Dan"].status_id == "customer"
    assert world["Eve"].status_id == "closed" and world["Eve"].updated_at == eve_updated
    assert Event.objects.filter(lead=world["Eve"]).count() == eve_events


def test_an_unknown_status_changes_nothing(client, users, world):
    client.force_login(users["sales_manager"])
    before = Event.objects.count()
    response = bulk(client, world["Alice"], world["Bob"], action="status", status="deleted")
    assert any("Select a valid choice" in m for m in messages_of(response))
    response = bulk(client, world["Alice"], action="status", status="")
    assert messages_of(response) == ["Choose the new status."]
    world["Alice"].refresh_from_db()
    assert world["Alice"].status_id == "prospect"
    assert Event.objects.count() == before


def test_leads_the_user_cannot_see_are_ignored(client, users, world):
    client.force_login(users["salesperson"])
    response = bulk(
        client, world["Alice"], world["Frank"], world["Hank"], action="status", status="customer"
    )
    assert messages_of(response) == ["Changed the status of 1 lead."]  # Frank never named
    world["Frank"].refresh_from_db()
    world["Hank"].refresh_from_db()
    assert world["Frank"].status_id == "customer"  # as it was
    assert world["Hank"].status_id == "deleted"
    assert Event.objects.filter(lead=world["Frank"], type=EventType.UPDATED).count() == 0

    response = bulk(client, world["Frank"], action="status", status="closed")
    assert messages_of(response) == ["None of the selected leads could be found."]
    world["Frank"].refresh_from_db()
    assert world["Frank"].status_id == "customer"


def test_no_lead_selected(client, users, world):
    client.force_login(users["sales_manager"])
    response = client.post("/leads/bulk/", {"action": "status", "status": "closed"})
    assert messages_of(response) == ["Select at least one lead."]


def test_more_than_500_leads_are_refused(client, users, world):
    client.force_login(users["sales_manager"])
    slugs = [world["Alice"].slug] + [f"made-up-{i}" for i in range(500)]
    response = client.post("/leads/bulk/", {"leads": slugs, "action": "status", "status": "closed"})
    assert messages_of(response) == ["Select at most 500 leads at a time."]
    world["Alice"].refresh_from_db()
    assert world["Alice"].status_id == "prospect"

    response = client.post(
        "/leads/bulk/", {"leads": slugs[:500], "action": "status", "status": "closed"}
    )
    assert messages_of(response) == ["Changed the status of 1 lead."]


def test_forged_slugs_are_ignored(client, users, world):
    client.force_login(users["sales_manager"])
    response = client.post(
        "/leads/bulk/",
        {
            "leads": [world["Alice"].slug, "a\x00b", "x" * 10_000, "", "' OR 1=1 --"],
            "action": "status",
            "status": "closed",
        },
    )
    assert messages_of(response) == ["Changed the status of 1 lead."]
    assert Lead.objects.filter(status_id="closed").count() == 2  # Alice, and Eve as she was


def test_bulk_needs_post(client, users):
    client.force_login(users["sales_manager"])
    assert client.get("/leads/bulk/").status_code == 405


def test_htmx_bulk_answers_the_refreshed_table_with_messages_out_of_band(client, users, world):
    client.force_login(users["salesperson"])
    response = bulk(
        client,
        world["Alice"],
        world["Bob"],
        action="delete",
        confirmed="yes",
        headers=HX,
        query="list_type=all&status=prospect",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="lead-table"') and "<html" not in html
    table, oob = html.split('<div id="messages"')
    assert row_slugs(table) == []  # Alice (the only prospect) is gone, the filter kept
    assert 'hx-swap-oob="true"' in oob
    assert "Deleted 1 lead." in oob
    assert "Bob Baker: You can&#39;t delete this lead." in oob
    assert 'role="alert"' in oob  # the refusal is announced


def test_htmx_bulk_assign_shows_the_new_assignee(client, users, world):
    client.force_login(users["sales_manager"])
    response = bulk(
        client,
        world["Carol"],
        world["Gina"],
        action="assign",
        assignee="jr_salesperson",
        headers=HX,
        query="list_type=all",
    )
    html = response.content.decode()
    for name in ("Carol", "Gina"):
        row = html.split(f'<tr data-slug="{world[name].slug}">')[1].split("</tr>")[0]
        assert "jr_salesperson" in row
    assert "Assigned 2 leads." in html


# --- CSV export ---------------------------------------------------------------------------


def export(client, **params):
    response = client.get("/leads/export.csv", params)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="leads-\d{8}-\d{4}\.csv"', response["Content-Disposition"]
    )
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # a byte order mark: Excel then reads UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_export_is_the_current_filter(client, users, world):
    client.force_login(users["sales_manager"])
    rows = export(client, status="prospect")
    header, *body = rows
    assert header == [
        *("First name", "Last name", "Email", "Phone", "Mobile phone", "Office phone"),
        *("Company", "Title", "Status", "Source", "Owner", "Assignee", "Campaign"),
        *("Street", "Address line 2", "City", "State", "Zip code", "Country", "Location"),
        *("Website", "Created", "Updated", "ID"),
    ]
    assert [r[0] for r in body] == ["Dan", "Alice"]  # newest first
    alice = dict(zip(header, body[1], strict=True))
    owner = users["salesperson"]
    assert alice | {"Created": "", "Updated": ""} == {
        **dict.fromkeys(header, ""),
        "First name": "Alice",
        "Last name": "Archer",
        "Email": "alice@archer.test",
        "Phone": "5551110001",
        "Company": "Acme",
        "Status": "Prospect",  # labels, not keys
        "Source": "Website",
        "Owner": owner.get_full_name() or owner.username,
        "Campaign": world["Alice"].campaign.name,
        "ID": world["Alice"].slug,
    }
    created = timezone.localtime(world["Alice"].created_at).strftime("%Y-%m-%d %H:%M")
    assert alice["Created"] == created

    rows = export(client, search="o", owner="sales_manager")
    assert {r[0] for r in rows[1:]} == {"Bob", "Gina"}


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.JR_SALESPERSON, Role.SALES_MANAGER])
def test_export_has_only_visible_leads(client, users, world, role):
    client.force_login(users[role])
    rows = export(client, list_type="all")
    assert {r[0] for r in rows[1:]} == VISIBLE[role]


def test_export_neutralises_formulas_and_has_custom_field_columns(client, users):
    manager = users["sales_manager"]
    color = field_create(label="Favorite Color")
    LeadFactory(
        by=manager,
        first_name='=HYPERLINK("http://x")',
        last_name="+1",
        company="@SUM(A1)",
        location="-2",
        custom={color.system_name: "=blue"},
    )
    LeadFactory(by=manager, first_name="Plain", last_name="Person", company="A=B")
    client.force_login(manager)
    header, *body = export(client, list_type="all", ordering="last_name")
    assert header[-1] == "Favorite Color"  # the custom field's label
    col = {name: i for i, name in enumerate(header)}
    by_name = {r[col["Last name"]]: r for r in body}
    odd = by_name["'+1"]
    assert odd[col["First name"]] == '\'=HYPERLINK("http://x")'
    assert odd[col["Company"]] == "'@SUM(A1)" and odd[col["Location"]] == "'-2"
    assert odd[-1] == "'=blue"
    plain = by_name["Person"]
    assert plain[col["First name"]] == "Plain" and plain[col["Company"]] == "A=B"
    assert plain[-1] == ""


def test_export_of_an_invalid_filter_says_so(client, users, world):
    client.force_login(users["sales_manager"])
    response = client.get("/leads/export.csv", {"status": "nope", "search": "a"})
    assert response.status_code == 302
    assert response["Location"].startswith("/leads/?")
    assert messages_of(response) == ["Fix the filters before exporting."]
    for params in ({"created_before": "9999-12-31"}, {"search": "x" * 300}):
        assert client.get("/leads/export.csv", params).status_code == 302


def test_export_query_count_does_not_grow(client, users, django_assert_num_queries):
    grow(users["sales_manager"], 30)
    client.force_login(users["sales_manager"])
    # 1 session, 2 user, 3 the form's choice lists (one statement),
    # 4 the active custom fields, 5 the rows (one chunked SELECT)
    with django_assert_num_queries(5):
        rows = export(client, list_type="all")
    assert len(rows) == 31


def test_rows_created_today_are_in_a_filter_ending_today(client, users):
    manager = users["sales_manager"]
    lead = LeadFactory(by=manager, owner=manager)
    client.force_login(manager)
    today = timezone.localdate().isoformat()
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert [
        r.slug for r in client.get("/leads/", {"created_before": today}).context["page"].rows
    ] == [lead.slug]
    assert client.get("/leads/", {"created_before": yesterday}).context["page"].rows == []


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.SALES_MANAGER, True),
        (Role.SALESPERSON, True),  # claims or releases its own
        (Role.JR_SALESPERSON, True),
        (Role.MARKETING_MANAGER, False),  # changes no one's leads
    ],
)
def test_the_bulk_bar_offers_assign_only_to_a_role_that_can_assign(client, users, role, offered):
    client.force_login(users[role])
    page = client.get("/leads/").content.decode()
    assert ('<option value="assign">Assign</option>' in page) is offered
    assert ('id="id_bulk_assignee"' in page) is offered
