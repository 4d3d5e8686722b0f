"""The REST leads list's pages: ``count`` from the rollup (exact) or a bounded count (said by
``count_exact``), offsets read through the index (deferred join), and opt-in keyset pages
(``cursor``)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from crm import pagination
from leads.models import Campaign
from tests.conftest import build_once, per_test
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world")]


@pytest.fixture(scope="module")
def built_world(cast, django_db_blocker):
    manager, salesperson = cast["sales_manager"], cast["salesperson"]
    return build_once(django_db_blocker, lambda: build_world(manager, salesperson))


@pytest.fixture
def world(built_world):
    """Thirty leads (a third in the pool, half assigned to the salesperson), a quarter of them
    in the campaign "spring": built once for the module, a copy for each test."""
    return per_test(built_world)


def build_world(manager, salesperson):
    campaign = Campaign.objects.create(name="Spring", slug="spring")
    leads = [
        LeadFactory(
            by=manager,
            owner=manager if i % 3 else None,
            assignee=salesperson if i % 2 else None,
            status=["prospect", "contact", "customer"][i % 3],
            campaign=campaign if i % 4 == 0 else None,
        )
        for i in range(30)
    ]
    return leads, campaign


def data(response) -> dict:
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def params_of(link: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}


@pytest.mark.parametrize(
    "params",
    [
        {"list_type": "all"},
        {"list_type": "all", "status": "contact"},
        {"list_type": "all", "campaign_slug": "spring", "status": "prospect"},
        {"list_type": "all", "owner": "sales_manager"},
        {"list_type": "all", "assignee": "salesperson", "source": "website"},
        {"list_type": "all", "owner": "sales_manager", "assignee": "salesperson"},
        {"list_type": "all", "owner": "nobody-has-this-name"},
        {"list_type": "all", "campaign_slug": "no-such-campaign"},
        {"list_type": "assigned"},
        {},
    ],
)
@pytest.mark.parametrize("who", ["manager", "salesperson"])
def test_the_count_comes_from_the_rollup_and_is_exact(client_for, world, params, who, request):
    user = request.getfixturevalue(who)
    body = data(client_for(user).get("list/", {**params, "limit": 100}))
    assert body["count_exact"] is True
    assert body["count"] == len(body["results"])


@pytest.mark.parametrize(
    ("params", "bound"),
    [
        ({"search": "Lead"}, "SEARCH_COUNT_LIMIT"),
        ({"created_after": "2000-01-01T00:00:00Z"}, "COUNT_LIMIT"),
    ],
)
def test_filters_the_rollup_cannot_answer_are_counted_up_to_a_bound(
    api, world, monkeypatch, params, bound
):
    body = data(api.get("list/", {"list_type": "all", **params, "limit": 5}))
    assert (body["count"], body["count_exact"]) == (30, True)
    other = {"SEARCH_COUNT_LIMIT": "COUNT_LIMIT", "COUNT_LIMIT": "SEARCH_COUNT_LIMIT"}[bound]
    monkeypatch.setattr(pagination, other, 3)  # the other bound leaves this list alone
    body = data(api.get("list/", {"list_type": "all", **params, "limit": 5}))
    assert (body["count"], body["count_exact"]) == (30, True)
    monkeypatch.setattr(pagination, bound, 10)
    body = data(api.get("list/", {"list_type": "all", **params, "limit": 5}))
    assert (body["count"], body["count_exact"]) == (10, False)
    assert body["next"] is not None


@pytest.mark.parametrize("ordering", [None, "last_name", "-status,id"])
def test_a_search_counted_with_its_page_walks_the_whole_list_in_order(
    api, world, monkeypatch, django_assert_num_queries, ordering
):
    """A search's count stops at ``SEARCH_COUNT_LIMIT``: while the page lies within it, the
    ids of the rows up to the bound are read with the page, in the page's order (one read of
    the search, not two); past it, counted as before. Either way every row comes once."""
    monkeypatch.setattr(pagination, "SEARCH_COUNT_LIMIT", 12)
    params = {"list_type": "all", "search": "Lead", "limit": 5}
    if ordering:
        params["ordering"] = ordering
    everything = data(api.get("list/", {**params, "search": "", "limit": 100}))["results"]
    seen = []
    while True:
        with django_assert_num_queries(5) as captured:  # key, user, rate counters, 2 reads
            body = data(api.get("list/", params))
        assert (body["count"], body["count_exact"]) == (12, False)
        if int(params.get("offset", 0)) + 5 <= 12:
            ids = captured.captured_queries[-2]["sql"]
            assert "COUNT(" not in ids.upper() and "LIMIT 13" in ids
        seen += [row["slug"] for row in body["results"]]
        if not body["next"]:
            break
        params = params_of(body["next"])
    assert seen == [row["slug"] for row in everything] and len(seen) == 30


def test_offset_pages_walk_the_whole_list_in_order(api, world):
    leads, _campaign = world
    seen, params = [], {"list_type": "all", "limit": 7}
    while True:
        body = data(api.get("list/", params))
        assert body["count"] == 30
        seen += [row["slug"] for row in body["results"]]
        if not body["next"]:
            break
        params = params_of(body["next"])
    assert seen == [lead.slug for lead in sorted(leads, key=lambda x: -x.pk)]
    last = data(api.get("list/", {"list_type": "all", "limit": 7, "offset": 28}))
    assert [r["slug"] for r in last["results"]] == seen[28:]
    assert last["next"] is None and params_of(last["previous"])["offset"] == "21"


def test_an_offset_past_the_end_answers_no_rows(api, world):
    for offset in (30, 31, 10**6, 2**70):
        body = data(api.get("list/", {"list_type": "all", "offset": offset}))
        assert body["results"] == [] and body["next"] is None


def test_a_deep_offset_reads_one_page_by_a_deferred_join(api, world, django_assert_num_queries):
    api.get("list/")  # the key's first use is recorded once
    # the key, the user, the rate counters, the count (rollup), the page
    with django_assert_num_queries(5) as captured:
        body = data(api.get("list/", {"list_type": "all", "limit": 5, "offset": 20}))
    page = captured.captured_queries[-1]["sql"]
    # from the row before the page: where the list stands at the page's first row
    assert page.count("SELECT") == 2 and "OFFSET 19" in page.replace('"', "")
    assert len(body["results"]) == 5


def test_offset_pages_that_follow_one_another_continue_by_keyset(
    api, world, django_assert_num_queries
):
    leads, _campaign = world
    newest = [lead.slug for lead in sorted(leads, key=lambda x: -x.pk)]
    params = {"list_type": "all", "limit": 7}
    api.get("list/", {**params, "offset": 7})
    for offset in (14, 14, 21, 7):  # the next page, the same page again, the next, a revisit
        with django_assert_num_queries(5) as captured:
            body = data(api.get("list/", {**params, "offset": offset}))
        assert "OFFSET" not in captured.captured_queries[-1]["sql"]
        assert [row["slug"] for row in body["results"]] == newest[offset : offset + 7]
    assert data(api.get("list/", {**params, "offset": 28}))["next"] is None


def test_a_continued_offset_page_past_deleted_rows_counts_again(api, world, manager):
    from crm.domain import Actor
    from leads.services import lead_delete

    leads, _campaign = world
    params = {"list_type": "all", "limit": 5}
    first = data(api.get("list/", {**params, "offset": 25}))  # the last 5 rows
    assert len(first["results"]) == 5
    for lead in sorted(leads, key=lambda x: x.pk)[:5]:  # they go, and three new ones come
        lead_delete(actor=Actor(user=manager), lead=lead)
    for _ in range(3):
        LeadFactory(by=manager)
    again = data(api.get("list/", {**params, "offset": 25}))
    assert again["count"] == 28
    oldest_left = sorted(leads, key=lambda x: x.pk)[5:8][::-1]
    assert [row["slug"] for row in again["results"]] == [lead.slug for lead in oldest_left]


@pytest.mark.parametrize("ordering", ["-id", "id", "last_name", "-created_at", "status"])
def test_cursor_pages_walk_the_whole_list_forward_and_back(api, world, ordering):
    leads, _campaign = world
    base = {"list_type": "all", "limit": 8, "ordering": ordering, "cursor": ""}
    pages, params = [], base
    while True:
        body = data(api.get("list/", params))
        assert body["count"] == 30 and body["count_exact"] is True
        pages.append([row["slug"] for row in body["results"]])
        if not body["next"]:
            break
        params = params_of(body["next"])
        assert "offset" not in params
    flat = [slug for page in pages for slug in page]
    assert sorted(flat) == sorted(lead.slug for lead in leads) and len(flat) == 30
    assert [len(p) for p in pages] == [8, 8, 8, 6]
    back = data(api.get("list/", params_of(body["previous"])))
    assert [row["slug"] for row in back["results"]] == pages[-2]
    if ordering == "-id":
        assert flat == [lead.slug for lead in sorted(leads, key=lambda x: -x.pk)]


@pytest.mark.parametrize("ordering", ["first_name,id", "phone", "-nothing"])
def test_cursor_pages_refuse_an_ordering_they_cannot_walk(api, world, ordering):
    response = api.get("list/", {"list_type": "all", "ordering": ordering, "cursor": ""})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["ordering"]


def test_an_unreadable_cursor_gives_the_first_page(api, world):
    first = data(api.get("list/", {"list_type": "all", "cursor": ""}))
    for cursor in ("a", "anot-a-cursor", "zzz", "b" + "x" * 5000):
        body = data(api.get("list/", {"list_type": "all", "cursor": cursor}))
        assert body["results"] == first["results"]
    # a cursor of a text-ordered page, sent with the id order
    text = data(api.get("list/", {"list_type": "all", "cursor": "", "ordering": "last_name"}))
    token = parse_qs(urlsplit(text["next"]).query)["cursor"][0]
    body = data(api.get("list/", {"list_type": "all", "cursor": token, "ordering": "-id"}))
    assert body["results"] == first["results"]


def test_the_appointments_list_counts_up_to_a_bound_and_pages_on(
    client_for, world, manager, monkeypatch
):
    leads, _campaign = world
    made = [AppointmentFactory(lead=leads[i], by=manager) for i in range(12)]
    api = client_for(manager)
    body = data(api.get("appointments/list/", {"limit": 5}))
    assert (body["count"], body["count_exact"]) == (12, True)
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 10)
    seen, params = [], {"limit": 5}
    while True:
        body = data(api.get("appointments/list/", params))
        assert (body["count"], body["count_exact"]) == (10, False)
        seen += [row["appointment_id"] for row in body["results"]]
        if body["next"] is None:
            break
        params = params_of(body["next"])
    assert seen == [a.pk for a in made]  # every page, in order, past the counted bound


@pytest.mark.parametrize("path", ["list/", "appointments/list/"])
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"limit": "true"}, "limit", "A valid integer is required."),
        ({"limit": "1e5"}, "limit", "A valid integer is required."),
        ({"limit": "0"}, "limit", "Ensure this value is greater than or equal to 1."),
        ({"offset": "-1"}, "offset", "A valid integer is required."),
        ({"offset": "١"}, "offset", "A valid integer is required."),  # a digit, not ASCII
    ],
)
def test_offset_and_limit_are_counts_or_a_400(api, world, path, params, field, message):
    response = api.get(path, {"list_type": "all", **params})
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}


def test_an_empty_limit_or_offset_is_the_default_and_a_large_limit_is_100(api, world):
    body = data(api.get("list/", {"list_type": "all", "limit": "", "offset": ""}))
    assert len(body["results"]) == min(20, body["count"])
    many = data(api.get("list/", {"list_type": "all", "limit": "9" * 5000}))
    assert len(many["results"]) == min(100, many["count"])
    far = data(api.get("list/", {"list_type": "all", "offset": "9" * 5000}))
    assert far["results"] == [] and far["next"] is None


def test_a_cursor_page_refuses_an_offset_that_is_no_count(api, world):
    response = api.get("list/", {"list_type": "all", "cursor": "", "offset": "-2.5"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"offset": ["A valid integer is required."]}


@pytest.mark.parametrize(
    "params",
    [
        {"created_after": "0001-01-01T00:00:00+14:00"},  # before the first storable moment
        {"created_before": "9999-12-31T23:59:59-14:00"},  # after the last one
        {"created_after": "2000-01-01t00:00:00z"},  # RFC 3339 takes lower case too
    ],
)
def test_created_bounds_past_the_edges_of_time_hold_every_lead(api, world, params):
    assert data(api.get("list/", {"list_type": "all", **params}))["count"] == 30


@pytest.mark.parametrize(
    "value", ["2024-01-01", "2024-01-01 10:00", " 2024-01-01T00:00:00Z", "2024-01-01T00:00:00"]
)
@pytest.mark.parametrize("field", ["created_after", "created_before"])
def test_created_bounds_are_rfc_3339_date_times(api, world, field, value):
    response = api.get("list/", {"list_type": "all", field: value})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_ondate_alone_lists_the_appointments_of_that_day(client_for, world, manager):
    leads, _campaign = world
    day = timezone.localtime() + timedelta(days=7)
    start = day.replace(hour=10, minute=0, second=0, microsecond=0)
    on_the_day = AppointmentFactory(lead=leads[0], by=manager, start=start)
    AppointmentFactory(lead=leads[1], by=manager, start=start + timedelta(days=1))
    body = data(client_for(manager).get("appointments/list/", {"ondate": f"{day:%m/%d/%Y}"}))
    assert [row["appointment_id"] for row in body["results"]] == [on_the_day.pk]


@pytest.mark.parametrize("params", [{"ondate": "1/2/2031"}, {"ondate": "02/30/2031"},
                                    {"ondate": "01/02/0000"}, {"ondate": " 01/02/2031"},
                                    {"datesetting": "on", "ondate": "2031-01-02"}])  # fmt: skip
def test_ondate_is_a_real_day_as_mm_dd_yyyy(api, world, params):
    response = api.get("appointments/list/", params)
    assert response.status_code == 400
    assert response.json()["errors"] == {"ondate": ["Invalid date format."]}


@pytest.mark.parametrize(
    ("path", "param"), [("list/", "first_name"), ("appointments/list/", "lead")]
)
def test_a_text_filter_counts_its_length_as_sent(api, world, path, param):
    response = api.get(path, {param: " " + "x" * 255})  # one over the limit; trimmed, at it
    assert response.status_code == 400
    assert response.json()["errors"] == {
        param: ["Ensure this value has at most 255 characters (it has 256)."]
    }
