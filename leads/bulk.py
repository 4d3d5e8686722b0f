"""Writes to many leads in one call (the JSON-RPC API's batches, up to 500 objects): each
object planned by the single-lead services' own function (``plan_create``/``plan_update``,
so every rule is theirs), then written as set operations — one duplicate lookup, bulk inserts
and updates of the leads and their timeline events — in one transaction.

Each object gets its own outcome, in order: one refused object never fails the others.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, connections, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from crm.domain import READ_ONLY_CODE, READ_ONLY_KEY, Actor, Forbidden, NotFound
from crm.instances import Blank
from crm.notifications import notify_for_events
from leads import access
from leads.models import ATTNAMES, CallLog, Event, EventType, Lead, Tag
from leads.services import (
    DELETE_FIELDS,
    LeadChoices,
    Plan,
    followups_follow_people,
    plan_create,
    plan_delete,
    plan_update,
    update_events,
)
from leads.signals import announce_changes

INVALID = "invalid"
DUPLICATE = "duplicate"
NOT_FOUND = "not_found"
FORBIDDEN = "forbidden"
READ_ONLY = READ_ONLY_CODE  # the actor is a read-only API key: nothing was tried


@dataclass
class Outcome:
    """One object's result: the lead written, or why not (``code``, ``message`` and, for
    invalid values, ``errors`` by field)."""

    lead: Lead | None = None
    code: str | None = None
    message: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code is None


@dataclass
class LeadInput:
    """Values for one lead, as ``lead_create``/``lead_update`` take them: model fields
    (status/source by key, owner/assignee/campaign as objects) and custom values by system
    name; ``tags`` (names) for a new lead. For an update, ``lead_id`` or else ``email`` names
    the lead."""

    data: dict[str, Any]
    custom: dict[str, Any] = field(default_factory=dict)
    lead_id: int | None = None
    email: str | None = None
    tags: list[str] = field(default_factory=list)


def _refused(code: str, message: str, errors: dict | None = None) -> Outcome:
    return Outcome(code=code, message=message, errors=errors or {})


def _read_only(n: int) -> list[Outcome]:
    """A read-only API key's batch: every object refused, nothing tried."""
    return [_refused(READ_ONLY, READ_ONLY_KEY) for _ in range(n)]


def _invalid(errors: dict[str, list[str]]) -> Outcome:
    return _refused(INVALID, "Invalid field values.", errors)


def _plan(planner: Callable[..., Plan], **values: Any) -> Plan | Outcome:
    """One object's write as the single-lead service plans it (``plan_create`` or
    ``plan_update``: the same rules), or the outcome refusing it."""
    try:
        return planner(**values)
    except ValidationError as exc:
        return _invalid(exc.message_dict)
    except Forbidden as exc:
        return _refused(FORBIDDEN, exc.message)


def lock_emails(emails: set[str]) -> None:
    """On PostgreSQL, serialize concurrent batches that create the same emails (one advisory
    lock per email, taken in a fixed order), so two calls cannot both create one email.
    SQLite's writes are already serialized (IMMEDIATE transactions)."""
    if connection.vendor != "postgresql" or not emails:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(h) FROM "
            "(SELECT DISTINCT hashtext(e) AS h FROM unnest(%s::text[]) AS e ORDER BY h) AS s",
            [sorted(emails)],
        )


def reserve_ids(model: type[models.Model], objs: list[Any]) -> bool:
    """On PostgreSQL, give new objects their primary keys from the table's sequence (one
    query) before any row is written, and answer True; elsewhere nothing (the insert gives
    them)."""
    if connection.vendor != "postgresql":
        return False
    if objs:
        meta = model._meta
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objs)],
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
    return True


def insert_all(model: type[models.Model], objs: list[Any], *, ids: bool = True) -> None:
    """Insert new rows, giving each object its primary key.

    On PostgreSQL, with COPY: the ids are taken from the table's sequence in one query, then
    the rows stream in (psycopg's C dumpers), several times faster than a multi-row INSERT
    for hundreds of wide rows. With ``ids=False``, for rows nobody reads back through their
    objects (events), no ids are taken: the rows get theirs from the table's default as they
    go in, and the objects keep ``pk`` None. Elsewhere, ``bulk_create``."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.generated]
    if ids:
        reserve_ids(model, [obj for obj in objs if obj.pk is None])
    else:
        fields.remove(meta.pk)
    with connection.cursor() as cursor:
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
        values = _db_values(fields)
        with cursor.cursor.copy(sql) as copy:
            for obj in objs:
                copy.write_row(values(obj))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def update_all(model: type[models.Model], objs: list[Any], fields: list[str]) -> None:
    """Write ``fields`` (names or attnames) of existing rows from their objects.

    On PostgreSQL, one ``UPDATE ... FROM unnest(<one array per column>)``; elsewhere
    ``bulk_update``, whose CASE expressions grow with the rows."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=500)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    arrays = [[obj.pk for obj in objs]]
    values = _db_values(columns, add=False)
    arrays += [list(column) for column in zip(*(values(obj) for obj in objs), strict=True)]
    types = [meta.pk.db_type(connection), *(f.db_type(connection) for f in columns)]
    sql = "UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS v({names}) WHERE t.{pk} = v.c0"
    with connection.cursor() as cursor:
        cursor.execute(
            sql.format(
                table=quote(meta.db_table),
                sets=", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(columns, 1)),
                arrays=", ".join(f"%s::{kind}[]" for kind in types),
                names=", ".join(f"c{i}" for i in range(len(types))),
                pk=quote(meta.pk.column),
            ),
            arrays,
        )


