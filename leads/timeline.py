"""How the activity timeline reads (issue 14): one plain sentence per change, with labels, not
keys ("Status changed from Prospect to Potential"), for the lead page (``headline``) and, naming
the lead, for the dashboard's recent activity (``before`` + the lead + ``after``, after the
actor: "Sam Seller moved Ada Lovelace from Prospect to Potential").

A change of a lead's status or people writes, in one transaction, an ``updated`` event with
every changed field and a ``status_changed`` / ``assigned`` event for each of those: the
``updated`` one tells only the other fields, and is left out when there are none, so a
status change reads once.

Pure: the status labels and people's names the sentences need are given (``labels_needed``
says which to read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import ngettext

from leads.models import EventType, Lead

# Fields an ``updated`` event lists that have an event of their own in the same change.
OWN_EVENTS = frozenset({"status", "owner", "assignee"})
FIELD_LABELS: dict[str, str] = {
    f.name: str(f.verbose_name) for f in Lead._meta.concrete_fields if hasattr(f, "verbose_name")
}
FIELD_LABELS |= {"tags": "tags", "custom_fields": "custom fields"}
APPOINTMENT_STATUS_WORDS = {
    "confirmed": ("Appointment confirmed", "confirmed the appointment with "),
    "cancelled": ("Appointment cancelled", "cancelled the appointment with "),
    "fulfilled": ("Appointment held", "held the appointment with "),
    "no_show": ("Appointment marked No-show", "marked a no-show for the appointment with "),
    "pending": ("Appointment set back to Pending", "set back to Pending the appointment with "),
}
MOVED_NOUNS = {
    "notes": ("note", "notes"),
    "appointments": ("appointment", "appointments"),
    "events": ("timeline event", "timeline events"),
    "calls": ("call", "calls"),
    "lists": ("list membership", "list memberships"),
}


@dataclass(frozen=True, slots=True)
class Wording:
    headline: str  # the lead page's: "Status changed from Prospect to Potential"
    before: str  # the dashboard's, around the lead's name: "moved " ...
    after: str  # ... " from Prospect to Potential"
    detail: str = ""  # a line of more, where there is more to say


def and_join(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def field_label(name: str) -> str:
    if name.startswith("custom:"):
        name = name.removeprefix("custom:")
    return FIELD_LABELS.get(name, name.replace("_", " "))


def shown_changes(data: Mapping[str, Any]) -> list[str]:
    """The labels of an ``updated`` event's fields that no other event of the change tells."""
    changes = data.get("changes") or {}
    names = changes if isinstance(changes, Mapping) else list(changes)
    return [field_label(str(name)) for name in names if name not in OWN_EVENTS]


def status_label(key: Any, statuses: Mapping[str, str]) -> str:
    if key is None or key == "":
        return "none"
    return statuses.get(str(key)) or capfirst(str(key).replace("_", " "))


def labels_needed(events: Iterable[Any]) -> tuple[bool, set[int]]:
    """Whether the sentences of ``events`` need the status labels, and whose names they need."""
    statuses, people = False, set()
    for event in events:
        if event.type == EventType.STATUS_CHANGED:
            statuses = True
        elif event.type == EventType.ASSIGNED:
            to = (event.data or {}).get("to")
            if isinstance(to, int):
                people.add(to)
    return statuses, people


def moved_counts(moved: Any) -> str:
    if not isinstance(moved, Mapping):
        return ""
    parts = []
    for kind, (one, many) in MOVED_NOUNS.items():
        n = moved.get(kind)
        if isinstance(n, int) and n > 0:
            parts.append(f"{n} {ngettext(one, many, n)}")
    return f"Moved {and_join(parts)}." if parts else ""


