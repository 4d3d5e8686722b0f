"""``POST /api/service/lead_set/``: the lead_set service command (seed 003, SPEC §6).

The adapter of ``leads.upsert``: it authenticates the ``apikey`` header (the whole key,
``<account_id>.<secret>``), counts the request against the key's limits, reads the body
(form-urlencoded, multipart or a JSON object; ``lead_set_params`` turns the parameters into the
domain's ``LeadUpsert``), and answers what ``lead_upsert`` did or refused, mapping the domain's
error codes to this command's status codes. The domain writes everything in one transaction or
nothing; the key acts alone, with Administrator rights, and is the actor of every timeline event.

Every answer is ``{"status", "status_message", ...}``: ``0`` with ``lead_id`` on success, a code
of ``STATUS_CODES`` otherwise (the table of docs/lead_set.md), with ``errors`` (``{parameter:
[messages]}``) when parameters are invalid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, ValidationError
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from crm import outage, ratelimit
from crm.domain import READ_ONLY_CODE, Actor, DomainError, NotFound
from crm.models import ApiKey
from crm.services import api_key_authenticate
from leads.api import lead_set_params as reading
from leads.api.lead_set_params import Params
from leads.models import Lead
from leads.services import lead_choices
from leads.upsert import AMBIGUOUS, REFERENCE_REQUIRED, Ambiguous, lead_upsert, upsert_errors

# --- status codes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCode:
    """One answer of the command: its ``status``, the HTTP status it goes with, and what it
    means (the table of docs/lead_set.md)."""

    status: int
    http: int
    meaning: str


SUCCESS = StatusCode(0, 200, "The lead was created or updated.")
API_KEY_MISSING = StatusCode(1, 401, "The apikey header is missing or empty.")
API_KEY_INVALID = StatusCode(2, 401, "The API key is unknown or revoked.")
RATE_LIMITED_SECOND = StatusCode(
    3, 429, "Too many requests this second for this API key; retry after Retry-After seconds."
)
RATE_LIMITED_DAY = StatusCode(
    4, 429, "The API key's daily request budget is used up; retry after Retry-After seconds."
)
METHOD_NOT_ALLOWED = StatusCode(5, 405, "The request is not a POST.")
MALFORMED_REQUEST = StatusCode(
    6,
    400,
    "The body cannot be read: broken JSON or multipart, a JSON body that is not an object, "
    "too many fields.",
)
REQUEST_TOO_LARGE = StatusCode(7, 413, "The request body is larger than the server accepts.")
INVALID_MODE = StatusCode(8, 400, "mode is missing, or is neither insert nor update.")
LEAD_REFERENCE_REQUIRED = StatusCode(9, 400, "mode=update without lead_id or external_id.")
LEAD_NOT_FOUND = StatusCode(10, 404, "No live lead has this lead_id or external_id.")
AMBIGUOUS_LEAD = StatusCode(
    11,
    409,
    "Several live leads have this external_id, or match_update matched several leads; "
    "matches lists their ids.",
)
VALIDATION_FAILED = StatusCode(
    12, 422, "Parameters are invalid; errors gives the messages by parameter."
)
NOTES_MALFORMED = StatusCode(13, 400, 'notes is not a JSON list of {"Status", "Notes"} objects.')
# 14 and 15 (a follow-up appointment in the past, or double-booked) are retired: followup_date
# sets the lead's follow-up task, which any time suits. Their numbers are not given again.
FILE_TOO_LARGE = StatusCode(16, 413, "The uploaded file is larger than the configured limit.")
REFUSED = StatusCode(17, 422, "The change was refused for another reason; the message says why.")
UNAVAILABLE = StatusCode(18, 503, "The database is out of reach for a moment; retry later.")
READ_ONLY_KEY = StatusCode(19, 403, "The API key is read-only; lead_set always writes.")

STATUS_CODES: tuple[StatusCode, ...] = (
    SUCCESS,
    API_KEY_MISSING,
    API_KEY_INVALID,
    RATE_LIMITED_SECOND,
    RATE_LIMITED_DAY,
    METHOD_NOT_ALLOWED,
    MALFORMED_REQUEST,
    REQUEST_TOO_LARGE,
    INVALID_MODE,
    LEAD_REFERENCE_REQUIRED,
    LEAD_NOT_FOUND,
    AMBIGUOUS_LEAD,
    VALIDATION_FAILED,
    NOTES_MALFORMED,
    FILE_TOO_LARGE,
    REFUSED,
    UNAVAILABLE,
    READ_ONLY_KEY,
)

INSERTED = "Lead Creation Successful"
UPDATED = "Lead Update Successful"

# The domain's error codes, and why a call is unreadable -> the status code they answer (a
# NotFound: LEAD_NOT_FOUND; any other refusal: REFUSED).
CODES = {
    REFERENCE_REQUIRED: LEAD_REFERENCE_REQUIRED,
    AMBIGUOUS: AMBIGUOUS_LEAD,
    "file_too_large": FILE_TOO_LARGE,
    READ_ONLY_CODE: READ_ONLY_KEY,
    reading.INVALID_MODE: INVALID_MODE,
    reading.NOTES_MALFORMED: NOTES_MALFORMED,
}
KNOWN_PARAMETERS = reading.KNOWN_PARAMETERS  # every parameter the command reads


class Failure(Exception):
    """An answer other than success."""

    def __init__(
        self,
        code: StatusCode,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JsonResponse:
        return answer(self.code, self.message, headers=self.headers, **self.extra)


def answer(
    code: StatusCode, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JsonResponse:
    body = {"status": code.status, "status_message": message, **extra}
    response = JsonResponse(body, status=code.http)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def invalid(errors: dict[str, list[str]]) -> Failure:
    names = ", ".join(errors)
    return Failure(VALIDATION_FAILED, f"Invalid parameters: {names}.", errors=errors)


def refusal(exc: ValidationError | DomainError, params: Params) -> Failure:
    """The answer to the domain's refusal, its fields named by the parameters that set them."""
    if isinstance(exc, ValidationError):
        if not hasattr(exc, "error_dict"):
            return invalid({"detail": exc.messages})
        return invalid(params.named(exc.message_dict))
    if isinstance(exc, NotFound):
        return Failure(LEAD_NOT_FOUND, exc.message)
    if isinstance(exc, Ambiguous):
        return Failure(AMBIGUOUS_LEAD, exc.message, matches=exc.matches)
    extra = {"errors": params.named({exc.field: [exc.message]})} if exc.field else {}
    return Failure(CODES.get(exc.code, REFUSED), exc.message, **extra)