# Column kinds whose values of the given Python types need no preparation on PostgreSQL:
# COPY takes them as they are (psycopg writes them), and their preparation would give them
# back unchanged. An aware moment in a moment's column too (``_aware``).
NATIVE: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(
        (
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveBigIntegerField",
            "PositiveSmallIntegerField",
            "ForeignKey",
        ),
        (int,),
    ),
    "BooleanField": (bool,),
}


def _aware(value: Any) -> bool:
    return type(value) is datetime and value.tzinfo is not None


def _own_pre_save(field: models.Field) -> bool:
    """Whether a save writes something else than the field's value (a date's only does when
    it stamps the time: ``auto_now``, ``auto_now_add``)."""
    if isinstance(field, models.DateField):
        return field.auto_now or field.auto_now_add
    return type(field).pre_save is not models.Field.pre_save


def _db_values(fields: Sequence[models.Field], *, add: bool = True):
    """A function giving an object's database values for ``fields``, in order, as a save
    would write them. Thousands of rows go through it: the values are read in one step, and
    only a value that needs it is prepared (text and NULL never do, outside JSON; a field
    with a ``pre_save`` of its own always does)."""
    conn = connections[connection.alias]
    postgresql = conn.vendor == "postgresql"
    read = operator.attrgetter(*(f.attname for f in fields))
    single = len(fields) == 1
    own_pre_save = [(i, f) for i, f in enumerate(fields) if _own_pre_save(f)]
    checks = []
    for i, f in enumerate(fields):
        if isinstance(f, models.JSONField):
            checks.append((i, f, frozenset(), None))
            continue
        kind = f.get_internal_type()
        passes = {str, type(None), *(NATIVE.get(kind, ()) if postgresql else ())}
        moment = _aware if postgresql and kind == "DateTimeField" else None
        checks.append((i, f, frozenset(passes), moment))

    def values(obj: models.Model) -> list[Any]:
        row = [read(obj)] if single else list(read(obj))
        for i, f in own_pre_save:
            row[i] = f.pre_save(obj, add=add)
        for i, f, passes, moment in checks:
            value = row[i]
            if type(value) in passes or (moment is not None and moment(value)):
                continue
            row[i] = f.get_db_prep_save(value, conn)
        return row

    return values


new_event = Blank(Event)


def _event(actor: Actor, lead: Lead, type: str, data: dict[str, Any], now: datetime) -> Event:
    """A timeline event of a batch (its lead saved, or given its id by ``insert_all``)."""
    event = new_event()
    event.lead_id = lead.pk
    event.type = type
    event.data = data
    event.created_at = now
    for name, value in actor.event_fields().items():
        setattr(event, name, value)
    return event


def _email_key(data: dict[str, Any]) -> str:
    return str(data.get("email") or "").strip().lower()


