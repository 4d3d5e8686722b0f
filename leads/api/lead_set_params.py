"""Reading the lead_set command's parameters (docs/lead_set.md, "Parameters") into the
domain's ``LeadUpsert``: parameter names to lead fields, text to values, ``full_name`` split,
tags, custom fields and ``govt_id``, notes, the follow-up date and the file. Only the wire format
is read here; the domain (``leads.upsert``) checks the rules.

A value that cannot be read is noted in ``Params.errors`` and reading goes on, so that one
answer names every bad parameter; a call that cannot be read at all (its mode, its notes, a
file part over the limit) raises ``Unreadable``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm import selectors as user_selectors
from crm.domain import NOT_A_CHOICE, DomainError, unstorable, yes_no
from crm.models import User
from leads import rules
from leads.services import REQUIRED, LeadChoices, lead_file_check_size
from leads.upsert import FOLLOWUP, INSERT, UPDATE, UPLOAD_CONTENT, UPLOAD_NAME, LeadUpsert

# What makes a call unreadable as a whole (``Unreadable.code``; a file part over the limit
# keeps the domain's ``file_too_large``).
INVALID_MODE = "invalid_mode"
NOTES_MALFORMED = "notes_malformed"


class Unreadable(Exception):
    """The call cannot be read at all: ``code`` says why, ``message`` says it to the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


MAX_ID = 2**63 - 1
MAX_NOTES = 100
FULL_NAME_LENGTH = 511  # a first and a last name of 255 characters, and a space
# birth_date given as MM-DD is stored in this leap year (so 02-29 is kept): the year address
# books use for a birthday without a year.
NO_YEAR = 1604
GMT_OFFSET_RANGE = (-(2**31), 2**31 - 1)

# How a non-empty value is read (an empty one clears the field): a ValidationError refuses it.
Reader = Callable[[str, LeadChoices], Any]


def _row_id(value: str) -> int | None:
    if re.fullmatch(r"[0-9]{1,19}", value) and 1 <= int(value) <= MAX_ID:
        return int(value)
    return None


def _coordinate(value: str, choices: LeadChoices) -> Decimal:
    """A decimal number, rounded to the six decimals a lead keeps."""
    try:
        number: Decimal | None = Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or len(value) > 50:
        raise ValidationError("Enter a number.")
    return number.quantize(Decimal("0.000001")) if abs(number) < 1000 else number


def _ip(value: str, choices: LeadChoices) -> str:
    return value  # the lead's field checks it is an IPv4 or IPv6 address


def _boolean(value: str, choices: LeadChoices) -> bool:
    answer = yes_no(value)
    if answer is None:
        raise ValidationError('Enter "Yes" or "No".')
    return answer


def _gmt_offset(value: str, choices: LeadChoices) -> int:
    low, high = GMT_OFFSET_RANGE
    if re.fullmatch(r"[+-]?[0-9]{1,10}", value) and low <= int(value) <= high:
        return int(value)
    raise ValidationError("Enter a whole number.")


def _birth_date(value: str, choices: LeadChoices) -> dt.date:
    """YYYY-MM-DD, or MM-DD (kept in the year ``NO_YEAR``)."""
    match = re.fullmatch(r"(?:([0-9]{4})-)?([0-9]{1,2})-([0-9]{1,2})", value)
    try:
        if match:
            year, month, day = match.groups()
            return dt.date(int(year or NO_YEAR), int(month), int(day))
    except ValueError:
        pass
    raise ValidationError("Enter a date as YYYY-MM-DD or MM-DD.")


def _source(value: str, choices: LeadChoices) -> str:
    key = rules.resolve_choice(value, choices.sources)
    if key is None:
        raise ValidationError(NOT_A_CHOICE.format(value))
    return key


def _owner(value: str, choices: LeadChoices) -> User:
    pk = _row_id(value)
    if pk is None:
        raise ValidationError("Enter a user id (a whole number).")
    owner = user_selectors.user(pk)
    if owner is None:
        raise ValidationError("User not found.")
    return owner


