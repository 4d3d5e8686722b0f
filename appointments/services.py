"""Every write to appointments. No double-booking: the overlap check and the write run in one
serialized transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: a lock per host), and on
PostgreSQL an exclusion constraint refuses an overlap whatever the race; both surface as the
same ``RuleViolation``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments import reminders
from appointments.models import Appointment, AppointmentStatus, CalendarFeed, new_feed_token
from crm import locks
from crm.domain import Actor, Forbidden, RuleViolation
from crm.models import User
from leads import access
from leads.models import EventType, Lead
from leads.services import record_event

CANNOT_BOOK = "You can't take appointment under this lead."

CONFLICT = "Appointment schedule exists for this time."
END_BEFORE_START = "End Date Can't be prior to Start Date."
NOT_FUTURE = "Please Specify a date in the future."
EXCLUSION_VIOLATION = "23P01"
HOST_LOCK = 0x6170_7074  # the class of the per-host advisory locks ("appt")


def _check_times(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise RuleViolation(END_BEFORE_START, code="end_before_start", field="end")
    if start <= timezone.now():
        raise RuleViolation(NOT_FUTURE, code="start_in_past", field="start")


def _check_free(appointment: Appointment) -> None:
    """No other live appointment of the host overlaps. On PostgreSQL the host's bookings and
    moves first take a lock (until commit), so they run one at a time: the check sees every
    committed appointment, and two overlapping inserts never wait on each other inside the
    exclusion constraint, where they would deadlock. SQLite's writes are serialized already."""
    locks.hold(HOST_LOCK, appointment.host_id & 0x7FFF_FFFF)
    clash = Appointment.objects.overlapping(
        host_id=appointment.host_id, start=appointment.start, end=appointment.end
    )
    if appointment.pk:
        clash = clash.exclude(pk=appointment.pk)
    if clash.exists():
        raise RuleViolation(CONFLICT, code="conflict", field="start")


def _save(appointment: Appointment, **kwargs: Any) -> None:
    """Save; an exclusion-constraint violation (PostgreSQL) is the same conflict as above."""
    try:
        with transaction.atomic():
            appointment.save(**kwargs)
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == EXCLUSION_VIOLATION:
            raise RuleViolation(CONFLICT, code="conflict", field="start") from None
        raise


def _check_status(status: str) -> None:
    if status not in AppointmentStatus.values:
        raise ValidationError({"status": ["Invalid appointment status."]})


def _check_note(appointment: Appointment) -> None:
    appointment.full_clean(exclude=["lead", "host", "start", "end", "status"])


def _times(appointment: Appointment) -> dict[str, str]:
    return {"start": appointment.start.isoformat(), "end": appointment.end.isoformat()}


@transaction.atomic
def appointment_create(
    *,
    actor: Actor,
    lead: Lead,
    start: dt.datetime,
    end: dt.datetime,
    note: str = "",
    status: str = AppointmentStatus.PENDING,
    host: User | None = None,
) -> Appointment:
    """Book an appointment with ``lead``. The host defaults to the acting user (or, for an API
    key acting alone, the lead's owner); only managers book for another host."""
    access.ensure_can_write(actor)
    if lead.is_deleted or not access.can_write_activity(actor, lead):
        raise Forbidden(CANNOT_BOOK, code="cannot_book", field="lead")
    host = host or actor.user or lead.owner
    if host is None:
        raise ValidationError({"host": ["This field is required."]})
    if host.pk != actor.user_id and not access.can_give(actor):
        raise Forbidden("You can't book for another host.", code="cannot_book_for_other")
    _check_status(status)
    appointment = Appointment(
        lead=lead, host=host, start=start, end=end, note=(note or "").strip(), status=status
    )
    _check_note(appointment)
    _check_times(start, end)
    if status != AppointmentStatus.CANCELLED:
        _check_free(appointment)
    appointment.created_at = appointment.updated_at = timezone.now()
    _save(appointment)
    reminders.plan(appointment)
    record_event(
        lead=lead,
        type=EventType.APPOINTMENT_CREATED,
        actor=actor,
        data={"appointment_id": appointment.pk, "status": status, **_times(appointment)},
    )
    return appointment


@transaction.atomic
def appointment_update(
    *,
    actor: Actor,
    appointment: Appointment,
    changes: dict[str, Any],
    reason: str = "",
) -> Appointment:
    """Change any of lead, start, end, note, status. A move records the previous times; a
    ``reason`` (of a cancellation) goes on the timeline with the change."""
    access.ensure_can_write(actor)
    if not access.can_change_appointment(actor, appointment):
        raise Forbidden("You can't update this appointment.", code="cannot_update_appointment")
    if appointment.deleted_at is not None:
        raise RuleViolation("This appointment is deleted.", code="appointment_deleted")
    previous = _times(appointment)
    previous_status = appointment.status
    lead = changes.get("lead")
    if lead is not None and lead.pk != appointment.lead_id:
        if lead.is_deleted or not access.can_write_activity(actor, lead):
            raise Forbidden(CANNOT_BOOK, code="cannot_book", field="lead")
        appointment.lead = lead
    if "status" in changes:
        _check_status(changes["status"])
        appointment.status = changes["status"]
    if "note" in changes:
        appointment.note = (changes["note"] or "").strip()
        _check_note(appointment)
    appointment.start = changes.get("start", appointment.start)
    appointment.end = changes.get("end", appointment.end)
    moved = _times(appointment) != previous
    if moved:
        _check_times(appointment.start, appointment.end)
    reopened = previous_status == AppointmentStatus.CANCELLED
    if appointment.status != AppointmentStatus.CANCELLED and (moved or reopened):
        _check_free(appointment)
    appointment.updated_at = timezone.now()
    _save(appointment)
    reminders.plan(appointment)
    data: dict[str, Any] = {"appointment_id": appointment.pk, **_times(appointment)}
    if moved:
        data["previous"] = previous
    if appointment.status != previous_status:
        data["status"] = [previous_status, appointment.status]
    if reason.strip():
        data["reason"] = reason.strip()[:200]
    record_event(lead=appointment.lead, type=EventType.APPOINTMENT_UPDATED, actor=actor, data=data)
    return appointment


