"""Tasks in the web app (SPEC §11): added on the lead page or on My day (the dashboard), and
there marked done, snoozed or deleted. Each action calls one service; with HTMX it answers the
list it changed (the lead page's tasks with its timeline out of band, or My day's tasks),
without HTMX it redirects back (PRG) with a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from crm.domain import DomainError, Forbidden, NotFound
from crm.web import (
    INVALID,
    AuthedRequest,
    actor_of,
    add_domain_errors,
    ask_first,
    is_fragment,
    render_page,
)
from leads import access, selectors, services
from leads.forms import SnoozeForm, TaskForm
from leads.models import Lead, Task
from leads.views import dashboard, detail
from leads.views.common import lead_or_404, task_people

SNOOZE_PAGE = "leads/task_snooze.html"


# --- answers --------------------------------------------------------------------------------


def _from_lead(request: AuthedRequest, task: Task | None = None) -> bool:
    return request.POST.get("back") == "lead" and (task is None or task.lead_id is not None)


def _answer(
    request: AuthedRequest, lead: Lead | None, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """The list the action came from, changed: the lead page's tasks (and its timeline) or My
    day's tasks. Without HTMX: a redirect there, or the whole page with the form's errors."""
    fragment = is_fragment(request)
    if status == 200 and not fragment:
        return redirect(_back_url(lead))
    if lead is not None:
        lead = lead_or_404(request, lead.slug)
        oob = ("timeline",) if status == 200 else ()
        return detail.answer(request, lead, "tasks", oob=oob, status=status, **forms)
    if not fragment:
        return dashboard.dashboard_page(request, status=status, **forms)
    context = dashboard.my_day(request, **forms)
    html = render_to_string(f"{dashboard.PAGE}#my_day", context, request=request)
    return HttpResponse(html, status=status)


def _back_url(lead: Lead | None) -> str:
    """The list a task action came from: the lead page's tasks, or My day."""
    if lead is not None:
        return f"{reverse('leads:detail', args=[lead.slug])}#lead-tasks"
    return f"{reverse('dashboard')}#my-day"


def _refused(request: AuthedRequest, lead: Lead | None, message: str) -> HttpResponse:
    return detail.refused(request, message, _back_url(lead))


def _task_or_404(request: AuthedRequest, pk: int) -> Task:
    try:
        return selectors.task_for_actor(actor_of(request), pk)
    except NotFound:
        raise Http404("No such task.") from None


# --- the views ------------------------------------------------------------------------------


@require_POST
@login_required
def task_add(request: AuthedRequest, slug: str | None = None) -> HttpResponse:
    """A task on the lead ``slug`` (from its page), or the user's own (from My day)."""
    actor = actor_of(request)
    lead = lead_or_404(request, slug) if slug is not None else None
    people = task_people(actor, lead)
    form = TaskForm(request.POST, people=people)
    if form.is_valid():
        data = form.cleaned_data
        try:
            task = services.task_create(
                actor=actor, title=data["title"], due=data["due"], lead=lead,
                assignee=data.get("assignee"),
            )  # fmt: skip
        except Forbidden as exc:
            return _refused(request, lead, exc.message)
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, f"Task added: {task.title}.")
            return _answer(request, lead)
    return _answer(request, lead, status=INVALID, task_form=form)


def _change(
    request: AuthedRequest, pk: int, change, done: str, task: Task | None = None
) -> HttpResponse:
    task = task or _task_or_404(request, pk)
    lead = task.lead if _from_lead(request, task) else None
    try:
        change(actor=actor_of(request), task=task)
    except Forbidden as exc:
        return _refused(request, lead, exc.message)
    except DomainError as exc:  # done or deleted meanwhile (another tab)
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{done}: {task.title}.")
    return _answer(request, lead)


@require_POST
@login_required
def task_done(request: AuthedRequest, pk: int) -> HttpResponse:
    return _change(request, pk, services.task_complete, "Done")


@require_POST
@login_required
def task_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    """Delete the task, once confirmed (ask_first)."""
    task = _task_or_404(request, pk)
    if access.can_change_task(actor_of(request), task):
        lead = task.lead if _from_lead(request, task) else None
        consequence = (
            f"It leaves the tasks of {task.lead}; the lead's timeline records the deletion."
            if task.lead_id
            else "It leaves your to-do list."
        )
        asked = ask_first(
            request,
            question=f"Delete the task “{task.title}”?",
            consequence=consequence,
            button="Delete task",
            back=_back_url(lead),
        )
        if asked is not None:
            return asked
    return _change(request, pk, services.task_delete, "Task deleted", task=task)


@require_POST
@login_required
def task_reassign(request: AuthedRequest, pk: int) -> HttpResponse:
    """Give an open task of a lead to someone else (managers, from the lead page)."""
    task = _task_or_404(request, pk)
    lead = task.lead if _from_lead(request, task) else None
    actor = actor_of(request)
    people = {str(u.pk): u for u in task_people(actor, task.lead) or []}
    assignee = people.get(request.POST.get("assignee", ""))
    if assignee is None:
        return _refused(request, lead, "Choose whom to give the task to.")
    try:
        services.task_reassign(actor=actor, task=task, assignee=assignee)
    except DomainError as exc:  # refused, or done or deleted meanwhile
        return _refused(request, lead, exc.message)
    messages.success(request, f"Task {task.title} given to {assignee}.")
    return _answer(request, lead)


@require_http_methods(["GET", "POST"])
@login_required
def task_snooze(request: AuthedRequest, pk: int) -> HttpResponse:
    """POST: snooze to tomorrow or next week (at the task's time of day), or to a time given.
    GET: the snooze form on a page of its own (where "Snooze" leads without JavaScript)."""
    task = _task_or_404(request, pk)
    if request.method == "GET":
        if not access.can_change_task(actor_of(request), task):
            raise PermissionDenied("You can't change this task.")
        back = "lead" if request.GET.get("back") == "lead" and task.lead_id else "day"
        back_url = _back_url(task.lead if back == "lead" else None)
        context = {"t": task, "form": SnoozeForm(prefix=f"snooze-{task.pk}"), "back": back}
        return render_page(
            request, SNOOZE_PAGE, {**context, "back_url": back_url}, partial="snooze"
        )
    lead = task.lead if _from_lead(request, task) else None
    form = SnoozeForm(request.POST, prefix=f"snooze-{task.pk}")
    if form.is_valid():
        try:
            services.task_snooze(actor=actor_of(request), task=task, due=form.new_due(task))
        except Forbidden as exc:
            return _refused(request, lead, exc.message)
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc, due="due")
        else:
            when = timezone.localtime(task.due)
            messages.success(request, f"Snoozed to {when:%b} {when.day}, {when:%H:%M}.")
            return _answer(request, lead)
    if not is_fragment(request):  # from the snooze page of its own
        context = {"t": task, "form": form, "back": request.POST.get("back", "day")}
        back_url = _back_url(lead)
        return render_page(request, SNOOZE_PAGE, {**context, "back_url": back_url}, status=INVALID)
    return _answer(request, lead, status=INVALID, snooze_forms={task.pk: form})
