"""``POST /api/service/lead_set/``: the lead_set service command (seed 003, SPEC §6).

A thin adapter over the domain layer. It authenticates the ``apikey`` header (the whole key,
``<account_id>.<secret>``), counts the request against the key's limits, reads the parameters
(form-urlencoded, multipart or a JSON object), finds the lead to update (``lead_id``,
``external_id`` or duplicate matching) and calls the services in one transaction:
``lead_create`` / ``lead_update``, ``note_create``, ``lead_followup_set``, ``lead_file_attach``.
Any failure writes nothing. The key acts alone, with Administrator rights, and is the actor of
every timeline event.

Every answer is ``{"status", "status_message", ...}``: ``0`` with ``lead_id`` on success, a code
of ``STATUS_CODES`` otherwise (the table of docs/lead_set.md), with ``errors`` (``{parameter:
[messages]}``) when parameters are invalid.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from appointments.services import lead_followup_set
from crm import outage, ratelimit
from crm import selectors as user_selectors
from crm.domain import (
    NOT_A_CHOICE,
    READ_ONLY_CODE,
    Actor,
    DomainError,
    NotFound,
    unstorable,
    yes_no,
)
from crm.models import ApiKey
from crm.services import api_key_authenticate
from leads import rules
from leads.access import lead_for_actor, visible_leads
from leads.bulk import lock_emails
from leads.models import Lead, LeadFile
from leads.selectors import duplicate_leads
from leads.services import (
    REQUIRED,
    LeadChoices,
    lead_choices,
    lead_create,
    lead_errors,
    lead_file_attach,
    lead_file_check_size,
    lead_update,
    note_create,
)

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
FOLLOWUP_IN_PAST = StatusCode(
    14, 422, "followup_date would book the owner's follow-up appointment in the past."
)
FOLLOWUP_CONFLICT = StatusCode(
    15, 409, "followup_date overlaps another appointment of the lead's owner."
)
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
    FOLLOWUP_IN_PAST,
    FOLLOWUP_CONFLICT,
    FILE_TOO_LARGE,
    REFUSED,
    UNAVAILABLE,
    READ_ONLY_KEY,
)

INSERTED = "Lead Creation Successful"
UPDATED = "Lead Update Successful"

# Domain error codes -> the status code they answer.
DOMAIN_CODES = {
    "start_in_past": FOLLOWUP_IN_PAST,
    "conflict": FOLLOWUP_CONFLICT,
    "file_too_large": FILE_TOO_LARGE,
    READ_ONLY_CODE: READ_ONLY_KEY,
}


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


# --- parameters -------------------------------------------------------------------------------

INSERT, UPDATE = "insert", "update"
MAX_ID = 2**63 - 1
MAX_NOTES = 100
FULL_NAME_LENGTH = 511  # a first and a last name of 255 characters, and a space
LISTED_MATCHES = 20
# birth_date given as MM-DD is stored in this leap year (so 02-29 is kept): the year address
# books use for a birthday without a year.
NO_YEAR = 1604
GMT_OFFSET_RANGE = (-(2**31), 2**31 - 1)

# Parameters written to a lead field as text (lead_set name -> Lead field).
TEXT_FIELDS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "address": "street",
    "address_2": "address_2",
    "city": "city",
    "state": "state",
    "zip": "zipcode",
    "country": "country",
    "phone": "phone",
    "cell": "mobile_phone",
    "fax": "fax",
    "skype": "skype",
    "besttime": "best_time",
    "priority": "priority",
    "email": "email",
    "pool": "pool",
    "sub_id": "sub_id",
    "sub_id2": "sub_id2",
    "external_id": "external_id",
    "admin_notes": "description",
}
# Every other parameter the command knows; anything else is a custom field's system name.
OTHER_PARAMETERS = frozenset(
    {
        "mode",
        "lead_id",
        "full_name",
        "lat",
        "lng",
        "ip",
        "ok_to_text",
        "gmt_offset",
        "birth_date",
        "status",
        "custom_status",
        "source",
        "ownerID",
        "tags",
        "note",
        "notes",
        "followup_date",
        "upload_file_name",
        "upload_file_contents",
        "upload_file_encoding",
        "govt_id",
        "match_update",
        "match_name_and_address",
        "match_name_and_phone",
    }
)
KNOWN_PARAMETERS = OTHER_PARAMETERS | set(TEXT_FIELDS)
# Lead fields whose errors are reported under another parameter name.
PARAMETER_OF = {
    **{model: name for name, model in TEXT_FIELDS.items()},
    "lat": "lat",
    "lng": "lng",
    "ip": "ip",
    "ok_to_text": "ok_to_text",
    "gmt_offset": "gmt_offset",
    "birth_date": "birth_date",
    "source": "source",
    "owner": "ownerID",
    "followup_date": "followup_date",
}


class Params:
    """The request's parameters, read one at a time; problems collect in ``errors``."""

    def __init__(self, raw: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.raw = raw
        self.files = files
        self.errors: dict[str, list[str]] = {}

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def given(self, name: str) -> bool:
        return name in self.raw

    def raw_text(self, name: str) -> str | None:
        """The value as text, unstripped: None when absent or unusable (with an error), ""
        for an empty value or JSON null; numbers as written, true/false as 1/0."""
        if name not in self.raw:
            return None
        value = self.raw[name]
        if value is None:
            return ""
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif not isinstance(value, str):
            self.error(name, "Enter a single value.")
            return None
        problem = unstorable(value)
        if problem:
            self.error(name, problem)
            return None
        return value

    def text(self, name: str) -> str | None:
        value = self.raw_text(name)
        return value.strip() if value is not None else None

    def flag(self, name: str) -> bool:
        value = self.text(name)
        answer = yes_no(value) if value else False
        if answer is None:
            self.error(name, "Enter 1 or 0.")
        return bool(answer)

    def row_id(self, name: str, message: str) -> int | None:
        value = self.text(name)
        if not value:
            return None
        if re.fullmatch(r"[0-9]{1,19}", value) and 1 <= int(value) <= MAX_ID:
            return int(value)
        self.error(name, message)
        return None


@dataclass
class Command:
    """What a call asks for, in the domain's terms."""

    mode: str
    lead_id: int | None = None
    match_kinds: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[str] | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)  # (parameter, text)
    followup_given: bool = False
    followup: dt.datetime | None = None
    upload: tuple[str, bytes] | None = None
    # Lead fields and custom fields -> the parameter that set them, for error messages.
    parameter_of: dict[str, str] = field(default_factory=lambda: dict(PARAMETER_OF))

    @property
    def external_id(self) -> str:
        return self.data.get("external_id") or ""