def word(event: Any, statuses: Mapping[str, str], people: Mapping[int, str]) -> Wording | None:
    """How ``event`` reads; None when it says nothing another event of the change does not."""
    t, d = event.type, event.data or {}
    if t == EventType.UPDATED:
        fields = shown_changes(d)
        if not fields:
            return None
        what = and_join(fields)
        return Wording(f"Changed {what}", f"changed the {what} of ", "")
    if t == EventType.STATUS_CHANGED:
        old, new = status_label(d.get("from"), statuses), status_label(d.get("to"), statuses)
        return Wording(f"Status changed from {old} to {new}", "moved ", f" from {old} to {new}")
    if t == EventType.ASSIGNED:
        owner = d.get("field", "owner") != "assignee"
        to = d.get("to")
        if to is None:
            if owner:
                return Wording(
                    "Owner removed: the lead is in the pool", "released ", " to the pool"
                )
            return Wording("Assignee removed", "removed the assignee of ", "")
        name = people.get(to, "someone else") if isinstance(to, int) else "someone else"
        if owner:
            return Wording(f"Owner changed to {name}", "gave ", f" to {name}")
        return Wording(f"Assigned to {name}", "assigned ", f" to {name}")
    if t == EventType.APPOINTMENT_CREATED and d.get("logged"):
        return Wording("Meeting logged", "logged a meeting with ", "")
    if t == EventType.APPOINTMENT_UPDATED:
        status = d.get("status")
        if isinstance(status, list) and len(status) == 2 and status[1] in APPOINTMENT_STATUS_WORDS:
            headline, before = APPOINTMENT_STATUS_WORDS[status[1]]
            return Wording(headline, before, "")
        if d.get("previous"):
            return Wording("Appointment moved", "moved the appointment with ", "")
        return Wording("Appointment changed", "changed the appointment with ", "")
    if t == EventType.MERGED:
        if "into_name" in d:
            other = d["into_name"]
            return Wording(f"Merged into {other}", "merged ", f" into {other}")
        other = d.get("other_name") or "another lead"
        moved = moved_counts(d.get("moved"))
        return Wording(f"Merged with {other}", f"merged {other} into ", "", moved)
    if t == EventType.FOLLOWUP_SET and not d.get("to"):
        return Wording("Follow-up cleared", "cleared the follow-up of ", "")
    if t == EventType.PERSONAL_DATA_ERASED:
        fields = d.get("fields") or []
        n = len(fields)
        blanked = ngettext("%(n)d field blanked everywhere", "%(n)d fields blanked everywhere", n)
        return Wording(
            "Personal data erased", "erased the personal data of ", "", blanked % {"n": n}
        )
    headline, before, after = SIMPLE.get(t, (None, None, ""))
    if headline is None:
        label = event.get_type_display()
        return Wording(label, f"{label[:1].lower()}{label[1:]}: ", "")
    return Wording(headline, before, after)


# type -> (headline, before the lead, after the lead)
SIMPLE: dict[str, tuple[str, str, str]] = {
    EventType.CREATED: ("Lead created", "created ", ""),
    EventType.NOTE_ADDED: ("Note added", "added a note to ", ""),
    EventType.NOTE_DELETED: ("Note deleted", "deleted a note on ", ""),
    EventType.NOTE_RESTORED: ("Note restored", "restored a note on ", ""),
    EventType.APPOINTMENT_CREATED: ("Appointment booked", "booked an appointment with ", ""),
    EventType.APPOINTMENT_DELETED: ("Appointment deleted", "deleted an appointment with ", ""),
    EventType.CALL_LOGGED: ("Call logged", "logged a call with ", ""),
    EventType.DELETED: ("Lead deleted", "deleted ", ""),
    EventType.RESTORED: ("Lead restored", "restored ", ""),
    EventType.FILE_ATTACHED: ("File attached", "attached a file to ", ""),
    EventType.FILE_DELETED: ("File deleted", "deleted a file of ", ""),
    EventType.FOLLOWUP_SET: ("Follow-up set", "set the follow-up of ", ""),
    EventType.TASK_CREATED: ("Task added", "added a task on ", ""),
    EventType.TASK_DONE: ("Task done", "completed a task on ", ""),
    EventType.TASK_SNOOZED: ("Task snoozed", "snoozed a task on ", ""),
    EventType.TASK_REASSIGNED: ("Task reassigned", "reassigned a task on ", ""),
    EventType.TASK_DELETED: ("Task deleted", "deleted a task on ", ""),
}


def describe(events: Iterable[Any], statuses: Mapping[str, str], people: Mapping[int, str]):
    """The events that say something, each with its ``wording``, in the order given."""
    shown = []
    for event in events:
        wording = word(event, statuses, people)
        if wording is not None:
            event.wording = wording
            shown.append(event)
    return shown
