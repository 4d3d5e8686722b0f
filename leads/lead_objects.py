"""A lead as partners' systems read and write it: the JSON-RPC API's lead object (seed 002),
which the webhook deliveries send too. Its camelCase keys, the model fields behind them, and
values written the way the source system answers them (strings, ``"1"``/``"0"`` for flags,
``Y-m-d H:i:s`` timestamps). ``leadStatus`` goes through ``Status.rpc_status``.

Below the JSON-RPC adapter (``leads.rpc``) and the webhook worker (``webhooks.delivery``),
which both use it; it imports neither."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from leads.defaults import BUILTIN_FIELDS
from leads.models import DELETED_STATUS, Lead, Status
from leads.rules import resolve_choice
from leads.selectors import active_custom_fields

# Writable keys -> model fields (people and campaign by id; status through StatusMap).
WRITABLE = {
    "ownerID": "owner",
    "campaignID": "campaign",
    "leadStatus": "status",
    "leadScore": "lead_score",
    "leadScoreWeighted": "lead_score_weighted",
    "persona": "persona",
    "active": "active",
    "firstName": "first_name",
    "lastName": "last_name",
    "emailAddress": "email",
    "companyName": "company",
    "title": "title",
    "street": "street",
    "city": "city",
    "country": "country",
    "state": "state",
    "zipcode": "zipcode",
    "website": "website",
    "phoneNumber": "phone",
    "trackingID": "tracking_id",
    "officePhoneNumber": "office_phone",
    "phoneNumberExtension": "phone_extension",
    "mobilePhoneNumber": "mobile_phone",
    "faxNumber": "fax",
    "description": "description",
    "industry": "industry",
    "isUnsubscribed": "is_unsubscribed",
}
# Keys a lead answers but a write ignores (a partner may send back what it read).
READ_ONLY = ("id", "accountID", "createTimestamp", "updateTimestamp")
LEAD_KEYS = ("id", "accountID", *WRITABLE, "createTimestamp", "updateTimestamp")
FLAGS = frozenset({"active", "isUnsubscribed"})
INTEGERS = frozenset({"leadScore", "leadScoreWeighted"})
RELATIONS = frozenset({"ownerID", "campaignID"})
# The longest text each key takes, from the field catalogue (seed 002's lengths).
LENGTHS = {name: length for name, _label, kind, length in BUILTIN_FIELDS if kind != "number"}
TIMESTAMP = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class StatusMap:
    """Our status keys <-> the API's leadStatus values, read once per call (one query), with
    the statuses a lead may be given (``{key: label}``)."""

    to_rpc: dict[str, str]
    from_rpc: dict[str, str]
    assignable: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> StatusMap:
        to_rpc: dict[str, str] = {}
        from_rpc: dict[str, str] = {}
        assignable: dict[str, str] = {}
        rows = Status.objects.values_list("key", "label", "rpc_status", "active")
        for key, label, value, active in rows:
            to_rpc[key] = value or key
            if active and key != DELETED_STATUS:
                assignable[key] = label
                if value and value not in from_rpc:
                    from_rpc[value] = key  # statuses come in order: the first one wins
        return cls(to_rpc=to_rpc, from_rpc=from_rpc, assignable=assignable)

    def status_key(self, value: str) -> str:
        """The status a written leadStatus means (``rules.resolve_choice``): a mapped value
        (the API's own, ``open``...), else our key or label; else the value as given, which
        the domain refuses."""
        key = resolve_choice(value, self.assignable, aliases=self.from_rpc)
        return value if key is None else key


def format_timestamp(value: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value, tz).strftime(TIMESTAMP)


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class LeadWriter:
    """Turns leads into the API's objects; built once per call (statuses, custom fields)."""

    statuses: StatusMap
    custom_names: tuple[str, ...]
    tz: dt.tzinfo
    account_id: str = ""

    @classmethod
    def for_call(cls, *, tz: dt.tzinfo, account_id: str = "") -> LeadWriter:
        names = tuple(f.system_name for f in active_custom_fields())
        return cls(statuses=StatusMap.load(), custom_names=names, tz=tz, account_id=account_id)

    def keys(self) -> tuple[str, ...]:
        return (*LEAD_KEYS, *self.custom_names)

    def lead(self, lead: Lead, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """One lead; ``fields`` (already checked against ``keys()``) limits the keys."""
        wanted = fields or self.keys()
        return {key: self._value(lead, key) for key in wanted}

    def leads(self, leads: Iterable[Lead], fields: Sequence[str] | None = None) -> list[dict]:
        return [self.lead(lead, fields) for lead in leads]

    def _value(self, lead: Lead, key: str) -> Any:
        if key == "id":
            return str(lead.pk)
        if key == "accountID":
            return self.account_id
        if key == "createTimestamp":
            return format_timestamp(lead.created_at, self.tz)
        if key == "updateTimestamp":
            return format_timestamp(lead.updated_at, self.tz)
        if key == "leadStatus":
            return self.statuses.to_rpc.get(lead.status_id, lead.status_id)
        if key in RELATIONS:
            return _text(getattr(lead, f"{WRITABLE[key]}_id"))
        if key in WRITABLE:
            return _text(getattr(lead, WRITABLE[key]))
        return _text(lead.custom_fields.get(key))
