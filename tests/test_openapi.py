"""The published OpenAPI schema describes the wire: the envelope, the error answers, the
credentials of each operation; and the suite-wide conformance check (tests/openapi_check.py)
refuses an answer the schema does not describe."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.http import JsonResponse
from django.test import RequestFactory

from crm.api.schema import BARE, ERROR, ERRORS, KEY_ONLY
from tests import openapi_check

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict:
    return openapi_check.published().spec.read_value()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_schema_is_valid_and_warning_free(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
                 "--file", str(out))  # fmt: skip
    assert json.loads(out.read_text())["openapi"].startswith("3.")


def test_each_operation_names_its_credentials(schema):
    assert {"ApiKey", "BearerAuth"} <= set(schema["components"]["securitySchemes"])
    for path, _method, operation in operations(schema):
        expected = [{"ApiKey": []}] if path in KEY_ONLY else [{"ApiKey": [], "BearerAuth": []}]
        assert operation["security"] == expected, path


def test_success_answers_are_in_the_envelope_but_the_bare_tokens(schema):
    for path, _method, operation in operations(schema):
        successes = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        assert successes, path
        for response in successes.values():
            body = response["content"]["application/json"]["schema"]
            if path in BARE:
                assert "access" in json.dumps(body) or "$ref" in body, path
            else:
                assert body["required"] == ["status_code", "errors", "data"], path


def test_every_operation_documents_its_error_answers_with_examples(schema):
    for path, _method, operation in operations(schema):
        for status in ERRORS:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": f"#/components/schemas/{ERROR}"}, path
            for example in content["examples"].values():
                assert example["value"]["status_code"] == int(status)
                assert example["value"]["data"] == {}


def test_the_check_refuses_an_answer_the_schema_does_not_describe():
    request = RequestFactory().get("/api/v1/leads/list/")
    page = {"count": 0, "next": None, "previous": None, "results": [], "count_exact": True}
    fine = JsonResponse({"status_code": 200, "errors": {}, "data": page})
    assert openapi_check.problems(request, fine) == []
    bare = JsonResponse([], safe=False)  # no envelope
    assert openapi_check.problems(request, bare)
    wrong = JsonResponse({"status_code": 200, "errors": {}, "data": {**page, "count": "many"}})
    assert openapi_check.problems(request, wrong)
    undocumented = JsonResponse({"detail": "I'm a teapot"}, status=418)
    assert openapi_check.problems(request, undocumented)


def test_the_suite_checks_the_answers_it_receives(api):
    before = openapi_check.seen["checked"]
    assert api.get("list/").status_code == 200
    assert api.get("view/lead/", {"slug": "nope"}).status_code == 400
    assert openapi_check.seen["checked"] == before + 2
