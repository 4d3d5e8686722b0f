"""Writes for accounts and API credentials."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from appointments import reminders
from crm.compiled import CompiledRead
from crm.domain import NOT_A_CHOICE, unstorable
from crm.models import ApiKey, KeyScope, User, hash_secret
from crm.roles import Role


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    validate: bool = True,
) -> User:
    if role not in Role.values:
        raise ValidationError({"role": [NOT_A_CHOICE.format(role)]})
    user = User(
        username=username,
        role=role,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=role == Role.ADMINISTRATOR,
        is_superuser=role == Role.ADMINISTRATOR,
    )
    if validate:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def api_key_create(
    *,
    name: str,
    created_by: User | None = None,
    scope: str = KeyScope.FULL,
    acts_as: User | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its full value ``<account_id>.<secret>``, shown only once.
    ``scope`` (``KeyScope``) limits what it may do; ``acts_as`` names the user of a user key."""
    secret = ApiKey.new_secret()
    key = ApiKey(
        name=name,
        account_id=ApiKey.new_account_id(),
        secret_hash=hash_secret(secret),
        created_by=created_by,
        scope=scope,
        acts_as=acts_as,
    )
    key.full_clean()
    key.save()
    return key, f"{key.account_id}.{secret}"


def api_key_revoke(*, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


def _live_keys(account_id: str) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.select_related("acts_as")
        .filter(account_id=account_id, revoked_at__isnull=True)
        .filter(Q(acts_as__isnull=True) | Q(acts_as__is_active=True))  # its user still works
        .order_by("pk")[:1]
    )


# Every API request reads its key: compiled once (crm.compiled), about 0.7 ms a request.
_live_key = CompiledRead(ApiKey, _live_keys, account_id=str)


def api_key_check(account_id: str, secret: str) -> ApiKey | None:
    """The active key with this account id and secret, or None. Records when it was used,
    at most once per ``API_KEY_TOUCH_INTERVAL`` so reads stay reads."""
    if not account_id or not secret or len(account_id) > 32 or len(secret) > 128:
        return None
    if unstorable(account_id) or unstorable(secret):
        return None  # no key has such characters, and the lookup would fail on them
    found = _live_key(account_id=account_id)
    key = found[0] if found else None
    if key is None or not key.matches(secret):
        return None
    now = timezone.now()
    interval = timedelta(seconds=settings.CRM["API_KEY_TOUCH_INTERVAL"])
    if key.last_used_at is None or now - key.last_used_at > interval:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


KEY_OF_ANOTHER_USER = "This API key acts as another user."


def api_key_admits(key: ApiKey, user: User) -> bool:
    """May ``user`` sign in through ``key``? Any user through a full or read-only key; only its
    own user through a key that acts as a user."""
    return key.scope != KeyScope.USER or key.acts_as_id == user.pk


def api_key_parts(raw: str | None) -> tuple[str, str] | None:
    """A whole key's account id and secret (``<account_id>.<secret>``); None if it is not one."""
    account_id, dot, secret = (raw or "").strip().partition(".")
    return (account_id, secret) if dot and account_id else None


def api_key_authenticate(raw: str) -> ApiKey | None:
    """Check a whole key, ``<account_id>.<secret>``."""
    parts = api_key_parts(raw)
    return api_key_check(*parts) if parts else None


# --- a user's own settings ----------------------------------------------------------------

# Minutes before an appointment a user may choose to be reminded (None: never).
REMIND_CHOICES: dict[int | None, str] = {
    None: "Never",
    10: "10 minutes before",
    15: "15 minutes before",
    30: "30 minutes before",
    60: "1 hour before",
    120: "2 hours before",
    1440: "1 day before",
}


@functools.cache
def time_zone_names() -> list[str]:
    """The IANA time zones a user may choose, by name (``Europe/Berlin``); not the legacy
    aliases (``US/Pacific``, ``EST5EDT``)."""
    names = zoneinfo.available_timezones()
    legacy = ("Etc/", "SystemV/", "US/")
    return sorted({"UTC", *(n for n in names if "/" in n and not n.startswith(legacy))})


def user_settings_update(
    *, user: User, email: str, time_zone: str, remind_minutes: int | None, morning_agenda: bool
) -> User:
    """Save what the user chose on the Settings page: their email address (reminders go
    there), their time zone ("" is the server's), reminders and the morning agenda."""
    errors: dict[str, list[str]] = {}
    email = (email or "").strip()
    try:
        EmailValidator()(email) if email else None
    except ValidationError:
        errors["email"] = ["Enter a valid email address."]
    if time_zone and time_zone not in time_zone_names():
        errors["time_zone"] = ["Choose a time zone from the list."]
    if remind_minutes not in REMIND_CHOICES:
        errors["remind_minutes"] = [NOT_A_CHOICE.format(remind_minutes)]
    if errors:
        raise ValidationError(errors)
    user.email, user.time_zone = email, time_zone
    user.remind_minutes, user.morning_agenda = remind_minutes, bool(morning_agenda)
    with transaction.atomic():
        user.save(update_fields=["email", "time_zone", "remind_minutes", "morning_agenda"])
        reminders.replan_user(user)
    return user