def read_mode(params: Params) -> str:
    mode = params.text("mode")
    if not mode:
        raise Failure(INVALID_MODE, 'mode is required: "insert" or "update".')
    if mode.lower() not in (INSERT, UPDATE):
        shown = mode if len(mode) <= 50 else mode[:50] + "..."
        raise Failure(INVALID_MODE, f'"{shown}" is not a valid mode: use "insert" or "update".')
    return mode.lower()


def parse(params: Params, choices: LeadChoices) -> Command:
    """The command the parameters describe, from the values that could be read; what could
    not be read is in ``params.errors``. Raises ``Failure`` for a mode or notes unusable."""
    command = Command(mode=read_mode(params))
    _read_target(params, command)
    _read_lead_fields(params, command, choices)
    _read_names(params, command)
    creating = command.mode == INSERT
    for name in rules.missing_contact_fields(rules.LEAD_SET, command.data, creating=creating):
        params.error(command.parameter_of.get(name, name), REQUIRED)
    _read_tags(params, command)
    _read_custom(params, command, choices)
    _read_notes(params, command)
    _read_followup(params, command)
    _read_upload(params, command)
    return command


def _read_target(params: Params, command: Command) -> None:
    command.lead_id = params.row_id("lead_id", "Enter a lead id (a whole number).")
    if command.mode == INSERT and command.lead_id is not None:
        params.error(
            "lead_id", "lead_id is for mode=update; to update a matching lead use match_update=1."
        )
    if params.flag("match_update"):
        command.match_kinds = ["email"]
        if params.flag("match_name_and_address"):
            command.match_kinds.append("name_address")
        if params.flag("match_name_and_phone"):
            command.match_kinds.append("name_phone")
    else:
        params.flag("match_name_and_address")
        params.flag("match_name_and_phone")


