"""Object-level permissions: the one place that decides who may see and change what (SPEC §3).

Every adapter loads leads through ``visible_leads`` / ``lead_for_actor`` so that a lead an
actor may not see behaves exactly like a lead that does not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from crm import roles
from crm.domain import READ_ONLY_CODE, READ_ONLY_KEY, Actor, Forbidden, NotFound
from leads import rollup
from leads.models import DELETED_STATUS, Lead, LeadFile, LeadNote, LeadQuerySet, Task

if TYPE_CHECKING:
    from appointments.models import Appointment


def sees_all(actor: Actor) -> bool:
    """Whether ``actor``'s role sees every lead (managers, administrators)."""
    return actor.role in roles.SEES_ALL


def manages_activity(actor: Actor) -> bool:
    """Whether ``actor``'s role writes notes and appointments on every lead it sees."""
    return actor.role in roles.MANAGES_ACTIVITY


def visibility_filter(actor: Actor, prefix: str = "") -> Q:
    """The condition on ``Lead`` rows that ``actor`` may see (deleted ones included); with
    ``prefix`` (``"lead__"``), on the lead of related rows, as a join the database can walk
    from either side."""
    if sees_all(actor):
        return Q()
    mine = Q(**{f"{prefix}owner_id": actor.user_id}) | Q(**{f"{prefix}assignee_id": actor.user_id})
    if actor.role in roles.SEES_POOL:
        mine |= Q(**{f"{prefix}owner__isnull": True})
    return mine


def on_visible_leads(actor: Actor, *, include_deleted: bool = False) -> Q:
    """The condition on rows with a ``lead`` (appointments, events) that ``actor`` may see."""
    q = visibility_filter(actor, prefix="lead__")
    return q if include_deleted else q & ~Q(lead__status_id=DELETED_STATUS)


def visibility_terms(actor: Actor) -> list[tuple[int, int, int]] | None:
    """``visibility_filter`` in the lead count rollup's terms (``leads.rollup``): the signed
    (sign, scope, user) rows whose sum counts the leads ``actor`` may see; None for an actor
    without a user that does not see all. Keep the two rules in step."""
    uid = actor.user_id
    if sees_all(actor):
        return [(1, rollup.ALL, rollup.NOBODY)]
    if not uid:
        return None
    # Owned or assigned, counted once; salespeople also see the unowned pool.
    terms = [(1, rollup.OWNER, uid), (1, rollup.ASSIGNEE, uid), (-1, rollup.OWNER_ASSIGNEE, uid)]
    if actor.role in roles.SEES_POOL:
        terms += [(1, rollup.OWNER, rollup.NOBODY), (-1, rollup.POOL_ASSIGNEE, uid)]
    return terms


def visible_leads(
    actor: Actor, *, include_deleted: bool = False, queryset: LeadQuerySet | None = None
) -> LeadQuerySet:
    """The leads (of ``queryset``, all by default) ``actor`` may see, live ones only unless
    ``include_deleted``."""
    qs = (queryset if queryset is not None else Lead.objects.all()).filter(visibility_filter(actor))
    return qs if include_deleted else qs.alive()


def no_such_slug(slug: Any) -> bool:
    """Whether ``slug`` cannot name a lead: not a text, or a text with a NUL (no row has one,
    and PostgreSQL refuses to compare with it)."""
    return not isinstance(slug, str) or "\x00" in slug


def lead_for_actor(
    actor: Actor,
    *,
    slug: str | None = None,
    pk: int | None = None,
    include_deleted: bool = False,
    queryset: LeadQuerySet | None = None,
) -> Lead:
    """The lead ``actor`` may see, by slug or id; ``NotFound`` otherwise."""
    if slug is not None and no_such_slug(slug):
        raise NotFound("Lead not found.", code="lead_not_found")  # no row has such a slug
    qs = visible_leads(actor, include_deleted=include_deleted, queryset=queryset)
    lookup = {"slug": slug} if slug is not None else {"pk": pk}
    try:
        return qs.get(**lookup)
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise NotFound("Lead not found.", code="lead_not_found") from None


def note_for_actor(actor: Actor, *, pk: int) -> LeadNote:
    """A live note on a live lead the actor may see; ``NotFound`` otherwise."""
    note = (
        LeadNote.objects.select_related("lead")
        .filter(on_visible_leads(actor), pk=pk, deleted_at__isnull=True)
        .first()
    )
    if note is None:
        raise NotFound("Note not found.", code="note_not_found")
    return note


def _owns(actor: Actor, lead: Lead) -> bool:
    return actor.user_id is not None and lead.owner_id == actor.user_id


def ensure_can_write(actor: Actor) -> None:
    """``Forbidden`` for a read-only API key, before any other rule of a change is asked."""
    if actor.read_only:
        raise Forbidden(READ_ONLY_KEY, code=READ_ONLY_CODE)


def _writes(check: Callable[..., bool]) -> Callable[..., bool]:
    """A permission to change something: never a read-only API key's, whatever the role."""

    @functools.wraps(check)
    def checked(actor: Actor, *args: Any) -> bool:
        return not actor.read_only and check(actor, *args)

    return checked


