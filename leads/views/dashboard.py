"""The dashboard: the overview of SPEC §8 for the signed-in user, led by My day (the user's
tasks due today or overdue, and today's appointments)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from appointments.forms import person_label
from appointments.models import AppointmentStatus
from appointments.selectors import DASHBOARD_LIMIT, appointments_per_week, dashboard_agenda
from crm import selectors as user_selectors
from crm.domain import Actor
from crm.replica import heavy_read
from crm.web import AuthedRequest, actor_of, render_page
from leads import access, charts, selectors
from leads.views.common import new_task_form, task_rows

PAGE = "leads/dashboard.html"
UPCOMING_DAYS = 7
DAY_LIMIT = 50  # My day's tasks
AGENDA_LIMIT = DASHBOARD_LIMIT - 1  # appointments shown (today's first); the agenda has the rest


@require_GET
@login_required
@heavy_read
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
        "activity": selectors.worded_events(selectors.recent_activity(actor=actor)),
        **my_day(request, **forms),
        **pictures(actor, request.GET.get("person"), counts),
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


# The dashboard's pictures (leads.charts): how many weeks they show, and the appointment
# outcomes drawn, bottom up, with their names and classes.
WEEKS = 12
OUTCOMES = (
    (AppointmentStatus.FULFILLED, "Kept", "chart-kept"),
    (AppointmentStatus.NO_SHOW, "No-show", "chart-noshow"),
    (AppointmentStatus.CANCELLED, "Cancelled", "chart-cancelled"),
)
TEAM = ""  # ?person= for the whole team


def pictures(actor: Actor, person: str | None, counts: dict[str, Any]) -> dict[str, Any]:
    """The funnel by status, new leads per week by source and appointments per week, of the
    user's own leads and appointments; those who see every lead see the whole team's, or pick
    one person's (``?person=<user id>``; anything else is the team). Read from the rollups."""
    choices: list[tuple[str, str]] = []
    chosen = None
    if access.sees_all(actor):
        people = user_selectors.people()
        choices = [(TEAM, "Whole team")] + [(str(p.pk), person_label(p)) for p in people]
        chosen = next((p for p in people if str(p.pk) == person), None)
    if chosen is not None:
        who, person_id, host_id = person_label(chosen), chosen.pk, chosen.pk
    elif choices:
        who, person_id, host_id = "Whole team", None, 0
    else:
        who, person_id, host_id = "Your leads", None, actor.user_id or -1
    terms = selectors.chart_terms(actor=actor, person_id=person_id)
    statuses = [s for s, _ in counts["status"]]
    sources = [s for s, _ in counts["source"]]
    by_status = (
        {s.key: n for s, n in counts["status"]}
        if terms == access.visibility_terms(actor)  # the overview's own counts: no second read
        else selectors.status_funnel(terms=terms)
    )
    weeks = charts.weeks_ending(timezone.localdate(timezone.now(), UTC), WEEKS)
    new_leads = selectors.leads_per_week(terms=terms, since=weeks[0])
    outcomes = appointments_per_week(
        host_id=host_id, since=weeks[0], statuses=tuple(s for s, _, _ in OUTCOMES)
    )
    # The sources with new leads in these weeks, by their order; those no longer given (or
    # none) together.
    known = {s.key for s in sources}
    # Each source its own colour by its order (the same whoever is pictured); with more sources
    # than colours, by the order of those shown.
    by_order = len(sources) <= charts.SERIES_COLOURS
    source_series, source_counts = [], []
    for i, source in enumerate(sources):
        row = [new_leads.get((w, source.key), 0) for w in weeks]
        if any(row):
            css = charts.series_css(i if by_order else len(source_series))
            source_series.append(charts.Series(source.label, css=css))
            source_counts.append(row)
    other = [
        sum(n for (wk, k), n in new_leads.items() if wk == w and k not in known) for w in weeks
    ]
    if any(other):
        source_series.append(charts.Series("None or retired", css="chart-other"))
        source_counts.append(other)
    return {
        "chart_who": who,
        "chart_choices": choices,
        "chart_person": str(chosen.pk) if chosen is not None else TEAM,
        "charts": [
            charts.funnel([(s.label, s.color, by_status.get(s.key, 0)) for s in statuses], who=who),
            charts.stacked_weeks(
                key="new-leads",
                title=f"New leads per week by source — {who}",
                weeks=weeks,
                series=source_series,
                counts=source_counts,
                unit="new leads",
            ),
            charts.stacked_weeks(
                key="appointments",
                title=f"Appointments per week — {who}",
                weeks=weeks,
                series=[charts.Series(label, css=css) for _, label, css in OUTCOMES],
                counts=[[outcomes.get((w, s), 0) for w in weeks] for s, _, _ in OUTCOMES],
                unit="appointments kept, missed or cancelled",
            ),
        ],
    }
