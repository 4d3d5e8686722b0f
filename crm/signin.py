"""Sign-in throttling: failed sign-ins are counted per account and per client address, in the
store every server process shares (``crm.ratelimit``'s: the database, or a shared cache). Past
``LOGIN_FAILURES_PER_ACCOUNT`` (or ``..._PER_ADDRESS``) failures within a window of
``LOGIN_LOCKOUT_SECONDS``, sign-ins for that account (or from that address) are refused until
the window ends, even with the right password. A successful sign-in clears the account's
count; an administrator can clear it too (the Users admin's "Unlock sign-in").

Every entry point asks ``wait_for`` first and refuses with its own words (the web and admin
sign-in forms, the API's ``user/login/``); Django's ``user_login_failed`` signal, which
``authenticate()`` sends for each of them, does the counting.
"""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from crm import ratelimit

PERIOD = "signin"


def _limits() -> dict[str, int]:
    return {
        "account": settings.CRM["LOGIN_FAILURES_PER_ACCOUNT"],
        "address": settings.CRM["LOGIN_FAILURES_PER_ADDRESS"],
    }


def client_address(request: HttpRequest | None) -> str:
    """The client's address: ``REMOTE_ADDR``, or the header a proxy in front sets
    (``LOGIN_CLIENT_ADDRESS_HEADER``, e.g. ``HTTP_X_REAL_IP``)."""
    if request is None:
        return ""
    header = settings.CRM["LOGIN_CLIENT_ADDRESS_HEADER"]
    value = request.META.get(header, "") if header else ""
    return (value.split(",")[0].strip() or request.META.get("REMOTE_ADDR", ""))[:45]


def _keys(username: str, address: str) -> dict[str, str]:
    keys = {"account": f"signin:u:{username.strip().casefold()[:50]}"}
    if address:
        keys["address"] = f"signin:a:{address}"
    return keys


def _window() -> tuple[int, float]:
    """The current window (its number) and the seconds left in it."""
    seconds = settings.CRM["LOGIN_LOCKOUT_SECONDS"]
    now = ratelimit.clock()
    return int(now // seconds), seconds - now % seconds


def wait_for(username: str, request: HttpRequest | None) -> int:
    """Seconds until ``username`` may try to sign in from this client again (0: now)."""
    keys = _keys(username or "", client_address(request))
    window, left = _window()
    counts = ratelimit.counts(list(keys.values()), PERIOD, window)
    limits = _limits()
    if any(counts.get(key, 0) >= limits[kind] for kind, key in keys.items()):
        return max(1, math.ceil(left))
    return 0


def refusal(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return (
        "Too many failed sign-in attempts. Try again in "
        f"{minutes} minute{'' if minutes == 1 else 's'}, or ask an administrator to unlock "
        "your account."
    )


def clear(username: str) -> None:
    """Forget the account's failures (a successful sign-in, or an administrator's unlock)."""
    ratelimit.forget(_keys(username, "")["account"], PERIOD, _window()[0])


@receiver(user_login_failed)
def _failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    window, _left = _window()
    seconds = settings.CRM["LOGIN_LOCKOUT_SECONDS"]
    for key in _keys(str(credentials.get("username") or ""), client_address(request)).values():
        ratelimit.count_up(key, PERIOD, window, seconds=seconds)


@receiver(user_logged_in)
def _signed_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    clear(user.get_username())


class ThrottledSignIn:
    """Refuses a sign-in form while its account or address is locked (before checking the
    password, so a locked account answers the same whether the password is right or not)."""

    def clean(self):
        wait = wait_for(self.data.get("username", ""), self.request)
        if wait:
            raise forms.ValidationError(refusal(wait), code="throttled")
        return super().clean()


class SignInForm(ThrottledSignIn, AuthenticationForm):
    """The web app's sign-in form."""


class AdminSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's sign-in form."""