@_writes
def can_edit(actor: Actor, lead: Lead) -> bool:
    return actor.role in roles.EDITS_ALL or _owns(actor, lead)


@_writes
def can_give(actor: Actor) -> bool:
    """May set a lead's owner or assignee (or an appointment's host) to anyone."""
    return actor.role in roles.GIVES_LEADS


@_writes
def can_change_person(actor: Actor, current_id: int | None, new_id: int | None) -> bool:
    """May change a lead's owner or assignee from ``current_id`` to ``new_id``?

    Managers give leads to anyone; salespeople only claim a free slot for themselves or
    release their own; marketing managers change neither.
    """
    if current_id == new_id or can_give(actor):
        return True
    if actor.role not in roles.CLAIMS_OWN:
        return False
    uid = actor.user_id
    return (current_id is None and new_id == uid) or (current_id == uid and new_id is None)


@_writes
def can_delete(actor: Actor, lead: Lead) -> bool:
    role = actor.role
    return role in roles.DELETES_ALL or (role in roles.DELETES_OWNED and _owns(actor, lead))


@_writes
def can_write_activity(actor: Actor, lead: Lead) -> bool:
    """May add notes and book appointments on the lead."""
    role = actor.role
    if manages_activity(actor):
        return True
    if role in roles.READS_ONLY_ACTIVITY:
        return False
    uid = actor.user_id
    return uid is not None and (lead.owner_id == uid or lead.assignee_id == uid)


def activity_filter(actor: Actor) -> Q:
    """The condition on visible ``Lead`` rows that ``can_write_activity`` accepts, for lists of
    leads one may book on."""
    if actor.read_only:
        return Q(pk__in=[])
    role = actor.role
    if manages_activity(actor):
        return Q()
    if role in roles.READS_ONLY_ACTIVITY or actor.user_id is None:
        return Q(pk__in=[])
    return Q(owner_id=actor.user_id) | Q(assignee_id=actor.user_id)


@_writes
def can_delete_note(actor: Actor, note: LeadNote) -> bool:
    if manages_activity(actor):
        return True
    return actor.user_id is not None and note.author_id == actor.user_id


@_writes
def can_delete_file(actor: Actor, lead_file: LeadFile, lead: Lead) -> bool:
    """May delete a file attached to ``lead``: whoever manages the activity of every lead, and
    on a lead one works (owner or assignee) the one who uploaded it and the lead's owner."""
    if manages_activity(actor):
        return True
    if not can_write_activity(actor, lead):
        return False
    return actor.user_id is not None and actor.user_id in (lead_file.uploaded_by_id, lead.owner_id)


@_writes
def can_change_task(actor: Actor, task: Task) -> bool:
    """May complete, snooze or delete the task: its assignee and its author, and whoever
    manages the activity of every lead (a task of a lead they may see)."""
    uid = actor.user_id
    if uid is not None and uid in (task.assignee_id, task.created_by_id):
        return True
    return task.lead_id is not None and manages_activity(actor)


@_writes
def can_change_appointment(actor: Actor, appointment: Appointment) -> bool:
    if manages_activity(actor):
        return True
    return actor.user_id is not None and appointment.host_id == actor.user_id


@_writes
def can_bulk_delete(actor: Actor) -> bool:
    """May delete at least some leads (the services decide lead by lead)."""
    return actor.role in roles.DELETES_ALL or actor.role in roles.DELETES_OWNED


def can_bulk_assign(actor: Actor) -> bool:
    """May change some lead's assignee (the services decide lead by lead): managers give
    leads, salespeople claim or release their own; marketing managers change neither."""
    return can_give(actor) or actor.role in roles.CLAIMS_OWN


def can_merge_into(actor: Actor, lead: Lead) -> bool:
    """May merge another lead into ``lead``: edit it, and delete at least some leads (the
    other one is soft-deleted; ``lead_merge`` decides for that lead)."""
    return can_edit(actor, lead) and can_bulk_delete(actor)


@_writes
def can_handle_personal_data(actor: Actor) -> bool:
    """May export and erase a lead's personal data (a person's right of access and erasure)."""
    return actor.role in roles.HANDLES_PERSONAL_DATA


# --- what the leads list and the pipeline offer (issue 14: offer only what will be allowed) ---


def can_bulk_edit(actor: Actor, lead: Any) -> bool:
    """May tick ``lead`` (a lead, a list row or a pipeline card: anything with ``owner_id``)
    for a bulk action, or drag it to another status: every bulk action changes the lead, which
    needs ``can_edit`` (the services still decide lead by lead)."""
    return can_edit(actor, lead)


@_writes
def can_assign_to_self(actor: Actor) -> bool:
    """May take a lead as its assignee ("Assign -> Me"): managers give leads to anyone, and
    salespeople claim leads for themselves; marketing managers change no lead's people."""
    return can_give(actor) or actor.role in roles.CLAIMS_OWN


@_writes
def can_bulk_change_owner(actor: Actor) -> bool:
    """May give many leads to another owner at once (the list's "Change owner")."""
    return can_give(actor)
