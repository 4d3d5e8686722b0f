"""REST request limits per API key (SPEC §5), counted by ``crm.ratelimit`` in the store every
server process shares. Over the limit the API answers 429 with ``Retry-After`` in its envelope."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from crm import ratelimit
from crm.models import ApiKey
from crm.services import api_key_authenticate

LIMIT_SETTINGS = {ratelimit.SECOND: "RATE_LIMIT_PER_SECOND", ratelimit.DAY: "RATE_LIMIT_PER_DAY"}


class RateLimited(Throttled):
    """A key over its limit: the message names the limit and the wait."""

    default_code = "rate_limited"

    def __init__(self, verdict: ratelimit.Verdict) -> None:
        limit = settings.CRM[LIMIT_SETTINGS[verdict.period]]
        wait = verdict.retry_after
        super().__init__(
            detail=(
                f"Rate limit exceeded: {limit} requests per {verdict.period} for this API key. "
                f"Retry after {wait} second{'' if wait == 1 else 's'}."
            )
        )
        self.wait = wait
        self.period = verdict.period


def _api_key_of(request: Request) -> ApiKey | None:
    """The request's key: ``request.auth`` once authenticated; the sign-in views (login,
    refresh, logout) authenticate nothing before they run, so their apikey header is read here.
    No valid key, no limit: the view itself answers 401."""
    if isinstance(request.auth, ApiKey):
        return request.auth
    raw = request.headers.get("apikey", "")
    return api_key_authenticate(raw) if raw.strip() else None


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view) -> bool:
        key = _api_key_of(request)
        if key is None:
            return True
        verdict = ratelimit.hit(key)
        if not verdict.allowed:
            raise RateLimited(verdict)
        return True
