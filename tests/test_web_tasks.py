"""Tasks in the web app: added on the lead page and on My day, marked done, snoozed and
deleted there, by the rules of the roles; HTMX answers the list it changed, a plain form is
redirected back; query counts pinned and flat in rows."""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
from django.utils import timezone

from crm.domain import Actor
from crm.roles import Role
from leads.models import Event, EventType, Task
from leads.services import task_create
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
AUTH = 2  # every signed-in request: the session, then the user


@pytest.fixture
def lead(salesperson, manager):
    return LeadFactory(by=manager, owner=salesperson, first_name="Ada", last_name="Lovelace")


def local(when: dt.datetime) -> str:
    return f"{timezone.localtime(when):%Y-%m-%dT%H:%M}"


def at(days: int, hour: int = 10) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def task_of(user, lead=None, title="Call back", due=None):
    return task_create(
        actor=Actor(user=user), title=title, due=due or at(1), lead=lead, assignee=user
    )


def test_a_salesperson_adds_a_task_on_the_lead_page(web, salesperson, lead):
    client = web(salesperson)
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    assert "Add task" in page and 'name="task-title"' in page and 'name="task-due"' in page
    assert 'name="task-assignee"' not in page  # a salesperson's tasks are its own
    response = client.post(
        f"/leads/{lead.slug}/tasks/",
        {"task-title": "Send the quote", "task-due": local(at(2)), "back": "lead"},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert 'id="lead-tasks"' in html and "Send the quote" in html
    assert 'id="lead-timeline" aria-labelledby="lead-timeline-title" hx-swap-oob="true"' in html
    task = Task.objects.get()
    assert (task.lead, task.assignee, task.due) == (lead, salesperson, at(2))
    assert Event.objects.filter(lead=lead, type=EventType.TASK_CREATED).count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"task-due": "2030-01-01T10:00"}, "title", "This field is required."),
        ({"task-title": "   ", "task-due": "2030-01-01T10:00"}, "title", "required"),
        ({"task-title": "x" * 256, "task-due": "2030-01-01T10:00"}, "title", "no more than 255"),
        ({"task-title": "Call"}, "due", "This field is required."),
        ({"task-title": "Call", "task-due": "someday"}, "due", "Enter a valid date/time."),
    ],
)
def test_a_task_with_errors_is_shown_again_and_nothing_is_saved(
    web, salesperson, lead, data, field, message
):
    response = web(salesperson).post(
        f"/leads/{lead.slug}/tasks/", {**data, "back": "lead"}, headers=HTMX
    )
    assert response.status_code == 422
    html = unescape(response.content.decode())
    error = html.split(f'id="id_task-{field}_error"')[1].split("</ul>")[0]
    assert message in error
    assert not Task.objects.exists() and "hx-swap-oob" not in html


def test_a_manager_gives_a_task_to_someone_who_sees_the_lead_only(web, manager, salesperson, lead):
    client = web(manager)
    assert 'name="task-assignee"' in client.get(f"/leads/{lead.slug}/").content.decode()
    outsider = UserFactory(role=Role.JR_SALESPERSON, username="outsider")
    data = {"task-title": "Call", "task-due": local(at(1)), "back": "lead"}
    refused = client.post(
        f"/leads/{lead.slug}/tasks/", {**data, "task-assignee": outsider.pk}, headers=HTMX
    )
    assert refused.status_code == 422
    error = unescape(refused.content.decode()).split('id="id_task-assignee_error"')[1]
    assert error.split("</ul>")[0].endswith("outsider can't see this lead.</li>")
    given = client.post(
        f"/leads/{lead.slug}/tasks/", {**data, "task-assignee": salesperson.pk}, headers=HTMX
    )
    assert given.status_code == 200
    assert Task.objects.get().assignee == salesperson


def test_who_reads_only_sees_tasks_without_actions(web, users, salesperson, lead):
    task_of(salesperson, lead)
    client = web(users[Role.MARKETING_MANAGER])
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    assert "Call back" in page
    assert "Add task" not in page and "Snooze" not in page and ">Done<" not in page
    refused = client.post(
        f"/leads/{lead.slug}/tasks/",
        {"task-title": "x", "task-due": local(at(1)), "back": "lead"},
        headers=HTMX,
    )
    assert refused.status_code == 403 and not Task.objects.filter(title="x").exists()


def test_a_lead_or_task_the_user_may_not_see_is_not_found(web, users, salesperson, lead):
    task = task_of(salesperson, lead)
    client = web(users[Role.JR_SALESPERSON])
    assert client.post(f"/leads/{lead.slug}/tasks/", {"task-title": "x"}).status_code == 404
    for action in ("done", "snooze", "delete"):
        assert client.post(f"/tasks/{task.pk}/{action}/", {"back": "lead"}).status_code == 404
    assert client.post("/tasks/99999/done/").status_code == 404
    task.refresh_from_db()
    assert task.done_at is None and task.deleted_at is None


