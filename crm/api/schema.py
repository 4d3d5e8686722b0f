"""OpenAPI: describe the two credentials, publish each endpoint once (not its aliases), and say
what goes over the wire: every answer in the envelope, every error status with its documented
messages, and which credentials each operation needs."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.drainage import has_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers

from crm import outage
from crm.domain import READ_ONLY_KEY
from crm.pagination import COUNT_LIMIT, SEARCH_COUNT_LIMIT

DOCUMENTED_PREFIXES = ("/api/v1/leads/", "/api/v1/user/")
# The token endpoints answer the bare tokens, as the source API does; every other answer is
# in the envelope.
BARE = frozenset({"/api/v1/user/login/", "/api/v1/user/token/refresh/"})
# Sign-in, refresh and logout need the integration's key but no user token.
KEY_ONLY = frozenset({*BARE, "/api/v1/user/logout/"})

ERROR = "ErrorEnvelope"

# Whitespace as the server sees it (Python's ``str.strip``, ``\s`` of ``re``), spelled out for
# a character class: a schema's patterns are ECMA-262, whose ``\s`` differs.
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Text as the API reads it: no NUL character anywhere (PostgreSQL cannot store one), and, where
# a value may not be blank, at least one character that is not whitespace (values are trimmed,
# so whitespace alone is blank).
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = rf"^[^\x00]*[^\x00{SPACE}][^\x00]*$"

# Every operation may answer these (crm.api.envelope.exception_handler), with examples.
ERRORS: dict[str, tuple[str, dict[str, tuple[str, dict[str, list[str]]]]]] = {
    "400": (
        "Invalid input: each field's messages (the source API's, verbatim).",
        {"required": ("Validation Error", {"slug": ["This field is required."]})},
    ),
    "401": (
        "Missing or refused credentials, or a change the user may not make.",
        {
            "key_missing": (
                "Authentication failed",
                {"detail": ["API key is missing: send it in the apikey header."]},
            ),
            "token": ("Authentication failed", {"detail": ["Access token is invalid or expired."]}),
            "not_owner": ("Request Failed", {"detail": ["You are not owner of this lead."]}),
        },
    ),
    "403": (
        "The API key's scope refuses the request (a read-only key, or one that acts as another "
        "user).",
        {
            "read_only": ("Request Failed", {"detail": [READ_ONLY_KEY]}),
        },
    ),
    "404": ("Nothing is served here.", {"not_found": ("Not Found", {"detail": ["Not found."]})}),
    "405": (
        "The method is not served here.",
        {"method": ("Request Failed", {"detail": ['Method "PUT" not allowed.']})},
    ),
    "406": (
        "No answer in the asked format (JSON only).",
        {
            "accept": (
                "Request Failed",
                {"detail": ["Could not satisfy the request Accept header."]},
            )
        },
    ),
    "413": (
        "The request body is too large.",
        {"size": ("Request Failed", {"detail": ["Request body is too large."]})},
    ),
    "415": (
        "The body's media type is not one the API reads (JSON, form, multipart).",
        {
            "media": (
                "Request Failed",
                {"detail": ['Unsupported media type "text/plain" in request.']},
            )
        },
    ),
    "429": (
        "Too many requests for the API key or the account; ``Retry-After`` says when to retry.",
        {
            "rate": (
                "Too Many Requests",
                {"detail": ["Request was throttled. Expected available in 1 second."]},
            )
        },
    ),
    "503": (
        "The database is out of reach for a moment; nothing was changed. ``Retry-After`` says "
        "when to retry.",
        {"outage": ("Service Unavailable", {"detail": [outage.MESSAGE]})},
    ),
}


class ApiKeyJWTScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api.authentication.ApiKeyJWTAuthentication"
    name = ["ApiKey", "BearerAuth"]

    def get_security_requirement(self, auto_schema):
        return {"ApiKey": [], "BearerAuth": []}

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "apikey"},
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        ]


def text_rule(*, blank: bool, trimmed: bool = True) -> dict[str, Any]:
    """The pattern (and least length) of a text value: see ``NO_NUL`` and ``NOT_BLANK``."""
    if blank:
        return {"pattern": NO_NUL}
    return {"minLength": 1, "pattern": NOT_BLANK if trimmed else NO_NUL}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with what each text input accepts: ``text_rule`` by the
    field's ``allow_blank`` and ``trim_whitespace``, and a field class's ``wire_schema`` (its
    format or pattern) on top. Fields with a schema of their own (``extend_schema_field``)
    keep it."""

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        for field in serializer.fields.values():
            prop = schema["properties"].get(field.field_name)
            if (
                isinstance(field, serializers.CharField)
                and not has_override(field, "field")
                and prop is not None
                and prop.get("type") == "string"
            ):
                prop.update(text_rule(blank=field.allow_blank, trimmed=field.trim_whitespace))
                prop.update(getattr(field, "wire_schema", {}))
        return schema


