"""Reminders by email: planned with every booking, move, cancellation and change of settings,
sent once by the worker with the appointment's .ics, in the host's time zone; the morning
agenda once a day after 07:00 local time. The last part is the acceptance: a real worker
process (``manage.py run_worker``) sending through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import threading
from collections.abc import Iterator
from email import policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from appointments import reminders
from appointments.models import AppointmentStatus, Reminder
from appointments.services import appointment_create, appointment_delete, appointment_update
from crm.domain import Actor
from crm.services import user_settings_update
from leads.services import task_create
from tests.factories import LeadFactory
from tests.test_webhooks import DATABASE_BACKEND, Workers, free_port, wait_for

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"


@pytest.fixture
def host(salesperson):
    salesperson.email = "seller@example.com"
    salesperson.save(update_fields=["email"])  # remind_minutes: 30 by default
    return salesperson


@pytest.fixture
def lead(host, manager):
    return LeadFactory(by=manager, owner=host, first_name="Ada", last_name="Lee")


def book(host, lead, minutes_ahead: int, length: int = 30):
    start = (timezone.now() + dt.timedelta(minutes=minutes_ahead)).replace(microsecond=0)
    return appointment_create(
        actor=Actor(user=host), lead=lead, start=start, end=start + dt.timedelta(minutes=length)
    )


def waiting(appointment) -> list[Reminder]:
    return list(Reminder.objects.filter(appointment=appointment, sent_at__isnull=True))


def test_a_booking_plans_the_hosts_reminder(host, lead):
    appointment = book(host, lead, 120)
    (reminder,) = waiting(appointment)
    assert reminder.user == host
    assert reminder.send_at == appointment.start - dt.timedelta(minutes=30)
    assert reminders.send_due() == 0  # not yet


@pytest.mark.parametrize(
    "change", [{"email": ""}, {"remind_minutes": None}], ids=["no email", "never"]
)
def test_no_reminder_without_an_address_or_when_declined(host, lead, change):
    for name, value in change.items():
        setattr(host, name, value)
    host.save()
    assert waiting(book(host, lead, 120)) == []


def test_a_move_moves_the_reminder_and_a_cancellation_removes_it(host, lead):
    me = Actor(user=host)
    appointment = book(host, lead, 120)
    later = appointment.start + dt.timedelta(days=1)
    appointment_update(
        actor=me,
        appointment=appointment,
        changes={"start": later, "end": later + dt.timedelta(minutes=30)},
    )
    (reminder,) = waiting(appointment)
    assert (reminder.start, reminder.send_at) == (later, later - dt.timedelta(minutes=30))
    appointment_update(
        actor=me, appointment=appointment, changes={"status": AppointmentStatus.CANCELLED}
    )
    assert waiting(appointment) == []
    other = book(host, lead, 300)
    appointment_delete(actor=me, appointment=other)
    assert not Reminder.objects.exists()


def test_booked_after_its_reminder_time_it_is_sent_at_once_and_only_once(host, lead):
    appointment = book(host, lead, 20)  # a 30-minute reminder: already due
    (reminder,) = waiting(appointment)
    assert reminder.send_at <= timezone.now()
    assert reminders.send_due() == 1
    assert reminders.send_due() == 0  # at-least-once worker, exactly-once reminder
    (sent,) = mail.outbox
    assert sent.to == ["seller@example.com"] and "Ada Lee" in sent.subject
    name, content, mimetype = sent.attachments[0]
    assert name == f"appointment-{appointment.pk}.ics" and mimetype.startswith("text/calendar")
    assert "BEGIN:VEVENT" in content and "Z\r\n" in content  # UTC times
    reminder.refresh_from_db()
    assert reminder.sent_at is not None


def test_the_email_gives_the_time_in_the_hosts_zone(host, lead):
    user_settings_update(
        user=host, email=host.email, time_zone=LA, remind_minutes=30, morning_agenda=False
    )
    appointment = book(host, lead, 20)
    reminders.send_due()
    local = timezone.localtime(appointment.start, timezone=ZoneInfo(LA))
    assert f"{local:%H:%M}" in mail.outbox[0].body and LA in mail.outbox[0].body


def test_a_failed_send_is_tried_again_later(host, lead, monkeypatch):
    appointment = book(host, lead, 20)

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("no SMTP server")

    monkeypatch.setattr(mail.EmailMessage, "send", refuse)
    assert reminders.send_due() == 0
    (reminder,) = waiting(appointment)
    assert reminder.attempts == 1 and "ConnectionRefusedError" in reminder.last_error
    assert reminder.send_at > timezone.now()
    monkeypatch.undo()
    assert reminders.send_due(now=reminder.send_at) == 1


def test_new_settings_plan_upcoming_reminders_again(host, lead):
    appointment = book(host, lead, 300)
    user_settings_update(
        user=host, email=host.email, time_zone="", remind_minutes=60, morning_agenda=False
    )
    (reminder,) = waiting(appointment)
    assert reminder.send_at == appointment.start - dt.timedelta(minutes=60)
    user_settings_update(
        user=host, email=host.email, time_zone="", remind_minutes=None, morning_agenda=False
    )
    assert waiting(appointment) == []


def test_the_morning_agenda_goes_once_after_seven_in_the_users_zone(host, lead):
    user_settings_update(
        user=host, email=host.email, time_zone=LA, remind_minutes=None, morning_agenda=True
    )
    zone = ZoneInfo(LA)
    day = timezone.localdate(timezone.now(), zone) + dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(10), tzinfo=zone)
    appointment_create(
        actor=Actor(user=host), lead=lead, start=start, end=start + dt.timedelta(minutes=30)
    )
    task_create(actor=Actor(user=host), title="Send the quote", due=start, lead=lead)
    early = dt.datetime.combine(day, dt.time(6, 59), tzinfo=zone)
    assert reminders.send_agendas(now=early) == 0
    morning = dt.datetime.combine(day, dt.time(7, 1), tzinfo=zone)
    assert reminders.send_agendas(now=morning) == 1
    assert reminders.send_agendas(now=morning + dt.timedelta(hours=2)) == 0
    (agenda,) = mail.outbox
    assert "10:00 Ada Lee" in agenda.body and "Send the quote" in agenda.body
    assert agenda.attachments and agenda.attachments[0][0] == "agenda.ics"
    next_day = morning + dt.timedelta(days=1)
    assert reminders.send_agendas(now=next_day) == 1


# --- a real worker, a real SMTP server ------------------------------------------------------


class Inbox:
    """What an SMTP server on 127.0.0.1 received (aiosmtpd's handler interface)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def worker(transactional_db, settings, tmp_path, smtp) -> Iterator[Workers]:
    settings.TASKS = DATABASE_BACKEND  # the test process queues where the worker looks
    running = Workers(tmp_path)
    running.env.update(
        {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp[1]),
            "REMINDER_SWEEP_SECONDS": "0.5",
        }
    )
    yield running
    running.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_sends_each_reminder_once_with_its_ics(smtp, worker, host, lead):
    inbox, _port = smtp
    me = Actor(user=host)
    moved = book(host, lead, 60 * 48)  # its reminder is two days away
    cancelled = book(host, lead, 25, length=10)
    appointment_update(
        actor=me, appointment=cancelled, changes={"status": AppointmentStatus.CANCELLED}
    )
    worker.start()
    soon = book(host, lead, 20, length=10)  # booked after its reminder time: sent at once
    wait_for(lambda: inbox.messages, "the first reminder", log=worker.logs)
    # Rescheduling moves the reminder: to 5 minutes ahead, so it is due at once too.
    start = (timezone.now() + dt.timedelta(minutes=5)).replace(microsecond=0)
    appointment_update(
        actor=me,
        appointment=moved,
        changes={"start": start, "end": start + dt.timedelta(minutes=10)},
    )
    wait_for(lambda: len(inbox.messages) >= 2, "the moved appointment's reminder", log=worker.logs)
    # A few sweeps later: still one email per appointment, none for the cancelled one.
    wait_for(lambda: Reminder.objects.filter(sent_at__isnull=False).count() == 2, "both recorded")
    threading.Event().wait(2)
    assert len(inbox.messages) == 2, inbox.subjects()
    ids = set()
    for message in inbox.messages:
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "text/calendar"
        ids.add(attachment.get_filename())
        assert message["To"] == "seller@example.com"
    assert ids == {f"appointment-{soon.pk}.ics", f"appointment-{moved.pk}.ics"}
    assert not Reminder.objects.filter(appointment=cancelled).exists()
