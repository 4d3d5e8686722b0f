"""The thirteen methods of the JSON-RPC API (seed 001), each a thin adapter: read the params,
call a selector or service, map the result to the API's objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from crm.domain import Actor
from crm.models import ApiKey
from leads import bulk, selectors
from leads.lead_objects import LeadWriter, StatusMap, format_timestamp
from leads.models import Event, EventType, Field
from leads.rpc import errors
from leads.rpc.objects import LeadReader, api_errors
from leads.rpc.params import Params, as_flag, as_int, parse_timestamp, storable
from webhooks.services import subscription_create

MEMBERSHIP_IDS = 100  # getLeadListMemberships: ids per call (seed 001)


@dataclass
class Call:
    actor: Actor
    api_key: ApiKey
    tz: dt.tzinfo
    params: Params

    def writer(self) -> LeadWriter:
        return LeadWriter.for_call(tz=self.tz, account_id=self.api_key.account_id)


@dataclass(frozen=True)
class Reply:
    """What a method answers: its ``result``, and for a method that takes ``objects`` the
    per-object results inside it. The production API repeats the failed objects' ``error``
    values, in order, as the call's top-level ``error`` (``null`` when every object succeeded),
    and partner libraries written against it check that list."""

    result: dict[str, Any]
    objects: list[dict[str, Any]] | None = None

    @classmethod
    def of_objects(cls, key: str, objects: list[dict[str, Any]], **extra: Any) -> Reply:
        return cls({**extra, key: objects}, objects)

    @property
    def error(self) -> list[dict[str, Any]] | None:
        failed = [o["error"] for o in self.objects or () if o["error"] is not None]
        return failed or None


# --- reading leads ------------------------------------------------------------------------

# getLeads' where keys -> the lookup each filters on.
WHERE = {
    "id": "pk",
    "ownerID": "owner_id",
    "campaignID": "campaign_id",
    "leadStatus": "status_id",
    "emailAddress": "email__iexact",
    "firstName": "first_name__iexact",
    "lastName": "last_name__iexact",
    "companyName": "company__iexact",
    "phoneNumber": "phone",
    "mobilePhoneNumber": "mobile_phone",
    "trackingID": "tracking_id",
    "city": "city__iexact",
    "state": "state__iexact",
    "country": "country__iexact",
    "zipcode": "zipcode",
    "active": "active",
    "isUnsubscribed": "is_unsubscribed",
}
NUMERIC_WHERE = frozenset({"id", "ownerID", "campaignID"})
FLAG_WHERE = frozenset({"active", "isUnsubscribed"})


def _where_value(key: str, value: Any, statuses: StatusMap) -> Any:
    """One where value in the column's terms, or raise 205 naming the key."""
    problem = None
    if key in NUMERIC_WHERE:
        number = as_int(value)
        if number is None:
            problem = "Expected data of type integer"
        value = number
    elif key in FLAG_WHERE:
        flag = as_flag(value)
        if flag is None:
            problem = "Expected 0 or 1"
        value = flag
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = str(value).strip()
        if not storable(value) or len(value) > 255:
            problem = "Expected a string of at most 255 characters"
        elif key == "leadStatus":
            value = statuses.status_key(value)
    else:
        problem = "Expected a single value or a list of values"
    if problem:
        raise errors.param_error(
            errors.INVALID_PARAMETERS, f"where.{key}", problem, {"type": "hash", "required": True}
        )
    return value


def _where_filter(where: dict[str, Any], statuses: StatusMap) -> Q:
    """Seed 001: if a list is used in the where clause, the non-list keys are ignored."""
    lists = {k: v for k, v in where.items() if isinstance(v, list)}
    condition = Q()
    if lists:
        for key, values in lists.items():
            if len(values) > 500:
                raise errors.param_error(
                    errors.INVALID_PARAMETERS,
                    f"where.{key}",
                    "Expected at most 500 values",
                    {"type": "list", "required": True},
                )
            lookup = WHERE[key].removesuffix("__iexact")
            cleaned = [_where_value(key, value, statuses) for value in values]
            condition &= Q(**{f"{lookup}__in": cleaned})
        return condition
    for key, value in where.items():
        condition &= Q(**{WHERE[key]: _where_value(key, value, statuses)})
    return condition