@transaction.atomic
def leads_create_many(
    *, actor: Actor, items: Sequence[LeadInput], refuse_duplicates: bool = True
) -> list[Outcome]:
    """Create each lead that ``plan_create`` passes and, with ``refuse_duplicates``, whose
    email no live lead (nor an earlier object of the call) has (a CSV import decides duplicates
    row by row itself). Queries: the lists the values need (statuses and custom fields, and
    sources when one is given), the duplicate lookup (1), the insert of the leads and of their
    ``created`` events (batched), and, when some have tags, two or three for those."""
    if actor.read_only:
        return _read_only(len(items))
    choices = LeadChoices()
    planned = [
        _plan(
            plan_create,
            actor=actor,
            data=item.data,
            custom=item.custom,
            tags=item.tags,
            choices=choices,
        )
        for item in items
    ]
    emails = {
        _email_key(item.data)
        for item, plan in zip(items, planned, strict=True)
        if isinstance(plan, Plan)
    }
    emails.discard("")
    taken: set[str] = set()
    if refuse_duplicates and emails:
        lock_emails(emails)
        taken = set(
            Lead.objects.alive()
            .annotate(email_key=Lower("email"))
            .filter(email_key__in=emails)
            .values_list("email_key", flat=True)
        )

    now = timezone.now()
    outcomes: list[Outcome] = []
    new: list[Plan] = []
    for item, plan in zip(items, planned, strict=True):
        if not isinstance(plan, Plan):
            outcomes.append(plan)
            continue
        email = _email_key(item.data)
        if refuse_duplicates and email and email in taken:
            outcomes.append(_refused(DUPLICATE, "Entry already exists"))
            continue
        lead = plan.lead
        lead.created_at = lead.updated_at = lead.last_activity_at = now  # its created event
        taken.add(email)
        new.append(plan)
        outcomes.append(Outcome(lead=lead))

    leads = [plan.lead for plan in new]

    def events() -> list[Event]:
        return [_event(actor, plan.lead, EventType.CREATED, plan.created(), now) for plan in new]

    # The leads' insert fires the rollup's trigger, whose row locks a concurrent batch of the
    # same owner waits on until this one commits: when the leads have their ids beforehand
    # (PostgreSQL, where the events' foreign key is checked at commit), it comes last.
    if reserve_ids(Lead, leads):
        insert_all(Event, events(), ids=False)
        insert_all(Lead, leads)
    else:
        insert_all(Lead, leads)
        insert_all(Event, events(), ids=False)
    _tag_all(new)
    notify_for_events(events(), leads=leads)
    announce_changes(plan.lead.pk for plan in new)
    return outcomes


def _tag_all(new: list[Plan]) -> None:
    """Give new leads their tags (as their plans name them): the missing tags created, the
    links inserted, in bulk."""
    wanted = {plan.lead.pk: plan.tags or [] for plan in new}
    names = {name for tags in wanted.values() for name in tags}
    if not names:
        return
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    link = Lead.tags.through
    link.objects.bulk_create(
        link(lead_id=pk, tag_id=ids[name]) for pk, tags in wanted.items() for name in tags
    )


def _find_targets(actor: Actor, items: Sequence[LeadInput]) -> list[Lead | None]:
    """The live lead each update names: by id, else by email (the oldest lead with it).
    Two queries at most; one lead named twice is one instance, changed in order."""
    visible = access.visible_leads(actor)
    ids = {item.lead_id for item in items if item.lead_id is not None}
    emails = {str(item.email).strip().lower() for item in items if item.lead_id is None}
    emails.discard("")
    by_id = {lead.pk: lead for lead in visible.filter(pk__in=ids)} if ids else {}
    by_email: dict[str, Lead] = {}
    if emails:
        found = visible.annotate(email_key=Lower("email")).filter(email_key__in=emails)
        for lead in found.order_by("pk"):
            lead = by_id.setdefault(lead.pk, lead)
            by_email.setdefault(lead.email_key, lead)
    targets: list[Lead | None] = []
    for item in items:
        if item.lead_id is not None:
            targets.append(by_id.get(item.lead_id))
        else:
            targets.append(by_email.get(str(item.email or "").strip().lower()))
    return targets


@transaction.atomic
def leads_update_many(*, actor: Actor, items: Sequence[LeadInput]) -> list[Outcome]:
    """Overwrite the given fields of each named lead that ``plan_update`` passes (SPEC §3:
    writes overwrite). A lead that does not exist, is deleted or is not visible is
    ``not_found``. Queries: the lists the values need (at most 3), the lookup (1-2), one bulk
    update and one bulk insert of events."""
    if actor.read_only:
        return _read_only(len(items))
    choices = LeadChoices()
    targets = _find_targets(actor, items)
    outcomes: list[Outcome] = []
    changed_leads: dict[int, Lead] = {}
    columns: set[str] = set()
    now = timezone.now()
    events: list[Event] = []
    for item, lead in zip(items, targets, strict=True):
        if lead is None:
            outcomes.append(_refused(NOT_FOUND, "Entry does not exist"))
            continue
        plan = _plan(
            plan_update, actor=actor, lead=lead, data=item.data, custom=item.custom, choices=choices
        )
        if not isinstance(plan, Plan):
            outcomes.append(plan)
            continue
        changed = plan.changed
        outcomes.append(Outcome(lead=lead))
        if not changed:
            continue
        lead.updated_at = now
        changed_leads[lead.pk] = lead
        # a changed name that is no field of the model is a custom field
        columns.update(ATTNAMES.get(name, "custom_fields") for name in changed)
        events += [_event(actor, lead, type, data, now) for type, data in update_events(changed)]
    if changed_leads:
        fields = sorted({*columns, "updated_at"})
        update_all(Lead, list(changed_leads.values()), fields)
        insert_all(Event, events, ids=False)
        notify_for_events(events, leads=changed_leads.values())
        followups_follow_people(events, leads=changed_leads.values())
        announce_changes(changed_leads)
    return outcomes