def test_done_on_the_lead_page(web, salesperson, lead):
    task = task_of(salesperson, lead)
    response = web(salesperson).post(f"/tasks/{task.pk}/done/", {"back": "lead"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="lead-tasks"' in html and "task-done" in html
    task.refresh_from_db()
    assert task.done_at is not None
    # Again (another tab): told, nothing changes.
    again = web(salesperson).post(f"/tasks/{task.pk}/done/", {"back": "lead"}, headers=HTMX)
    assert again.status_code == 200
    assert Event.objects.filter(type=EventType.TASK_DONE).count() == 1


@pytest.mark.parametrize(("choice", "days"), [("tomorrow", 1), ("next_week", 7)])
def test_snooze_to_tomorrow_or_next_week_keeps_the_time_of_day(
    web, salesperson, lead, choice, days
):
    task = task_of(salesperson, lead, due=at(-3, hour=15))
    response = web(salesperson).post(
        f"/tasks/{task.pk}/snooze/", {f"snooze-{task.pk}-until": choice, "back": "lead"},
        headers=HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.due == at(days, hour=15)


def test_snooze_to_a_time_given_and_not_to_the_past(web, salesperson, lead):
    task = task_of(salesperson, lead)
    client = web(salesperson)
    url, until = f"/tasks/{task.pk}/snooze/", f"snooze-{task.pk}-until"
    past = client.post(
        url, {until: "date", f"snooze-{task.pk}-due": local(at(-1)), "back": "lead"},
        headers=HTMX,
    )  # fmt: skip
    assert past.status_code == 422
    assert "Snooze to a time in the future." in past.content.decode()
    assert f'<div class="task-snooze-panel" id="snooze-{task.pk}">' in past.content.decode()
    empty = client.post(url, {until: "date", "back": "lead"}, headers=HTMX)
    assert empty.status_code == 422 and "Enter the new due time." in empty.content.decode()
    moved = client.post(
        url, {until: "date", f"snooze-{task.pk}-due": local(at(4, 11)), "back": "lead"},
        headers=HTMX,
    )  # fmt: skip
    assert moved.status_code == 200
    task.refresh_from_db()
    assert task.due == at(4, 11)


def test_delete_a_task(web, salesperson, lead):
    task = task_of(salesperson, lead)
    response = web(salesperson).post(
        f"/tasks/{task.pk}/delete/", {"back": "lead", "confirmed": "1"}, headers=HTMX
    )
    assert (
        response.status_code == 200
        and "Call back" not in response.content.decode().split('id="lead-timeline"')[0]
    )
    task.refresh_from_db()
    assert task.deleted_at is not None


def test_without_javascript_each_action_redirects_back(web, salesperson, lead):
    client = web(salesperson)
    added = client.post(
        f"/leads/{lead.slug}/tasks/",
        {"task-title": "Call", "task-due": local(at(1)), "back": "lead"},
    )
    assert added.status_code == 302 and added["Location"] == f"/leads/{lead.slug}/#lead-tasks"
    task = Task.objects.get()
    done = client.post(f"/tasks/{task.pk}/done/", {"back": "day"})
    assert done.status_code == 302 and done["Location"] == "/#my-day"


def test_my_day_adds_an_own_task_and_answers_its_list(web, salesperson, lead):
    client = web(salesperson)
    page = client.get("/").content.decode()
    assert "My day" in page and "New task" in page
    response = client.post(
        "/tasks/new/",
        {"task-title": "Plan the week", "task-due": local(timezone.now()), "back": "day"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="my-day-tasks">')
    assert "Plan the week" in html
    task = Task.objects.get()
    assert task.lead is None and task.assignee == salesperson
    on_lead = task_of(salesperson, lead, title="Ring Ada", due=timezone.now())
    done = client.post(f"/tasks/{on_lead.pk}/done/", {"back": "day"}, headers=HTMX)
    listed = done.content.decode().split("</ul>")[0]
    assert "Ring Ada" not in listed and "Plan the week" in listed


# --- query counts -----------------------------------------------------------------------------


def grow(lead, user, n: int) -> None:
    for i in range(n):
        task_of(user, lead, title=f"Task {i}", due=timezone.now() - dt.timedelta(hours=i))
        task_of(user, None, title=f"Own {i}", due=timezone.now())


@pytest.mark.parametrize("n", [1, 10])
@pytest.mark.parametrize(
    ("back", "queries", "shown"),
    [
        # + the lead again; + its tasks; + the timeline's events
        ("lead", 3, lambda n: n),
        # + My day's tasks with their leads (the task done leaves it)
        ("day", 1, lambda n: 2 * n - 1),
    ],
)
def test_task_done_queries(
    web, salesperson, lead, django_assert_num_queries, n, back, queries, shown
):
    grow(lead, salesperson, n)
    task = Task.objects.filter(lead=lead).first()
    client = web(salesperson)
    # + the task with its lead (if the user sees it); + savepoint, UPDATE task, INSERT event,
    # webhook subscriptions (EXISTS), release; + the list answered
    with django_assert_num_queries(AUTH + 1 + 5 + queries):
        response = client.post(f"/tasks/{task.pk}/done/", {"back": back}, headers=HTMX)
    assert unescape(response.content.decode()).count('class="task-title"') == shown(n)


def test_without_javascript_snooze_opens_a_page_of_its_own(web, users, salesperson, lead):
    task = task_of(salesperson, lead)
    client = web(salesperson)
    page = unescape(client.get(f"/tasks/{task.pk}/snooze/?back=lead").content.decode())
    assert (
        "<h1>Snooze “Call back”</h1>" in page and f'href="/leads/{lead.slug}/#lead-tasks"' in page
    )
    past = client.post(
        f"/tasks/{task.pk}/snooze/",
        {f"snooze-{task.pk}-until": "date", f"snooze-{task.pk}-due": local(at(-1)), "back": "lead"},
    )
    assert past.status_code == 422 and "Snooze to a time in the future." in past.content.decode()
    assert "<h1>Snooze" in unescape(past.content.decode())
    done = client.post(
        f"/tasks/{task.pk}/snooze/", {f"snooze-{task.pk}-until": "tomorrow", "back": "lead"}
    )
    assert done.status_code == 302 and done["Location"] == f"/leads/{lead.slug}/#lead-tasks"
    # Who may not change the task gets no such page.
    assert web(users[Role.MARKETING_MANAGER]).get(f"/tasks/{task.pk}/snooze/").status_code == 403


def test_without_javascript_new_task_opens_my_days_form(web, salesperson):
    client = web(salesperson)
    closed = client.get("/").content.decode()
    assert '<div class="task-new" id="my-day-new-task" hidden>' in closed
    opened = client.get("/?new_task=1").content.decode()
    assert '<div class="task-new" id="my-day-new-task">' in opened
    refused = client.post("/tasks/new/", {"task-title": "", "task-due": "", "back": "day"})
    html = refused.content.decode()
    assert refused.status_code == 422 and "<h1>Dashboard</h1>" in html
    assert (
        '<div class="task-new" id="my-day-new-task">' in html and "This field is required." in html
    )


# --- reassign -------------------------------------------------------------------------------


def test_a_manager_gives_a_task_to_someone_else_from_the_lead_page(
    web, salesperson, manager, users, lead
):
    task = task_of(salesperson, lead)
    client = web(manager)
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    assert f'action="/tasks/{task.pk}/reassign/"' in page and "Reassign" in page
    assistant = users["jr_salesperson"]
    lead.assignee = assistant
    lead.save(update_fields=["assignee"])
    response = client.post(
        f"/tasks/{task.pk}/reassign/", {"assignee": assistant.pk, "back": "lead"}, headers=HTMX
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.assignee == assistant
    event = Event.objects.get(type=EventType.TASK_REASSIGNED)
    assert event.data["to"] == assistant.pk and 'id="lead-tasks"' in response.content.decode()


def test_a_task_is_not_given_to_someone_who_cannot_see_its_lead(web, salesperson, manager, lead):
    task = task_of(salesperson, lead)
    outsider = UserFactory(username="outsider", role=Role.SALESPERSON)
    response = web(manager).post(
        f"/tasks/{task.pk}/reassign/", {"assignee": outsider.pk, "back": "lead"}, headers=HTMX
    )
    assert response.status_code == 403 and "can't see this lead" in response.content.decode()
    task.refresh_from_db()
    assert task.assignee == salesperson


def test_a_salesperson_is_not_offered_reassign_and_is_refused(web, salesperson, manager, lead):
    task = task_of(salesperson, lead)
    client = web(salesperson)
    assert "/reassign/" not in client.get(f"/leads/{lead.slug}/").content.decode()
    response = client.post(
        f"/tasks/{task.pk}/reassign/", {"assignee": manager.pk, "back": "lead"}, headers=HTMX
    )
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.assignee == salesperson
    bad = web(manager).post(f"/tasks/{task.pk}/reassign/", {"assignee": "x"}, headers=HTMX)
    assert bad.status_code == 403 and "Choose whom" in bad.content.decode()
