"""The "Forgot password?" page with a limit of its own: at most ``PASSWORD_RESETS_PER_HOUR``
requests per email address and per client address in each hour (a fixed window), counted in
the store every server process shares (``crm.ratelimit``'s, like the sign-in throttle). Over
either, no email goes out and the page says to try again later, with status 429; the answer
is the same whether the address belongs to an account or not, so the limit tells nobody which
do.
"""

from __future__ import annotations

import hashlib
import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from crm import ratelimit
from crm.signin import client_address

PERIOD = "pwreset"
HOUR = 3600
TOO_MANY = "Too many requests for a new password. Try again in {wait}."


def _keys(email: str, address: str) -> list[str]:
    """The counters a request counts against: its email address (hashed, to fit the key and
    keep addresses out of the counters table) and its client address."""
    digest = hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:40]
    keys = [f"{PERIOD}:e:{digest}"]
    if address:
        keys.append(f"{PERIOD}:a:{address}")
    return keys


def hit(email: str, address: str) -> int:
    """Count one request for ``email`` from ``address``: the seconds to wait when it is over
    the limit (0: it may go ahead). Counted before deciding, so concurrent requests each see
    their own."""
    now = ratelimit.clock()
    window, left = int(now // HOUR), HOUR - now % HOUR
    keys = _keys(email, address)
    for key in keys:
        ratelimit.count_up(key, PERIOD, window, seconds=HOUR)
    counts = ratelimit.counts(keys, PERIOD, window)
    limit = settings.CRM["PASSWORD_RESETS_PER_HOUR"]
    return max(1, math.ceil(left)) if any(n > limit for n in counts.values()) else 0


def _wait_words(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


class PasswordResetView(auth_views.PasswordResetView):
    """Django's "Forgot password?" view (our templates), limited as the module says."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form) -> HttpResponse:
        wait = hit(form.cleaned_data["email"], client_address(self.request))
        if wait:
            form.add_error(None, TOO_MANY.format(wait=_wait_words(wait)))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)