def filter_parameters(filterset, descriptions: dict[str, str] | None = None) -> list:
    """The query parameters of a django-filter ``filterset``, as its form fields read them:
    text (``max_length``, no NUL; whitespace alone is no filter), a choice (its values), an
    RFC 3339 date-time, or an ordering (a comma-separated list of its choices)."""
    from django import forms
    from django_filters import OrderingFilter
    from django_filters.fields import IsoDateTimeField
    from drf_spectacular.utils import OpenApiParameter

    descriptions = descriptions or {}
    parameters = []
    for name, filter_ in filterset.base_filters.items():
        field = filter_.field
        style: dict[str, Any] = {}
        if isinstance(filter_, OrderingFilter):
            choices = [value for value, _label in field.choices if value]
            schema: dict[str, Any] = {"type": "array", "items": {"type": "string", "enum": choices}}
            style = {"style": "form", "explode": False}
        elif isinstance(field, forms.ChoiceField):
            schema = {"type": "string", "enum": [value for value, _ in field.choices if value]}
        elif isinstance(field, IsoDateTimeField):
            schema = {"type": "string", "format": "date-time"}
        else:
            schema = {"type": "string", "maxLength": field.max_length, **text_rule(blank=True)}
        parameters.append(
            OpenApiParameter(name, schema, description=descriptions.get(name), **style)
        )
    return parameters


def page_parameters() -> list:
    """``offset`` and ``limit`` of the lists, as ``crm.api.pagination`` reads them."""
    from drf_spectacular.utils import OpenApiParameter

    return [
        OpenApiParameter(
            "offset", {"type": "integer", "minimum": 0}, description="Rows to skip (0)."
        ),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1},
            description="Rows per page: 20 by default; more than 100 gives 100.",
        ),
    ]


def page_of(serializer_class, name: str):
    """The ``data`` of an offset or cursor page of ``serializer_class`` rows."""
    from drf_spectacular.utils import inline_serializer
    from rest_framework import serializers

    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(min_value=0),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
            "count_exact": serializers.BooleanField(
                help_text=f"False when ``count`` stopped at its bound: {COUNT_LIMIT:,} rows, "
                f"{SEARCH_COUNT_LIMIT} for a search."
            ),
        },
    )


def drop_aliases(endpoints, **kwargs):
    return [e for e in endpoints if e[0].startswith(DOCUMENTED_PREFIXES)]


def _envelope(status: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status_code", "errors", "data"],
        "properties": {
            "status_code": {"type": "integer", "enum": [status]},
            "errors": {"type": "object", "maxProperties": 0},
            "data": data,
        },
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status_code", "error_type", "errors", "data"],
        "properties": {
            "status_code": {"type": "integer"},
            "error_type": {"type": "string"},
            "errors": {
                "type": "object",
                "description": "Messages by field (``detail`` when no one field is at fault).",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
            "data": {"type": "object", "maxProperties": 0},
        },
    }


def _error_response(status: str) -> dict[str, Any]:
    description, examples = ERRORS[status]
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{ERROR}"},
                "examples": {
                    name: {
                        "value": {
                            "status_code": int(status),
                            "error_type": kind,
                            "errors": errors,
                            "data": {},
                        }
                    }
                    for name, (kind, errors) in examples.items()
                },
            }
        },
    }


def describe_wire(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """Postprocessing hook: the envelope around every answer but the bare tokens, the error
    answers of every operation, the credentials of the token endpoints, and empty optional
    query parameters."""
    result["components"]["schemas"][ERROR] = _error_schema()
    for path, operations in result["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            for status, response in list(responses.items()):
                if path in BARE or not status.startswith("2"):
                    continue
                content = response.setdefault("content", {}).get("application/json", {})
                data = content.get("schema") or {"type": "object"}
                response["content"] = {"application/json": {"schema": _envelope(int(status), data)}}
            for parameter in operation.get("parameters", []):
                # An optional parameter sent empty (``?offset=``) is read as not sent.
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            for status in ERRORS:
                if status not in responses:
                    responses[status] = _error_response(status)
            if path in KEY_ONLY:
                operation["security"] = [{"ApiKey": []}]
    return result
