"""The leads list polished (issue 14, items 4, 5, 9 and 10's pipeline cards): the total and the
page's place in the list, "select all N matching" run in batches through the batch services,
bulk change of owner, bulk delete asked first, and only the actions the role may take."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import pagination
from crm.domain import Actor
from crm.models import ApiKey, KeyScope
from crm.roles import Role
from leads import access
from leads.models import Event, EventType, Lead
from leads.views import lists
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def messages_of(response) -> list[str]:
    response.client.cookies.pop("messages", None)
    return [str(m) for m in get_messages(response.wsgi_request)]


def position(html: str) -> str:
    return unescape(re.search(r'<p class="list-position"[^>]*>([^<]*)</p>', html).group(1))


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def hidden_fields(html: str, section: str) -> list[tuple[str, str]]:
    part = html.split(f'class="card {section}"')[1].split("</section>")[0]
    return [
        (unescape(name), unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', part)
    ]


def as_data(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields (name, value), some names repeated, as the test client posts them."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def many(owner, n: int, **data) -> list[Lead]:
    return [LeadFactory(owner=owner, status="prospect", **data) for _ in range(n)]


# --- the total and the page's place -------------------------------------------------------


def test_the_list_says_where_the_page_is_and_how_many_match(client, users, settings):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 3}
    manager = users["sales_manager"]
    many(manager, 7)
    client.force_login(manager)
    html = client.get("/leads/", {"list_type": "all"}).content.decode()
    assert position(html) == "Leads 1–3 of 7"  # the total from the rollup
    following = link(html, "next")
    assert "pos=4" in following
    html = client.get(following).content.decode()
    assert position(html) == "Leads 4–6 of 7"
    html = client.get(link(html, "next")).content.decode()
    assert position(html) == "Leads 7–7 of 7"
    assert link(html, "next") is None
    back = link(html, "prev")
    assert "pos=4" in back
    html = client.get(back).content.decode()
    assert position(html) == "Leads 4–6 of 7"


def test_a_page_opened_without_its_place_says_what_it_shows(client, users, settings):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 3}
    manager = users["sales_manager"]
    many(manager, 7)
    client.force_login(manager)
    html = client.get("/leads/", {"list_type": "all"}).content.decode()
    after = re.search(r"after=([^&\"]+)", link(html, "next")).group(1)
    html = client.get("/leads/", {"list_type": "all", "after": after}).content.decode()
    assert position(html) == "3 leads shown of 7"
    # A "pos" that cannot be (past the total) is not believed.
    html = client.get(
        "/leads/", {"list_type": "all", "after": after, "pos": "900"}
    ).content.decode()
    assert position(html) == "3 leads shown of 7"


def test_a_count_the_rollup_cannot_answer_is_bounded(client, users, settings, monkeypatch):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 3}
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 5)
    monkeypatch.setattr(pagination, "SEARCH_COUNT_LIMIT", 4)
    manager = users["sales_manager"]
    many(manager, 8, company="Acme")
    client.force_login(manager)
    html = client.get("/leads/", {"list_type": "all", "search": "acme"}).content.decode()
    assert position(html) == "Leads 1–3 of more than 4"
    html = client.get("/leads/", {"list_type": "all", "created_after": "2000-01-01"}).content
    assert position(html.decode()) == "Leads 1–3 of more than 5"


def test_a_short_list_and_an_empty_one(client, users):
    manager = users["sales_manager"]
    many(manager, 2)
    client.force_login(manager)
    assert position(client.get("/leads/", {"list_type": "all"}).content.decode()) == (
        "Leads 1–2 of 2"
    )
    html = client.get("/leads/", {"list_type": "all", "search": "nobody-like-this"}).content
    assert position(html.decode()) == "No leads"


# --- what each role is offered ------------------------------------------------------------


def bulk_options(html: str) -> list[str]:
    bar = html.split('id="id_bulk_action"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"', bar)


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        (Role.SALES_MANAGER, ["status", "assign", "owner", "delete"]),
        (Role.COMPANY_MANAGER, ["status", "assign", "owner", "delete"]),
        (Role.MARKETING_MANAGER, ["status"]),  # no "Assign -> Me", no owner, no delete
        (Role.SALESPERSON, ["status", "assign", "delete"]),
        (Role.JR_SALESPERSON, ["status", "assign"]),
    ],
)
def test_the_bulk_bar_offers_what_the_role_may_do(client, users, role, actions):
    client.force_login(users[role])
    html = client.get("/leads/").content.decode()
    assert bulk_options(html) == actions
    assert ('id="id_bulk_assignee"' in html) == ("assign" in actions)
    assert ('id="id_bulk_owner"' in html) == ("owner" in actions)
    assert "Book an appointment" not in html and "Merge" not in html


def test_leads_a_salesperson_may_not_change_cannot_be_ticked(client, users):
    sp, manager = users["salesperson"], users["sales_manager"]
    mine = LeadFactory(owner=sp, first_name="Mine")
    pool = LeadFactory(owner=None, first_name="Pool")
    worked = LeadFactory(owner=manager, assignee=sp, first_name="Worked")
    client.force_login(sp)
    html = client.get("/leads/", {"list_type": "all"}).content.decode()

    def box(lead):
        row = html.split(f'<tr data-slug="{lead.slug}"')[1].split("</tr>")[0]
        return re.search(r"<input type=\"checkbox\"[^>]*>", row).group(0)

    assert f'name="leads" value="{mine.slug}"' in box(mine)
    for lead in (pool, worked):
        assert "disabled" in box(lead) and 'name="leads"' not in box(lead)
        assert "not yours to change" in box(lead)


@pytest.mark.parametrize(
    ("role", "self_assign", "owner", "edits_pool"),
    [
        (Role.ADMINISTRATOR, True, True, True),
        (Role.SALES_MANAGER, True, True, True),
        (Role.MARKETING_MANAGER, False, False, True),
        (Role.SALESPERSON, True, False, False),
        (Role.JR_SALESPERSON, True, False, False),
    ],
)
def test_the_access_predicates(users, role, self_assign, owner, edits_pool):
    actor = Actor(user=users[role])
    pool = LeadFactory(owner=None)
    assert access.can_assign_to_self(actor) is self_assign
    assert access.can_bulk_change_owner(actor) is owner
    assert access.can_bulk_edit(actor, pool) is edits_pool
    read_only = Actor(user=users[role], api_key=ApiKey(scope=KeyScope.READ_ONLY))
    assert not access.can_assign_to_self(read_only)
    assert not access.can_bulk_change_owner(read_only)


# --- bulk owner change --------------------------------------------------------------------


def test_a_manager_gives_the_ticked_leads_a_new_owner(client, users):
    manager, sp = users["sales_manager"], users["salesperson"]
    leads = many(manager, 2)
    client.force_login(manager)
    response = client.post(
        "/leads/bulk/",
        {"leads": [lead.slug for lead in leads], "action": "owner", "owner": "salesperson"},
    )
    assert messages_of(response) == ["Gave 2 leads a new owner."]
    for lead in leads:
        lead.refresh_from_db()
        assert lead.owner == sp
        assert Event.objects.filter(lead=lead, type=EventType.ASSIGNED).exists()
    response = client.post("/leads/bulk/", {"leads": [leads[0].slug], "action": "owner"})
    assert messages_of(response) == ["Choose the new owner."]


def test_a_salesperson_may_not_give_leads_an_owner(client, users):
    sp = users["salesperson"]
    lead = LeadFactory(owner=sp)
    client.force_login(sp)
    response = client.post(
        "/leads/bulk/", {"leads": [lead.slug], "action": "owner", "owner": "jr_salesperson"}
    )
    assert any("Select a valid choice" in m for m in messages_of(response))
    lead.refresh_from_db()
    assert lead.owner == sp


# --- bulk delete asks first ---------------------------------------------------------------


def test_a_bulk_delete_asks_first(client, users):
    sp = users["salesperson"]
    leads = many(sp, 2)
    client.force_login(sp)
    payload = {
        "leads": [lead.slug for lead in leads],
        "action": "delete",
        "query": "status=prospect",
    }
    response = client.post("/leads/bulk/", payload, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Delete 2 leads?" in html and ">Delete 2 leads</button>" in html
    assert "Keep them" in html
    fields = hidden_fields(html, "confirm-step")
    assert ("action", "delete") in fields and ("query", "status=prospect") in fields
    assert sorted(v for k, v in fields if k == "leads") == sorted(lead.slug for lead in leads)
    assert not Lead.objects.filter(status_id="deleted").exists()  # nothing yet

    response = client.post("/leads/bulk/", as_data([*fields, ("confirmed", "yes")]), headers=HX)
    assert "Deleted 2 leads." in response.content.decode()
    assert Lead.objects.filter(status_id="deleted").count() == 2


def test_without_javascript_the_question_is_a_page(client, users):
    manager = users["sales_manager"]
    lead = LeadFactory(owner=manager)
    client.force_login(manager)
    response = client.post("/leads/bulk/", {"leads": [lead.slug], "action": "delete"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert "Delete 1 lead?" in html
    assert not Lead.objects.get(pk=lead.pk).is_deleted


# --- select all N matching: batches -------------------------------------------------------


MESSAGE = re.compile(r'<span>([^<]*)</span>\s*<button type="button" class="message-close"')


def go_on(client, response) -> tuple[list[str], int]:
    """Post each next chunk a progress region carries (as its form does by itself, with
    HTMX), until the batch is done. Returns the messages shown and the requests made."""
    requests = 0
    seen: list[str] = []
    while True:
        html = response.content.decode()
        seen += MESSAGE.findall(html)
        if 'class="card batch-progress"' not in html:
            return [unescape(m) for m in seen], requests
        assert requests < 20
        response = client.post(
            "/leads/bulk/", as_data(hidden_fields(html, "batch-progress")), headers=HX
        )
        requests += 1


def run_batches(client, payload) -> tuple[list[str], int]:
    """A "matching" bulk action posted as the page posts it, then every chunk after it."""
    said, requests = go_on(client, client.post("/leads/bulk/", payload, headers=HX))
    return said, requests + 1


def test_select_all_matching_changes_every_page_in_batches(client, users, settings, monkeypatch):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 3}
    monkeypatch.setattr(lists, "BATCH_SIZE", 3)
    manager = users["sales_manager"]
    prospects = many(manager, 8)
    other = LeadFactory(owner=manager, status="contact")
    client.force_login(manager)
    html = client.get("/leads/", {"list_type": "all", "status": "prospect"}).content.decode()
    assert "Select all 8 matching" in html
    payload = {
        "scope": "matching",
        "action": "status",
        "status": "customer",
        "query": "list_type=all&status=prospect",
        "total": "8",
        "total_exact": "yes",
    }
    response = client.post("/leads/bulk/", payload, headers=HX)
    html = response.content.decode()
    assert "Changing the status of the matching leads" in html
    assert "3 done of 8." in " ".join(html.split())
    assert '<progress max="8" value="3"' in html
    assert Lead.objects.filter(status_id="customer").count() == 3  # one chunk so far
    # A lead made while the batch runs was not among those the user selected.
    late = LeadFactory(owner=manager, status="prospect")
    said, requests = go_on(client, response)
    assert said == ["Changed the status of 8 leads."]
    assert requests == 2  # 3 + 3 + 2: one request per chunk, by id (no OFFSET)
    for lead in prospects:
        lead.refresh_from_db()
        assert lead.status_id == "customer"
    assert Event.objects.filter(type=EventType.STATUS_CHANGED, lead__in=prospects).count() == 8
    other.refresh_from_db()
    late.refresh_from_db()
    assert other.status_id == "contact" and late.status_id == "prospect"


def test_select_all_matching_gives_a_new_owner(client, users, settings, monkeypatch):
    monkeypatch.setattr(lists, "BATCH_SIZE", 2)
    manager, jr = users["sales_manager"], users["jr_salesperson"]
    leads = many(manager, 5, company="Moved")
    kept = LeadFactory(owner=manager, company="Stays")
    client.force_login(manager)
    said, requests = run_batches(
        client,
        {"scope": "matching", "action": "owner", "owner": "jr_salesperson",
         "query": "list_type=all&search=moved", "total": "5", "total_exact": "yes"},
    )  # fmt: skip
    assert said == ["Gave 5 leads a new owner."]
    assert requests == 3
    assert {lead.owner_id for lead in Lead.objects.filter(pk__in=[x.pk for x in leads])} == {jr.pk}
    kept.refresh_from_db()
    assert kept.owner == manager


def test_refusals_in_a_matching_batch_are_counted_by_reason(client, users, monkeypatch):
    monkeypatch.setattr(lists, "BATCH_SIZE", 10)
    sp, manager = users["salesperson"], users["sales_manager"]
    mine = many(sp, 2)
    pool = many(None, 3)
    client.force_login(sp)
    said, _ = run_batches(
        client,
        {"scope": "matching", "action": "status", "status": "customer",
         "query": "list_type=all"},
    )  # fmt: skip
    assert said == [
        "3 leads not changed: You are not owner of this lead.",
        "Changed the status of 2 leads.",
    ]
    assert {lead.status_id for lead in Lead.objects.filter(pk__in=[x.pk for x in mine])} == {
        "customer"
    }
    assert {lead.status_id for lead in Lead.objects.filter(pk__in=[x.pk for x in pool])} == {
        "prospect"
    }
    assert manager  # (the pool's leads were made by the manager)


def test_a_matching_delete_asks_first_then_runs(client, users, monkeypatch):
    monkeypatch.setattr(lists, "BATCH_SIZE", 2)
    manager = users["sales_manager"]
    many(manager, 3, company="Gone")
    survivor = LeadFactory(owner=manager, company="Here")
    client.force_login(manager)
    payload = {"scope": "matching", "action": "delete", "query": "list_type=all&search=gone",
               "total": "3", "total_exact": "yes"}  # fmt: skip
    html = client.post("/leads/bulk/", payload, headers=HX).content.decode()
    assert "Delete all 3 leads matching the filters?" in html
    assert not Lead.objects.filter(status_id="deleted").exists()
    confirmed = client.post(
        "/leads/bulk/",
        as_data([*hidden_fields(html, "confirm-step"), ("confirmed", "yes")]),
        headers=HX,
    )
    said, _ = go_on(client, confirmed)
    assert said == ["Deleted 3 leads."]
    assert Lead.objects.filter(status_id="deleted").count() == 3
    assert not Lead.objects.get(pk=survivor.pk).is_deleted


def test_a_matching_chunk_costs_the_same_whatever_its_size(client, users, monkeypatch):
    manager = users["sales_manager"]
    client.force_login(manager)
    counts = []
    for n in (2, 6):
        monkeypatch.setattr(lists, "BATCH_SIZE", n)
        leads = many(manager, n, company=f"Chunk{n}")
        with CaptureQueriesContext(connection) as queries:
            client.post(
                "/leads/bulk/",
                {"scope": "matching", "action": "status", "status": "closed",
                 "query": f"list_type=all&search=chunk{n}"},
            )  # fmt: skip
        counts.append(len(queries))
        assert {x.status_id for x in Lead.objects.filter(pk__in=[x.pk for x in leads])} == {
            "closed"
        }
    assert counts[0] == counts[1]


# --- the pipeline's cards -----------------------------------------------------------------


def test_pipeline_cards_say_who_is_owner_and_who_is_assignee(client, users):
    manager, sp = users["sales_manager"], users["salesperson"]
    LeadFactory(owner=manager, assignee=sp, first_name="Worked")
    LeadFactory(owner=None, first_name="Pooled")
    client.force_login(manager)
    html = client.get("/pipeline/", {"list_type": "all"}).content.decode()
    worked = html.split('aria-label="Worked')[1].split("</li>")[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", worked).split())
    assert f"Owner {manager.get_full_name() or manager.username}" in text
    assert f"Assignee {sp.get_full_name() or sp.username}" in text
    pooled = html.split('aria-label="Pooled')[1].split("</li>")[0]
    assert "Owner" in pooled and "Nobody" in pooled and "Assignee" not in pooled


def test_select_all_matching_names_a_bounded_total_plainly(client, users, settings, monkeypatch):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 2}
    monkeypatch.setattr(pagination, "SEARCH_COUNT_LIMIT", 3)
    manager = users["sales_manager"]
    many(manager, 5, company="Plenty")
    client.force_login(manager)
    html = client.get("/leads/", {"list_type": "all", "search": "plenty"}).content.decode()
    assert "Select every matching lead (more than 3)" in html
    assert 'name="total_exact"' not in html
    many_html = client.get("/leads/", {"list_type": "all"}).content.decode()
    assert "Select all 5 matching" in many_html and 'name="total_exact" value="yes"' in many_html
