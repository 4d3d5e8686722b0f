"""OpenAPI: describe the two credentials, publish each endpoint once (not its aliases), and say
what goes over the wire: every answer in the envelope, every error status with its documented
messages, and which credentials each operation needs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from crm import outage
from crm.domain import READ_ONLY_KEY

DOCUMENTED_PREFIXES = ("/api/v1/leads/", "/api/v1/user/")
# The token endpoints answer the bare tokens, as the source API does; every other answer is
# in the envelope.
BARE = frozenset({"/api/v1/user/login/", "/api/v1/user/token/refresh/"})
# Sign-in, refresh and logout need the integration's key but no user token.
KEY_ONLY = frozenset({*BARE, "/api/v1/user/logout/"})

ERROR = "ErrorEnvelope"

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
                help_text="False when ``count`` stopped at 1,000 rows."
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
    answers of every operation, and the credentials of the token endpoints."""
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
            for status in ERRORS:
                if status not in responses:
                    responses[status] = _error_response(status)
            if path in KEY_ONLY:
                operation["security"] = [{"ApiKey": []}]
    return result
