"""Reads of users that the adapters (the APIs, the pages' forms) need: one place for each."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from crm import tokens
from crm.compiled import CompiledRead
from crm.models import User


def active_user(*, username: str) -> User | None:
    """The active user with this username, if any."""
    return User.objects.filter(username=username, is_active=True).first()


def users_exist() -> bool:
    """Whether any user is stored (a database that is not a fresh one)."""
    return User.objects.exists()


def user(pk: int) -> User | None:
    """The user with this id (active or not), if any."""
    return User.objects.filter(pk=pk).first()


def users_by_id(ids: Iterable[int]) -> dict[int, User]:
    """The users of these ids, by id: one query."""
    ids = set(ids)
    return {u.pk: u for u in User.objects.filter(pk__in=ids)} if ids else {}


def people(*, also: Iterable[int] = ()) -> list[User]:
    """The active users by username, and the users ``also`` names even if inactive (a lead's
    current owner and assignee)."""
    active = _active_people()
    missing = set(also) - {user.pk for user in active}
    if not missing:  # the lead's people are active: the usual case, one compiled query
        return active
    inactive = list(User.objects.filter(pk__in=missing))
    return sorted([*active, *inactive], key=lambda user: user.username)


# Every form that offers people reads them: compiled once (crm.compiled).
_active_people = CompiledRead(
    User, lambda: User.objects.filter(is_active=True).order_by("username")
)


def session_user(pk: int) -> User | None:
    """The user a session names (Django's authentication backend reads it every page)."""
    found = _session_user(pk=pk)
    return found[0] if found else None


_session_user = CompiledRead(User, lambda pk: User.objects.filter(pk=pk)[:1], pk=int)


def token_user(user_id: int | None, refresh_id: str | None) -> User | None:
    """The active user an access token names, read in one query that also says (``revoked``)
    whether the refresh token it came from was revoked."""
    try:
        user_id = int(user_id)  # a signed token names its user by id
    except (TypeError, ValueError):
        return None
    if not 0 < user_id < 2**63:
        return None
    found = _token_user(user_id=user_id, refresh_id=refresh_id or "")
    return found[0] if found else None


def _token_users(user_id: int, refresh_id: str) -> QuerySet[User]:
    revoked = tokens.revoked_refresh(refresh_id)
    return User.objects.filter(pk=user_id, is_active=True).annotate(revoked=revoked)[:1]


# Every API request reads its user: compiled once (crm.compiled), about 0.7 ms a request.
_token_user = CompiledRead(User, _token_users, user_id=int, refresh_id=str)


def user_named(username: str) -> User | None:
    """The user with this username (active or not), if any."""
    return User.objects.filter(username=username).first()