def _read_lead_fields(params: Params, command: Command, choices: LeadChoices) -> None:
    data = command.data
    for name, model_field in TEXT_FIELDS.items():
        value = params.text(name)
        if value is not None:
            data[model_field] = value
    for name in ("lat", "lng"):
        value = params.text(name)
        if value is not None:
            number = _decimal(params, name, value)
            if number is not False:
                data[name] = number
    ip = params.text("ip")
    if ip is not None:
        data["ip"] = ip or None
    ok_to_text = params.text("ok_to_text")
    if ok_to_text is not None:
        answer = yes_no(ok_to_text) if ok_to_text else None
        if ok_to_text and answer is None:
            params.error("ok_to_text", 'Enter "Yes" or "No".')
        else:
            data["ok_to_text"] = answer
    offset = params.text("gmt_offset")
    if offset is not None:
        if not offset:
            data["gmt_offset"] = None
        elif re.fullmatch(r"[+-]?[0-9]{1,10}", offset) and (
            GMT_OFFSET_RANGE[0] <= int(offset) <= GMT_OFFSET_RANGE[1]
        ):
            data["gmt_offset"] = int(offset)
        else:
            params.error("gmt_offset", "Enter a whole number.")
    birth_date = params.text("birth_date")
    if birth_date is not None:
        parsed = _birth_date(birth_date)
        if parsed is False:
            params.error("birth_date", "Enter a date as YYYY-MM-DD or MM-DD.")
        else:
            data["birth_date"] = parsed
    _read_status(params, command, choices)
    source = params.text("source")
    if source is not None:
        key = rules.resolve_choice(source, choices.sources) if source else None
        if source and key is None:
            params.error("source", NOT_A_CHOICE.format(source))
        else:
            data["source"] = key
    owner_id = params.text("ownerID")
    if owner_id is not None:
        if not owner_id:
            data["owner"] = None
        else:
            pk = params.row_id("ownerID", "Enter a user id (a whole number).")
            owner = user_selectors.user(pk) if pk is not None else None
            if owner is not None:
                data["owner"] = owner
            elif pk is not None:
                params.error("ownerID", "User not found.")


def _decimal(params: Params, name: str, value: str) -> Decimal | None | bool:
    """A coordinate, rounded to the six decimals a lead keeps; False when not a number."""
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or len(value) > 50:
        params.error(name, "Enter a number.")
        return False
    if abs(number) < 1000:
        number = number.quantize(Decimal("0.000001"))
    return number


def _birth_date(value: str) -> dt.date | None | bool:
    """YYYY-MM-DD, or MM-DD (kept in the year ``NO_YEAR``); None for empty, False if invalid."""
    if not value:
        return None
    full = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", value)
    short = re.fullmatch(r"([0-9]{1,2})-([0-9]{1,2})", value)
    try:
        if full:
            return dt.date(*(int(part) for part in full.groups()))
        if short:
            return dt.date(NO_YEAR, int(short.group(1)), int(short.group(2)))
    except ValueError:
        pass
    return False


def _read_status(params: Params, command: Command, choices: LeadChoices) -> None:
    """``status`` and ``custom_status`` both name the lead's status: a key, a label or a
    position (``rules.resolve_choice`` with ``by_position``: seed 003's status is an integer);
    empty and 0 mean "no change". Given both, they must agree."""
    found: dict[str, str] = {}
    for name in ("status", "custom_status"):
        value = params.text(name)
        if not value or value == "0":
            continue
        key = rules.resolve_choice(value, choices.statuses, by_position=True)
        if key is None:
            params.error(name, NOT_A_CHOICE.format(value))
        else:
            found[name] = key
    if len(set(found.values())) > 1:
        params.error("custom_status", "status and custom_status name different statuses.")
    elif found:
        name, key = next(iter(found.items()))
        command.data["status"] = key
        command.parameter_of["status"] = name


def _read_names(params: Params, command: Command) -> None:
    """``full_name`` split by ``rules.split_full_name`` (the given names, then the family name
    and suffix). A non-empty first_name or last_name wins over its part of full_name."""
    full_name = params.text("full_name")
    if not full_name:
        return
    if len(full_name) > FULL_NAME_LENGTH:
        params.error(
            "full_name", f"Ensure this field has no more than {FULL_NAME_LENGTH} characters."
        )
        return
    first, last = rules.split_full_name(full_name)
    for field_name, part in (("first_name", first), ("last_name", last)):
        if not command.data.get(field_name):
            command.data[field_name] = part
            command.parameter_of[field_name] = "full_name"


def _read_tags(params: Params, command: Command) -> None:
    """``tags``: a text (``rules.split_tags``'s separators) or a JSON list of texts."""
    if not params.given("tags"):
        return
    value = params.raw["tags"]
    if isinstance(value, list):
        items = []
        for item in value:
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                items.append(str(item))
            else:
                params.error("tags", "Each tag must be text.")
                return
    else:
        text = params.text("tags")
        if text is None:
            return
        items = [text]
    names = rules.split_tags(items)
    for name in names:
        problem = unstorable(name)
        if problem:
            params.error("tags", problem)
            return
    command.tags = names  # too many or too long: the domain says so (lead_errors)


