"""The published OpenAPI schema describes the wire: the envelope, the error answers, the
credentials of each operation; and the suite-wide conformance check (tests/openapi_check.py)
refuses an answer the schema does not describe."""

from __future__ import annotations

import json
import re

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


# --- what each input takes -------------------------------------------------------------------


def test_optional_query_parameters_may_be_sent_empty_and_required_ones_not(schema):
    seen = 0
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            seen += 1
            empty = parameter.get("allowEmptyValue", False)
            assert empty is not parameter.get("required", False), (path, parameter["name"])
    assert seen >= 26


def test_every_text_input_says_what_it_takes(schema):
    """A pattern (no NUL; not blank where blank is refused), an enum or a named format."""
    components = schema["components"]["schemas"]
    texts = 0
    for path, _method, operation in operations(schema):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        ref = body.get("schema", {}).get("$ref")
        if ref is None:
            continue
        for name, prop in components[ref.rsplit("/", 1)[1]]["properties"].items():
            prop = components[prop["$ref"].rsplit("/", 1)[1]] if "$ref" in prop else prop
            if prop.get("type") == "string":
                texts += 1
                assert "pattern" in prop or "enum" in prop, (path, name, prop)
    assert texts > 25


EMAILS = {
    "pat@example.com": True,
    "Pat.O'Brien+crm@mail.example.co.uk": True,
    '"quoted"@example.com': True,
    "pat@localhost": True,
    "pat@[192.168.0.1]": True,
    "pat@xn--mnchen-3ya.de": True,
    " pat@example.com ": True,  # trimmed
    "0@0.a": False,  # a one-letter top-level domain
    "pat@example": False,
    "pat@-example.com": False,
    "pat@[256.0.0.1]": False,
    "pat@@example.com": False,
    "pat@example.com.": False,
    "pat": False,
}
PHONES = {
    "5551234567": True,
    "+1 (555) 123-4567": True,
    "555.123.4567": True,
    "15551234567890123": False,  # 17 digits
    "12345678": False,
    "555-123-4567 ext 1": False,
    "\u0665\u0665\u0665\u0661\u0662\u0663\u0664\u0665\u0666\u0667": False,  # not ASCII digits
}


@pytest.mark.parametrize(("value", "valid"), EMAILS.items())
def test_the_email_pattern_is_what_the_server_takes(schema, api, value, valid):
    pattern = schema["components"]["schemas"]["LeadInput"]["properties"]["email"]["pattern"]
    assert bool(re.fullmatch(pattern, value)) is valid
    data = {"first_name": "Pat", "last_name": "Buyer", "email": value, "phone": "5551234567"}
    assert api.post("create/lead/", data).status_code == (201 if valid else 400)


@pytest.mark.parametrize(("value", "valid"), PHONES.items())
def test_the_phone_pattern_is_what_the_server_takes(schema, api, value, valid):
    pattern = schema["components"]["schemas"]["LeadInput"]["properties"]["phone"]["pattern"]
    assert bool(re.fullmatch(pattern, value)) is valid
    data = {"first_name": "Pat", "last_name": "Buyer", "email": "pat@example.com", "phone": value}
    assert api.post("create/lead/", data).status_code == (201 if valid else 400)


@pytest.mark.parametrize("value", ["\x1c", "\u2028 \x85", "\u3000\t"])
def test_whitespace_alone_is_blank_to_the_pattern_and_the_server(schema, api, value):
    pattern = schema["components"]["schemas"]["NoteInput"]["properties"]["note"]["pattern"]
    assert not re.fullmatch(pattern, value)
    response = api.post("create/leadnote/", {"slug": "any", "note": value})
    assert response.json()["errors"]["note"] == ["This field may not be blank."]


def test_options_is_refused_as_a_method_no_endpoint_serves(api):
    response = api.client.options("/api/v1/leads/list/", headers=api.headers)
    assert response.status_code == 405
    assert response.json()["errors"] == {"detail": ['Method "OPTIONS" not allowed.']}