# Parameters written to a lead field as text (lead_set name -> Lead field); empty is kept.
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
# Parameter -> (lead field, Reader; None: text), in the order they are read: the values, then
# (after status and custom_status) the lists.
VALUES: dict[str, tuple[str, Reader | None]] = {
    **{name: (model_field, None) for name, model_field in TEXT_FIELDS.items()},
    "lat": ("lat", _coordinate),
    "lng": ("lng", _coordinate),
    "ip": ("ip", _ip),
    "ok_to_text": ("ok_to_text", _boolean),
    "gmt_offset": ("gmt_offset", _gmt_offset),
    "birth_date": ("birth_date", _birth_date),
}
LISTS: dict[str, tuple[str, Reader | None]] = {
    "source": ("source", _source),
    "ownerID": ("owner", _owner),
}
# Every other parameter the command knows; anything else is a custom field's system name.
OTHER_PARAMETERS = frozenset(
    {
        "mode",
        "lead_id",
        "full_name",
        "status",
        "custom_status",
        "tags",
        "note",
        "notes",
        "followup_date",
        "govt_id",
        "upload_file_name",
        "upload_file_contents",
        "upload_file_encoding",
        "match_update",
        "match_name_and_address",
        "match_name_and_phone",
    }
)
KNOWN_PARAMETERS = OTHER_PARAMETERS | set(VALUES) | set(LISTS)
# Lead fields (and the domain's names of a step's values) -> the parameter that sets them.
PARAMETER_OF = {
    **{model_field: name for name, (model_field, _read) in {**VALUES, **LISTS}.items()},
    FOLLOWUP: "followup_date",
    UPLOAD_NAME: "upload_file_name",
    UPLOAD_CONTENT: "upload_file_contents",
}