def _read_custom(params: Params, command: Command, choices: LeadChoices) -> None:
    """Custom fields by system name (every parameter the command does not know), and
    ``govt_id``, stored in the custom field ``CRM["LEAD_SET_GOVT_ID_FIELD"]`` names."""
    for name, value in params.raw.items():
        if name not in KNOWN_PARAMETERS:
            command.custom[name] = value
    for name in params.files:
        if name != "upload_file_contents":
            params.error(name, "Unknown field.")
    govt_id = params.text("govt_id")
    if govt_id is None:
        return
    system_name = settings.CRM.get("LEAD_SET_GOVT_ID_FIELD", "")
    if system_name not in choices.fields:
        if govt_id:
            params.error(
                "govt_id",
                "This CRM has no field set up to store govt_id; ask its administrator.",
            )
    elif system_name in command.custom:
        params.error("govt_id", f"Send either govt_id or {system_name}, not both.")
    else:
        command.custom[system_name] = govt_id
        command.parameter_of[system_name] = "govt_id"


def _read_notes(params: Params, command: Command) -> None:
    note = params.text("note")
    if note:
        command.notes.append(("note", note))
    if not params.given("notes"):
        return
    value = params.raw["notes"]
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise Failure(NOTES_MALFORMED, f"notes is not valid JSON: {exc}.") from None
    if not isinstance(value, list):
        raise Failure(NOTES_MALFORMED, 'notes must be a JSON list of {"Status", "Notes"} objects.')
    if len(value) > MAX_NOTES:
        params.error("notes", f"Send at most {MAX_NOTES} notes.")
        return
    for index, item in enumerate(value, start=1):
        entry = {str(k).casefold(): v for k, v in item.items()} if isinstance(item, dict) else {}
        parts = [entry.get("status"), entry.get("notes")]
        usable = [
            str(p).strip()
            for p in parts
            if isinstance(p, (str, int, float)) and not isinstance(p, bool) and str(p).strip()
        ]
        if len(usable) != 2:
            raise Failure(
                NOTES_MALFORMED,
                f'notes item {index} needs a "Status" and a "Notes" text.',
            )
        text = f"{usable[0]}: {usable[1]}"
        problem = unstorable(text)
        if problem:
            params.error("notes", problem)
            return
        command.notes.append(("notes", text))


def _read_followup(params: Params, command: Command) -> None:
    value = params.text("followup_date")
    if value is None:
        return
    command.followup_given = True
    if not value:
        return
    try:
        when = parse_datetime(value)
    except ValueError:
        when = None
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when)
    try:
        if when is not None:
            when.astimezone(dt.UTC)
    except OverflowError:
        when = None
    if when is None:
        params.error("followup_date", "Enter a date and time as YYYY-MM-DD HH:MM:SS.")
    command.followup = when


def _read_upload(params: Params, command: Command) -> None:
    """``upload_file_name`` + ``upload_file_contents``: a text value (UTF-8, or base64 with
    ``upload_file_encoding=base64``) or a multipart file part."""
    name = params.text("upload_file_name")
    encoding = (params.text("upload_file_encoding") or "text").lower()
    if encoding not in ("text", "base64"):
        params.error("upload_file_encoding", 'Enter "text" or "base64".')
        return
    uploaded = params.files.get("upload_file_contents")
    content: bytes | None = None
    if uploaded is not None:
        try:
            lead_file_check_size(uploaded.size or 0)
        except DomainError as exc:
            raise Failure(FILE_TOO_LARGE, exc.message) from None
        content = uploaded.read()
        name = name or uploaded.name or ""
    else:
        text = params.raw_text("upload_file_contents")
        if text:
            if encoding == "base64":
                try:
                    content = base64.b64decode(re.sub(r"\s", "", text), validate=True)
                except (binascii.Error, ValueError):
                    params.error("upload_file_contents", "Enter valid base64 data.")
                    return
            else:
                content = text.encode()
    if content is None and not name:
        return
    if name and unstorable(name):
        params.error("upload_file_name", unstorable(name) or "")
    elif content is None:
        params.error("upload_file_contents", REQUIRED)
    elif not name:
        params.error("upload_file_name", REQUIRED)
    else:
        command.upload = (name, content)


# --- running the command ----------------------------------------------------------------------


