"""Every write to leads, notes and custom fields. Each service runs in one transaction and
records its timeline event in that same transaction."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import ngettext

from appointments.models import Appointment
from crm.domain import (
    NOT_A_CHOICE,
    Actor,
    DomainError,
    Forbidden,
    NotFound,
    RuleViolation,
    unstorable,
    yes_no,
)
from crm.instances import Blank
from crm.models import User
from crm.notifications import notify_for_events
from leads import access
from leads.models import (
    ATTNAMES,
    DELETED_STATUS,
    MERGE_FIELDS,
    WRITABLE_FIELDS,
    CallLog,
    DataType,
    Event,
    EventType,
    Field,
    Lead,
    LeadFile,
    LeadNote,
    ListMembership,
    Tag,
    Task,
    phone_validator,
    system_name_for,
)
from leads.rules import (
    MERGE_KEEP,
    MERGE_OTHER,
    merge_default,
    normalize_phone,
    resolve_choice,
    split_tags,
    tag_errors,
)
from leads.selectors import active_custom_fields, assignable_sources, assignable_statuses
from leads.signals import announce_changes

DEFAULT_STATUS = "prospect"
REQUIRED = "This field is required."
PHONE_FIELDS = frozenset({"phone", "mobile_phone", "office_phone", "fax"})


NOT_OWNER = "You are not owner of this lead."


def ensure_live(lead: Lead) -> None:
    """A write to a deleted lead is refused (it can be restored first)."""
    if lead.is_deleted:
        raise RuleViolation("This lead is deleted.", code="lead_deleted")


def ensure_editable(actor: Actor, lead: Lead) -> None:
    """What every change of the lead itself checks first: an actor that writes, a live lead,
    and one the actor may edit."""
    access.ensure_can_write(actor)
    ensure_live(lead)
    if not access.can_edit(actor, lead):
        raise Forbidden(NOT_OWNER, code="not_owner")


def record_event(*, lead: Lead, type: str, actor: Actor, data: dict | None = None) -> Event:
    """Write one timeline entry, in the caller's transaction, and announce the change."""
    event = Event.objects.create(lead=lead, type=type, data=data or {}, **actor.event_fields())
    announce_changes([lead.pk])
    notify_for_events([event])
    followups_follow_people([event])
    return event


# --- custom fields ------------------------------------------------------------------------