def _page(call: Call, queryset: QuerySet) -> QuerySet:
    offset, limit = call.params.offset(), call.params.limit()
    return queryset[offset : offset + limit]


def get_lead(call: Call) -> dict[str, Any]:
    pk = call.params.integer("id", required=True)
    writer = call.writer()
    return {"lead": writer.leads(selectors.leads_by_id(call.actor, Q(pk=pk)))}


def get_leads(call: Call) -> dict[str, Any]:
    where = call.params.hash("where", required=True, keys=WHERE)
    writer = call.writer()
    fields = call.params.fields(writer.keys())
    leads = _page(call, selectors.leads_by_id(call.actor, _where_filter(where, writer.statuses)))
    return {"lead": writer.leads(leads, fields)}


def get_leads_date_range(call: Call) -> dict[str, Any]:
    params = call.params
    start = params.timestamp("startDate", required=True)
    end = params.timestamp("endDate", required=True)
    kind = params.text("timestamp", required=True, length=10)
    if kind not in ("create", "update"):
        raise errors.param_error(
            errors.INVALID_PARAMETERS,
            "timestamp",
            'Expected "create" or "update"',
            {"type": "string", "values": ["create", "update"], "required": True},
        )
    writer = call.writer()
    fields = params.fields(writer.keys())
    leads = selectors.leads_changed_between(
        actor=call.actor, created=kind == "create", start=start, end=end
    )
    return {"lead": writer.leads(_page(call, leads), fields)}


# --- writing leads ------------------------------------------------------------------------


# The object error of a batch outcome that is not about the object's values.
OUTCOME_ERRORS = {
    bulk.READ_ONLY: errors.KEY_READ_ONLY,
    bulk.DUPLICATE: errors.ENTRY_EXISTS,
    bulk.NOT_FOUND: errors.ENTRY_MISSING,
}


def _write_results(parsed, outcomes, *, creating: bool) -> list[dict[str, Any]]:
    """Each object's result, in order: wire errors first, then the domain's outcomes."""
    results: list[dict[str, Any]] = []
    done = iter(outcomes)
    for item in parsed:
        if item.malformed:
            results.append(errors.object_error(errors.MALFORMED_OBJECT))
            continue
        if item.input is None:
            results.append(errors.object_error(errors.INVALID_VALUES, item.errors))
            continue
        outcome = next(done)
        if outcome.ok:
            result: dict[str, Any] = {"success": "true", "error": None}
            if creating:
                result["id"] = str(outcome.lead.pk)
            results.append(result)
        elif outcome.code in OUTCOME_ERRORS:
            results.append(errors.object_error(OUTCOME_ERRORS[outcome.code]))
        else:
            fields = api_errors(outcome.errors) or {"id": [outcome.message]}
            results.append(errors.object_error(errors.INVALID_VALUES, fields))
    return results


def _write(call: Call, *, creating: bool) -> list[dict[str, Any]]:
    objects = call.params.objects()
    reader = LeadReader(objects, statuses=StatusMap.load(), updating=not creating)
    parsed = reader.read()
    items = [p.input for p in parsed if p.input is not None]
    service = bulk.leads_create_many if creating else bulk.leads_update_many
    outcomes = service(actor=call.actor, items=items) if items else []
    return _write_results(parsed, outcomes, creating=creating)


def create_leads(call: Call) -> Reply:
    return Reply.of_objects("creates", _write(call, creating=True))


def update_leads(call: Call) -> Reply:
    return Reply.of_objects("updates", _write(call, creating=False))


def delete_leads(call: Call) -> Reply:
    objects = call.params.objects()
    ids: list[int | None] = []
    for obj in objects:
        value = obj.get("id") if isinstance(obj, dict) else obj
        pk = as_int(value)
        ids.append(pk if pk is not None and pk > 0 else None)
    outcomes = iter(bulk.leads_delete_many(actor=call.actor, ids=[i for i in ids if i]))
    results = []
    for obj, pk in zip(objects, ids, strict=True):
        if pk is None:
            if isinstance(obj, (dict, int, str)):
                results.append(
                    errors.object_error(errors.INVALID_VALUES, {"id": ["Expected an id."]})
                )
            else:
                results.append(errors.object_error(errors.MALFORMED_OBJECT))
            continue
        outcome = next(outcomes)
        results.append(
            {"success": "true", "error": None}
            if outcome.ok
            else errors.object_error(OUTCOME_ERRORS.get(outcome.code, errors.ENTRY_MISSING))
        )
    return Reply.of_objects("deletes", results)


