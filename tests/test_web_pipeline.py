"""The pipeline board (SPEC §8): a column per status; moving a card changes the status."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from crm.domain import Actor
from crm.roles import Role
from leads.models import Event, EventType, Lead, Status
from leads.services import lead_delete
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def world(users):
    manager, sp, jr = users["sales_manager"], users["salesperson"], users["jr_salesperson"]
    other = UserFactory(username="other", role=Role.SALESPERSON)

    def lead(first, last, **data):
        return LeadFactory(by=manager, first_name=first, last_name=last, **data)

    leads = {
        "Alice": lead("Alice", "Archer", owner=sp, status="prospect", company="Acme"),
        "Bob": lead("Bob", "Baker", owner=manager, assignee=sp, status="contact"),
        "Carol": lead("Carol", "Cook", owner=None, status="tentative"),
        "Dan": lead("Dan", "Diaz", owner=jr, status="prospect"),
        "Eve": lead("Eve", "Evans", owner=other, assignee=jr, status="closed"),
        "Frank": lead("Frank", "Fox", owner=other, status="customer"),
        "Hank": lead("Hank", "Hill", owner=sp, status="prospect"),
    }
    lead_delete(actor=Actor(user=manager), lead=leads["Hank"])
    return leads


def board_html(html: str) -> dict[str, list[str]]:
    """{status key: [card slugs]} in page order."""
    columns = re.split(r'<section class="board-column" data-status="', html)[1:]
    return {
        column.split('"', 1)[0]: re.findall(
            r'<li class="board-card"[^>]*data-slug="([^"]+)"', column
        )
        for column in columns
    }


def messages_of(response) -> list[str]:
    response.client.cookies.pop("messages", None)
    return [str(m) for m in get_messages(response.wsgi_request)]


def active_keys() -> list[str]:
    return list(
        Status.objects.filter(active=True).exclude(pk="deleted").values_list("key", flat=True)
    )


def test_a_column_per_active_status_in_order_with_counts(client, users, world):
    client.force_login(users["salesperson"])
    response = client.get("/pipeline/")
    assert response.status_code == 200
    columns = response.context["columns"]
    assert [s.key for s, *_ in columns] == active_keys()
    assert len(columns) == 6 and "deleted" not in [s.key for s, *_ in columns]
    counts = {s.key: n for s, n, *_ in columns}
    assert counts == {
        "prospect": 1,
        "tentative": 1,
        "potential": 0,
        "closed": 0,
        "contact": 1,
        "customer": 0,
    }

    html = response.content.decode()
    board = board_html(html)
    assert list(board) == active_keys()
    assert board["prospect"] == [world["Alice"].slug]
    assert board["contact"] == [world["Bob"].slug]
    assert board["tentative"] == [world["Carol"].slug]
    assert board["closed"] == [] and "No leads." in html
    assert '<span class="count" aria-label="1 lead">1</span>' in html
    assert "Frank" not in html and "Hank" not in html


def test_an_inactive_status_has_no_column(client, users, world):
    Status.objects.filter(pk="potential").update(active=False)
    client.force_login(users["sales_manager"])
    keys = [s.key for s, *_ in client.get("/pipeline/").context["columns"]]
    assert "potential" not in keys and keys == active_keys()


@pytest.mark.parametrize(
    ("role", "list_type", "expected"),
    [
        (Role.SALESPERSON, "all", {"Alice", "Bob", "Carol"}),
        (Role.SALESPERSON, "owned", {"Alice"}),
        (Role.SALESPERSON, "assigned", {"Bob"}),
        (Role.JR_SALESPERSON, "all", {"Dan", "Eve"}),
        (Role.JR_SALESPERSON, "nonsense", {"Dan", "Eve"}),  # an unknown choice shows all
        (Role.SALES_MANAGER, "all", {"Alice", "Bob", "Carol", "Dan", "Eve", "Frank"}),
        (Role.SALES_MANAGER, "owned", {"Bob"}),
        (Role.MARKETING_MANAGER, "all", {"Alice", "Bob", "Carol", "Dan", "Eve", "Frank"}),
    ],
)
def test_cards_are_the_leads_the_role_sees(client, users, world, role, list_type, expected):
    client.force_login(users[role])
    response = client.get("/pipeline/", {"list_type": list_type})
    columns = response.context["columns"]
    shown = {card.name.split()[0] for _, _, cards in columns for card in cards}
    assert shown == expected
    assert sum(n for _, n, *_ in response.context["columns"]) == len(expected)


def test_cards_are_limited_per_column(client, users, monkeypatch):
    monkeypatch.setattr("leads.views.pipeline.CARDS_PER_COLUMN", 3)
    manager = users["sales_manager"]
    made = [LeadFactory(by=manager, status="prospect") for _ in range(5)]
    LeadFactory(by=manager, status="closed")
    client.force_login(manager)
    response = client.get("/pipeline/")
    board = board_html(response.content.decode())
    assert board["prospect"] == [lead.slug for lead in made[::-1][:3]]  # the newest three
    assert len(board["closed"]) == 1
    counts = {s.key: n for s, n, *_ in response.context["columns"]}
    assert counts["prospect"] == 5
    html = response.content.decode()
    assert 'href="/leads/?list_type=all&amp;status=prospect">All 5 in the list' in html
    assert 'status=closed">All' not in html


def test_every_card_has_a_keyboard_usable_move_menu(client, users, world):
    client.force_login(users["salesperson"])
    html = client.get("/pipeline/").content.decode()
    alice = world["Alice"].slug
    card = html.split(f'data-slug="{alice}"')[1].split("</li>")[0]
    assert "<summary>Move" in card
    menu = f"/pipeline/move/{alice}/?list_type=all"
    assert f'hx-get="{menu}" hx-trigger="toggle once"' in card  # fetched when opened
    assert f'<a href="{menu}">Choose the new status</a>' in card  # without JavaScript
    assert "<form" not in card  # the board carries no form per card
    for headers, page in (({"HX-Request": "true"}, False), ({}, True)):
        answer = client.get(menu, headers=headers).content.decode()
        assert '<form method="post" action="/pipeline/move/"' in answer
        assert ('hx-post="/pipeline/move/"' in answer) is not page
        assert ("<h1>Move Alice" in answer) is page
        assert f'name="slug" value="{alice}"' in answer
        assert 'name="list_type" value="all"' in answer
        targets = re.findall(r'<button type="submit" name="status" value="([^"]+)"', answer)
        assert targets == [k for k in active_keys() if k != "prospect"]


@pytest.mark.parametrize(("name", "status"), [("Bob", 403), ("Carol", 403), ("Dan", 404)])
def test_the_move_menu_of_a_lead_the_user_may_not_change_is_refused(
    client, users, world, name, status
):
    client.force_login(users["salesperson"])  # Bob is assigned, Carol in the pool, Dan unseen
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(f"/pipeline/move/{world[name].slug}/", headers=headers)
        assert response.status_code == status


@pytest.mark.parametrize(
    ("role", "movable"),
    [
        (Role.SALESPERSON, {"Alice"}),  # not Bob (assigned) nor Carol (the pool)
        (Role.JR_SALESPERSON, {"Dan"}),  # not Eve (assigned)
        (Role.SALES_MANAGER, {"Alice", "Bob", "Carol", "Dan", "Eve", "Frank"}),
        (Role.MARKETING_MANAGER, {"Alice", "Bob", "Carol", "Dan", "Eve", "Frank"}),
    ],
)
def test_only_cards_the_role_may_edit_can_be_moved(client, users, world, role, movable):
    client.force_login(users[role])
    html = client.get("/pipeline/", {"list_type": "all"}).content.decode()
    for name, lead in world.items():
        card = html.split(f'data-slug="{lead.slug}"', 1)
        if len(card) == 1:
            continue  # not on this role's board
        tag = html.split(f'data-slug="{lead.slug}"', 1)[0].rsplit("<li", 1)[1]
        body = card[1].split("</li>", 1)[0]
        may = name in movable
        assert ('draggable="true"' in tag) is may, (role, name)
        assert ("<summary>Move" in body) is may, (role, name)


def test_the_navigation_marks_the_pipeline_as_current(client, users, world):
    client.force_login(users["salesperson"])
    html = client.get("/pipeline/").content.decode()
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', html)
    assert current == ["/pipeline/"]


def test_htmx_gets_only_the_board(client, users, world):
    client.force_login(users["salesperson"])
    fragment = client.get("/pipeline/", {"list_type": "owned"}, headers=HX).content.decode()
    assert fragment.lstrip().startswith('<div id="board"')
    assert "<html" not in fragment and "<h1>" not in fragment
    assert board_html(fragment)["prospect"] == [world["Alice"].slug]
    page = client.get("/pipeline/").content.decode()
    assert page.startswith("<!doctype html>") and 'id="board"' in page
    assert "crm/pipeline.js" in page


def move(client, lead, status, *, headers=None, list_type="all"):
    return client.post(
        "/pipeline/move/",
        {
            "slug": lead.slug if hasattr(lead, "slug") else lead,
            "status": status,
            "list_type": list_type,
        },
        headers=headers or {},
    )


def test_move_changes_the_status_and_records_it(client, users, world):
    sp = users["salesperson"]
    client.force_login(sp)
    response = move(client, world["Alice"], "customer", list_type="owned")
    assert response.status_code == 302
    assert response["Location"] == "/pipeline/?list_type=owned"
    assert messages_of(response) == ["Alice Archer moved to Customer."]
    world["Alice"].refresh_from_db()
    assert world["Alice"].status_id == "customer"
    event = Event.objects.get(lead=world["Alice"], type=EventType.STATUS_CHANGED)
    assert event.data == {"from": "prospect", "to": "customer"} and event.actor == sp


def test_htmx_move_answers_the_new_board_with_the_message(client, users, world):
    client.force_login(users["sales_manager"])
    response = move(client, world["Frank"], "potential", headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"') and "<html" not in html
    board, oob = html.split('<div id="messages"')
    assert world["Frank"].slug in board_html(board)["potential"]
    assert world["Frank"].slug not in board_html(board)["customer"]
    assert 'hx-swap-oob="true"' in oob and "Frank Fox moved to Potential." in oob


@pytest.mark.parametrize(
    ("role", "name", "status", "why"),
    [
        (Role.JR_SALESPERSON, "Eve", "customer", "You are not the owner of this lead."),
        (Role.SALESPERSON, "Bob", "customer", "You are not the owner of this lead."),
        (Role.SALESPERSON, "Carol", "customer", "You are not the owner of this lead."),
        (Role.SALES_MANAGER, "Alice", "nope", '"nope" is not a valid choice.'),
        (Role.SALES_MANAGER, "Alice", "deleted", '"deleted" is not a valid choice.'),
        (Role.SALES_MANAGER, "Alice", "", '"" is not a valid choice.'),
    ],
)
@pytest.mark.parametrize("headers", [{}, HX])
def test_a_refused_move_changes_nothing_and_says_why(
    client, users, world, role, name, status, why, headers
):
    lead = world[name]
    before = (lead.status_id, lead.updated_at, Event.objects.filter(lead=lead).count())
    client.force_login(users[role])
    response = move(client, lead, status, headers=headers)
    expected = f"{lead} was not moved: {why}"
    if headers:
        assert response.status_code == 200
        html = response.content.decode()
        assert 'hx-swap-oob="true"' in html and 'role="alert"' in html
        assert expected.replace('"', "&#34;") in html
        assert lead.slug in board_html(html)[before[0]]  # still in its column
    else:
        assert messages_of(response) == [expected]
    lead.refresh_from_db()
    assert (lead.status_id, lead.updated_at, Event.objects.filter(lead=lead).count()) == before


@pytest.mark.parametrize(
    ("role", "name"),
    [
        (Role.SALESPERSON, "Frank"),  # someone else's lead
        (Role.JR_SALESPERSON, "Carol"),  # the pool is not the jr's
        (Role.SALES_MANAGER, "Hank"),  # deleted
        (Role.SALES_MANAGER, "no-such-slug"),
        (Role.SALES_MANAGER, ""),
    ],
)
def test_moving_a_lead_the_user_cannot_see_is_404(client, users, world, role, name):
    lead = world.get(name)
    client.force_login(users[role])
    response = move(client, lead or name, "customer")
    assert response.status_code == 404
    if lead:
        assert Lead.objects.get(pk=lead.pk).status_id == lead.status_id


def test_move_needs_post(client, users, world):
    client.force_login(users["sales_manager"])
    assert client.get("/pipeline/move/", {"slug": world["Alice"].slug}).status_code == 405


def grow(users, n: int) -> None:
    manager, sp = users["sales_manager"], users["salesperson"]
    keys = active_keys()
    for i in range(n):
        LeadFactory(
            by=manager, owner=sp if i % 2 else None, assignee=manager, status=keys[i % len(keys)]
        )


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.SALES_MANAGER])
@pytest.mark.parametrize("n", [3, 40])
@pytest.mark.parametrize("headers", [{}, HX])
def test_board_query_count_is_pinned(client, users, django_assert_num_queries, role, n, headers):
    grow(users, n)
    client.force_login(users[role])
    # 1 session, 2 user, 3 the active statuses, 4 the counts by status (from the rollup), 5
    # the newest cards of each status joined to owner and assignee: one UNION ALL statement
    with django_assert_num_queries(5):
        response = client.get("/pipeline/", headers=headers)
    assert sum(n for _, n, *_ in response.context["columns"]) == n