def _clean_custom_value(field: Field, value: Any) -> Any:
    """One value, checked against the field's data type; returns what is stored (JSON)."""
    kind = field.data_type
    if isinstance(value, (dict, list)):
        raise ValidationError("Enter a single value.")
    if problem := unstorable(str(value)):
        raise ValidationError(problem)
    if kind == DataType.BOOLEAN:
        answer = yes_no(str(value))
        if answer is None:
            raise ValidationError("Enter yes or no.")
        return answer
    if kind == DataType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError("Enter a number.")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError("Enter a number.") from None
        if not number.is_finite() or len(str(value).strip()) > field.data_length:
            raise ValidationError("Enter a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    text = str(value).strip()
    if len(text) > field.data_length:
        raise ValidationError(f"Ensure this field has no more than {field.data_length} characters.")
    if kind == DataType.DATE:
        try:
            parsed = parse_date(text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError("Enter a date as YYYY-MM-DD.")
        return parsed.isoformat()
    if kind == DataType.DATETIME:
        try:
            parsed_dt = parse_datetime(text)
        except ValueError:
            parsed_dt = None
        if parsed_dt is None:
            raise ValidationError("Enter a date and time as YYYY-MM-DD HH:MM:SS.")
        if timezone.is_naive(parsed_dt):
            parsed_dt = timezone.make_aware(parsed_dt)
        return parsed_dt.isoformat()
    if kind == DataType.PICKLIST:
        if text not in (field.options or []):
            raise ValidationError(NOT_A_CHOICE.format(text))
        return text
    if kind == DataType.URL:
        URLValidator(message="Enter a valid URL.")(text)
    elif kind == DataType.EMAIL:
        EmailValidator(message="Invalid email.")(text)
    elif kind == DataType.PHONE:
        text = normalize_phone(text)
        phone_validator(text)
    return text


def clean_custom_values(
    values: dict[str, Any],
    *,
    current: dict[str, Any] | None = None,
    creating: bool,
    fields: dict[str, Field] | None = None,
) -> dict[str, Any]:
    """Merge ``values`` (keyed by system name) into ``current``; errors keyed by system name.

    Unknown or inactive system names are refused, so a typo never vanishes silently. An empty
    value clears the field. On create, a required field must be given. ``fields`` (the active
    custom fields by system name) saves the query when many leads are checked.
    """
    if fields is None:
        fields = {f.system_name: f for f in active_custom_fields()}
    result = dict(current or {})
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            errors[name] = ["Unknown field."]
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if field.is_required:
                errors[name] = [REQUIRED]
            result.pop(name, None)
            continue
        try:
            result[name] = _clean_custom_value(field, value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if creating:
        for name, field in fields.items():
            if field.is_required and name not in result and name not in errors:
                errors[name] = [REQUIRED]
    if errors:
        raise ValidationError(errors)
    return result


@transaction.atomic
def field_create(*, label: str, data_type: str = DataType.TEXT, **attrs: Any) -> Field:
    field = Field(label=label, data_type=data_type, system_name=system_name_for(label), **attrs)
    field.full_clean()
    field.save()
    return field


# --- leads --------------------------------------------------------------------------------


class LeadChoices:
    """The active statuses and sources (key -> label) and custom fields (by system name) a lead
    may take, each read when first asked for (one query) and then kept: a write reads only the
    lists its values need, and a batch checks any number of leads with one read of each."""

    @cached_property
    def statuses(self) -> dict[str, str]:
        return dict(assignable_statuses())

    @cached_property
    def sources(self) -> dict[str, str]:
        return dict(assignable_sources())

    @cached_property
    def fields(self) -> dict[str, Field]:
        return {f.system_name: f for f in active_custom_fields()}


def lead_choices() -> LeadChoices:
    """Three queries, now: the statuses, the sources and the custom fields a lead may take."""
    choices = LeadChoices()
    _ = choices.statuses, choices.sources, choices.fields
    return choices


def _check_lists(
    changes: dict[str, Any], choices: LeadChoices
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``changes`` with the status and source given by key or label (``rules.resolve_choice``)
    turned into their keys, and the errors: each must be an active list entry (``deleted`` is
    reserved); a lead always has a status. A list is read only when a value is given for it."""
    resolved = dict(changes)
    errors: dict[str, list[str]] = {}
    for name, options in (("status", "statuses"), ("source", "sources")):
        if name not in changes:
            continue
        value = changes[name]
        if value is None:
            if name == "status":
                errors[name] = [REQUIRED]
            continue
        key = resolve_choice(value, getattr(choices, options)) if isinstance(value, str) else None
        if key is None:
            errors[name] = [NOT_A_CHOICE.format(value)]
        else:
            resolved[name] = key
    return resolved, errors


def resolve_lists(data: dict[str, Any], choices: LeadChoices) -> dict[str, Any]:
    """``data`` with its status and source, if given by label, given by key (no query)."""
    return _check_lists(data, choices)[0]


def check_people(actor: Actor, lead: Lead, changes: dict[str, Any]) -> None:
    """The owner and assignee among ``changes`` (users) must be active, and only managers give
    a lead to someone else. No query."""
    for field in ("owner", "assignee"):
        if field not in changes:
            continue
        person: User | None = changes[field]
        if person is not None and not person.is_active:
            raise ValidationError({field: ["This user is not active."]})
        current = getattr(lead, f"{field}_id")
        if not access.can_change_person(actor, current, person.pk if person else None):
            raise Forbidden("You can't give a lead to someone else.", code="cannot_assign")


def apply_values(lead: Lead, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the given fields, returning ``{field: [old, new]}`` for those that changed.

    Foreign keys are given as objects, except ``status`` and ``source``, given by key.
    """
    if not WRITABLE_FIELDS.issuperset(data):
        raise ValueError(f"Not writable lead fields: {sorted(set(data) - WRITABLE_FIELDS)}")
    changed: dict[str, list[Any]] = {}
    for name, value in data.items():
        if isinstance(value, str):
            value = (normalize_phone(value) if name in PHONE_FIELDS else value).strip()
        attname = ATTNAMES[name]
        old = getattr(lead, attname)
        new = value.pk if hasattr(value, "pk") else value
        if old != new:
            changed[name] = [old, new]
            setattr(lead, attname, new)
    return changed


_IS_RELATION = {f.name: f.is_relation for f in Lead._meta.concrete_fields}
_FIELDS = frozenset(f.name for f in Lead._meta.fields)
_PLAIN = frozenset(name for name, relation in _IS_RELATION.items() if not relation)
new_lead = Blank(Lead)


def _full_clean(lead: Lead, fields: set[str]) -> None:
    """Validate the written plain fields (relations are checked by ``_check_lists`` and
    ``check_people``); the others are left out as a set worked out from two kept ones, not
    a list built anew for each of a batch's 500 leads."""
    exclude = _FIELDS - (fields & _PLAIN)
    lead.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def _add_errors(errors: dict[str, list[str]], refused: ValidationError) -> None:
    for name, messages in refused.message_dict.items():
        errors.setdefault(name, []).extend(messages)


def _checked_values(
    *,
    lead: Lead,
    data: dict[str, Any],
    custom: dict[str, Any] | None,
    tags: list[str] | None,
    creating: bool,
    choices: LeadChoices,
) -> tuple[dict[str, Any], dict[str, Any] | None, list[str] | None]:
    """The value rules of a write to ``lead``, each written once: ``data`` with its status and
    source by key, the custom values the lead ends with (None: custom values not given on an
    update) and its tag names (``rules.split_tags``; None: not given), or ``ValidationError``
    with every refused value, by field or system name (lists, tags, plain fields, custom
    fields). The plain values that change the lead are checked on it when it is new (it keeps
    them), else on a copy, so that a refused update leaves it as it was."""
    data, errors = _check_lists(data, choices)
    wanted = split_tags(tags) if tags is not None else None
    if wanted and (problems := tag_errors(wanted)):
        errors["tags"] = problems
    plain = {k: v for k, v in data.items() if not _IS_RELATION.get(k)}
    into = lead if creating else copy(lead)
    try:
        _full_clean(into, set(apply_values(into, plain)))
    except ValidationError as exc:
        _add_errors(errors, exc)
    new_custom = None
    if custom or creating:
        try:
            new_custom = clean_custom_values(
                custom or {}, current=lead.custom_fields, creating=creating, fields=choices.fields
            )
        except ValidationError as exc:
            _add_errors(errors, exc)
    if errors:
        raise ValidationError(errors)
    return data, new_custom, wanted


@dataclass
class Plan:
    """One write to a lead, checked and not yet saved: ``lead`` holds its new values, ``data``
    the fields given (status and source by key, people as users), ``tags`` the names the lead
    is to have (None: left as they are) and ``changed`` what the write changes (``{field:
    [old, new]}``; empty for a new lead)."""

    lead: Lead
    data: dict[str, Any]
    tags: list[str] | None
    changed: dict[str, list[Any]]

    def created(self) -> dict[str, Any]:
        """What a new lead's ``created`` event records: the values it was given."""
        return {k: _json(getattr(self.lead, ATTNAMES[k])) for k in self.data}


def plan_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    choices: LeadChoices,
) -> Plan:
    """The new lead ``lead_create`` and ``leads_create_many`` write for these values, every
    rule of a create checked: an actor that writes, the status ``prospect`` unless one is given,
    the values (``ValidationError`` with every refused one), the people (``check_people``), and
    the acting user as owner unless one is given. Writes and queries nothing but the lists
    ``choices`` has not read yet."""
    access.ensure_can_write(actor)
    lead = new_lead()
    data, custom_values, wanted = _checked_values(
        lead=lead,
        data={"status": DEFAULT_STATUS, **data},
        custom=custom,
        tags=tags or [],
        creating=True,
        choices=choices,
    )
    check_people(actor, lead, data)
    if "owner" not in data and actor.user is not None:
        data["owner"] = actor.user  # the creator owns the lead unless told otherwise
    apply_values(lead, {k: v for k, v in data.items() if _IS_RELATION[k]})
    lead.custom_fields = custom_values
    return Plan(lead=lead, data=data, tags=wanted, changed={})


def plan_update(
    *,
    actor: Actor,
    lead: Lead,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    choices: LeadChoices,
) -> Plan:
    """The change ``lead_update`` and ``leads_update_many`` write to ``lead`` (SPEC §3: writes
    overwrite; untouched fields stay), every rule of an update checked: ``ensure_editable``,
    then the values (``ValidationError`` with every refused one; only those that change the
    lead), then the people. The lead takes its new values (unsaved) only when all pass."""
    ensure_editable(actor, lead)
    data, custom_values, wanted = _checked_values(
        lead=lead, data=data, custom=custom, tags=tags, creating=False, choices=choices
    )
    check_people(actor, lead, data)
    changed = apply_values(lead, data)
    if custom_values is not None:
        merge_custom(lead, custom_values, changed)
    return Plan(lead=lead, data=data, tags=wanted, changed=changed)


def lead_values_refused(
    *,
    lead: Lead | None,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> ValidationError | None:
    """The value rules of a create (``lead`` None) or an update of ``lead``, checked without
    writing anything: every refused value, or None. A form whose own checks refused some
    fields asks this about the others, to show every error at once (issue 14: a missing
    phone does not hide an invalid email). ``lead`` is left as it was."""
    creating = lead is None
    if creating:
        data = {"status": DEFAULT_STATUS, **data}
    try:
        _checked_values(
            lead=new_lead() if lead is None else lead,
            data=data,
            custom=custom,
            tags=tags,
            creating=creating,
            choices=LeadChoices(),
        )
    except ValidationError as exc:
        return exc
    return None


def _set_tags(lead: Lead, wanted: list[str]) -> list[str] | None:
    """Give the lead exactly these tags (a plan's); returns them sorted if they changed, else
    None."""
    wanted = sorted(wanted)
    current = sorted(lead.tags.values_list("name", flat=True))
    if wanted == current:
        return None
    existing = {t.name: t for t in Tag.objects.filter(name__in=wanted)}
    missing = [Tag(name=n) for n in wanted if n not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    lead.tags.set(Tag.objects.filter(name__in=wanted))
    return wanted


def _json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, Decimal)):
        return str(value)
    return value


@transaction.atomic
def lead_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> Lead:
    """Create a lead. ``data`` holds model field values (status/source by key, people as users).

    The owner defaults to the acting user; only managers create leads for someone else
    (``plan_create`` has every rule).
    """
    plan = plan_create(actor=actor, data=data, custom=custom, tags=tags, choices=LeadChoices())
    lead = plan.lead
    lead.created_at = lead.updated_at = timezone.now()
    lead.save()
    if plan.tags:
        _set_tags(lead, plan.tags)
    record_event(lead=lead, type=EventType.CREATED, actor=actor, data=plan.created())
    return lead


def merge_custom(lead: Lead, new_custom: dict[str, Any], changed: dict[str, list[Any]]) -> None:
    """Give the lead its new custom values, adding each that changed to ``changed``."""
    for name in set(new_custom) | set(lead.custom_fields):
        old, new = lead.custom_fields.get(name), new_custom.get(name)
        if old != new:
            changed[name] = [old, new]
    lead.custom_fields = new_custom


def update_events(changed: dict[str, list[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The timeline entries (type, data) for a lead whose fields ``changed`` ({field: [old,
    new]}): always ``updated``, plus ``status_changed`` and ``assigned`` when those changed."""
    changes = {k: [_json(o), _json(n)] for k, (o, n) in changed.items()}
    events: list[tuple[str, dict[str, Any]]] = [(EventType.UPDATED, {"changes": changes})]
    if "status" in changed:
        old, new = changed["status"]
        events.append((EventType.STATUS_CHANGED, {"from": old, "to": new}))
    for person in ("owner", "assignee"):
        if person in changed:
            old, new = changed[person]
            events.append((EventType.ASSIGNED, {"field": person, "from": old, "to": new}))
    return events


@transaction.atomic
def lead_update(
    *,
    actor: Actor,
    lead: Lead,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    choices: LeadChoices | None = None,
) -> Lead:
    """Overwrite the given fields (SPEC §3: writes overwrite); untouched fields stay
    (``plan_update`` has every rule). ``choices`` saves reading the lists again when many
    leads are changed."""
    choices = choices or LeadChoices()
    plan = plan_update(actor=actor, lead=lead, data=data, custom=custom, tags=tags, choices=choices)
    changed = plan.changed
    new_tags = _set_tags(lead, plan.tags) if plan.tags is not None else None
    if new_tags is not None:
        changed["tags"] = [None, new_tags]
    if not changed:
        return lead
    lead.updated_at = timezone.now()
    lead.save()
    for type, data in update_events(changed):
        record_event(lead=lead, type=type, actor=actor, data=data)
    return lead


@transaction.atomic
def lead_delete(*, actor: Actor, lead: Lead) -> Lead:
    """Soft delete: the status becomes ``deleted``; an administrator can restore the lead."""
    access.ensure_can_write(actor)
    data = plan_delete(actor=actor, lead=lead, now=timezone.now())
    lead.save(update_fields=DELETE_FIELDS)
    record_event(lead=lead, type=EventType.DELETED, actor=actor, data=data)
    return lead


# What a soft delete changes, and the one place that decides it (single and batch deletes).
DELETE_FIELDS = ["status", "status_before_delete", "updated_at"]


def plan_delete(*, actor: Actor, lead: Lead, now: dt.datetime) -> dict[str, Any]:
    """Check that ``actor`` may delete ``lead`` and mark it deleted (``DELETE_FIELDS``, not
    saved); the ``deleted`` event's data. Restorable: the status it had is kept."""
    if lead.is_deleted:
        raise RuleViolation("This lead is already deleted.", code="lead_deleted")
    if not access.can_delete(actor, lead):
        raise Forbidden("You can't delete this lead.", code="cannot_delete")
    previous = lead.status_id
    lead.status_before_delete_id = previous
    lead.status_id = DELETED_STATUS
    lead.updated_at = now
    return {"from": previous}


@transaction.atomic
def lead_restore(*, actor: Actor, lead: Lead) -> Lead:
    access.ensure_can_write(actor)
    if not lead.is_deleted:
        raise RuleViolation("This lead is not deleted.", code="lead_not_deleted")
    if not access.can_delete(actor, lead):
        raise Forbidden("You can't restore this lead.", code="cannot_restore")
    restored = lead.status_before_delete_id or DEFAULT_STATUS
    lead.status_id = restored
    lead.status_before_delete = None
    lead.updated_at = timezone.now()
    lead.save(update_fields=["status", "status_before_delete", "updated_at"])
    record_event(lead=lead, type=EventType.RESTORED, actor=actor, data={"to": restored})
    return lead


@transaction.atomic
def lead_assign(*, actor: Actor, lead: Lead, people: dict[str, User | None]) -> Lead:
    """Set the lead's ``owner`` and/or ``assignee`` (the keys of ``people``; None: nobody).

    Managers give a lead to anyone; a salesperson claims a free slot for itself or releases its
    own (``access.can_change_person``), even on a pool lead whose other fields it may not edit.
    A person left as it is is not checked again.
    """
    access.ensure_can_write(actor)
    ensure_live(lead)
    if set(people) - {"owner", "assignee"}:
        raise ValueError(f"Not a lead's person: {sorted(set(people) - {'owner', 'assignee'})}")
    people = {
        name: person
        for name, person in people.items()
        if getattr(lead, f"{name}_id") != (person.pk if person else None)
    }
    check_people(actor, lead, people)
    changed = apply_values(lead, people)
    if not changed:
        return lead
    lead.updated_at = timezone.now()
    lead.save(update_fields=[*changed, "updated_at"])
    for name, (old, new) in changed.items():
        record_event(
            lead=lead,
            type=EventType.ASSIGNED,
            actor=actor,
            data={"field": name, "from": old, "to": new},
        )
    return lead


# --- notes --------------------------------------------------------------------------------


@transaction.atomic
def note_create(*, actor: Actor, lead: Lead, text: str) -> LeadNote:
    access.ensure_can_write(actor)
    ensure_live(lead)
    if not access.can_write_activity(actor, lead):
        raise Forbidden("You can't add note on this lead.", code="cannot_add_note")
    note = LeadNote(lead=lead, text=(text or "").strip(), author=actor.user, api_key=actor.api_key)
    note.full_clean(exclude=["lead", "author", "api_key"])
    note.save()
    record_event(
        lead=lead, type=EventType.NOTE_ADDED, actor=actor, data={"note_id": note.pk, "text": text}
    )
    return note


@transaction.atomic
def note_delete(*, actor: Actor, note: LeadNote) -> None:
    access.ensure_can_write(actor)
    if note.deleted_at is not None:
        raise RuleViolation("This note is already deleted.", code="note_deleted")
    if not access.can_delete_note(actor, note):
        raise Forbidden("You can't delete this note.", code="cannot_delete_note")
    note.deleted_at = timezone.now()
    note.save(update_fields=["deleted_at"])
    record_event(
        lead=note.lead, type=EventType.NOTE_DELETED, actor=actor, data={"note_id": note.pk}
    )


@transaction.atomic
def note_restore(*, actor: Actor, note: LeadNote) -> LeadNote:
    """Bring a soft-deleted note back (the "Undo" after a delete): whoever may delete the note
    may restore it, while its lead is live."""
    access.ensure_can_write(actor)
    if note.deleted_at is None:
        raise RuleViolation("This note is not deleted.", code="note_not_deleted")
    ensure_live(note.lead)
    if not access.can_delete_note(actor, note):
        raise Forbidden("You can't restore this note.", code="cannot_restore_note")
    note.deleted_at = None
    note.save(update_fields=["deleted_at"])
    record_event(
        lead=note.lead, type=EventType.NOTE_RESTORED, actor=actor, data={"note_id": note.pk}
    )
    return note


# --- tasks --------------------------------------------------------------------------------

TASK_TITLE_REQUIRED = "Enter what is to be done."


def _task_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise RuleViolation(TASK_TITLE_REQUIRED, code="task_title_required")
    if len(title) > Task._meta.get_field("title").max_length or unstorable(title):
        raise RuleViolation("Enter a task of at most 255 characters.", code="task_title_invalid")
    return title


def _task_event(task: Task, type: str, actor: Actor, **data: Any) -> None:
    """The change on the task's lead's timeline (a task of no lead has none)."""
    if task.lead_id is not None:
        record_event(lead=task.lead, type=type, actor=actor,
                     data={"task_id": task.pk, "title": task.title, **data})  # fmt: skip


def _check_assignee(actor: Actor, assignee: User, lead: Lead | None) -> None:
    """Managers give a task to anyone active who sees its lead; others only take it
    themselves."""
    if not assignee.is_active:
        raise RuleViolation("Assignee not found.", code="assignee_not_found", field="assignee")
    if assignee.pk != actor.user_id and not access.can_give(actor):
        raise Forbidden("You can't give tasks to others.", code="cannot_give_task")
    if lead is not None:
        try:
            access.lead_for_actor(Actor(user=assignee), pk=lead.pk)
        except NotFound:
            raise RuleViolation(
                f"{assignee} can't see this lead.",
                code="assignee_cannot_see_lead",
                field="assignee",
            ) from None


def _check_change(actor: Actor, task: Task, *, open_only: bool = True) -> None:
    """The actor may change the task, which is live (and open, unless not ``open_only``)."""
    access.ensure_can_write(actor)
    if task.deleted_at is not None or (open_only and task.done_at is not None):
        raise RuleViolation("This task is already done or deleted.", code="task_closed")
    if not access.can_change_task(actor, task):
        raise Forbidden("You can't change this task.", code="cannot_change_task")


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    title: str,
    due: dt.datetime,
    lead: Lead | None = None,
    assignee: User | None = None,
    followup: bool = False,
) -> Task:
    """A task due at ``due`` for ``assignee`` (the actor by default), on ``lead`` if given
    (then by the rule of notes and appointments: ``access.can_write_activity``)."""
    access.ensure_can_write(actor)
    if lead is not None:
        ensure_live(lead)
        if not access.can_write_activity(actor, lead):
            raise Forbidden("You can't add tasks to this lead.", code="cannot_add_task")
    assignee = assignee or actor.user
    if assignee is None:
        raise RuleViolation("Choose who does the task.", code="assignee_required")
    _check_assignee(actor, assignee, lead)
    now = timezone.now()
    task = Task.objects.create(
        title=_task_title(title), due=due, lead=lead, assignee=assignee, created_by=actor.user,
        followup=followup, created_at=now, updated_at=now,
    )  # fmt: skip
    _task_event(task, EventType.TASK_CREATED, actor, due=due.isoformat(), to=assignee.pk)
    return task


def _mirror_followup(task: Task, due: dt.datetime | None) -> None:
    """A lead's ``followup_date`` is its open follow-up task's due time (None without one)."""
    if task.followup and task.lead_id is not None:
        Lead.objects.filter(pk=task.lead_id).update(followup_date=due)
        task.lead.followup_date = due


@transaction.atomic
def task_complete(*, actor: Actor, task: Task) -> Task:
    _check_change(actor, task)
    task.done_at = task.updated_at = timezone.now()
    task.save(update_fields=["done_at", "updated_at"])
    _mirror_followup(task, None)
    _task_event(task, EventType.TASK_DONE, actor)
    return task


SNOOZE_CHOICES = {"tomorrow": "Tomorrow", "next_week": "Next week"}


def snooze_time(choice: str, due: dt.datetime, now: dt.datetime | None = None) -> dt.datetime:
    """The due time "tomorrow" or "next_week" snoozes a task to: one or seven days from today,
    at the task's own time of day, in the current time zone."""
    days = {"tomorrow": 1, "next_week": 7}[choice]
    today = timezone.localdate(now or timezone.now())
    at = timezone.localtime(due).time().replace(tzinfo=None)
    return timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=days), at))


@transaction.atomic
def task_snooze(*, actor: Actor, task: Task, due: dt.datetime) -> Task:
    """Move the task's due time to ``due``, which is in the future."""
    _check_change(actor, task)
    now = timezone.now()
    if due <= now:
        raise RuleViolation("Snooze to a time in the future.", code="task_snooze_past", field="due")
    previous, task.due, task.updated_at = task.due, due, now
    task.save(update_fields=["due", "updated_at"])
    _mirror_followup(task, due)
    _task_event(task, EventType.TASK_SNOOZED, actor, **{"from": previous.isoformat(),
                                                          "to": due.isoformat()})  # fmt: skip
    return task


@transaction.atomic
def task_reassign(*, actor: Actor, task: Task, assignee: User) -> Task:
    _check_change(actor, task)
    if assignee.pk == task.assignee_id:
        return task
    _check_assignee(actor, assignee, task.lead)
    previous, task.assignee, task.updated_at = task.assignee_id, assignee, timezone.now()
    task.save(update_fields=["assignee", "updated_at"])
    _task_event(task, EventType.TASK_REASSIGNED, actor, **{"from": previous, "to": assignee.pk})
    return task


@transaction.atomic
def task_delete(*, actor: Actor, task: Task) -> None:
    """Delete the task softly (an open or a done one)."""
    _check_change(actor, task, open_only=False)
    task.deleted_at = task.updated_at = timezone.now()
    task.save(update_fields=["deleted_at", "updated_at"])
    if task.done_at is None:
        _mirror_followup(task, None)
    _task_event(task, EventType.TASK_DELETED, actor)


FOLLOWUP_TITLE = "Follow-up"


@transaction.atomic
def lead_followup_set(*, actor: Actor, lead: Lead, when: dt.datetime | None) -> Task | None:
    """Set the lead's follow-up date (None clears it): its open follow-up task is created, moved
    or (None) deleted, and the change recorded on the timeline as *Follow-up set*.

    A follow-up is a to-do, not a meeting: any time is accepted (a past one is overdue at
    once) and nothing is booked. The task is the lead's owner's (else its assignee's); a lead
    of neither gets the date and the event only. The date the lead already has changes
    nothing. Returns the open follow-up task, if any.
    """
    ensure_editable(actor, lead)
    # The lead's row, locked: one open follow-up per lead however many calls set it at once.
    previous = (
        Lead.objects.select_for_update().values_list("followup_date", flat=True).get(pk=lead.pk)
    )
    task = Task.objects.open().filter(lead=lead, followup=True).first()
    if when == previous:
        return task
    now = timezone.now()
    if task is not None and when is None:
        task.deleted_at = task.updated_at = now
        task.save(update_fields=["deleted_at", "updated_at"])
    elif task is not None:
        task.due, task.updated_at = when, now
        task.save(update_fields=["due", "updated_at"])
    elif when is not None and (lead.owner_id or lead.assignee_id):
        task = Task.objects.create(
            title=FOLLOWUP_TITLE, due=when, lead=lead, followup=True,
            assignee_id=lead.owner_id or lead.assignee_id, created_by=actor.user,
            created_at=now, updated_at=now,
        )  # fmt: skip
    lead.followup_date, lead.updated_at = when, now
    lead.save(update_fields=["followup_date", "updated_at"])
    record_event(
        lead=lead,
        type=EventType.FOLLOWUP_SET,
        actor=actor,
        data={
            "from": previous.isoformat() if previous else None,
            "to": when.isoformat() if when else None,
            "task_id": task.pk if task else None,
        },
    )
    return task if when is not None else None


def followups_follow_people(events: Iterable[Event], leads: Iterable[Lead] = ()) -> None:
    """A lead's open follow-up task is its owner's (else its assignee's): after ``events``
    that gave leads to someone, each such lead's follow-up moves to its person now (the leads
    as changed: ``leads``, else each event's). No query unless a lead changed hands; then one
    UPDATE per new person."""
    given = {e.lead_id for e in events if e.type == EventType.ASSIGNED}
    if not given:
        return
    changed = {lead.pk: lead for lead in leads} or {e.lead_id: e.lead for e in events}
    by_person: dict[int, list[int]] = {}
    for lead in (changed[pk] for pk in given):
        person = lead.owner_id or lead.assignee_id
        if person is not None:
            by_person.setdefault(person, []).append(lead.pk)
    now = timezone.now()
    for person, lead_ids in by_person.items():
        Task.objects.open().filter(lead_id__in=lead_ids, followup=True).exclude(
            assignee_id=person
        ).update(assignee_id=person, updated_at=now)


# --- files --------------------------------------------------------------------------------


def lead_file_check_size(size: int) -> None:
    """A file attached to a lead is at most ``CRM["LEAD_FILE_MAX_BYTES"]`` bytes."""
    limit = settings.CRM["LEAD_FILE_MAX_BYTES"]
    if size > limit:
        raise RuleViolation(
            f"The file is too large: {size} bytes, at most {limit} allowed.",
            code="file_too_large",
            field="file",
        )


def lead_file_base_name(name: str) -> str:
    """``C:\\docs\\quote.pdf`` or ``../quote.pdf`` -> ``quote.pdf``: the name without any path."""
    return re.split(r"[/\\]", name or "")[-1].strip()


@transaction.atomic
def lead_file_attach(*, actor: Actor, lead: Lead, name: str, content: bytes) -> LeadFile:
    """Attach a file to the lead under its base name (any path is stripped). The bytes are
    stored under a random name in the default storage; the timeline records the attachment."""
    access.ensure_can_write(actor)
    ensure_live(lead)
    if not access.can_write_activity(actor, lead):
        raise Forbidden("You can't attach a file to this lead.", code="cannot_attach_file")
    base = lead_file_base_name(name)
    if not base.strip("."):
        raise ValidationError({"name": ["Enter a file name."]})
    lead_file_check_size(len(content))
    lead_file = LeadFile(
        lead=lead, name=base, size=len(content), uploaded_by=actor.user, api_key=actor.api_key
    )
    lead_file.full_clean(exclude=["lead", "file", "uploaded_by", "api_key"])
    extension = re.sub(r"[^0-9A-Za-z]", "", base.rpartition(".")[2] if "." in base else "")
    stored_name = uuid.uuid4().hex + (f".{extension[:15]}" if extension else "")
    lead_file.file.save(stored_name, ContentFile(content), save=False)
    lead_file.save()
    record_event(
        lead=lead,
        type=EventType.FILE_ATTACHED,
        actor=actor,
        data={"file_id": lead_file.pk, "name": base, "size": lead_file.size},
    )
    return lead_file


@transaction.atomic
def lead_file_delete(*, actor: Actor, lead: Lead, lead_file: LeadFile) -> None:
    """Delete a file attached to the lead (soft: the lead page no longer lists it, the stored
    bytes stay); the timeline records it."""
    access.ensure_can_write(actor)
    ensure_live(lead)
    if lead_file.lead_id != lead.pk:
        raise NotFound("No such file.", code="file_not_found")
    if lead_file.deleted_at is not None:
        raise RuleViolation("This file is already deleted.", code="file_deleted")
    if not access.can_delete_file(actor, lead_file, lead):
        raise Forbidden("You can't delete this file.", code="cannot_delete_file")
    lead_file.deleted_at = timezone.now()
    lead_file.save(update_fields=["deleted_at"])
    record_event(
        lead=lead,
        type=EventType.FILE_DELETED,
        actor=actor,
        data={"file_id": lead_file.pk, "name": lead_file.name},
    )


# --- several leads at once ----------------------------------------------------------------


def leads_bulk_change(
    *, actor: Actor, leads: list[Lead], data: dict[str, Any] | None = None, delete: bool = False
) -> tuple[int, list[tuple[Lead, str]]]:
    """Apply one change (``data`` as for ``lead_update``, or a soft delete) to each lead.

    Each lead changes whole or not at all (its own transaction); a lead the actor may not change
    is reported, never half-written. Returns (how many changed, [(lead, why not)]).
    """
    access.ensure_can_write(actor)
    choices = LeadChoices()  # the lists, read once for all the leads
    changed = 0
    refused: list[tuple[Lead, str]] = []
    for lead in leads:
        try:
            if delete:
                lead_delete(actor=actor, lead=lead)
            else:
                lead_update(actor=actor, lead=lead, data=dict(data or {}), choices=choices)
        except DomainError as exc:
            refused.append((lead, exc.message))
        except ValidationError as exc:
            refused.append((lead, "; ".join(exc.messages)))
        else:
            changed += 1
    return changed, refused


# --- many leads at once (CSV import) ------------------------------------------------------


def lead_errors(
    *,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    creating: bool,
    choices: LeadChoices,
    tags: list[str] | None = None,
) -> dict[str, list[str]]:
    """What ``lead_create`` (``creating``) or ``lead_update`` would refuse in these values
    (and ``tags``), as ``{field or system name: [messages]}``, found without writing or (with
    the ``choices`` read) querying: their checks (``_checked_values``), for checking many rows
    before any is written. People (owner, assignee) are not checked here; the write checks
    them. With no lead to compare with, every given value is checked."""
    try:
        _checked_values(
            lead=Lead(), data=data, custom=custom, tags=tags, creating=creating, choices=choices
        )
    except ValidationError as exc:
        return exc.message_dict
    return {}


# --- merge --------------------------------------------------------------------------------


def _merge_values(keep: Lead, other: Lead, choices: dict[str, str]) -> tuple[dict, dict]:
    """The lead fields and custom values ``keep`` takes from ``other``: per field the chosen
    side (custom fields chosen as ``custom:<system name>``), else ``merge_default``."""

    def take_other(key: str, mine: Any, theirs: Any) -> bool:
        choice = choices.get(key) or merge_default(key, mine, theirs)
        return choice == MERGE_OTHER and mine != theirs

    data: dict[str, Any] = {}
    for name in MERGE_FIELDS:
        field = Lead._meta.get_field(name)
        mine, theirs = getattr(keep, field.attname), getattr(other, field.attname)
        if take_other(name, mine, theirs):
            is_object = field.is_relation and name not in {"status", "source"}
            data[name] = getattr(other, name) if is_object else theirs
    custom: dict[str, Any] = {}
    for field in active_custom_fields():
        name = field.system_name
        mine, theirs = keep.custom_fields.get(name), other.custom_fields.get(name)
        if take_other(f"custom:{name}", mine, theirs):
            custom[name] = theirs
    return data, custom


@transaction.atomic
def lead_merge(
    *, actor: Actor, keep: Lead, other: Lead, choices: dict[str, str] | None = None
) -> Lead:
    """Merge ``other`` into ``keep``, in one transaction.

    ``choices`` maps a field name (or ``custom:<system name>``) to ``"keep"`` or ``"other"``:
    whose value the kept lead ends with. The values are written through ``lead_update`` (so the
    timeline records them); ``other``'s notes, appointments (they keep their host, so no
    conflict arises), timeline events, calls and list memberships move to ``keep``, which also
    gets its tags; then ``other`` is soft-deleted (restorable), and both timelines record the
    merge. The actor must be able to edit ``keep`` and delete ``other``.
    """
    access.ensure_can_write(actor)
    choices = dict(choices or {})
    if keep.pk == other.pk:
        raise RuleViolation("Choose two different leads to merge.", code="merge_same_lead")
    bad = {k for k, v in choices.items() if v not in (MERGE_KEEP, MERGE_OTHER)}
    if bad:
        raise ValidationError({k: ["Choose which lead's value to keep."] for k in sorted(bad)})
    locked = Lead.objects.select_for_update().filter(pk__in=[keep.pk, other.pk])
    rows = {lead.pk: lead for lead in locked}
    keep, other = rows.get(keep.pk), rows.get(other.pk)
    if keep is None or other is None or keep.is_deleted or other.is_deleted:
        raise RuleViolation("This lead is deleted.", code="lead_deleted")
    if not access.can_edit(actor, keep):
        raise Forbidden(
            "You can't edit the lead to keep, so you can't merge into it.", code="cannot_merge"
        )
    if not access.can_delete(actor, other):
        raise Forbidden(
            "You can't delete the other lead, so you can't merge it.", code="cannot_merge"
        )

    data, custom = _merge_values(keep, other, choices)
    tags = sorted(
        set(keep.tags.values_list("name", flat=True))
        | set(other.tags.values_list("name", flat=True))
    )
    lead_update(actor=actor, lead=keep, data=data, custom=custom, tags=tags)

    kept_lists = ListMembership.objects.filter(lead=keep).values("list_id")
    moved = {
        "notes": LeadNote.objects.filter(lead=other).update(lead=keep),
        "appointments": Appointment.objects.filter(lead=other).update(lead=keep),
        "events": Event.objects.filter(lead=other).update(lead=keep),
        "calls": CallLog.objects.filter(lead=other).update(lead=keep),
        "lists": ListMembership.objects.filter(lead=other)
        .exclude(list_id__in=kept_lists)
        .update(lead=keep),
    }
    lead_delete(actor=actor, lead=other)

    taken = sorted([*data, *(f"custom:{name}" for name in custom)])
    nouns = {
        "notes": ("note", "notes"),
        "appointments": ("appointment", "appointments"),
        "events": ("timeline event", "timeline events"),
        "calls": ("call", "calls"),
        "lists": ("list membership", "list memberships"),
    }
    counts = ", ".join(f"{n} {ngettext(*nouns[kind], n)}" for kind, n in moved.items() if n)
    record_event(
        lead=keep,
        type=EventType.MERGED,
        actor=actor,
        data={
            "other": other.slug,
            "other_id": other.pk,
            "other_name": str(other),
            "fields": taken,
            "moved": moved,
            "summary": f"Merged with {other}" + (f" (moved {counts})" if counts else ""),
        },
    )
    record_event(
        lead=other,
        type=EventType.MERGED,
        actor=actor,
        data={
            "into": keep.slug,
            "into_id": keep.pk,
            "into_name": str(keep),
            "summary": f"Merged into {keep}",
        },
    )
    return keep
