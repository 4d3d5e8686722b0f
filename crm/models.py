import hashlib
import hmac
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from crm.roles import Role

# The columns ``str(user)`` reads: a list that shows people reads these and no more.
USER_NAME_COLUMNS = ("username", "first_name", "last_name")


def user_name(username: str, first_name: str, last_name: str) -> str:
    """How pages name a user (``User.__str__``): the full name, else the username."""
    return f"{first_name} {last_name}".strip() or username


def validate_time_zone(value: str) -> None:
    """An IANA time zone name (``Europe/Berlin``)."""
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError("Choose a time zone from the list.")


class User(AbstractUser):
    """A person who signs in. Every user has exactly one role (SPEC §3)."""

    role = models.CharField(max_length=32, choices=Role.choices, default=Role.SALESPERSON)
    # Raised by a new password and by "Sign out everywhere": every session and every API token
    # issued before carries the old value and is refused from then on.
    sign_in_version = models.PositiveIntegerField(default=0, editable=False)
    # The user's own settings (the Settings page): an IANA time zone ("" is the server's), how
    # many minutes before an appointment to be reminded by email (None: never), and whether to
    # get the morning agenda email.
    time_zone = models.CharField(
        max_length=64, blank=True, default="", validators=[validate_time_zone]
    )
    remind_minutes = models.PositiveIntegerField(null=True, blank=True, default=30)
    morning_agenda = models.BooleanField(default=False)
    agenda_sent_on = models.DateField(null=True, blank=True, editable=False)  # its local day

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return user_name(self.username, self.first_name, self.last_name)

    def save(self, *args, **kwargs) -> None:
        # ``_password`` is set by set_password() (not by a hash upgrade at sign-in, which
        # Django saves without it): a new password signs the user out everywhere.
        if self._password is not None and self.pk is not None:
            self.sign_in_version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "sign_in_version"}
        super().save(*args, **kwargs)

    def _auth_hash(self, secret=None) -> str:
        return salted_hmac(
            "crm.User.get_session_auth_hash",
            f"{self.password}|{self.sign_in_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    # Sessions carry this hash; Django signs out a session whose hash no longer matches.
    def get_session_auth_hash(self) -> str:
        return self._auth_hash()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._auth_hash(secret=fallback_secret)


def hash_secret(secret: str) -> str:
    """API key secrets are random (256 bits), so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyScope(models.TextChoices):
    """What an API key may do. Full: the whole account, as an administrator (the source
    systems' keys, and the default). Read-only: read everything, change nothing. Acts as a
    user: that user's role and visibility, and the owner of what the key creates."""

    FULL = "full", "Full account"
    READ_ONLY = "read_only", "Read-only"
    USER = "user", "Acts as a user"


class ApiKey(models.Model):
    """An integration's credential, ``<account_id>.<secret>``; only the secret's hash is kept."""

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, choices=KeyScope.choices, default=KeyScope.FULL)
    acts_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        limit_choices_to={"is_active": True},
        related_name="api_keys",
        help_text=(
            'For the "Acts as a user" scope: the user whose role and visibility the key has.'
        ),
    )
    account_id = models.CharField(max_length=32, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope=KeyScope.USER, acts_as__isnull=False)
                | (~models.Q(scope=KeyScope.USER) & models.Q(acts_as__isnull=True)),
                name="api_key_acts_as_only_for_user_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.scope == KeyScope.USER and self.acts_as_id is None:
            raise ValidationError({"acts_as": "Choose the user this key acts as."})
        if self.scope != KeyScope.USER and self.acts_as_id is not None:
            raise ValidationError({"acts_as": "Only a key that acts as a user names one."})

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def new_account_id() -> str:
        return secrets.token_hex(8)

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(32)

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))


class RateCounter(models.Model):
    """Requests an API key made in its current window (one row per key and period), shared by
    every server process. ``window`` is the epoch second or day the count belongs to."""

    key = models.CharField(max_length=64)
    period = models.CharField(max_length=8)
    window = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "period"], name="unique_rate_counter")
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.period}={self.count}"


class PeriodicRun(models.Model):
    """When the worker's periodic job ``name`` runs next (``crm.periodic``): the one row every
    worker claims from, so each run is queued once however many workers are running."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.next_run_at:%Y-%m-%d %H:%M:%S}"


class NotificationKind(models.TextChoices):
    """What a notification tells its recipient (``crm.notifications`` decides who gets one)."""

    LEAD_GIVEN = "lead_given", "Lead given to you"
    APPOINTMENT = "appointment", "Appointment on your lead"
    TASK = "task", "Task assigned to you"
    PARTNER = "partner", "Lead changed through the API"


class Notification(models.Model):
    """A change someone else made to the recipient's work, shown under the header's bell
    until read. Written with the change, in its transaction (``crm.notifications``)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # the indexes below lead with it
    )
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # a recipient's latest notifications, newest first (the list)
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notification_recipient_idx"
            ),
            # a recipient's unread ones only (the bell's bounded count, "Mark all read")
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def unread(self) -> bool:
        return self.read_at is None
