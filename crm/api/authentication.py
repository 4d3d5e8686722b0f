"""REST authentication: every request carries an integration's ``apikey`` header and a user's
``Authorization: Bearer <access token>``; both must be valid."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JWTFailed
from rest_framework_simplejwt.exceptions import InvalidToken

from crm import selectors, tokens
from crm.domain import Actor
from crm.models import ApiKey
from crm.services import KEY_OF_ANOTHER_USER, api_key_admits, api_key_authenticate


def require_api_key(request: Request) -> ApiKey:
    raw = request.headers.get("apikey", "")
    if not raw.strip():
        raise AuthenticationFailed("API key is missing: send it in the apikey header.")
    key = api_key_authenticate(raw)
    if key is None:
        raise AuthenticationFailed("API key is invalid or revoked.")
    return key


class _TokenUsers(JWTAuthentication):
    """simplejwt's access-token check, with the user read in one query that also says whether
    the refresh token it came from was revoked; refused when either is stale."""

    def get_user(self, validated_token):
        user = selectors.token_user(
            validated_token.get("user_id"), validated_token.get(tokens.REFRESH_CLAIM)
        )
        if (
            user is None
            or getattr(user, "revoked", False)
            or not tokens.current(user, validated_token)
        ):
            raise InvalidToken("Access token is invalid or expired.")
        return user


class ApiKeyJWTAuthentication(BaseAuthentication):
    def authenticate(self, request: Request):
        key = require_api_key(request)
        if not request.headers.get("Authorization", "").strip():
            raise AuthenticationFailed(
                "Access token is missing: send Authorization: Bearer <token>."
            )
        try:
            result = _TokenUsers().authenticate(request)
        except (InvalidToken, JWTFailed):
            raise AuthenticationFailed("Access token is invalid or expired.") from None
        if result is None:
            raise AuthenticationFailed(
                "Access token is missing: send Authorization: Bearer <token>."
            )
        user, _token = result
        if not api_key_admits(key, user):
            raise AuthenticationFailed(KEY_OF_ANOTHER_USER)
        return user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def actor_of(request: Request) -> Actor:
    return Actor(user=request.user, api_key=request.auth)