def find_target(actor: Actor, command: Command) -> Lead | None:
    """The lead to update: by lead_id, else by external_id (mode update), or the one lead
    duplicate matching finds (mode insert with match_update); None: insert."""
    if command.mode == UPDATE:
        if command.lead_id is not None:
            try:
                return lead_for_actor(actor, pk=command.lead_id)
            except NotFound:
                raise Failure(LEAD_NOT_FOUND, "No lead has this lead_id.") from None
        if not command.external_id:
            raise Failure(LEAD_REFERENCE_REQUIRED, "mode=update needs lead_id or external_id.")
        leads = list(
            visible_leads(actor)
            .filter(external_id=command.external_id)
            .order_by("pk")[: LISTED_MATCHES + 1]
        )
        if not leads:
            raise Failure(LEAD_NOT_FOUND, "No lead has this external_id.")
        if len(leads) > 1:
            raise Failure(
                AMBIGUOUS_LEAD,
                "Several leads have this external_id; update one by its lead_id.",
                matches=[lead.pk for lead in leads[:LISTED_MATCHES]],
            )
        return leads[0]
    if not command.match_kinds:
        return None
    email = str(command.data.get("email") or "").strip().lower()
    if email:
        # Two calls matching on one email at the same moment: the second waits for the first
        # to commit, then finds (and updates) the lead it made.
        lock_emails({email})
    found = duplicate_leads(actor=actor, values=command.data, kinds=command.match_kinds)
    if len(found) > 1:
        raise Failure(
            AMBIGUOUS_LEAD,
            f"{len(found)} leads match; nothing was written. Update one by its lead_id.",
            matches=[lead.pk for lead in found[:LISTED_MATCHES]],
        )
    return found[0] if found else None


def _named(
    errors: dict[str, list[str]], command: Command, rename: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """Errors keyed by lead or custom field, keyed by the parameters that set those fields."""
    named: dict[str, list[str]] = {}
    for name, messages in errors.items():
        shown = (rename or {}).get(name) or command.parameter_of.get(name, name)
        named.setdefault(shown, []).extend(messages)
    return named


def _errors_of(exc: ValidationError, command: Command, rename: dict[str, str]) -> dict:
    if not hasattr(exc, "error_dict"):
        return {"detail": exc.messages}
    return _named(exc.message_dict, command, rename)


def run(actor: Actor, params: Params) -> tuple[Lead, bool]:
    """Carry out the command in one transaction; returns the lead and whether it is new."""
    stored: list[LeadFile] = []
    try:
        with transaction.atomic():
            return _run(actor, params, stored)
    except BaseException:
        for lead_file in stored:  # the database rolled back; the stored bytes go too
            lead_file.file.storage.delete(lead_file.file.name)
        raise


def _run(actor: Actor, params: Params, stored: list[LeadFile]) -> tuple[Lead, bool]:
    choices = lead_choices()
    command = parse(params, choices)
    if params.errors:
        # Report the values the domain refuses along with those that could not be read.
        found = lead_errors(
            data=command.data,
            custom=command.custom,
            creating=command.mode == INSERT,
            choices=choices,
            tags=command.tags,
        )
        raise invalid({**_named(found, command), **params.errors})
    target = find_target(actor, command)
    creating = target is None
    step: dict[str, str] = {}  # how a step's errors are named
    try:
        errors = lead_errors(
            data=command.data,
            custom=command.custom,
            creating=creating,
            choices=choices,
            tags=command.tags,
        )
        if errors:
            raise ValidationError(errors)
        if target is None:
            lead = lead_create(
                actor=actor, data=command.data, custom=command.custom, tags=command.tags
            )
        else:
            lead = lead_update(
                actor=actor,
                lead=target,
                data=command.data,
                custom=command.custom,
                tags=command.tags,
            )
        for parameter, text in command.notes:
            step = {"text": parameter}
            note_create(actor=actor, lead=lead, text=text)
        if command.followup_given:
            step = {"start": "followup_date", "host": "followup_date"}
            lead_followup_set(actor=actor, lead=lead, when=command.followup)
        if command.upload is not None:
            step = {"name": "upload_file_name", "file": "upload_file_contents"}
            name, content = command.upload
            stored.append(lead_file_attach(actor=actor, lead=lead, name=name, content=content))
    except ValidationError as exc:
        raise invalid(_errors_of(exc, command, step)) from None
    except NotFound as exc:
        raise Failure(LEAD_NOT_FOUND, exc.message) from None
    except DomainError as exc:
        code = DOMAIN_CODES.get(exc.code, REFUSED)
        shown = step.get(exc.field or "", exc.field)
        extra = {"errors": {shown: [exc.message]}} if shown else {}
        raise Failure(code, exc.message, **extra) from None
    return lead, creating


# --- the endpoint -----------------------------------------------------------------------------


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
