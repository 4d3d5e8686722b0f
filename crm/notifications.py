"""Notifications: what others did to a user's work, shown under the header's bell.

Written from the timeline (``notify_for_events``), in the transaction of the change, by the
one function every write path already goes through: ``leads.services.record_event`` and the
batch writes of ``leads.bulk``. Four kinds (SPEC §11):

- a lead given to you: you become its owner or assignee (a new lead, a reassignment);
- an appointment booked, moved, changed or cancelled on a lead you own or are assigned, or
  one you host;
- a task given to you (created for you, or reassigned to you);
- a partner API (an API key: REST, JSON-RPC, lead_set) changed a lead you own or are assigned.

Nobody is told of their own action, nor of a change to a deleted lead. Deciding who is told
reads nothing: the event's lead, actor and data are in memory; only an appointment changed by
someone who may change others' (a manager, an API key) costs a read of its host. A change that
tells nobody writes nothing.

Reads (the bell's bounded count, the latest list) show a notification only while its
recipient may still see its lead: one about a lead since deleted or taken away is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Case, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from crm.domain import Actor, NotFound
from crm.models import Notification, NotificationKind, User
from leads import access
from leads.models import Event, EventType, Lead

# The bell counts at most this many unread notifications; beyond, it says "99+".
COUNT_CAP = 99
# The list shows the latest this many.
LIST_LIMIT = 20
TEXT_LENGTH = Notification._meta.get_field("text").max_length

APPOINTMENT_EVENTS = frozenset(
    {
        EventType.APPOINTMENT_CREATED,
        EventType.APPOINTMENT_UPDATED,
        EventType.APPOINTMENT_DELETED,
    }
)
TASK_EVENTS = frozenset({EventType.TASK_CREATED, EventType.TASK_REASSIGNED})
# Changes to a lead that its people hear of when a partner API makes them, and how they read.
PARTNER_CHANGES: dict[str, str] = {
    EventType.UPDATED: "updated your lead {lead}",
    EventType.NOTE_ADDED: "added a note to your lead {lead}",
    EventType.NOTE_DELETED: "deleted a note on your lead {lead}",
    EventType.FILE_ATTACHED: "attached a file to your lead {lead}",
    EventType.FOLLOWUP_SET: "set the follow-up date of your lead {lead}",
    EventType.RESTORED: "restored your lead {lead}",
    EventType.MERGED: "merged another lead into your lead {lead}",
}
NOTIFYING = frozenset(
    {EventType.CREATED, EventType.ASSIGNED, *APPOINTMENT_EVENTS, *TASK_EVENTS, *PARTNER_CHANGES}
)


# --- writing -----------------------------------------------------------------------------


def notify_for_events(events: Iterable[Event], *, leads: Iterable[Lead] = ()) -> list[Notification]:
    """Write the notifications these new timeline events call for (in the caller's
    transaction): one per person told per event, none to the event's actor. ``leads`` are
    the events' leads when the events do not hold them (a batch's events carry only
    ``lead_id``); a lead neither gives is read (one query for all). Returns what was written.

    A lead's personal data erased also erases the notifications that name it."""
    known = {lead.pk: lead for lead in leads}
    wanted: list[Event] = []
    for event in events:
        if event.type == EventType.PERSONAL_DATA_ERASED:
            Notification.objects.filter(lead_id=event.lead_id).delete()
        elif event.type in NOTIFYING:
            wanted.append(event)
            if event.lead_id not in known and Event.lead.is_cached(event):
                known[event.lead_id] = event.lead
    if not wanted:
        return []
    missing = {event.lead_id for event in wanted} - set(known)
    if missing:
        known.update(Lead.objects.in_bulk(missing))
    rows: list[Notification] = []
    for event in wanted:
        lead = known.get(event.lead_id)
        if lead is not None and not lead.is_deleted:
            rows += _notifications(event, lead)
    if rows:
        Notification.objects.bulk_create(rows)
    return rows


def _notifications(event: Event, lead: Lead) -> list[Notification]:
    """The notifications one event on ``lead`` calls for (unsaved)."""
    told: dict[int, tuple[str, str]] = {}  # recipient id -> (kind, what happened)
    data: dict[str, Any] = event.data or {}
    name = str(lead)
    if event.type == EventType.CREATED:
        if lead.owner_id:
            told[lead.owner_id] = (NotificationKind.LEAD_GIVEN, f"gave you the lead {name}")
        if lead.assignee_id:
            told.setdefault(
                lead.assignee_id, (NotificationKind.LEAD_GIVEN, f"assigned you the lead {name}")
            )
    elif event.type == EventType.ASSIGNED:
        to = data.get("to")
        if isinstance(to, int):
            verb = "gave you" if data.get("field") == "owner" else "assigned you"
            told[to] = (NotificationKind.LEAD_GIVEN, f"{verb} the lead {name}")
    elif event.type in APPOINTMENT_EVENTS:
        what = (NotificationKind.APPOINTMENT, _appointment_change(event.type, data, name))
        for person in (lead.owner_id, lead.assignee_id, _host_of(event, data)):
            if person:
                told[person] = what
    elif event.type in TASK_EVENTS:
        to = data.get("to")
        if isinstance(to, int):
            title = str(data.get("title") or "")[:80]
            if event.type == EventType.TASK_CREATED:
                text = f"gave you the task “{title}” on {name}"
            else:
                text = f"reassigned the task “{title}” on {name} to you"
            told[to] = (NotificationKind.TASK, text)
    elif event.api_key_id is not None and event.type in PARTNER_CHANGES:
        if event.type == EventType.MERGED and "into" in data:
            return []  # the lead merged away: deleted with it
        given = _given_by_update(data) if event.type == EventType.UPDATED else set()
        what = (NotificationKind.PARTNER, PARTNER_CHANGES[event.type].format(lead=name))
        for person in (lead.owner_id, lead.assignee_id):
            if person and person not in given:  # a person given the lead hears of that
                told[person] = what
    told.pop(event.actor_id, None)
    if not told:
        return []
    who, via = _who(event)
    url = reverse("leads:detail", args=[lead.slug])
    now = timezone.now()
    return [
        Notification(
            recipient_id=person,
            lead=lead,
            kind=kind,
            text=_sentence(f"{who} {what}{via}"),
            url=url,
            created_at=now,
        )
        for person, (kind, what) in told.items()
    ]


