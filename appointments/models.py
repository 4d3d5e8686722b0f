import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AppointmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    RESCHEDULED = "rescheduled", "Rescheduled"
    CANCELLED = "cancelled", "Cancelled"
    FULFILLED = "fulfilled", "Fulfilled"
    NO_SHOW = "no_show", "No-show"


# What the REST API takes and documents (seed 004); the web app adds No-show.
API_STATUSES = [s for s in AppointmentStatus.values if s != AppointmentStatus.NO_SHOW]
# What a new booking in the web app may be.
NEW_STATUSES = [AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED]


class AppointmentQuerySet(models.QuerySet):
    def alive(self) -> "AppointmentQuerySet":
        return self.filter(deleted_at__isnull=True)

    def blocking(self) -> "AppointmentQuerySet":
        """Appointments that occupy their host's time: neither cancelled nor deleted."""
        return self.alive().exclude(status=AppointmentStatus.CANCELLED)

    def overlapping(self, *, host_id: int, start, end) -> "AppointmentQuerySet":
        return self.blocking().filter(host_id=host_id, start__lt=end, end__gt=start)


class Appointment(models.Model):
    """A meeting with a lead, hosted by a user.

    No two blocking appointments of one host overlap. ``services.create_appointment`` checks it
    inside a serialized transaction; on PostgreSQL an exclusion constraint (migration 0002) makes
    the database itself refuse an overlap, whatever the race.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="appointments")
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="appointment_end_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["host", "start"], name="appointment_host_start_idx"),
            models.Index(fields=["lead", "start"], name="appointment_lead_start_idx"),
            models.Index(fields=["start"], name="appointment_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead} at {self.start:%Y-%m-%d %H:%M}"


class AppointmentWeekCount(models.Model):
    """How many live appointments starting in one week (its Monday, UTC) have one status, of
    one host (0: every host): the dashboard's "Appointments per week". Kept by database
    triggers (``leads.rollup.APPOINTMENT_WEEKS``); never written by Python code."""

    host_id = models.IntegerField()  # 0: every host
    week = models.DateField()
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host_id", "week", "status"], name="appointment_week_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.host_id} {self.week} {self.status}: {self.n}"


class Reminder(models.Model):
    """An email to an appointment's host before it starts (appointments/reminders.py): one per
    appointment and start time. Unsent ones follow the appointment (a move replaces it, a
    cancellation removes it); ``sent_at``, set before the email goes out, makes sure none is
    sent twice whatever the worker does."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()  # the appointment's start it reminds of
    send_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appointment", "start"], name="reminder_once_per_start")
        ]
        indexes = [
            models.Index(
                fields=["send_at"], name="reminder_due_idx", condition=Q(sent_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"Reminder of {self.appointment_id} at {self.send_at:%Y-%m-%d %H:%M}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    """A user's secret calendar address (``/calendar/<token>.ics``): a calendar app subscribes to
    it without signing in, so the token is the only credential; resetting it replaces the token
    and the old address stops working."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
