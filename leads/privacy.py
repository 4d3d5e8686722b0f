"""Personal data of one lead: everything the CRM holds about the person, as one document
(``personal_data``), and its irreversible erasure (``personal_data_erase``).

Erasing blanks the person's values everywhere they are kept: the lead's fields and custom
values, its notes, appointment notes, call notes, attached files (removed from storage),
timeline details, the cells of staged imports that hold them, and the bodies of webhook
deliveries that carried the lead. The lead row stays (its status, source, people, campaign
and dates), so counts and the non-personal history stay true; a timeline entry records who
erased it and when.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from appointments.models import Appointment
from crm.domain import Actor, Forbidden
from leads import access
from leads.models import CallLog, Event, EventType, Lead, LeadFile, LeadImport, LeadNote
from leads.services import record_event
from webhooks.models import Delivery

# Lead fields that describe the person (everything but its place in the pipeline).
PERSONAL_FIELDS = (
    "first_name", "last_name", "email", "phone", "mobile_phone", "office_phone",
    "phone_extension", "fax", "company", "title", "website", "industry", "persona",
    "description", "street", "address_2", "city", "state", "zipcode", "country", "lat", "lng",
    "location", "message", "tracking_id", "external_id", "best_time", "birth_date", "skype",
    "sub_id", "sub_id2",
)  # fmt: skip
ERASED_NAME = "Erased"
# Timeline entries whose details name only statuses, people of the team or dates.
NON_PERSONAL_EVENTS = frozenset(
    {
        EventType.STATUS_CHANGED,
        EventType.ASSIGNED,
        EventType.DELETED,
        EventType.RESTORED,
        EventType.FOLLOWUP_SET,
        EventType.PERSONAL_DATA_ERASED,
    }
)


NOT_ALLOWED = "Only administrators and company managers handle personal data."


def _refuse_unless_allowed(actor: Actor) -> None:
    if not access.can_handle_personal_data(actor):
        raise Forbidden(NOT_ALLOWED, code="cannot_handle_personal_data")


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def personal_data(*, actor: Actor, lead: Lead) -> dict[str, Any]:
    """Every value the CRM holds about the lead's person, as JSON-ready data."""
    _refuse_unless_allowed(actor)

    fields = {
        field.name: _plain(getattr(lead, field.attname))
        for field in Lead._meta.concrete_fields
        if field.name not in ("id", "status_before_delete")
    }
    return {
        "lead": {**fields, "tags": sorted(lead.tags.values_list("name", flat=True))},
        "notes": [
            {
                "text": n.text,
                "author": n.author and n.author.username,
                "created_at": _plain(n.created_at),
                "deleted": n.deleted_at is not None,
            }
            for n in LeadNote.objects.filter(lead=lead).select_related("author").order_by("pk")
        ],  # fmt: skip
        "appointments": [
            {
                "start": _plain(a.start),
                "end": _plain(a.end),
                "status": a.status,
                "note": a.note,
                "host": a.host and a.host.username,
                "deleted": a.deleted_at is not None,
            }
            for a in Appointment.objects.filter(lead=lead).select_related("host").order_by("pk")
        ],  # fmt: skip
        "calls": [
            {
                "timestamp": _plain(c.timestamp),
                "duration": c.duration,
                "result": c.result,
                "notes": c.notes,
            }
            for c in CallLog.objects.filter(lead=lead).order_by("pk")
        ],  # fmt: skip
        "files": [
            {"name": f.name, "size": f.size, "created_at": _plain(f.created_at)}
            for f in LeadFile.objects.filter(lead=lead).order_by("pk")
        ],
        "timeline": [
            {
                "type": e.type,
                "at": _plain(e.created_at),
                "by": e.actor and e.actor.username,
                "data": e.data,
            }
            for e in Event.objects.filter(lead=lead).select_related("actor").order_by("pk")
        ],  # fmt: skip
    }


def _values_of(lead: Lead) -> set[str]:
    """The person's texts as a staged import may hold them, compared without case."""
    texts = [getattr(lead, name) for name in PERSONAL_FIELDS]
    texts += [v for v in lead.custom_fields.values() if isinstance(v, str)]
    return {t.strip().casefold() for t in texts if isinstance(t, str) and t.strip()}


def _erase_from_imports(values: set[str]) -> None:
    for staged in LeadImport.objects.only("pk", "rows"):
        changed = False
        for _number, cells in staged.rows:
            for i, cell in enumerate(cells):
                if isinstance(cell, str) and cell.strip().casefold() in values:
                    cells[i] = ""
                    changed = True
        if changed:
            LeadImport.objects.filter(pk=staged.pk).update(rows=staged.rows)


@transaction.atomic
def personal_data_erase(*, actor: Actor, lead: Lead) -> Lead:
    """Blank the lead's personal values everywhere (module docstring); irreversible."""
    _refuse_unless_allowed(actor)

    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    values = _values_of(lead)
    erased = [name for name in PERSONAL_FIELDS if getattr(lead, name) not in ("", None)]
    erased += [
        f"custom:{name}" for name, value in lead.custom_fields.items() if value not in ("", None)
    ]
    for name in PERSONAL_FIELDS:
        field = Lead._meta.get_field(name)
        setattr(lead, name, None if field.null else "")
    now = timezone.now()
    lead.first_name = ERASED_NAME
    lead.custom_fields = {}
    lead.updated_at = now
    lead.save()

    LeadNote.objects.filter(lead=lead).update(text="", deleted_at=Coalesce("deleted_at", now))
    Appointment.objects.filter(lead=lead).update(note="")
    CallLog.objects.filter(lead=lead).update(result="", notes="")
    files = LeadFile.objects.filter(lead=lead)
    for attached in files:
        attached.file.delete(save=False)
    files.update(name="erased", file="")
    Event.objects.filter(lead=lead).exclude(type__in=NON_PERSONAL_EVENTS).update(data={})
    Delivery.objects.filter(body__contains=f'"id":"{lead.pk}"').update(body="")
    _erase_from_imports(values)
    record_event(
        lead=lead,
        type=EventType.PERSONAL_DATA_ERASED,
        actor=actor,
        data={"fields": erased},
    )
    return lead
