"""The JSON-RPC API over HTTP: the envelope and API-level errors of every call, and the methods
beyond leads: getEvents, getLeadTimeline, logCalls, getLeadListMemberships,
subscribeToLeadUpdates, getFields. Robustness: no input answers a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from crm.services import api_key_revoke
from leads.models import CallLog, Event, EventType, Field, LeadList, ListMembership
from leads.rpc.methods import METHODS
from leads.services import field_create
from tests.factories import LeadFactory, NoteFactory
from tests.rpc import RpcClient, checked_result


def stamp(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


# --- the envelope and API-level errors ---------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v1.2"])
def test_both_versions_answer_and_echo_the_request_id(api_key, version):
    rpc = RpcClient(api_key, version)
    for request_id in ["abc", 42]:
        body = rpc.call("getFields", {}, request_id=request_id)
        assert body["error"] is None and body["id"] == request_id


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ({"accountID": ""}, 103, "Header missing account ID."),
        ({"secretKey": ""}, 104, "Header missing Secret Key."),
        ({"secretKey": "wrong"}, 105, "User authentication failed."),
        ({"accountID": "0" * 16}, 105, "User authentication failed."),
        ({"accountID": "%00"}, 105, "User authentication failed."),
        ({"secretKey": "a%00b"}, 105, "User authentication failed."),
    ],
)
def test_authentication_errors(rpc, query, code, message):
    response = rpc.send({"method": "getFields", "params": {}, "id": "r"}, **query)
    assert response.status_code == 200
    assert response.json() == {
        "result": None,
        "error": {"code": code, "message": message, "data": []},
        "id": None,
    }


def test_the_key_may_travel_in_headers_instead_of_the_url(api_key):
    """``X-Account-Id`` and ``X-Secret-Key`` keep the secret out of URLs (and their logs)."""
    account_id, _dot, secret = api_key.partition(".")
    client = Client()
    body = json.dumps({"method": "getFields", "params": {"limit": 1}, "id": "h"})

    def call(url: str, **headers: str) -> dict:
        return client.post(url, body, "application/json", headers=headers).json()

    answer = call("/pubapi/v1/", **{"X-Account-Id": account_id, "X-Secret-Key": secret})
    assert answer["error"] is None and len(answer["result"]["field"]) == 1
    wrong = call("/pubapi/v1/", **{"X-Account-Id": account_id, "X-Secret-Key": "wrong"})
    assert wrong["error"]["code"] == 105
    # A header wins over the query string; a half missing from both is named.
    mixed = call(f"/pubapi/v1/?accountID={account_id}&secretKey=wrong", **{"X-Secret-Key": secret})
    assert mixed["error"] is None
    assert call("/pubapi/v1/", **{"X-Account-Id": account_id})["error"]["code"] == 104
    assert call("/pubapi/v1/", **{"X-Secret-Key": secret})["error"]["code"] == 103


def test_a_revoked_key_fails_authentication(rpc, api_key):
    from crm.models import ApiKey

    api_key_revoke(api_key=ApiKey.objects.get())
    assert rpc.send({"method": "getFields", "params": {}, "id": 1}).json()["error"]["code"] == 105


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", 101),
        (b"", 101),
        (b"[1, 2]", 101),
        (b'"text"', 101),
        (b"\xff\xfe", 101),
        (b"[" * 100_000 + b"]" * 100_000, 101),
        (json.dumps({"method": "getFields", "params": {}}).encode(), 102),
        (json.dumps({"method": "getFields", "params": {}, "id": None}).encode(), 102),
        (json.dumps({"method": "getFields", "params": {}, "id": {"a": 1}}).encode(), 102),
        (json.dumps({"params": {}, "id": 1}).encode(), 201),
        (json.dumps({"method": "", "params": {}, "id": 1}).encode(), 201),
        (json.dumps({"method": "dropTables", "params": {}, "id": 1}).encode(), 204),
        (json.dumps({"method": ["getLead"], "params": {}, "id": 1}).encode(), 204),
        (json.dumps({"method": "getFields", "id": 1}).encode(), 202),
        (json.dumps({"method": "getFields", "params": "x", "id": 1}).encode(), 202),
    ],
)
def test_request_format_errors(rpc, body, code):
    response = rpc.raw(body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["result"] is None and answer["error"]["code"] == code


def test_a_body_over_the_size_limit_is_refused_with_413(rpc, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = {"method": "createLeads", "params": {"objects": [{"x": "y" * 2000}]}, "id": 1}
    response = rpc.send(payload)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": 101,
        "message": "Invalid request data format.",
        "data": {"detail": "The request body is too large."},
    }


def test_get_is_refused_with_an_allow_header(rpc):
    response = rpc.client.get(rpc.url())
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json()["error"]["code"] == 101


def test_the_per_second_limit_answers_107_with_retry_after(rpc, settings):
    settings.CRM = {**settings.CRM, "RATE_LIMIT_PER_SECOND": 2}
    answers = [rpc.send({"method": "getFields", "params": {}, "id": i}) for i in range(6)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "some of six calls in a row must be refused at 2 per second"
    body = refused[0].json()
    assert body["error"]["code"] == 107
    assert body["error"]["message"] == "Exceeded per second method call limit."
    assert int(refused[0]["Retry-After"]) >= 1


def test_the_daily_limit_answers_106(rpc, settings):
    settings.CRM = {**settings.CRM, "RATE_LIMIT_PER_DAY": 3}
    answers = [rpc.send({"method": "getFields", "params": {}, "id": i}) for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["code"] == 106
    assert int(answers[3]["Retry-After"]) <= 86400


# --- getEvents and getLeadTimeline --------------------------------------------------------


def test_get_events_by_lead_and_by_timestamp(rpc):
    lead = LeadFactory()
    other = LeadFactory()
    NoteFactory(lead=lead)
    events = rpc.result("getEvents", {"where": {"leadID": lead.pk}})["event"]
    assert [e["eventName"] for e in events] == ["created", "note_added"]
    assert set(events[0]) == {"id", "leadID", "eventName", "eventData", "createTimestamp"}
    assert events[1]["eventData"]["text"] == "Called; asked for a quote."
    Event.objects.filter(lead=lead).update(created_at=timezone.now() - dt.timedelta(days=2))
    since = stamp(timezone.now() - dt.timedelta(days=1))
    recent = rpc.result("getEvents", {"where": {"timestamp": since}})["event"]
    assert {e["leadID"] for e in recent} == {str(other.pk)}
    page = rpc.result("getEvents", {"where": {"leadID": lead.pk}, "limit": 1, "offset": 1})
    assert [e["eventName"] for e in page["event"]] == ["note_added"]


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({}, 206, "where"),
        ({"where": {}}, 205, "where"),
        ({"where": {"other": 1}}, 205, "where"),
        ({"where": {"leadID": "x"}}, 205, "where.leadID"),
        ({"where": {"timestamp": "yesterday"}}, 205, "where.timestamp"),
        ({"where": {"leadID": 1}, "limit": "many"}, 205, "limit"),
    ],
)
def test_get_events_errors(rpc, params, code, param):
    error = rpc.error("getEvents", params)
    assert (error["code"], error["data"]["params"][0]["param"]) == (code, param)


def test_get_lead_timeline_filters_by_event_source(rpc):
    lead = LeadFactory()
    Event.objects.create(lead=lead, type=EventType.FORM_SUBMIT, data={"form": "Contact us"})
    Event.objects.create(lead=lead, type=EventType.EMAIL_OPENED, data={"email": "Spring offer"})
    timeline = rpc.result("getLeadTimeline", {"where": {"leadID": lead.pk}})["leadTimeline"]
    assert [e["eventSource"] for e in timeline] == ["emailOpened", "formSubmit", "created"]
    forms = rpc.result(
        "getLeadTimeline", {"where": {"leadID": lead.pk, "eventSource": "formSubmit"}}
    )["leadTimeline"]
    assert [e["eventData"] for e in forms] == [{"form": "Contact us"}]


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({}, 206, "where"),
        ({"where": {"leadID": [1]}}, 205, "where.leadID"),
        ({"where": {"eventSource": "phoneCall"}}, 205, "where.eventSource"),
        ({"where": {"lead": 1}}, 205, "where"),
    ],
)
def test_get_lead_timeline_errors(rpc, params, code, param):
    error = rpc.error("getLeadTimeline", params)
    assert (error["code"], error["data"]["params"][0]["param"]) == (code, param)


# --- logCalls -----------------------------------------------------------------------------


def test_log_calls_logs_each_call_with_an_event(rpc):
    lead = LeadFactory()
    when = stamp(timezone.now() - dt.timedelta(hours=1))
    objects = [
        {"leadID": lead.pk, "timestamp": when, "duration": 95, "result": "Answered",
         "notes": "Wants a demo."},
        {"leadID": 999999, "timestamp": when},
        {"leadID": lead.pk, "timestamp": "noon"},
        "call",
    ]  # fmt: skip
    result = rpc.result("logCalls", {"objects": objects})
    assert result["success"] == "false"  # not every call was logged
    codes = [c["error"]["code"] if c["error"] else None for c in result["calls"]]
    assert codes == [None, 404, 302, 208]
    call = CallLog.objects.get()
    assert (call.lead, call.duration, call.result, call.notes) == (
        lead,
        95,
        "Answered",
        "Wants a demo.",
    )
    event = Event.objects.get(type=EventType.CALL_LOGGED)
    assert event.data["duration"] == 95 and event.api_key is not None
    ok = rpc.result("logCalls", {"objects": [{"leadID": lead.pk, "timestamp": when}]})
    assert ok["success"] == "true"


def test_log_calls_needs_objects(rpc):
    assert rpc.error("logCalls", {})["code"] == 207


# --- getLeadListMemberships ---------------------------------------------------------------


def test_get_lead_list_memberships(rpc):
    a, b = LeadFactory(), LeadFactory()
    hot, cold = LeadList.objects.create(name="Hot"), LeadList.objects.create(name="Cold")
    ListMembership.objects.create(list=hot, lead=a)
    ListMembership.objects.create(list=cold, lead=a)
    result = rpc.result("getLeadListMemberships", {"memberIDs": [a.pk, str(b.pk), 999999]})
    assert result == {
        "getWhereIns": [
            {"memberID": str(a.pk), "listIDs": [str(hot.pk), str(cold.pk)]},
            {"memberID": str(b.pk), "listIDs": []},
            {"memberID": "999999", "listIDs": []},
        ]
    }


@pytest.mark.parametrize(
    ("params", "code"),
    [({}, 206), ({"memberIDs": "1"}, 205), ({"memberIDs": ["x"]}, 205),
     ({"memberIDs": list(range(1, 102))}, 205)],
)  # fmt: skip
def test_get_lead_list_memberships_errors(rpc, params, code):
    error = rpc.error("getLeadListMemberships", params)
    assert (error["code"], error["data"]["params"][0]["param"]) == (code, "memberIDs")


# --- subscribeToLeadUpdates ---------------------------------------------------------------


def test_subscribe_to_lead_updates_registers_the_url_with_a_secret(rpc):
    from webhooks.models import Subscription

    result = rpc.result("subscribeToLeadUpdates", {"url": "https://partner.example.com/hook"})
    assert result["success"] == "true" and len(result["secret"]) >= 32
    subscription = Subscription.objects.get()
    assert subscription.url == "https://partner.example.com/hook"
    again = rpc.result(
        "subscribeToLeadUpdates", {"url": "https://partner.example.com/hook", "secret": "s" * 40}
    )
    assert again["secret"] == "s" * 40
    assert Subscription.objects.count() == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [({}, 206), ({"url": ""}, 206), ({"url": 5}, 205), ({"url": "ftp://example.com/x"}, 205),
     ({"url": "not a url"}, 205)],
)  # fmt: skip
def test_subscribe_to_lead_updates_errors(rpc, params, code):
    error = rpc.error("subscribeToLeadUpdates", params)
    assert (error["code"], error["data"]["params"][0]["param"]) == (code, "url")


# --- getFields ----------------------------------------------------------------------------


def test_get_fields_lists_built_in_and_custom_fields(rpc):
    color = field_create(label="Favorite Color")
    fields = rpc.result("getFields")["field"]
    names = [f["systemName"] for f in fields]
    assert "emailAddress" in names and color.system_name in names
    mine = next(f for f in fields if f["systemName"] == color.system_name)
    assert mine["label"] == "Favorite Color" and mine["isCustom"] == "1"
    assert set(mine) >= {
        "id", "relationship", "systemName", "label", "source", "dataType", "dataLength",
        "isRequired", "isCustom", "isActive", "isAvailableInContactManager",
        "isEditableInContactManager", "isAvailableInForms",
    }  # fmt: skip
    color.label = "Pet's Name"
    color.save()
    custom = rpc.result("getFields", {"where": {"isCustom": 1}})["field"]
    assert [(f["systemName"], f["label"]) for f in custom] == [(color.system_name, "Pet's Name")]
    one = rpc.result("getFields", {"where": {"systemName": "emailAddress"}})["field"]
    assert [f["isRequired"] for f in one] == ["1"]
    assert len(rpc.result("getFields", {"limit": 2})["field"]) == 2
    assert Field.objects.count() > 2


@pytest.mark.parametrize(
    "params",
    [{"where": {"label": "x"}}, {"where": {"isCustom": "maybe"}}, {"where": {"systemName": 1}},
     {"where": "x"}, {"limit": 0}],
)  # fmt: skip
def test_get_fields_errors(rpc, params):
    assert rpc.error("getFields", params)["code"] == 205


# --- robustness ---------------------------------------------------------------------------

ODD_VALUES = [None, "", "x", 0, -1, 1.5, True, [], [1, "a"], {}, {"a": [1]}, "\x00", 2**80]
PARAM_NAMES = ["id", "where", "limit", "offset", "fields", "objects", "startDate", "endDate",
               "timestamp", "memberIDs", "url"]  # fmt: skip


@pytest.mark.parametrize("method", sorted(METHODS))
def test_no_odd_value_in_any_parameter_answers_a_500(rpc, method):
    LeadFactory()
    for name in PARAM_NAMES:
        for value in ODD_VALUES:
            response = rpc.send({"method": method, "params": {name: value}, "id": 1})
            assert response.status_code == 200, (method, name, value)
            body = response.json()
            assert body["result"] is not None or body["error"]["code"] in (
                205,
                206,
                207,
                209,
            ), (method, name, value, body)


LEAD_KEYS = ["id", "ownerID", "campaignID", "leadStatus", "leadScore", "active", "firstName",
             "emailAddress", "phoneNumber", "updateTimestamp", "Custom_x"]  # fmt: skip


@pytest.mark.parametrize("method", ["createLeads", "updateLeads", "updateLeadsV2"])
def test_no_odd_value_in_a_lead_object_answers_a_500(rpc, method):
    lead = LeadFactory()
    for key in LEAD_KEYS:
        for value in ODD_VALUES:
            obj = {"id": lead.pk, "emailAddress": f"x{len(str(value))}@example.com", key: value}
            response = rpc.send({"method": method, "params": {"objects": [obj]}, "id": 1})
            assert response.status_code == 200, (method, key, value)
            checked_result(response.json())
