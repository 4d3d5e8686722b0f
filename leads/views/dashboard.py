"""The dashboard: the overview of SPEC §8 for the signed-in user."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from appointments.selectors import DASHBOARD_LIMIT, dashboard_agenda
from crm.web import AuthedRequest, actor_of, render_page
from leads import selectors

UPCOMING_DAYS = 7
AGENDA_LIMIT = DASHBOARD_LIMIT - 1  # appointments shown (today's first); the agenda has the rest


@require_GET
@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    actor = actor_of(request)
    now = timezone.now()
    today = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    tomorrow = today + timedelta(days=1)
    counts = selectors.overview(actor=actor)
    agenda = dashboard_agenda(
        user_id=request.user.pk, start=today, end=today + timedelta(days=UPCOMING_DAYS)
    )
    more = len(agenda) > AGENDA_LIMIT
    agenda = agenda[:AGENDA_LIMIT]
    status_max = max((n for _, n in counts["status"]), default=0) or 1
    source_max = max((n for _, n in counts["source"]), default=0) or 1
    context = {
        "total": counts["total"],
        "by_status": [(s, n, round(100 * n / status_max)) for s, n in counts["status"]],
        "by_source": [(s, n, round(100 * n / source_max)) for s, n in counts["source"] if n],
        "today": [a for a in agenda if a.start < tomorrow],
        "upcoming": [a for a in agenda if a.start >= tomorrow],
        "more_appointments": more,
        "activity": selectors.recent_activity(actor=actor),
        "followups": selectors.followups_due(actor=actor, until=tomorrow),
        "now": now,
    }
    return render_page(request, "leads/dashboard.html", context)
