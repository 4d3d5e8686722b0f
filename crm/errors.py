"""The app's own error pages (``handler404``, ``handler403``, ``handler500`` and the CSRF
failure view), in the app's layout instead of Django's bare text.

404 and 403 render the full page (the header, for a signed-in user). The 500 page needs
neither the database nor the user: the error may be that the database is away, so it is a
page of its own with only static links, rendered without a request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseServerError
from django.template import engines
from django.views.decorators.csrf import requires_csrf_token

from crm.web import API_PATHS, htmx_csrf_failure, render_page

# The partner APIs answer their own errors in their own formats; an address under them that
# matches nothing gets Django's plain page, as before these pages existed.
API_NOT_FOUND = (
    '<!doctype html><html lang="en"><head><title>Not Found</title></head><body><h1>Not Found'
    "</h1><p>The requested resource was not found on this server.</p></body></html>"
)


@requires_csrf_token
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path_info.startswith(API_PATHS):
        return HttpResponseNotFound(API_NOT_FOUND)
    context = {"nav_section": ""}
    return render_page(request, "404.html", context, status=404)


@requires_csrf_token
def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_page(request, "403.html", {"nav_section": ""}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The form was sent with a stale or missing security token (an old tab, a page kept open
    across a sign-out): a 403 that says what to do. An HTMX action is sent back to its page
    (or to sign in) keeping what the user typed instead (crm.web.htmx_csrf_failure)."""
    kept = htmx_csrf_failure(request)
    if kept is not None:
        return kept
    return render_page(request, "403.html", {"nav_section": "", "csrf": True}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    template = engines["pages"].get_template("500.html")
    return HttpResponseServerError(template.render({}))
