"""The JSON-RPC API's lead methods over HTTP: getLead, getLeads, getLeadsDateRange,
createLeads, updateLeads, updateLeadsV2, deleteLeads — successes and every error they give."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.models import ApiKey
from leads.models import Event, EventType, Lead, phone_validator
from leads.services import field_create
from tests.factories import LeadFactory
from tests.rpc import RpcClient

PHONE_MESSAGE = phone_validator.message
SEED_000_KEYS = {
    "id",
    "companyName",
    "title",
    "firstName",
    "lastName",
    "street",
    "city",
    "country",
    "state",
    "zipcode",
    "emailAddress",
    "website",
    "phoneNumber",
    "mobilePhoneNumber",
    "faxNumber",
    "description",
    "leadScore",
    "industry",
    "active",
    "isUnsubscribed",
    "leadStatus",
}


@pytest.fixture
def color(db):
    return field_create(label="Favorite Color")


def new_lead(**data) -> Lead:
    return LeadFactory(**data)


# --- getLead ------------------------------------------------------------------------------


def test_get_lead_answers_the_lead_under_lead(rpc, color):
    lead = new_lead(company="Acme", custom={color.system_name: "Blue"})
    result = rpc.result("getLead", {"id": lead.pk})
    assert list(result) == ["lead"]
    [found] = result["lead"]
    assert set(found) >= SEED_000_KEYS
    assert found["id"] == str(lead.pk)
    assert found["companyName"] == "Acme"
    assert found["emailAddress"] == lead.email
    assert found["leadStatus"] == "open"  # prospect, in the API's words
    assert found["active"] == "1" and found["isUnsubscribed"] == "0"
    assert found[color.system_name] == "Blue"
    assert found["accountID"] == rpc.account_id


def test_get_lead_takes_the_id_as_a_string(rpc):
    lead = new_lead()
    assert rpc.result("getLead", {"id": str(lead.pk)})["lead"][0]["id"] == str(lead.pk)


def test_get_lead_of_an_unknown_or_deleted_lead_is_an_empty_list(rpc):
    lead = new_lead()
    rpc.result("deleteLeads", {"objects": [{"id": lead.pk}]})
    assert rpc.result("getLead", {"id": lead.pk}) == {"lead": []}
    assert rpc.result("getLead", {"id": 999999}) == {"lead": []}


def test_get_lead_with_a_wrong_id_type_answers_seed_000s_error(rpc):
    error = rpc.error("getLead", {"id": "abc"})
    assert error == {
        "code": 205,
        "message": "Invalid parameters",
        "data": {
            "params": [
                {
                    "param": "id",
                    "message": "Expected data of type integer",
                    "validFormat": {"type": "int", "required": True, "length": 20},
                }
            ]
        },
    }


@pytest.mark.parametrize("value", [None, ""])
def test_get_lead_without_an_id_is_missing_parameters(rpc, value):
    params = {} if value is None else {"id": value}
    error = rpc.error("getLead", params)
    assert error["code"] == 206
    assert error["message"] == "Missing parameters"
    assert error["data"]["params"][0]["param"] == "id"


@pytest.mark.parametrize("value", [1.5, True, [1], {"a": 1}, -1, 2**70])
def test_get_lead_refuses_every_other_id(rpc, value):
    assert rpc.error("getLead", {"id": value})["code"] == 205


# --- getLeads -----------------------------------------------------------------------------


def test_get_leads_with_an_empty_where_lists_every_live_lead(rpc):
    leads = [new_lead() for _ in range(3)]
    rpc.result("deleteLeads", {"objects": [leads[0].pk]})
    found = rpc.result("getLeads", {"where": {}})["lead"]
    assert [row["id"] for row in found] == [str(leads[1].pk), str(leads[2].pk)]
    # PHP encodes an empty hash as []
    assert rpc.result("getLeads", {"where": []})["lead"] == found


def test_get_leads_filters_by_where(rpc):
    wanted = new_lead(email="Wanted@Example.com")
    new_lead()
    found = rpc.result("getLeads", {"where": {"emailAddress": "wanted@example.com"}})["lead"]
    assert [row["id"] for row in found] == [str(wanted.pk)]
    by_status = rpc.result("getLeads", {"where": {"leadStatus": "open"}})["lead"]
    assert len(by_status) == 2


def test_get_leads_with_a_list_ignores_the_other_keys(rpc):
    a, b, c = new_lead(), new_lead(), new_lead()
    where = {"id": [a.pk, c.pk], "emailAddress": b.email}
    found = rpc.result("getLeads", {"where": where})["lead"]
    assert [row["id"] for row in found] == [str(a.pk), str(c.pk)]


def test_get_leads_limit_offset_and_fields(rpc, color):
    leads = [new_lead(custom={color.system_name: f"C{i}"}) for i in range(5)]
    params = {"where": {}, "limit": 2, "offset": 1, "fields": ["id", color.system_name]}
    found = rpc.result("getLeads", params)["lead"]
    assert found == [
        {"id": str(leads[1].pk), color.system_name: "C1"},
        {"id": str(leads[2].pk), color.system_name: "C2"},
    ]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"where": {"nope": 1}}, "where"),
        ({"where": {"id": "x"}}, "where.id"),
        ({"where": {"id": ["x"]}}, "where.id"),
        ({"where": {"id": list(range(501))}}, "where.id"),
        ({"where": {"emailAddress": {"a": 1}}}, "where.emailAddress"),
        ({"where": {"emailAddress": "a\x00b"}}, "where.emailAddress"),
        ({"where": {"active": "maybe"}}, "where.active"),
        ({"where": "all"}, "where"),
        ({"where": {}, "limit": 501}, "limit"),
        ({"where": {}, "limit": 0}, "limit"),
        ({"where": {}, "offset": -1}, "offset"),
        ({"where": {}, "fields": ["nope"]}, "fields"),
        ({"where": {}, "fields": "id"}, "fields"),
    ],
)
def test_get_leads_invalid_parameters(rpc, params, param):
    error = rpc.error("getLeads", params)
    assert error["code"] == 205
    assert error["data"]["params"][0]["param"] == param


def test_get_leads_without_where_is_missing_parameters(rpc):
    error = rpc.error("getLeads", {})
    assert (error["code"], error["data"]["params"][0]["param"]) == (206, "where")


# --- getLeadsDateRange --------------------------------------------------------------------


def _stamp(moment: dt.datetime, tz: dt.tzinfo = dt.UTC) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def test_get_leads_date_range_by_creation_and_update(api_key):
    rpc = RpcClient(api_key, version="v1.2")  # v1.2 speaks UTC
    old = new_lead()
    Lead.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=10),
        updated_at=timezone.now() - dt.timedelta(days=10),
    )
    recent = new_lead()
    now = timezone.now()
    window = {
        "startDate": _stamp(now - dt.timedelta(days=1)),
        "endDate": _stamp(now + dt.timedelta(minutes=1)),
    }
    created = rpc.result("getLeadsDateRange", {**window, "timestamp": "create"})["lead"]
    assert [row["id"] for row in created] == [str(recent.pk)]
    rpc.result("updateLeads", {"objects": [{"id": old.pk, "title": "Buyer"}]})
    updated = rpc.result(
        "getLeadsDateRange", {**window, "timestamp": "update", "fields": ["id", "title"]}
    )["lead"]
    assert {row["id"]: row["title"] for row in updated} == {
        str(old.pk): "Buyer",
        str(recent.pk): "",
    }


def test_v1_speaks_the_servers_time_zone_and_v1_2_utc(api_key, settings):
    settings.TIME_ZONE = "America/New_York"
    lead = new_lead()
    utc = RpcClient(api_key, "v1.2").result("getLead", {"id": lead.pk})["lead"][0]
    local = RpcClient(api_key, "v1").result("getLead", {"id": lead.pk})["lead"][0]
    assert utc["createTimestamp"] == _stamp(lead.created_at)
    assert local["createTimestamp"] == _stamp(lead.created_at, timezone.get_default_timezone())
    assert local["createTimestamp"] != utc["createTimestamp"]


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"endDate": "2026-01-01 00:00:00", "timestamp": "create"}, 206, "startDate"),
        ({"startDate": "2026-01-01 00:00:00", "timestamp": "create"}, 206, "endDate"),
        ({"startDate": "2026-01-01", "endDate": "2026-02-01"}, 206, "timestamp"),
        (
            {"startDate": "01/01/2026", "endDate": "2026-02-01", "timestamp": "create"},
            205,
            "startDate",
        ),
        ({"startDate": "2026-01-01", "endDate": 5, "timestamp": "create"}, 205, "endDate"),
        (
            {"startDate": "2026-01-01", "endDate": "2026-02-01", "timestamp": "other"},
            205,
            "timestamp",
        ),
        (
            {
                "startDate": "2026-01-01",
                "endDate": "2026-02-01",
                "timestamp": "create",
                "fields": ["x"],
            },
            205,
            "fields",
        ),
    ],
)
def test_get_leads_date_range_errors(rpc, params, code, param):
    error = rpc.error("getLeadsDateRange", params)
    assert (error["code"], error["data"]["params"][0]["param"]) == (code, param)


# --- createLeads --------------------------------------------------------------------------


def test_create_leads_creates_each_lead_with_an_event_by_the_key(rpc, color):
    objects = [
        {
            "firstName": "Ada",
            "lastName": "Byron",
            "emailAddress": "ada@example.com",
            "phoneNumber": "(555) 123-4567",
            "companyName": "Engines",
            "leadStatus": "qualified",
            "leadScore": "12",
            "isUnsubscribed": 1,
            color.system_name: "Green",
        },
        {"emailAddress": "second@example.com"},
    ]
    creates = rpc.result("createLeads", {"objects": objects})["creates"]
    assert [c["success"] for c in creates] == ["true", "true"]
    assert all(c["error"] is None for c in creates)
    lead = Lead.objects.get(pk=int(creates[0]["id"]))
    assert (lead.first_name, lead.email, lead.phone) == ("Ada", "ada@example.com", "5551234567")
    assert (lead.status_id, lead.lead_score, lead.is_unsubscribed) == ("potential", 12, True)
    assert lead.custom_fields == {color.system_name: "Green"}
    assert lead.owner is None  # an API key owns nothing: the lead joins the pool
    event = Event.objects.get(lead=lead)
    assert event.type == EventType.CREATED
    assert event.api_key == ApiKey.objects.get() and event.actor is None


def test_a_mixed_create_creates_exactly_the_valid_objects_and_reports_each_in_order(rpc):
    new_lead(email="taken@example.com")
    objects = [
        {"emailAddress": "one@example.com", "firstName": "One"},
        {"emailAddress": "TAKEN@example.com"},
        {"emailAddress": "not-an-email"},
        "just a string",
        {"emailAddress": "two@example.com", "leadStatus": "nonsense"},
        {"emailAddress": "three@example.com"},
        {"emailAddress": "three@example.com"},
        {"firstName": "No email"},
    ]
    creates = rpc.result("createLeads", {"objects": objects})["creates"]
    assert [c["success"] for c in creates] == [
        "true", "false", "false", "false", "false", "true", "false", "false"
    ]  # fmt: skip
    assert [c["error"]["code"] if c["error"] else None for c in creates] == [
        None, 301, 302, 208, 302, None, 301, 302
    ]  # fmt: skip
    assert creates[1]["error"] == {"code": 301, "message": "Entry already exists", "data": []}
    assert creates[2]["error"]["data"] == [{"field": "emailAddress", "message": "Invalid email."}]
    assert creates[4]["error"]["data"] == [
        {"field": "leadStatus", "message": '"nonsense" is not a valid choice.'}
    ]
    assert creates[7]["error"]["data"] == [
        {"field": "emailAddress", "message": "This field is required."}
    ]
    emails = set(Lead.objects.values_list("email", flat=True))
    assert emails == {"taken@example.com", "one@example.com", "three@example.com"}
    assert creates[0]["id"] == str(Lead.objects.get(email="one@example.com").pk)


def test_the_email_of_a_deleted_lead_may_be_created_again(rpc):
    gone = new_lead(email="gone@example.com")
    assert rpc.result("deleteLeads", {"objects": [{"id": gone.pk}]})["deletes"][0]["error"] is None
    again = rpc.result("createLeads", {"objects": [{"emailAddress": "Gone@example.com"}]})
    [created] = again["creates"]
    assert (created["success"], created["error"]) == ("true", None)
    assert Lead.objects.alive().get().pk == int(created["id"]) != gone.pk


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ({"ownerID": 999999}, "ownerID", "User not found."),
        ({"campaignID": "12345"}, "campaignID", "Campaign not found."),
        ({"leadScore": "lots"}, "leadScore", "Expected an integer from -32767 to 32767."),
        ({"leadScore": 40000}, "leadScore", "Expected an integer from -32767 to 32767."),
        ({"active": "maybe"}, "active", "Expected 0 or 1."),
        ({"firstName": "x" * 51}, "firstName", "Ensure this field has no more than 50 characters."),
        ({"firstName": ["a"]}, "firstName", "Expected data of type string."),
        ({"city": "a\x00b"}, "city", "Null and surrogate characters are not allowed."),
        ({"phoneNumber": "call me"}, "phoneNumber", PHONE_MESSAGE),
        ({"Unknown_field_1": "x"}, "Unknown_field_1", "Unknown field."),
        ({"Unknown_field_1": {"a": 1}}, "Unknown_field_1", "Expected a single value."),
    ],
)  # fmt: skip
def test_create_leads_reports_each_invalid_value(rpc, value, field, message):
    creates = rpc.result("createLeads", {"objects": [{"emailAddress": "a@example.com", **value}]})
    assert creates["creates"][0]["error"]["data"] == [{"field": field, "message": message}]
    assert creates["creates"][0]["error"]["code"] == 302
    assert not Lead.objects.exists()


def test_create_leads_sets_the_owner_and_a_required_custom_field(rpc, users):
    required = field_create(label="Budget", is_required=True)
    owner = users["salesperson"]
    objects = [
        {"emailAddress": "a@example.com", "ownerID": str(owner.pk), required.system_name: "10"},
        {"emailAddress": "b@example.com"},
    ]
    creates = rpc.result("createLeads", {"objects": objects})["creates"]
    assert creates[0]["success"] == "true"
    assert creates[1]["error"]["data"] == [
        {"field": required.system_name, "message": "This field is required."}
    ]
    assert Lead.objects.get().owner == owner


def test_a_call_with_501_objects_is_refused_as_a_whole(rpc):
    objects = [{"emailAddress": f"lead{i}@example.com"} for i in range(501)]
    error = rpc.error("createLeads", {"objects": objects})
    assert (error["code"], error["message"]) == (
        209,
        "Attempting to execute an excess amount of queries.",
    )
    assert "500" in error["data"]["params"][0]["message"]
    assert not Lead.objects.exists()


def test_a_call_with_500_objects_is_taken(rpc):
    objects = [{"emailAddress": f"lead{i}@example.com"} for i in range(500)]
    creates = rpc.result("createLeads", {"objects": objects})["creates"]
    assert len(creates) == 500 and all(c["success"] == "true" for c in creates)
    assert Lead.objects.count() == 500
    assert Event.objects.filter(type=EventType.CREATED).count() == 500
    ids = [int(c["id"]) for c in creates]
    assert list(Lead.objects.filter(pk__in=ids).order_by("pk").values_list("email", flat=True)) == [
        f"lead{i}@example.com" for i in range(500)
    ]


@pytest.mark.parametrize("method", ["createLeads", "updateLeads", "updateLeadsV2", "deleteLeads"])
@pytest.mark.parametrize("params", [{}, {"objects": None}, {"objects": {"a": 1}}, {"objects": "x"}])
def test_batch_methods_need_an_objects_array(rpc, method, params):
    assert rpc.error(method, params) == {
        "code": 207,
        "message": "Missing objects array.",
        "data": [],
    }


def test_create_leads_runs_the_same_queries_for_10_and_100_objects(rpc):
    def batch(start: int, size: int) -> list[dict]:
        return [{"emailAddress": f"lead{start + i}@example.com"} for i in range(size)]

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rpc.result("getFields")  # the key's first use records when it was used: not counted
    with CaptureQueriesContext(connection) as small:
        rpc.result("createLeads", {"objects": batch(0, 10)})
    with CaptureQueriesContext(connection) as large:
        rpc.result("createLeads", {"objects": batch(100, 100)})
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(small.captured_queries) <= 14  # auth, rate, statuses, choices, dedupe, inserts


# --- updateLeads / updateLeadsV2 ----------------------------------------------------------


@pytest.mark.parametrize("method", ["updateLeads", "updateLeadsV2"])
def test_update_leads_overwrites_the_given_fields(rpc, method, color):
    lead = new_lead(company="Old", city="Salem", custom={color.system_name: "Red"})
    objects = [{"id": lead.pk, "companyName": "New", "leadStatus": "contactWithOpp",
                color.system_name: "Blue"}]  # fmt: skip
    result = rpc.result(method, {"objects": objects})
    assert result == {"updates": [{"success": "true", "error": None}]}
    lead.refresh_from_db()
    assert (lead.company, lead.city, lead.status_id) == ("New", "Salem", "customer")
    assert lead.custom_fields == {color.system_name: "Blue"}
    types = list(Event.objects.filter(lead=lead).values_list("type", flat=True))
    assert EventType.UPDATED in types and EventType.STATUS_CHANGED in types
    update = Event.objects.get(lead=lead, type=EventType.UPDATED)
    assert update.data["changes"]["company"] == ["Old", "New"]
    assert update.api_key is not None


@pytest.mark.parametrize("method", ["updateLeads", "updateLeadsV2"])
def test_update_leads_reports_each_object(rpc, method):
    a, b = new_lead(), new_lead()
    gone = new_lead()
    rpc.result("deleteLeads", {"objects": [gone.pk]})
    objects = [
        {"id": a.pk, "title": "Chief"},
        {"id": 999999, "title": "Nobody"},
        {"id": b.pk, "emailAddress": "broken"},
        {"id": gone.pk, "title": "Deleted"},
        {"title": "No id nor email"},
        {"id": "abc"},
        7,
    ]
    updates = rpc.result(method, {"objects": objects})["updates"]
    codes = [u["error"]["code"] if u["error"] else None for u in updates]
    assert codes == [None, 404, 302, 404, 302, 302, 208]
    assert updates[1]["error"] == {"code": 404, "message": "Entry does not exist", "data": []}
    assert updates[4]["error"]["data"] == [
        {"field": "id", "message": "Give the lead's id, or its emailAddress."}
    ]
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.title == "Chief" and b.email != "broken"


def test_update_leads_v2_finds_the_lead_by_email_when_no_id_is_given(rpc):
    lead = new_lead(email="Found@Example.com")
    updates = rpc.result(
        "updateLeadsV2",
        {"objects": [{"emailAddress": "found@example.com", "title": "Owner"},
                     {"emailAddress": "missing@example.com", "title": "x"}]},
    )["updates"]  # fmt: skip
    assert updates[0] == {"success": "true", "error": None}
    assert updates[1]["error"]["code"] == 404
    lead.refresh_from_db()
    assert lead.title == "Owner"


def test_updating_one_lead_twice_in_a_call_applies_both_in_order(rpc):
    lead = new_lead()
    objects = [{"id": lead.pk, "title": "First", "city": "Salem"}, {"id": lead.pk, "title": "Last"}]
    rpc.result("updateLeads", {"objects": objects})
    lead.refresh_from_db()
    assert (lead.title, lead.city) == ("Last", "Salem")


def test_an_update_that_changes_nothing_records_nothing(rpc):
    lead = new_lead(title="Same")
    before = Event.objects.count()
    assert (
        rpc.result("updateLeads", {"objects": [{"id": lead.pk, "title": "Same"}]})["updates"][0][
            "success"
        ]
        == "true"
    )
    assert Event.objects.count() == before


# --- deleteLeads --------------------------------------------------------------------------


def test_delete_leads_soft_deletes_and_reports_each(rpc):
    a, b = new_lead(), new_lead()
    objects = [{"id": a.pk}, b.pk, {"id": 999999}, {"id": a.pk}, {"nope": 1}, [1]]
    deletes = rpc.result("deleteLeads", {"objects": objects})["deletes"]
    codes = [d["error"]["code"] if d["error"] else None for d in deletes]
    assert codes == [None, None, 404, 404, 302, 208]
    a.refresh_from_db()
    assert a.status_id == "deleted" and a.status_before_delete_id == "prospect"
    assert Lead.objects.filter(pk__in=[a.pk, b.pk]).count() == 2  # never hard-deleted
    assert Event.objects.filter(type=EventType.DELETED).count() == 2


def test_the_lead_status_mapping_is_edited_in_the_admin(rpc, users, client):
    client.force_login(users["administrator"])
    page = client.get("/admin/leads/status/closed/change/")
    assert b'name="rpc_status"' in page.content
    form = {"label": "Closed", "description": "", "color": "#4b5563", "order": 5,
            "active": "on", "rpc_status": "lost"}  # fmt: skip
    assert client.post("/admin/leads/status/closed/change/", form).status_code == 302
    lead = new_lead()
    updates = rpc.result("updateLeads", {"objects": [{"id": lead.pk, "leadStatus": "lost"}]})
    assert updates["updates"][0]["success"] == "true"
    lead.refresh_from_db()
    assert lead.status_id == "closed"
    assert rpc.result("getLead", {"id": lead.pk})["lead"][0]["leadStatus"] == "lost"