@transaction.atomic
def leads_delete_many(*, actor: Actor, ids: Sequence[int]) -> list[Outcome]:
    """Soft-delete each lead (status ``deleted``, restorable). A lead that does not exist or
    is already deleted is ``not_found``."""
    if actor.read_only:
        return _read_only(len(ids))
    leads = {lead.pk: lead for lead in access.visible_leads(actor).filter(pk__in=set(ids))}
    now = timezone.now()
    outcomes: list[Outcome] = []
    deleted: dict[int, Lead] = {}
    events: list[Event] = []
    for pk in ids:
        lead = leads.get(pk)
        if lead is None or pk in deleted:
            outcomes.append(_refused(NOT_FOUND, "Entry does not exist"))
            continue
        try:
            data = plan_delete(actor=actor, lead=lead, now=now)
        except Forbidden as exc:
            outcomes.append(_refused(FORBIDDEN, exc.message))
            continue
        deleted[pk] = lead
        events.append(_event(actor, lead, EventType.DELETED, data, now))
        outcomes.append(Outcome(lead=lead))
    if deleted:
        update_all(Lead, list(deleted.values()), DELETE_FIELDS)
        insert_all(Event, events, ids=False)
        announce_changes(deleted)
    return outcomes


@dataclass
class CallInput:
    lead_id: int
    timestamp: Any
    duration: int = 0
    result: str = ""
    notes: str = ""


@transaction.atomic
def calls_log_many(*, actor: Actor, items: Sequence[CallInput]) -> list[Outcome]:
    """Log calls with leads (seed 001 ``logCalls``), each with a ``call_logged`` event."""
    if actor.read_only:
        return _read_only(len(items))
    leads = {
        lead.pk: lead
        for lead in access.visible_leads(actor).filter(pk__in={i.lead_id for i in items})
    }
    outcomes: list[Outcome] = []
    calls: list[CallLog] = []
    for item in items:
        lead = leads.get(item.lead_id)
        if lead is None:
            outcomes.append(_refused(NOT_FOUND, "Entry does not exist"))
            continue
        if not access.can_write_activity(actor, lead):
            outcomes.append(_refused(FORBIDDEN, "You can't log calls on this lead."))
            continue
        call = CallLog(
            lead=lead,
            user=actor.user,
            timestamp=item.timestamp,
            duration=item.duration,
            result=(item.result or "").strip(),
            notes=(item.notes or "").strip(),
        )
        try:
            call.full_clean(exclude=["lead", "user"])
        except ValidationError as exc:
            outcomes.append(_invalid(exc.message_dict))
            continue
        calls.append(call)
        outcomes.append(Outcome(lead=lead))
    CallLog.objects.bulk_create(calls)
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            lead=call.lead,
            type=EventType.CALL_LOGGED,
            data={
                "call_id": call.pk,
                "timestamp": call.timestamp.isoformat(),
                "duration": call.duration,
                "result": call.result,
                "notes": call.notes,
            },
            created_at=now,
            **actor.event_fields(),
        )
        for call in calls
    )
    announce_changes(call.lead_id for call in calls)
    return outcomes


def call_log(*, actor: Actor, lead: Lead, call: CallInput) -> None:
    """Log one call with ``lead`` (the lead page's "Log a call"): ``calls_log_many`` for one,
    its refusal raised as the single-lead services raise theirs."""
    (outcome,) = calls_log_many(
        actor=actor, items=[CallInput(**{**vars(call), "lead_id": lead.pk})]
    )
    if outcome.code == READ_ONLY:
        raise Forbidden(READ_ONLY_KEY, code=READ_ONLY_CODE)
    if outcome.code == NOT_FOUND:
        raise NotFound("No such lead.", code="lead_not_found")
    if outcome.code == FORBIDDEN:
        raise Forbidden(outcome.message, code="cannot_log_call")
    if outcome.code is not None:
        raise ValidationError(outcome.errors or outcome.message)


def leads_change_by_id(
    *, actor: Actor, ids: Sequence[int], data: dict[str, Any] | None = None, delete: bool = False
) -> list[Outcome]:
    """One chunk (at most 500 ids) of the web list's "select all matching" bulk action: the
    same change (``data`` as ``lead_update`` takes it) or a soft delete of each lead, through
    the batch services above (every rule is the single-lead services'), in one transaction."""
    if delete:
        return leads_delete_many(actor=actor, ids=ids)
    return leads_update_many(
        actor=actor, items=[LeadInput(data=dict(data or {}), lead_id=pk) for pk in ids]
    )
