"""JWT access and refresh tokens for users of the REST API (djangorestframework-simplejwt)."""

from __future__ import annotations

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from crm.models import User


class TokenRefused(Exception):
    pass


def issue_tokens(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


def issue_access_token(user: User) -> str:
    return str(AccessToken.for_user(user))


def refresh_access(raw: str) -> str:
    """A new access token for a valid, unrevoked refresh token of an active user."""
    try:
        refresh = RefreshToken(raw)
    except (TokenError, TypeError, ValueError):
        raise TokenRefused("Refresh token is invalid or expired.") from None
    user = User.objects.filter(pk=refresh.payload.get("user_id"), is_active=True).first()
    if user is None:
        raise TokenRefused("Refresh token is invalid or expired.")
    return str(refresh.access_token)


def revoke_refresh(raw: str) -> None:
    try:
        RefreshToken(raw).blacklist()
    except (TokenError, TypeError, ValueError):
        raise TokenRefused("Refresh token is invalid or expired.") from None


def revoke_all(user: User) -> None:
    """Blacklist every refresh token of ``user`` (e.g. when an administrator deactivates it)."""
    for token in OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False):
        BlacklistedToken.objects.get_or_create(token=token)