# --- events, timeline, calls, lists -------------------------------------------------------


def _event_json(event: Event, tz: dt.tzinfo, source_key: str) -> dict[str, Any]:
    return {
        "id": str(event.pk),
        "leadID": str(event.lead_id),
        source_key: event.type,
        "eventData": event.data,
        "createTimestamp": format_timestamp(event.created_at, tz),
    }


def _events(call: Call, keys: tuple[str, str]) -> tuple[dict[str, Any], int | None, dict]:
    """The ``where`` of an event getter (``leadID`` and one other key), and its ``leadID``
    when given."""
    where = call.params.hash("where", required=True, keys=keys)
    fmt = {"type": "hash", "keys": list(keys), "required": True}
    lead_id = None
    if "leadID" in where:
        lead_id = as_int(where["leadID"])
        if lead_id is None:
            raise errors.param_error(
                errors.INVALID_PARAMETERS, "where.leadID", "Expected data of type integer", fmt
            )
    return where, lead_id, fmt


def get_events(call: Call) -> dict[str, Any]:
    where, lead_id, fmt = _events(call, ("leadID", "timestamp"))
    if not where:
        message = "Give leadID or timestamp"
        raise errors.param_error(errors.INVALID_PARAMETERS, "where", message, fmt)
    since = None
    if "timestamp" in where:
        since = parse_timestamp(where["timestamp"], call.tz)
        if since is None:
            raise errors.param_error(
                errors.INVALID_PARAMETERS,
                "where.timestamp",
                "Expected a timestamp as Y-m-d H:i:s",
                fmt,
            )
    events = _page(call, selectors.timeline_events(call.actor, lead_id=lead_id, since=since))
    return {"event": [_event_json(e, call.tz, "eventName") for e in events]}


def get_lead_timeline(call: Call) -> dict[str, Any]:
    where, lead_id, fmt = _events(call, ("leadID", "eventSource"))
    source = None
    if "eventSource" in where:
        source = where["eventSource"]
        if source not in EventType.values:
            raise errors.param_error(
                errors.INVALID_PARAMETERS,
                "where.eventSource",
                "Expected one of: " + ", ".join(EventType.values),
                fmt,
            )
    events = _page(
        call,
        selectors.timeline_events(
            call.actor, lead_id=lead_id, event_type=source, newest_first=True
        ),
    )
    return {"leadTimeline": [_event_json(e, call.tz, "eventSource") for e in events]}


def log_calls(call: Call) -> Reply:
    objects = call.params.objects()
    items: list[bulk.CallInput] = []
    problems: list[dict[str, Any] | None] = []
    for obj in objects:
        if not isinstance(obj, dict):
            problems.append(errors.object_error(errors.MALFORMED_OBJECT))
            continue
        wrong: dict[str, list[str]] = {}
        lead_id = as_int(obj.get("leadID"))
        if lead_id is None:
            wrong["leadID"] = ["Expected data of type integer."]
        when = parse_timestamp(obj.get("timestamp"), call.tz)
        if when is None:
            wrong["timestamp"] = ["Expected a timestamp as Y-m-d H:i:s."]
        duration = as_int(obj.get("duration", 0) or 0)
        if duration is None or duration < 0:
            wrong["duration"] = ["Expected a number of seconds."]
        texts = {}
        for key in ("result", "notes"):
            value = obj.get(key) or ""
            if not isinstance(value, (str, int, float)) or not storable(str(value)):
                wrong[key] = ["Expected data of type string."]
            texts[key] = str(value)
        if wrong:
            problems.append(errors.object_error(errors.INVALID_VALUES, wrong))
            continue
        problems.append(None)
        items.append(bulk.CallInput(lead_id, when, duration, texts["result"], texts["notes"]))
    outcomes = iter(bulk.calls_log_many(actor=call.actor, items=items) if items else [])
    results = []
    for problem in problems:
        if problem is not None:
            results.append(problem)
            continue
        outcome = next(outcomes)
        if outcome.ok:
            results.append({"success": "true", "error": None})
        elif outcome.code in OUTCOME_ERRORS:
            results.append(errors.object_error(OUTCOME_ERRORS[outcome.code]))
        else:
            results.append(errors.object_error(errors.INVALID_VALUES, outcome.errors))
    ok = all(r["success"] == "true" for r in results)
    return Reply.of_objects("calls", results, success="true" if ok and results else "false")


