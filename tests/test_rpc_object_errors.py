"""Object-level errors as the production JSON-RPC API reports them: each object keeps its own
``{"success", "error"}`` entry in the result, in order, and the call's top-level ``error`` lists
exact copies of the failed entries' ``error`` values, in the same order (``null`` only when
every object succeeded). Partner libraries written against production check that list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import DELETED_STATUS, CallLog, Lead
from tests.factories import LeadFactory

WHEN = (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
INVALID_EMAIL = {"code": 302, "message": "Invalid field values",
                 "data": [{"field": "emailAddress", "message": "Invalid email."}]}  # fmt: skip
MISSING = {"code": 404, "message": "Entry does not exist", "data": []}
INVALID_ID = {"code": 302, "message": "Invalid field values",
              "data": [{"field": "id", "message": "Expected an id."}]}  # fmt: skip
INVALID_TIMESTAMP = {"code": 302, "message": "Invalid field values",
                     "data": [{"field": "timestamp",
                               "message": "Expected a timestamp as Y-m-d H:i:s."}]}  # fmt: skip


def mixed_batch(method: str) -> tuple[str, list, list]:
    """A batch for ``method``: valid, failing, failing, valid; the result key and the two
    failures' expected ``error`` values."""
    first, second = LeadFactory(), LeadFactory()
    if method == "createLeads":
        LeadFactory(email="taken@example.com")
        objects = [
            {"emailAddress": "first@example.com"},
            {"emailAddress": "taken@example.com"},
            {"emailAddress": "not-an-email"},
            {"emailAddress": "second@example.com"},
        ]
        duplicate = {"code": 301, "message": "Entry already exists", "data": []}
        return "creates", objects, [duplicate, INVALID_EMAIL]
    if method in ("updateLeads", "updateLeadsV2"):
        objects = [
            {"id": first.pk, "city": "Lisbon"},
            {"id": 999_999_999, "city": "Porto"},
            {"id": second.pk, "emailAddress": "not-an-email"},
            {"id": second.pk, "city": "Braga"},
        ]
        return "updates", objects, [MISSING, INVALID_EMAIL]
    if method == "deleteLeads":
        objects = [{"id": first.pk}, {"id": 999_999_999}, {"id": "abc"}, {"id": second.pk}]
        return "deletes", objects, [MISSING, INVALID_ID]
    objects = [
        {"leadID": first.pk, "timestamp": WHEN, "duration": 60},
        {"leadID": 999_999_999, "timestamp": WHEN},
        {"leadID": second.pk, "timestamp": "noon"},
        {"leadID": second.pk, "timestamp": WHEN},
    ]
    return "calls", objects, [MISSING, INVALID_TIMESTAMP]


BATCH_METHODS = ["createLeads", "updateLeads", "updateLeadsV2", "deleteLeads", "logCalls"]


@pytest.mark.parametrize("method", BATCH_METHODS)
def test_a_mixed_batch_lists_the_failed_objects_errors_at_top_level(rpc, method):
    key, objects, failures = mixed_batch(method)
    body = rpc.call(method, {"objects": objects})
    entries = body["result"][key]
    assert [e["success"] for e in entries] == ["true", "false", "false", "true"]
    assert [e["error"] for e in entries] == [None, *failures, None]
    assert body["error"] == failures
    assert body["error"] == [entries[1]["error"], entries[2]["error"]]


@pytest.mark.parametrize("method", BATCH_METHODS)
def test_an_all_success_batch_answers_error_null(rpc, method):
    key, objects, _failures = mixed_batch(method)
    good = [objects[0], objects[3]]
    body = rpc.call(method, {"objects": good})
    assert [e["success"] for e in body["result"][key]] == ["true", "true"]
    assert body["error"] is None


def test_the_mixed_create_writes_exactly_the_valid_objects(rpc):
    _key, objects, _failures = mixed_batch("createLeads")
    rpc.call("createLeads", {"objects": objects})
    created = Lead.objects.filter(email__in=["first@example.com", "second@example.com"])
    assert created.count() == 2
    assert not Lead.objects.filter(email="not-an-email").exists()


def test_the_mixed_writes_change_exactly_the_valid_objects(rpc):
    _key, updates, _failures = mixed_batch("updateLeads")
    rpc.call("updateLeads", {"objects": updates})
    first, second = (Lead.objects.get(pk=updates[i]["id"]) for i in (0, 3))
    assert (first.city, second.city) == ("Lisbon", "Braga")
    assert second.email != "not-an-email"
    _key, deletes, _failures = mixed_batch("deleteLeads")
    rpc.call("deleteLeads", {"objects": deletes})
    gone = Lead.objects.filter(pk__in=[deletes[0]["id"], deletes[3]["id"]])
    assert set(gone.values_list("status_id", flat=True)) == {DELETED_STATUS}
    _key, calls, _failures = mixed_batch("logCalls")
    rpc.call("logCalls", {"objects": calls})
    assert CallLog.objects.count() == 2


def test_malformed_objects_are_listed_at_top_level_too(rpc):
    body = rpc.call("createLeads", {"objects": ["text", {"emailAddress": "ok@example.com"}]})
    malformed = {"code": 208, "message": "Object is malformed (expected array, got scalar).",
                 "data": []}  # fmt: skip
    assert body["result"]["creates"][0]["error"] == malformed
    assert body["error"] == [malformed]


@pytest.mark.parametrize("method", BATCH_METHODS)
def test_api_level_errors_keep_one_error_object_and_no_result(rpc, method):
    body = rpc.call(method, {"objects": [{}] * 501})
    assert body["result"] is None
    assert body["error"]["code"] == 209
    body = rpc.call(method, {})
    assert (body["result"], body["error"]["code"]) == (None, 207)


def test_read_methods_answer_error_null(rpc):
    LeadFactory()
    body = rpc.call("getLeads", {"where": {}})
    assert body["error"] is None and len(body["result"]["lead"]) == 1
