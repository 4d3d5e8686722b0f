"""Reminders by email (the Settings page's choices), sent by the worker.

- ``plan(appointment)``: after every booking, move, cancellation or deletion (the services call
  it in their transaction). The host is reminded ``remind_minutes`` before the start, or at
  once when that time has already passed (booked 20 minutes ahead with a 30-minute reminder).
  An unsent reminder of an earlier start, of another host, or of an appointment cancelled or
  deleted is removed: a move moves the reminder, a cancellation cancels it.
- ``send_due()``: the worker's part (the task ``send_reminders``, and the sweep of
  ``appointments.tasks``). Each reminder is claimed by one conditional UPDATE that sets
  ``sent_at`` before the email goes out, so a reminder is sent at most once however many
  workers run or retry; a failed send is released for a later try.
- ``send_agendas()``: the morning agenda, after 07:00 in each user's time zone, once a day.

Emails go through Django's email framework (``EMAIL_*`` settings), with the appointment's
``.ics`` attached; their times are in the recipient's time zone.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import ngettext

from appointments import calendar
from appointments.models import Appointment, AppointmentStatus, Reminder
from crm import queueing
from crm.models import User
from leads.models import DELETED_STATUS, Task

logger = logging.getLogger(__name__)

AGENDA_HOUR = 7  # the morning agenda goes out after 07:00 local time
RETRY = dt.timedelta(minutes=1)  # after a failed send, times the attempts
MAX_ATTEMPTS = 10
BATCH = 100


def _zone(user: User) -> dt.tzinfo:
    try:
        return (
            zoneinfo.ZoneInfo(user.time_zone) if user.time_zone else timezone.get_default_timezone()
        )
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


@contextmanager
def _in_zone_of(user: User) -> Iterator[dt.tzinfo]:
    zone = _zone(user)
    with timezone.override(zone):
        yield zone


def _wanted(appointment: Appointment) -> bool:
    return appointment.deleted_at is None and appointment.status != AppointmentStatus.CANCELLED


def plan(appointment: Appointment) -> Reminder | None:
    """Keep the appointment's unsent reminder in step with it (see the module's text); returns
    the reminder waiting to be sent, if any."""
    host = appointment.host
    stale = Reminder.objects.filter(appointment=appointment, sent_at__isnull=True)
    now = timezone.now()
    wanted = (
        _wanted(appointment)
        and host.remind_minutes is not None
        and bool(host.email)
        and appointment.start > now
    )
    if not wanted:
        stale.delete()
        return None
    stale.exclude(start=appointment.start, user=host).delete()
    send_at = max(appointment.start - dt.timedelta(minutes=host.remind_minutes), now)
    reminder, created = Reminder.objects.get_or_create(
        appointment=appointment,
        start=appointment.start,
        defaults={"user": host, "send_at": send_at},
    )
    if reminder.sent_at is not None:
        return None  # already sent for this very time
    if not created and reminder.send_at != send_at:
        reminder.send_at = send_at
        reminder.save(update_fields=["send_at"])
    transaction.on_commit(lambda: _wake_at(send_at))
    return reminder


def replan_user(user: User) -> int:
    """Plan again the reminders of ``user``'s upcoming appointments (new settings)."""
    upcoming = Appointment.objects.filter(host=user, start__gt=timezone.now()).select_related(
        "host"
    )
    Reminder.objects.filter(user=user, sent_at__isnull=True).exclude(
        appointment__host=user
    ).delete()
    count = 0
    for appointment in upcoming:
        appointment.host = user
        count += plan(appointment) is not None
    return count


@task
def send_reminders() -> int:
    """The worker's task: send the reminders due now."""
    return send_due()


def _wake_at(when: dt.datetime) -> None:
    """Ask the worker to send what is due at ``when`` (the sweep is the safety net)."""
    queued = send_reminders if when <= timezone.now() else send_reminders.using(run_after=when)
    queueing.attempt(queued.enqueue)  # the queue being away must not undo the booking


# --- sending ------------------------------------------------------------------------------


