"""The REST API's documented envelope: ``{"status_code", "errors", "data"}`` (+ ``error_type``).

Views return ``ok(...)``; failures raise ``ApiError`` (or DRF/Django errors), which the
exception handler turns into the same envelope so no error ever leaves as a bare 500 page.
The domain's refusals (``Forbidden``, ``RuleViolation``) reach the handler as they are: it is the
one place that maps them to the source API's answers (``domain_error``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from crm import outage
from crm.domain import READ_ONLY_CODE, Forbidden, RuleViolation

logger = logging.getLogger(__name__)

VALIDATION_ERROR = "Validation Error"
REQUEST_FAILED = "Request Failed"
AUTHENTICATION_FAILED = "Authentication failed"
TOO_MANY_REQUESTS = "Too Many Requests"


class ApiError(Exception):
    """An answer other than success: HTTP status, error type and ``{field: [messages]}``."""

    def __init__(self, status_code: int, error_type: str, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.status_code = status_code
        self.error_type = error_type
        self.errors = errors


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(400, VALIDATION_ERROR, {field: [message]})


def request_failed(message: str) -> ApiError:
    return ApiError(401, REQUEST_FAILED, {"detail": [message]})


# The REST names of domain fields where they differ: a lead is named by its slug.
REST_FIELDS = {"lead": "slug"}


def domain_error(exc: Forbidden | RuleViolation) -> ApiError:
    """A rule's refusal as the source API answers it: 401 with the rule's (documented) message;
    400 on the field a refusal names; 403 for a read-only key, which may not change anything."""
    if exc.code == READ_ONLY_CODE:
        return ApiError(403, REQUEST_FAILED, {"detail": [exc.message]})
    if isinstance(exc, Forbidden) and exc.field:
        return validation_error(REST_FIELDS.get(exc.field, exc.field), exc.message)
    return request_failed(exc.message)


def ok(data: Any, status_code: int = 200) -> Response:
    return Response({"status_code": status_code, "errors": {}, "data": data}, status=status_code)


def error_response(
    status_code: int, error_type: str, errors: dict[str, list[str]], headers: dict | None = None
) -> Response:
    body = {"status_code": status_code, "error_type": error_type, "errors": errors, "data": {}}
    return Response(body, status=status_code, headers=headers)


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()
        }
    if isinstance(detail, list):
        return {"detail": [str(m) for m in detail]}
    return {"detail": [str(detail)]}


def _throttled(exc: exceptions.Throttled) -> Response:
    """429 with ``Retry-After``. The API key limits (crm.api.throttling) name their limit and
    wait; DRF's own "Request was throttled." is replaced by a plain sentence saying the same."""
    wait = max(1, math.ceil(exc.wait)) if exc.wait is not None else None
    headers = {"Retry-After": str(wait)} if wait is not None else None
    errors = _flatten(exc.detail)
    if getattr(exc.detail, "code", None) == exceptions.Throttled.default_code:
        after = f"Retry after {wait} second{'' if wait == 1 else 's'}." if wait else "Retry later."
        errors = {"detail": [f"Too many requests. {after}"]}
    return error_response(429, TOO_MANY_REQUESTS, errors, headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, (Forbidden, RuleViolation)):
        exc = domain_error(exc)
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.error_type, exc.errors)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return error_response(400, VALIDATION_ERROR, errors)
    if isinstance(exc, (exceptions.AuthenticationFailed, exceptions.NotAuthenticated)):
        return error_response(401, AUTHENTICATION_FAILED, _flatten(exc.detail))
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, REQUEST_FAILED, {"detail": ["Request body is too large."]})
    if isinstance(exc, SuspiciousOperation):  # too many fields or files, a broken multipart...
        return error_response(400, VALIDATION_ERROR, {"detail": ["Malformed request."]})
    if isinstance(exc, exceptions.ParseError):
        return error_response(400, VALIDATION_ERROR, {"detail": ["Malformed request body."]})
    if isinstance(exc, exceptions.Throttled):
        return _throttled(exc)
    if isinstance(exc, exceptions.ValidationError):
        return error_response(400, VALIDATION_ERROR, _flatten(exc.detail))
    if isinstance(exc, Http404):
        return error_response(404, "Not Found", {"detail": ["Not found."]})
    if isinstance(exc, exceptions.APIException):
        return error_response(exc.status_code, REQUEST_FAILED, _flatten(exc.detail))
    if outage.unavailable(exc, f"REST {context.get('view')}"):
        return error_response(
            503,
            "Service Unavailable",
            {"detail": [outage.MESSAGE]},
            {"Retry-After": str(outage.RETRY_AFTER_SECONDS)},
        )
    logger.exception("Unhandled error in %s", context.get("view"))
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "Server Error", {"detail": ["Server error."]}
    )
