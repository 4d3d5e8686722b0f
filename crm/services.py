"""Writes for accounts and API credentials."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

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


def api_key_authenticate(raw: str) -> ApiKey | None:
    """Check a whole key, ``<account_id>.<secret>``."""
    account_id, dot, secret = (raw or "").strip().partition(".")
    return api_key_check(account_id, secret) if dot else None