def get_lead_list_memberships(call: Call) -> dict[str, Any]:
    ids = call.params.id_list("memberIDs", most=MEMBERSHIP_IDS)
    lists: dict[int, list[str]] = {pk: [] for pk in ids}
    for lead_id, list_id in selectors.list_memberships(call.actor, ids):
        lists[lead_id].append(str(list_id))
    return {"getWhereIns": [{"memberID": str(pk), "listIDs": lists[pk]} for pk in lists]}


def subscribe_to_lead_updates(call: Call) -> dict[str, Any]:
    url = call.params.text("url", required=True, length=2000)
    secret = call.params.text("secret", length=200) or None
    try:
        _subscription, secret = subscription_create(api_key=call.api_key, url=url, secret=secret)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise errors.param_error(
            errors.INVALID_PARAMETERS,
            name,
            messages[0],
            {"type": "string", "length": 2000, "required": name == "url"},
        ) from None
    return {"success": "true", "secret": secret}


FIELD_WHERE = {"systemName": "system_name", "isCustom": "is_custom", "isActive": "is_active"}


def get_fields(call: Call) -> dict[str, Any]:
    where = call.params.hash("where", keys=FIELD_WHERE)
    wanted: dict[str, Any] = {}
    for key, value in where.items():
        if key == "systemName":
            if not isinstance(value, str) or not storable(value):
                raise errors.param_error(
                    errors.INVALID_PARAMETERS,
                    "where.systemName",
                    "Expected data of type string",
                    {"type": "string", "required": False},
                )
            wanted["system_name"] = value
        else:
            flag = as_flag(value)
            if flag is None:
                raise errors.param_error(
                    errors.INVALID_PARAMETERS,
                    f"where.{key}",
                    "Expected 0 or 1",
                    {"type": "tinyint", "required": False},
                )
            wanted[FIELD_WHERE[key]] = flag
    fields = selectors.field_definitions(**wanted)
    return {"field": [_field_json(f) for f in _page(call, fields)]}


def _field_json(field: Field) -> dict[str, Any]:
    def flag(value: bool) -> str:
        return "1" if value else "0"

    result = {
        "id": str(field.pk),
        "relationship": field.relationship,
        "systemName": field.system_name,
        "label": field.label,
        "source": field.source,
        "dataType": field.data_type,
        "dataLength": str(field.data_length),
        "isRequired": flag(field.is_required),
        "isCustom": flag(field.is_custom),
        "isActive": flag(field.is_active),
        "isAvailableInContactManager": flag(field.is_available_in_contact_manager),
        "isEditableInContactManager": flag(field.is_editable_in_contact_manager),
        "isAvailableInForms": flag(field.is_available_in_forms),
    }
    if field.data_type == "picklist" and field.is_custom:
        result["options"] = list(field.options or [])
    return result


METHODS: dict[str, Callable[[Call], dict[str, Any] | Reply]] = {
    "getLead": get_lead,
    "getLeads": get_leads,
    "getLeadsDateRange": get_leads_date_range,
    "createLeads": create_leads,
    "updateLeads": update_leads,
    "updateLeadsV2": update_leads,
    "deleteLeads": delete_leads,
    "getEvents": get_events,
    "getLeadTimeline": get_lead_timeline,
    "logCalls": log_calls,
    "getLeadListMemberships": get_lead_list_memberships,
    "subscribeToLeadUpdates": subscribe_to_lead_updates,
    "getFields": get_fields,
}
