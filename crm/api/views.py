"""Sign-in for the REST API: login, token refresh and logout (apikey header required)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from crm import signin, tokens
from crm.api.authentication import require_api_key
from crm.api.envelope import (
    AUTHENTICATION_FAILED,
    REQUEST_FAILED,
    TOO_MANY_REQUESTS,
    error_response,
    ok,
)
from crm.api.fields import Text, validated
from crm.services import KEY_OF_ANOTHER_USER, api_key_admits

BAD_CREDENTIALS = "The supplied authentication credentials are invalid."


class _PublicView(APIView):
    authentication_classes: list = []
    permission_classes: list = []


class LoginSerializer(serializers.Serializer):
    username = Text(max_length=150)
    password = Text(max_length=4096, trim_whitespace=False)


class RefreshSerializer(serializers.Serializer):
    refresh = Text(max_length=4096)


class LoginView(_PublicView):
    @extend_schema(
        request=LoginSerializer,
        responses=inline_serializer(
            "Tokens", {"refresh": serializers.CharField(), "access": serializers.CharField()}
        ),
    )
    def post(self, request: Request) -> Response:
        key = require_api_key(request)
        data = validated(LoginSerializer, request).validated_data
        wait = signin.wait_for(data["username"], request._request)
        if wait:
            return error_response(
                429,
                TOO_MANY_REQUESTS,
                {"detail": [signin.refusal(wait)]},
                {"Retry-After": str(wait)},
            )
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            return error_response(401, AUTHENTICATION_FAILED, {"detail": [BAD_CREDENTIALS]})
        signin.clear(user.get_username())
        if not api_key_admits(key, user):
            return error_response(403, REQUEST_FAILED, {"detail": [KEY_OF_ANOTHER_USER]})
        if jwt_settings.UPDATE_LAST_LOGIN:
            update_last_login(None, user)
        return Response(tokens.issue_tokens(user))


class RefreshView(_PublicView):
    @extend_schema(
        request=RefreshSerializer,
        responses=inline_serializer("Access", {"access": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        require_api_key(request)
        raw = validated(RefreshSerializer, request).validated_data["refresh"]
        try:
            return Response({"access": tokens.refresh_access(raw)})
        except tokens.TokenRefused as exc:
            raise AuthenticationFailed(str(exc)) from None


class LogoutView(_PublicView):
    @extend_schema(request=RefreshSerializer, responses={200: None})
    def post(self, request: Request) -> Response:
        require_api_key(request)
        raw = validated(RefreshSerializer, request).validated_data["refresh"]
        try:
            tokens.revoke_refresh(raw)
        except tokens.TokenRefused as exc:
            raise AuthenticationFailed(str(exc)) from None
        return ok({})