def _given_by_update(data: dict[str, Any]) -> set[int]:
    """The people an ``updated`` event made the lead's owner or assignee."""
    changes = data.get("changes") or {}
    given = set()
    for field in ("owner", "assignee"):
        change = changes.get(field)
        if isinstance(change, list) and len(change) == 2 and isinstance(change[1], int):
            given.add(change[1])
    return given


def _host_of(event: Event, data: dict[str, Any]) -> int | None:
    """The host of the event's appointment. Whoever may not book for or change the
    appointments of others is the host (no query); for the others, one read."""
    actor = Actor(user=event.actor, api_key=event.api_key)
    if not (access.can_give(actor) or access.manages_activity(actor)):
        return event.actor_id
    pk = data.get("appointment_id")
    if not isinstance(pk, int):
        return None
    return Appointment.objects.filter(pk=pk).values_list("host_id", flat=True).first()


def _appointment_change(kind: str, data: dict[str, Any], name: str) -> str:
    if kind == EventType.APPOINTMENT_CREATED:
        if data.get("logged"):
            return f"logged a meeting with {name}"
        return f"booked an appointment with {name}"
    if kind == EventType.APPOINTMENT_DELETED:
        return f"deleted the appointment with {name}"
    status = data.get("status")
    new = status[1] if isinstance(status, list) and len(status) == 2 else None
    if new == AppointmentStatus.CANCELLED:
        return f"cancelled the appointment with {name}"
    if "previous" in data:
        return f"moved the appointment with {name}"
    if new in AppointmentStatus.values:
        label = AppointmentStatus(new).label
        return f"marked the appointment with {name} {label}"
    return f"changed the appointment with {name}"


def _who(event: Event) -> tuple[str, str]:
    """Who made the change, as a sentence starts, and through what (an API key)."""
    user: User | None = event.actor if event.actor_id else None
    key = event.api_key if event.api_key_id else None
    if user is not None:
        return str(user), (" through the API" if key is not None else "")
    if key is not None:
        return f"The API key “{key.name}”", ""
    return "Someone", ""


def _sentence(text: str) -> str:
    text = text[: TEXT_LENGTH - 1].rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


# --- reading and marking read ------------------------------------------------------------


def _shown(user: User) -> QuerySet[Notification]:
    """The user's notifications that are shown: of no lead, or of a live lead the user may
    still see (``leads.access``)."""
    still_sees = Q(lead__isnull=True) | access.on_visible_leads(Actor(user=user))
    return Notification.objects.filter(still_sees, recipient=user)


def unread_count(*, user: User) -> int:
    """How many shown notifications the user has not read, counted up to ``COUNT_CAP + 1``
    (one query over at most that many rows: the count of a bounded subquery)."""
    return _shown(user).filter(read_at__isnull=True)[: COUNT_CAP + 1].count()


def unread_label(count: int) -> str:
    """The count as the bell shows it: "3", or "99+" beyond the cap."""
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


def unread_words(count: int) -> str:
    """The count as the bell says it to a screen reader: "none", "3", "more than 99"."""
    if not count:
        return "none"
    return f"more than {COUNT_CAP}" if count > COUNT_CAP else str(count)


def latest(*, user: User, limit: int = LIST_LIMIT) -> list[Notification]:
    """The user's latest shown notifications, newest first (one query)."""
    return list(_shown(user).order_by("-created_at", "-id")[:limit])


def _pk(value: Any) -> int | None:
    """A notification id from the wire, or None when it cannot be one."""
    try:
        pk = int(str(value).strip())
    except ValueError:
        return None
    return pk if 0 < pk < 2**63 else None


def notification_open(*, user: User, pk: Any) -> tuple[Notification, bool]:
    """The user's notification ``pk``, marked read, and whether its lead may still be shown
    (its ``url`` then leads there). ``NotFound`` for an id that is not one of the user's."""
    number = _pk(pk)
    still_sees = Q(lead__isnull=True) | access.on_visible_leads(Actor(user=user))
    shown = Case(When(still_sees, then=Value(True)), default=Value(False))
    mine = Notification.objects.filter(pk=number, recipient=user)
    found = mine.annotate(shown=shown).first() if number is not None else None
    if found is None:
        raise NotFound("Notification not found.", code="notification_not_found")
    if found.read_at is None:
        found.read_at = timezone.now()
        Notification.objects.filter(pk=found.pk, read_at__isnull=True).update(read_at=found.read_at)
    return found, bool(found.shown) and bool(found.url)


def mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; how many were."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
