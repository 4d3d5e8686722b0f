"""Lead objects of createLeads/updateLeads: from the API's keys and loose types (numbers as
strings, flags as 0/1) to the values the domain's batch services take. Only the wire format is
checked here; the domain (``leads.bulk``) checks the rules and answers its own messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm import selectors as user_selectors
from leads import selectors
from leads.bulk import LeadInput
from leads.lead_objects import FLAGS, INTEGERS, LENGTHS, READ_ONLY, RELATIONS, WRITABLE, StatusMap
from leads.rpc.params import as_flag, as_int, storable
from leads.rules import JSON_RPC, missing_contact_fields
from leads.services import REQUIRED

# The API's key for each model field, to name the domain's errors in the API's words.
KEY_OF_FIELD = {model: key for key, model in WRITABLE.items()}
SMALLINT = 32767


@dataclass
class Parsed:
    """One object: what the domain gets, or the wire errors that keep it from the domain."""

    input: LeadInput | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    malformed: bool = False


def _text(key: str, value: Any) -> tuple[Any, str | None]:
    if value is None:
        return "", None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None, "Expected data of type string."
    text = str(value)
    if not storable(text):
        return None, "Null and surrogate characters are not allowed."
    length = LENGTHS.get(key, 255)
    if len(text) > length:
        return None, f"Ensure this field has no more than {length} characters."
    return text, None


class LeadReader:
    """Reads a call's lead objects; the people and campaigns they name are loaded in one query
    each for the whole call."""

    def __init__(self, objects: list[Any], *, statuses: StatusMap, updating: bool) -> None:
        self.objects = objects
        self.statuses = statuses
        self.updating = updating
        owners = {as_int(o.get("ownerID")) for o in objects if isinstance(o, dict)}
        campaigns = {as_int(o.get("campaignID")) for o in objects if isinstance(o, dict)}
        owners.discard(None)
        campaigns.discard(None)
        self.users = user_selectors.users_by_id(owners)
        self.campaigns = selectors.campaigns_by_id(campaigns)

    def read(self) -> list[Parsed]:
        return [self._read(obj) for obj in self.objects]

    def _read(self, obj: Any) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(malformed=True)
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        lead_id: int | None = None
        for key, value in obj.items():
            if not isinstance(key, str):
                continue
            if key == "id" and self.updating:
                lead_id = as_int(value)
                if value not in (None, "") and (lead_id is None or lead_id < 1):
                    errors["id"] = ["Expected data of type integer."]
            elif key in READ_ONLY:
                continue  # a partner may send back what it read
            elif key in WRITABLE:
                value, message = self._value(key, value)
                if message:
                    errors[key] = [message]
                else:
                    data[WRITABLE[key]] = value
            elif isinstance(value, (dict, list)):
                errors[key] = ["Expected a single value."]
            else:
                custom[key] = value  # by system name; the domain refuses unknown names
        given = {WRITABLE[k]: v for k, v in obj.items() if k in WRITABLE and isinstance(v, str)}
        for name in missing_contact_fields(JSON_RPC, given, creating=not self.updating):
            errors.setdefault(KEY_OF_FIELD[name], [REQUIRED])
        email = obj.get("emailAddress")
        has_email = isinstance(email, str) and bool(email.strip())
        if self.updating and lead_id is None and "id" not in errors and not has_email:
            errors["id"] = ["Give the lead's id, or its emailAddress."]
        if errors:
            return Parsed(errors=errors)
        item = LeadInput(data=data, custom=custom, lead_id=lead_id)
        if self.updating and lead_id is None:
            item.email = str(email)
        return Parsed(input=item)

    def _value(self, key: str, value: Any) -> tuple[Any, str | None]:
        if key in RELATIONS:
            if value in (None, "", 0, "0"):
                return None, None
            pk = as_int(value)
            found = (self.users if key == "ownerID" else self.campaigns).get(pk)  # type: ignore[arg-type]
            if found is None:
                return None, ("User not found." if key == "ownerID" else "Campaign not found.")
            return found, None
        if key == "leadStatus":
            if not isinstance(value, str) or not value.strip() or not storable(value):
                return None, "Expected a lead status."
            return self.statuses.status_key(value.strip()), None
        if key in FLAGS:
            flag = as_flag(value)
            return (flag, None) if flag is not None else (None, "Expected 0 or 1.")
        if key in INTEGERS:
            if value in (None, ""):
                return None, None
            number = as_int(value)
            if number is None or abs(number) > SMALLINT:
                return None, f"Expected an integer from -{SMALLINT} to {SMALLINT}."
            return number, None
        return _text(key, value)


def api_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The domain's errors (keyed by model field or custom system name) in the API's keys."""
    return {KEY_OF_FIELD.get(name, name): messages for name, messages in errors.items()}