class Params:
    """The request's parameters, read one at a time; problems collect in ``errors``, and
    ``parameter_of`` keeps which parameter set each field, to name the domain's errors."""

    def __init__(self, raw: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.raw = raw
        self.files = files
        self.errors: dict[str, list[str]] = {}
        self.parameter_of = dict(PARAMETER_OF)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def named(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """Errors keyed by lead or custom field, keyed by the parameters that set them."""
        named: dict[str, list[str]] = {}
        for name, messages in errors.items():
            named.setdefault(self.parameter_of.get(name, name), []).extend(messages)
        return named

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


def _scalar(value: Any) -> bool:
    """A JSON value that reads as text: a string or a number."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def read_mode(params: Params) -> str:
    mode = params.text("mode")
    if not mode:
        raise Unreadable(INVALID_MODE, 'mode is required: "insert" or "update".')
    if mode.lower() not in (INSERT, UPDATE):
        shown = mode if len(mode) <= 50 else mode[:50] + "..."
        raise Unreadable(INVALID_MODE, f'"{shown}" is not a valid mode: use "insert" or "update".')
    return mode.lower()


def parse(params: Params, choices: LeadChoices) -> LeadUpsert:
    """The command the parameters describe, from the values that could be read; what could
    not be read is in ``params.errors``. Raises ``Unreadable`` for a mode or notes unusable,
    or a file part over the limit."""
    command = LeadUpsert(mode=read_mode(params))
    _read_target(params, command)
    _read_fields(params, command, VALUES, choices)
    _read_status(params, command, choices)
    _read_fields(params, command, LISTS, choices)
    _read_names(params, command)
    creating = command.mode == INSERT
    for name in rules.missing_contact_fields(rules.LEAD_SET, command.data, creating=creating):
        params.error(params.parameter_of.get(name, name), REQUIRED)
    _read_tags(params, command)
    _read_custom(params, command, choices)
    _read_notes(params, command)
    _read_followup(params, command)
    _read_upload(params, command)
    return command


def _read_target(params: Params, command: LeadUpsert) -> None:
    lead_id = params.text("lead_id")
    if lead_id:
        command.lead_id = _row_id(lead_id)
        if command.lead_id is None:
            params.error("lead_id", "Enter a lead id (a whole number).")
    if command.mode == INSERT and command.lead_id is not None:
        params.error(
            "lead_id", "lead_id is for mode=update; to update a matching lead use match_update=1."
        )
    matching = params.flag("match_update")
    kinds = ["email"]
    if params.flag("match_name_and_address"):
        kinds.append("name_address")
    if params.flag("match_name_and_phone"):
        kinds.append("name_phone")
    command.match_kinds = kinds if matching else []


def _read_fields(
    params: Params,
    command: LeadUpsert,
    fields: dict[str, tuple[str, Reader | None]],
    choices: LeadChoices,
) -> None:
    for name, (model_field, read) in fields.items():
        value = params.text(name)
        if value is None:
            continue
        if read is None:
            command.data[model_field] = value
            continue
        try:
            command.data[model_field] = read(value, choices) if value else None
        except ValidationError as exc:
            params.error(name, exc.messages[0])


def _read_status(params: Params, command: LeadUpsert, choices: LeadChoices) -> None:
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
        params.parameter_of["status"] = name


def _read_names(params: Params, command: LeadUpsert) -> None:
    """``full_name`` split by ``rules.split_full_name`` (the given names, then the family name
    and suffix). A non-empty first_name or last_name wins over its part of full_name."""
    full_name = params.text("full_name")
    if not full_name:
        return
    if len(full_name) > FULL_NAME_LENGTH:
        message = f"Ensure this field has no more than {FULL_NAME_LENGTH} characters."
        params.error("full_name", message)
        return
    first, last = rules.split_full_name(full_name)
    for field_name, part in (("first_name", first), ("last_name", last)):
        if not command.data.get(field_name):
            command.data[field_name] = part
            params.parameter_of[field_name] = "full_name"


def _read_tags(params: Params, command: LeadUpsert) -> None:
    """``tags``: a text (``rules.split_tags``'s separators) or a JSON list of texts."""
    if "tags" not in params.raw:
        return
    value = params.raw["tags"]
    if isinstance(value, list):
        if not all(_scalar(item) for item in value):
            params.error("tags", "Each tag must be text.")
            return
        items = [str(item) for item in value]
    else:
        text = params.text("tags")
        if text is None:
            return
        items = [text]
    names = rules.split_tags(items)
    problem = next(filter(None, map(unstorable, names)), None)
    if problem:
        params.error("tags", problem)
        return
    command.tags = names  # too many or too long: the domain says so (lead_errors)


def _read_custom(params: Params, command: LeadUpsert, choices: LeadChoices) -> None:
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
            message = "This CRM has no field set up to store govt_id; ask its administrator."
            params.error("govt_id", message)
    elif system_name in command.custom:
        params.error("govt_id", f"Send either govt_id or {system_name}, not both.")
    else:
        command.custom[system_name] = govt_id
        params.parameter_of[system_name] = "govt_id"


def _read_notes(params: Params, command: LeadUpsert) -> None:
    """``note``, and ``notes``: a JSON list (or a JSON text of one) of {Status, Notes}."""
    note = params.text("note")
    if note:
        command.notes.append(("note", note))
    value = params.raw.get("notes")
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise Unreadable(NOTES_MALFORMED, f"notes is not valid JSON: {exc}.") from None
    if not isinstance(value, list):
        raise Unreadable(
            NOTES_MALFORMED, 'notes must be a JSON list of {"Status", "Notes"} objects.'
        )
    if len(value) > MAX_NOTES:
        params.error("notes", f"Send at most {MAX_NOTES} notes.")
        return
    for index, item in enumerate(value, start=1):
        entry = {str(k).casefold(): v for k, v in item.items()} if isinstance(item, dict) else {}
        parts = [entry.get("status"), entry.get("notes")]
        usable = [str(part).strip() for part in parts if _scalar(part) and str(part).strip()]
        if len(usable) != 2:
            message = f'notes item {index} needs a "Status" and a "Notes" text.'
            raise Unreadable(NOTES_MALFORMED, message)
        text = f"{usable[0]}: {usable[1]}"
        problem = unstorable(text)
        if problem:
            params.error("notes", problem)
            return
        command.notes.append(("notes", text))


def _read_followup(params: Params, command: LeadUpsert) -> None:
    value = params.text("followup_date")
    if value is None:
        return
    command.followup_given = True
    if not value:
        return
    try:
        when = parse_datetime(value)
        if when is not None and timezone.is_naive(when):
            when = timezone.make_aware(when)
        if when is not None:
            when.astimezone(dt.UTC)  # a moment no time zone can show: OverflowError
    except (ValueError, OverflowError):
        when = None
    if when is None:
        params.error("followup_date", "Enter a date and time as YYYY-MM-DD HH:MM:SS.")
    command.followup = when


def _read_upload(params: Params, command: LeadUpsert) -> None:
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
            raise Unreadable(exc.code, exc.message) from None  # file_too_large
        content = uploaded.read()
        name = name or uploaded.name or ""
    elif text := params.raw_text("upload_file_contents"):
        if encoding == "text":
            content = text.encode()
        else:
            try:
                content = base64.b64decode(re.sub(r"\s", "", text), validate=True)
            except (binascii.Error, ValueError):
                params.error("upload_file_contents", "Enter valid base64 data.")
                return
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
