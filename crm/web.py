"""What every HTML view shares: the typed request, the actor, full page or fragment rendering,
domain errors onto forms, and Django messages delivered with HTMX fragments.

Views stay thin: parse a form, call one service or selector, render. Rules live in the domain.
"""

from __future__ import annotations

import zoneinfo
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject, empty
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from crm.domain import Actor, DomainError
from crm.models import User

# Rendered with status 422 when a submitted form has errors; htmx is configured (base.html) to
# swap 422 answers so the errors appear next to the fields.
INVALID = 422


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
    user: User | AnonymousUser


class AuthedRequest(HtmxHttpRequest):
    user: User


def actor_of(request: HttpRequest) -> Actor:
    """The signed-in user as the actor of the domain's rules: the user itself, not the lazy
    object of AuthenticationMiddleware, whose every attribute read is a wrapper call (a page
    asks the actor's id and role for each of its rows)."""
    user = request.user
    if type(user) is SimpleLazyObject:
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return Actor(user=user)


def json_download(data: Any, filename: str) -> JsonResponse:
    """``data`` as a JSON file the browser saves as ``filename``."""
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# The request headers is_fragment() reads: an answer that asked it varies on them.
HTMX_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


def is_fragment(request: HtmxHttpRequest) -> bool:
    """An HTMX request that swaps part of the page (a boosted one, or htmx restoring history
    after the back button, wants the whole page).

    Asking marks the answer as depending on HTMX: HtmxMessagesMiddleware then sends ``Vary`` on the
    headers read, so a browser or proxy cache never gives a fragment for the page or back."""
    request.varies_on_htmx = True
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(
    request: HtmxHttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only ``template#partial`` for an HTMX request: one view, one template."""
    name = f"{template}#{partial}" if partial and is_fragment(request) else template
    return render(request, name, context, status=status)


# The REST API keeps its seed messages word for word (tests/test_rest_messages.py); the web app
# says the same in plain, correct English.
PLAIN_WORDS = {
    "You are not owner of this lead.": "You are not the owner of this lead.",
    "You can't add note on this lead.": "You can't add notes to this lead.",
    "You can't take appointment under this lead.": "You can't book appointments for this lead.",
}


def plain(message: str) -> str:
    """A domain message as the web app shows it (``PLAIN_WORDS``)."""
    return PLAIN_WORDS.get(message, message)


def add_domain_errors(form: forms.Form, exc: ValidationError | DomainError, **renames: str) -> None:
    """Show a domain refusal next to the form field it concerns (``renames`` maps a domain field
    name to the form's); anything not about one field goes to the form's top."""

    def field_for(name: str | None) -> str | None:
        name = renames.get(name or "", name)
        return name if name in form.fields else None

    if isinstance(exc, DomainError):
        form.add_error(field_for(exc.field), plain(exc.message))
        return
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = field_for(name)
            for message in errors:
                message = plain(message)
                form.add_error(target, message if target else f"{name}: {message}")
        return
    for message in exc.messages:
        form.add_error(None, plain(message))


# Pages of an app that have an entry of their own in the main navigation, by URL name prefix.
OWN_NAV_SECTIONS = ("pipeline", "import")


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation's current section, for ``aria-current`` in base.html."""
    match = getattr(request, "resolver_match", None)
    if not match:
        return {"nav_section": ""}
    name = match.url_name or ""
    own = next((section for section in OWN_NAV_SECTIONS if name.startswith(section)), None)
    return {"nav_section": own or match.namespace or name}


# Paths of the partner APIs, whose times keep their documented zone whoever calls them.
API_PATHS = ("/api/", "/pubapi/")


class UserTimeZoneMiddleware:
    """Pages show and take times in the signed-in user's time zone (their setting; the
    server's when they have none). The APIs keep the server's, as documented. Every request
    sets the zone of its thread, so none is left over from the one before."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = None
        if not request.path_info.startswith(API_PATHS):
            user = request.user
            zone = user.time_zone if user.is_authenticated else None
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class HtmxMessagesMiddleware:
    """Delivers pending Django messages with HTMX fragment answers, out of band, so every
    action's outcome shows even when only part of the page is swapped; and sends ``Vary`` on
    the HTMX headers for every answer whose view asked ``is_fragment``."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HtmxHttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "varies_on_htmx", False):
            patch_vary_headers(response, HTMX_HEADERS)
        if (
            not getattr(request, "htmx", False)
            or response.streaming
            or "HX-Redirect" in response
            or "HX-Location" in response
            or 300 <= response.status_code < 400
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        pending = list(messages.get_messages(request))  # reading them marks them shown
        if pending:
            response.content += render_to_string(
                "base.html#messages", {"messages": pending, "oob": True}, request=request
            ).encode()
        return response


# Sent with an answer that did not do what an HTMX request asked and sends the browser elsewhere
# (to sign in, or to the page again): app.js then keeps what the user typed in the page's forms
# and puts it back when the page shows again. Its value says why ("signed-out", "stale-page").
KEPT_INPUT_HEADER = "X-CRM-Kept-Input"


def page_of(request: HtmxHttpRequest) -> str | None:
    """The page the user is on (path and query), for ``next``: for an HTMX request the page
    that sent it (``HX-Current-URL``), else the referring page; only a page of this site, and
    never the endpoint a form posts to, so signing in lands back where the user was."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        url = htmx.current_url_abs_path or ""
    else:
        url = request.headers.get("Referer", "")
        if url and not url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            url = ""
    parts = urlsplit(url)
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    if parts.path == resolve_url(settings.LOGIN_URL):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def back_to_sign_in(request: HtmxHttpRequest) -> HttpResponse:
    """Sends the whole browser, not the swapped part, to the sign-in page, with ``next`` the
    page the user was on."""
    login = resolve_url(settings.LOGIN_URL)
    page = page_of(request)
    response = HttpResponseClientRedirect(redirect_to_login(page, login).url if page else login)
    response[KEPT_INPUT_HEADER] = "signed-out"
    patch_vary_headers(response, ("HX-Request",))
    return response


def _is_sign_in_redirect(response: HttpResponse) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308) or "Location" not in response:
        return False
    return urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


class SignInRedirectMiddleware:
    """A request without a session (it expired, or the user signed out in another tab) that a
    page sent by HTMX gets an ``HX-Redirect`` to the sign-in page instead of the sign-in page
    swapped into a card; ``next`` is the page the user was on, never the endpoint the action
    posted to (which would answer 405 to the GET after signing in). A plain form's POST keeps
    Django's redirect, with ``next`` the referring page for the same reason."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HtmxHttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_sign_in_redirect(response) or request.user.is_authenticated:
            return response
        patch_vary_headers(response, ("HX-Request",))
        if getattr(request, "htmx", False):
            return back_to_sign_in(request)
        if request.method not in ("GET", "HEAD"):
            page = page_of(request)
            login = resolve_url(settings.LOGIN_URL)
            return redirect_to_login(page, login) if page else HttpResponseRedirect(login)
        return response


def htmx_csrf_failure(request: HtmxHttpRequest) -> HttpResponse | None:
    """For the CSRF failure view (crm.errors): an HTMX action from a page whose token went stale
    (the user signed in again in another tab, which changes the token) reloads the page,
    keeping what the user typed (app.js), instead of failing with 403; without a session it
    goes to sign in first. None for anything else (the view's own 403 page)."""
    if request.headers.get("HX-Request") != "true":
        return None
    if not getattr(request, "htmx", None):
        request.htmx = HtmxDetails(request)
    if not request.user.is_authenticated:
        return back_to_sign_in(request)
    page = page_of(request)
    if page is None:
        return None
    response = HttpResponseClientRedirect(page)
    response[KEPT_INPUT_HEADER] = "stale-page"
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- destructive actions ask first ----------------------------------------------------------

# The field a destructive form's POST carries once the user said yes: confirm.js adds it to an
# ``hx-confirm`` form's request after its dialog; the confirm page's form carries it itself.
CONFIRMED_FIELD = "confirmed"
CONFIRM_PAGE = "confirm.html"


def ask_first(
    request: HtmxHttpRequest, *, question: str, consequence: str, button: str, back: str
) -> HttpResponse | None:
    """None when the POST was confirmed (``confirmed=1``): the view goes on and acts. Else the
    page that asks (200), in the app's layout: ``question`` ("Delete lead X?"), its
    ``consequence``, a ``button`` that posts the same form again with ``confirmed=1`` and a
    "Cancel" link ``back``. Without JavaScript, or from a stale page, nothing is destroyed
    unasked; an HTMX request gets the question in the page's main region."""
    if request.POST.get(CONFIRMED_FIELD) == "1":
        return None
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in (CONFIRMED_FIELD, "csrfmiddlewaretoken")
        for value in values
    ]
    context = {
        "ask": {"question": question, "consequence": consequence, "button": button},
        "action": request.get_full_path(),
        "fields": fields,
        "back": back,
    }
    response = render_page(request, CONFIRM_PAGE, context, partial="confirm")
    if is_fragment(request):
        response["HX-Retarget"] = "#main"
        response["HX-Reswap"] = "innerHTML"
    return response
