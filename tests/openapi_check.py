"""Every answer of the REST API in the test suite is checked against the published OpenAPI
schema (``/api/schema/``): a middleware of the test settings validates each response to a
documented path with openapi-core and fails the test that received one the schema does not
describe (its status, its envelope, its fields and their types)."""

from __future__ import annotations

import functools
import json
import os

from django.core.exceptions import SuspiciousOperation
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound

from crm.api.schema import DOCUMENTED_PREFIXES

# What the checks saw, for the test that asserts they ran.
seen = {"checked": 0}


@functools.cache
def published() -> OpenAPI:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenAPI.from_dict(json.loads(OpenApiJsonRenderer().render(schema)))


def _without_query(request):
    """The request without its query string (for matching the operation only)."""
    from django.test import RequestFactory

    return RequestFactory().generic(request.method, request.path)


def problems(request, response) -> list[str]:
    """What the schema says is wrong with ``response`` (empty when it conforms)."""
    try:
        errors = list(
            published().iter_response_errors(
                DjangoOpenAPIRequest(request), DjangoOpenAPIResponse(response)
            )
        )
    except SuspiciousOperation:  # a query string Django refuses to read (too many fields)
        errors = list(
            published().iter_response_errors(
                DjangoOpenAPIRequest(_without_query(request)), DjangoOpenAPIResponse(response)
            )
        )
    out: list[str] = []
    for error in errors:
        if isinstance(error, OperationNotFound) and response.status_code == 405:
            continue  # a method the path does not serve, refused as such
        out.append(type(error).__name__)
        cause = error.__cause__
        for detail in getattr(cause, "schema_errors", None) or [cause] if cause else []:
            path = list(getattr(detail, "absolute_path", []))
            line = f"  {getattr(detail, 'message', detail)} at {path}"[:300]
            if line not in out:
                out.append(line)
    return out


class ConformanceMiddleware:
    """Test settings only: refuse (raise in the test) any documented-path answer that does
    not conform."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(DOCUMENTED_PREFIXES) or response.status_code == 404:
            return response  # aliases serve the same views; unknown paths are not operations
        found = problems(request, response)
        seen["checked"] += 1
        if found and os.environ.get("OPENAPI_COLLECT"):  # gather every mismatch, fail none
            with open(os.environ["OPENAPI_COLLECT"], "a") as out:
                out.write(f"{request.method} {request.path} {response.status_code}\n")
                out.write("\n".join(found) + "\n")
        elif found:
            body = response.content[:600].decode(errors="replace")
            raise AssertionError(
                f"{request.method} {request.path} answered {response.status_code}, which the "
                "OpenAPI schema does not describe:\n" + "\n".join(found) + f"\nbody: {body}"
            )
        return response
