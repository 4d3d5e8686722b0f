"""The notifications page and the header's bell (``crm.notifications`` decides and reads).

One page, ``/notifications/``, works without JavaScript: the latest notifications, each a
link that marks it read on the way to its lead (``?open=<id>``), and "Mark all read". The
header's bell asks for its count with HTMX (``?bell=1``) after the page has loaded, and
again every 30 seconds or on the ``notifications-changed`` event, so a page's own render
never runs the count.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm import notifications
from crm.domain import NotFound
from crm.web import AuthedRequest, is_fragment, render_page

GONE = "That lead no longer exists, or you may no longer see it."


@require_GET
@login_required
def notification_list(request: AuthedRequest) -> HttpResponse:
    """The latest notifications (the list alone for HTMX); ``?open=<id>`` marks one read and
    goes to its lead; ``?bell=1`` from HTMX answers the bell with its unread count."""
    user = request.user
    if "open" in request.GET:
        try:
            notification, shown = notifications.notification_open(user=user, pk=request.GET["open"])
        except NotFound:
            raise Http404("No such notification.") from None
        if shown:
            return redirect(notification.url)
        messages.info(request, GONE)
        return redirect("notifications:list")
    if "bell" in request.GET and is_fragment(request):
        return bell(request)
    items = notifications.latest(user=user)
    context = {
        "items": items,
        "has_unread": any(item.unread for item in items),
        "limit": notifications.LIST_LIMIT,
    }
    return render_page(request, "notifications/list.html", context, partial="notification_list")


def bell(request: AuthedRequest) -> HttpResponse:
    """The bell's link with the unread count (one bounded query)."""
    count = notifications.unread_count(user=request.user)
    context = {
        "bell_count": count,
        "bell_label": notifications.unread_label(count),
        "bell_words": notifications.unread_words(count),
    }
    return render(request, "notifications/bell.html", context)


@require_POST
@login_required
def notification_read_all(request: AuthedRequest) -> HttpResponse:
    """Mark every notification of the user read, and come back to the list."""
    count = notifications.mark_all_read(user=request.user)
    if count:
        messages.success(
            request,
            ngettext("Marked %(n)s notification read.", "Marked %(n)s notifications read.", count)
            % {"n": count},
        )
    else:
        messages.info(request, "No unread notifications.")
    return redirect("notifications:list")
