"""The dashboard: the overview of SPEC §8 for the signed-in user, led by My day (the user's
tasks due today or overdue, and today's appointments)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from appointments.selectors import DASHBOARD_LIMIT, dashboard_agenda
from crm.web import AuthedRequest, actor_of, render_page
from leads import selectors
from leads.views.common import new_task_form, task_rows

PAGE = "leads/dashboard.html"
UPCOMING_DAYS = 7
DAY_LIMIT = 50  # My day's tasks
AGENDA_LIMIT = DASHBOARD_LIMIT - 1  # appointments shown (today's first); the agenda has the rest


@require_GET
@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    return dashboard_page(request)


def dashboard_page(request: AuthedRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    """The dashboard, with My day's forms sent back with errors (``forms``) if any."""
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
        **my_day(request, **forms),
        "now": now,
    }
    return render_page(request, PAGE, context, status=status)


def my_day(request: AuthedRequest, **forms: Any) -> dict[str, Any]:
    """My day's tasks: the user's open ones due before tomorrow (overdue ones first)."""
    actor = actor_of(request)
    tomorrow = timezone.localdate() + timedelta(days=1)
    until = timezone.make_aware(datetime.combine(tomorrow, time.min))
    tasks = selectors.open_tasks(actor=actor, until=until, limit=DAY_LIMIT + 1)
    return {
        "day_tasks": task_rows(actor, tasks[:DAY_LIMIT], forms.get("snooze_forms")),
        "more_tasks": len(tasks) > DAY_LIMIT,
        "day_task_form": forms.get("task_form")
        or (new_task_form() if not actor.read_only else None),
        # open: sent back with errors, or asked for without JavaScript ("New task" submitted)
        "day_task_open": "task_form" in forms or request.GET.get("new_task") == "1",
    }