def _message(reminder: Reminder) -> EmailMessage:
    appointment, user = reminder.appointment, reminder.user
    with _in_zone_of(user) as zone:
        start = timezone.localtime(appointment.start, zone)
        end = timezone.localtime(appointment.end, zone)
        when = f"{start:%a %b} {start.day}, {start:%H:%M}–{end:%H:%M} ({zone})"
    lines = [
        f"Your appointment with {appointment.lead} starts {when}.",
        f"Status: {appointment.get_status_display()}.",
    ]
    if appointment.note:
        lines.append(f"Note: {appointment.note}")
    lines += ["", "The appointment is attached as an .ics file for your calendar."]
    message = EmailMessage(
        subject=f"Reminder: {appointment.lead} at {start:%H:%M}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach(
        f"appointment-{appointment.pk}.ics", calendar.calendar([appointment]), calendar.CONTENT_TYPE
    )
    return message


def send_due(now: dt.datetime | None = None) -> int:
    """Send every reminder due by ``now``; returns how many were sent."""
    now = now or timezone.now()
    due = (
        Reminder.objects.filter(sent_at__isnull=True, send_at__lte=now, attempts__lt=MAX_ATTEMPTS)
        .select_related("appointment__lead", "appointment__host", "user")
        .order_by("send_at", "id")[:BATCH]
    )
    sent = 0
    for reminder in due:
        appointment = reminder.appointment
        if not _wanted(appointment) or appointment.start != reminder.start:
            Reminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).delete()
            continue
        claimed = Reminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
        if not claimed:
            continue  # another worker has it
        try:
            _message(reminder).send()
        except Exception as exc:  # SMTP down, refused: release it for a later try
            logger.warning("Reminder %s not sent: %s", reminder.pk, exc)
            Reminder.objects.filter(pk=reminder.pk).update(
                sent_at=None,
                attempts=F("attempts") + 1,
                last_error=f"{type(exc).__name__}: {exc}"[:500],
                send_at=timezone.now() + RETRY * (reminder.attempts + 1),
            )
        else:
            sent += 1
    return sent


def _agenda_message(user: User, day: dt.date, zone: dt.tzinfo) -> EmailMessage:
    begin = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = begin + dt.timedelta(days=1)
    appointments = list(
        Appointment.objects.blocking()
        .filter(host=user, start__gte=begin, start__lt=end)
        .select_related("lead")
        .order_by("start")
    )
    tasks = list(
        Task.objects.open()
        .filter(assignee=user, due__lt=end)
        .filter(Q(lead__isnull=True) | ~Q(lead__status_id=DELETED_STATUS))
        .select_related("lead")
        .order_by("due")[:50]
    )
    lines = [f"Your day, {day:%A %B} {day.day}:", "", "Appointments:"]
    for a in appointments:
        lines.append(f"  {timezone.localtime(a.start, zone):%H:%M} {a.lead}")
    if not appointments:
        lines.append("  none")
    lines += ["", "Tasks due:"]
    for t in tasks:
        late = " (overdue)" if t.due < begin else ""
        on = f" – {t.lead}" if t.lead_id else ""
        lines.append(f"  {timezone.localtime(t.due, zone):%b %d %H:%M} {t.title}{on}{late}")
    if not tasks:
        lines.append("  none")
    message = EmailMessage(
        subject="Your day: "
        + ngettext("%(n)d appointment", "%(n)d appointments", len(appointments))
        % {"n": len(appointments)}
        + ", "
        + ngettext("%(n)d task", "%(n)d tasks", len(tasks)) % {"n": len(tasks)},
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    if appointments:
        message.attach("agenda.ics", calendar.calendar(appointments), calendar.CONTENT_TYPE)
    return message


def send_agendas(now: dt.datetime | None = None) -> int:
    """Send the morning agenda to each user who asked for it and for whom it is past 07:00 and
    the agenda of their day not yet sent; returns how many were sent."""
    now = now or timezone.now()
    users = User.objects.filter(is_active=True, morning_agenda=True).exclude(email="")
    sent = 0
    for user in users:
        zone = _zone(user)
        local = now.astimezone(zone)
        day = local.date()
        if local.hour < AGENDA_HOUR or user.agenda_sent_on == day:
            continue
        claimed = (
            User.objects.filter(pk=user.pk)
            .filter(Q(agenda_sent_on__isnull=True) | Q(agenda_sent_on__lt=day))
            .update(agenda_sent_on=day)
        )
        if not claimed:
            continue
        try:
            with timezone.override(zone):
                _agenda_message(user, day, zone).send()
        except Exception as exc:
            logger.warning("Agenda of %s not sent: %s", user.pk, exc)
            User.objects.filter(pk=user.pk).update(agenda_sent_on=user.agenda_sent_on)
        else:
            sent += 1
    return sent
