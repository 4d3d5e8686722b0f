"""What the lead pages share: loading a lead the user may see, or 404; the rows and the form
of the task lists (the lead page's and My day's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.http import Http404
from django.utils import timezone

from crm.domain import Actor, NotFound
from crm.models import User
from crm.web import HtmxHttpRequest, actor_of
from leads import access, selectors
from leads.forms import SnoozeForm, TaskForm, people_choices
from leads.models import Lead, LeadQuerySet, Task


def lead_or_404(
    request: HtmxHttpRequest, slug: str, *, queryset: LeadQuerySet | None = None
) -> Lead:
    """The live lead ``slug`` if the signed-in user may see it, with its people, status and
    source (``queryset``'s instead when given); 404 otherwise (a lead one may not see behaves
    as if it did not exist)."""
    actor = actor_of(request)
    try:
        if queryset is None:
            return selectors.lead_page(actor=actor, slug=slug)
        return access.lead_for_actor(actor, slug=slug, queryset=queryset)
    except NotFound:
        raise Http404("No such lead.") from None


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A task in a list, with what the user may do with it."""

    task: Task
    can_change: bool
    overdue: bool
    snooze_form: SnoozeForm | None = None  # one sent back with errors
    people: list[User] | None = None  # whom it may be given to (managers), else None

    def snooze(self) -> SnoozeForm:
        return self.snooze_form or SnoozeForm(prefix=f"snooze-{self.task.pk}")


def task_rows(
    actor: Actor,
    tasks: list[Task],
    snooze_forms: dict[int, SnoozeForm] | None = None,
    people: list[User] | None = None,
) -> list[TaskRow]:
    now = timezone.now()
    forms = snooze_forms or {}
    return [
        TaskRow(
            task=task,
            can_change=access.can_change_task(actor, task) and not actor.read_only,
            overdue=task.done_at is None and task.due < now,
            snooze_form=forms.get(task.pk),
            people=people,
        )
        for task in tasks
    ]


def default_due() -> dt.datetime:
    """A new task's due time until the user picks one: tomorrow at 09:00."""
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9)))


def task_people(actor: Actor, lead: Lead | None) -> list[User] | None:
    """Whom a new task may be for, for those who give tasks; None: the user alone."""
    return people_choices(lead) if access.can_give(actor) else None


def new_task_form(people: list[User] | None = None) -> TaskForm:
    return TaskForm(people=people, initial={"due": default_due()})