@transaction.atomic
def appointment_delete(*, actor: Actor, appointment: Appointment) -> None:
    """Soft delete: the appointment frees its time and stays in the database."""
    access.ensure_can_write(actor)
    if not access.can_change_appointment(actor, appointment):
        raise Forbidden("You can't delete this appointment.", code="cannot_delete_appointment")
    if appointment.deleted_at is not None:
        raise RuleViolation("This appointment is deleted.", code="appointment_deleted")
    appointment.deleted_at = timezone.now()
    appointment.save(update_fields=["deleted_at"])
    reminders.plan(appointment)
    record_event(
        lead=appointment.lead,
        type=EventType.APPOINTMENT_DELETED,
        actor=actor,
        data={"appointment_id": appointment.pk, **_times(appointment)},
    )


# --- the web app's lifecycle: confirm, cancel with a reason, held or missed, logged after ---

NOT_YET = "Mark an appointment held or missed once it has started."
ALREADY_STARTED = "Only an appointment yet to start can be confirmed."
CANCELLED_ALREADY = "This appointment is cancelled."
LOG_IN_THE_PAST = "Log a meeting that has already ended; book one that is to come."
OUTCOMES = (AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW)


def appointment_mark(*, actor: Actor, appointment: Appointment, status: str) -> Appointment:
    """Confirm an appointment yet to start, or mark one that has started Fulfilled or
    No-show; a cancelled one is neither."""
    now = timezone.now()
    if appointment.status == AppointmentStatus.CANCELLED:
        raise RuleViolation(CANCELLED_ALREADY, code="appointment_cancelled")
    if status == AppointmentStatus.CONFIRMED:
        if appointment.start <= now:
            raise RuleViolation(ALREADY_STARTED, code="appointment_started")
    elif status in OUTCOMES:
        if appointment.start > now:
            raise RuleViolation(NOT_YET, code="appointment_not_started")
    else:
        raise ValidationError({"status": ["Invalid appointment status."]})
    return appointment_update(actor=actor, appointment=appointment, changes={"status": status})


def appointment_cancel(*, actor: Actor, appointment: Appointment, reason: str = "") -> Appointment:
    """Cancel, with the reason on the timeline (the reminder is cancelled with it)."""
    if appointment.status == AppointmentStatus.CANCELLED:
        raise RuleViolation(CANCELLED_ALREADY, code="appointment_cancelled")
    changes = {"status": AppointmentStatus.CANCELLED}
    return appointment_update(actor=actor, appointment=appointment, changes=changes, reason=reason)


@transaction.atomic
def appointment_log(
    *, actor: Actor, lead: Lead, start: dt.datetime, end: dt.datetime, note: str = ""
) -> Appointment:
    """Log a meeting that already happened: Fulfilled, hosted by the actor, ended before now
    (the booking's future-date rule turned round); like a booking, it may not overlap another
    appointment of the host."""
    access.ensure_can_write(actor)
    if lead.is_deleted or not access.can_write_activity(actor, lead):
        raise Forbidden(CANNOT_BOOK, code="cannot_book", field="lead")
    if actor.user is None:
        raise ValidationError({"host": ["This field is required."]})
    if end <= start:
        raise RuleViolation(END_BEFORE_START, code="end_before_start", field="end")
    if end > timezone.now():
        raise RuleViolation(LOG_IN_THE_PAST, code="log_in_future", field="end")
    appointment = Appointment(
        lead=lead, host=actor.user, start=start, end=end, note=(note or "").strip(),
        status=AppointmentStatus.FULFILLED,
    )  # fmt: skip
    _check_note(appointment)
    _check_free(appointment)
    appointment.created_at = appointment.updated_at = timezone.now()
    _save(appointment)
    record_event(
        lead=lead,
        type=EventType.APPOINTMENT_CREATED,
        actor=actor,
        data={"appointment_id": appointment.pk, "status": appointment.status, "logged": True,
              **_times(appointment)},
    )  # fmt: skip
    return appointment


# --- calendar feeds -----------------------------------------------------------------------


@transaction.atomic
def calendar_feed_for(*, user: User) -> CalendarFeed:
    """The user's secret calendar address, made on first use."""
    feed, _created = CalendarFeed.objects.get_or_create(user=user)
    return feed


@transaction.atomic
def calendar_feed_reset(*, user: User) -> CalendarFeed:
    """A new secret address for the user; the old one stops working at once."""
    feed, created = CalendarFeed.objects.select_for_update().get_or_create(user=user)
    if not created:
        feed.token = new_feed_token()
        feed.save(update_fields=["token"])
    return feed
