"""JWT access and refresh tokens for users of the REST API (djangorestframework-simplejwt).

Each token carries the user's ``sign_in_version`` (claim ``ver``): a new password or "Sign out
everywhere" raises it, and every token issued before is refused. An access token issued by
refreshing carries its refresh token's id (claim ``rid``): once that refresh token is revoked
(logout), the access tokens it gave are refused too.
"""

from __future__ import annotations

from django.db.models import Exists, F
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from crm.models import User


class TokenRefused(Exception):
    pass


VERSION_CLAIM = "ver"
REFRESH_CLAIM = "rid"


def _access_from(refresh: RefreshToken) -> AccessToken:
    access = refresh.access_token  # copies ``ver``
    access[REFRESH_CLAIM] = refresh["jti"]
    return access


def issue_tokens(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh[VERSION_CLAIM] = user.sign_in_version
    return {"refresh": str(refresh), "access": str(_access_from(refresh))}


def issue_access_token(user: User) -> str:
    access = AccessToken.for_user(user)
    access[VERSION_CLAIM] = user.sign_in_version
    return str(access)


def current(user: User, token) -> bool:
    """Whether ``token`` (a validated access or refresh token of ``user``) was issued since
    the user last signed out everywhere."""
    return token.get(VERSION_CLAIM, 0) == user.sign_in_version


def refresh_access(raw: str) -> str:
    """A new access token for a valid, unrevoked refresh token of an active user."""
    try:
        refresh = RefreshToken(raw)
    except (TokenError, TypeError, ValueError):
        raise TokenRefused("Refresh token is invalid or expired.") from None
    user = User.objects.filter(pk=refresh.payload.get("user_id"), is_active=True).first()
    if user is None or not current(user, refresh):
        raise TokenRefused("Refresh token is invalid or expired.")
    return str(_access_from(refresh))


def revoke_refresh(raw: str) -> None:
    try:
        RefreshToken(raw).blacklist()
    except (TokenError, TypeError, ValueError):
        raise TokenRefused("Refresh token is invalid or expired.") from None


def revoke_all(user: User) -> None:
    """Blacklist every refresh token of ``user`` (e.g. when an administrator deactivates it)."""
    for token in OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False):
        BlacklistedToken.objects.get_or_create(token=token)


def sign_out_everywhere(user: User) -> None:
    """End every session and refuse every token of ``user`` issued until now."""
    User.objects.filter(pk=user.pk).update(sign_in_version=F("sign_in_version") + 1)
    user.refresh_from_db(fields=["sign_in_version"])
    revoke_all(user)


def revoked_refresh(jti: str):
    """A query that is true when the refresh token ``jti`` is revoked (for an annotation)."""
    return Exists(BlacklistedToken.objects.filter(token__jti=jti))