# --- the endpoint -----------------------------------------------------------------------------


def run(actor: Actor, params: Params) -> tuple[Lead, bool]:
    """Read the command and have the domain carry it out; returns the lead and whether it is
    new. Values that cannot be read are reported with those the domain refuses."""
    choices = lead_choices()
    try:
        command = reading.parse(params, choices)
    except reading.Unreadable as exc:
        raise Failure(CODES[exc.code], exc.message) from None
    if params.errors:
        found = params.named(upsert_errors(command, choices))
        raise invalid({**found, **params.errors})
    try:
        return lead_upsert(actor=actor, command=command, choices=choices)
    except (ValidationError, DomainError) as exc:
        raise refusal(exc, params) from None


def authenticate(request: HttpRequest) -> ApiKey:
    """The request's API key, counted against its limits."""
    raw = request.headers.get("apikey", "")
    if not raw.strip():
        raise Failure(API_KEY_MISSING, "API key is missing: send it whole in the apikey header.")
    key = api_key_authenticate(raw)
    if key is None:
        raise Failure(API_KEY_INVALID, "API key is invalid or revoked.")
    verdict = ratelimit.hit(key)
    if not verdict.allowed:
        wait = verdict.retry_after
        headers = {"Retry-After": str(wait)}
        if verdict.period == ratelimit.DAY:
            limit = settings.CRM["RATE_LIMIT_PER_DAY"]
            raise Failure(
                RATE_LIMITED_DAY,
                f"Daily limit of {limit} requests reached; retry in {wait} seconds.",
                headers=headers,
            )
        limit = settings.CRM["RATE_LIMIT_PER_SECOND"]
        raise Failure(
            RATE_LIMITED_SECOND,
            f"Rate limit of {limit} requests per second exceeded; retry in {wait} seconds.",
            headers=headers,
        )
    return key


def read_body(request: HttpRequest) -> Params:
    """The parameters of a JSON object body, or of a form (urlencoded or multipart)."""
    try:
        if request.content_type == "application/json":
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise Failure(MALFORMED_REQUEST, "The JSON body must be an object of parameters.")
            return Params(body, {})
        raw = {name: request.POST.get(name) for name in request.POST}
        files = {name: request.FILES[name] for name in request.FILES}
        return Params(raw, files)
    except RequestDataTooBig:
        raise Failure(REQUEST_TOO_LARGE, "The request body is too large.") from None
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
        raise Failure(MALFORMED_REQUEST, "The body is not valid JSON.") from None
    except (SuspiciousOperation, MultiPartParserError):
        raise Failure(MALFORMED_REQUEST, "The form body cannot be read.") from None


@csrf_exempt  # a partner's server calls it with an API key; no browser session is involved
def lead_set(request: HttpRequest) -> JsonResponse:
    try:
        if request.method != "POST":
            raise Failure(METHOD_NOT_ALLOWED, "Send a POST request.", headers={"Allow": "POST"})
        key = authenticate(request)
        lead, created = run(Actor.for_key(key), read_body(request))
    except Failure as failure:
        return failure.response()
    except outage.UNAVAILABLE as exc:
        outage.unavailable(exc, "lead_set")
        retry = {"Retry-After": str(outage.RETRY_AFTER_SECONDS)}
        return answer(UNAVAILABLE, outage.MESSAGE, headers=retry)
    return answer(SUCCESS, INSERTED if created else UPDATED, lead_id=lead.pk)
