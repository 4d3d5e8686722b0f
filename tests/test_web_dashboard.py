"""The dashboard (SPEC §8 overview) per role: counts, appointments, activity, follow-ups."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from appointments.models import Appointment
from crm.domain import Actor
from crm.roles import Role
from leads.services import lead_delete, lead_followup_set, task_complete, task_create
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory, UserFactory

pytestmark = pytest.mark.django_db

MANAGERS = [Role.ADMINISTRATOR, Role.COMPANY_MANAGER, Role.SALES_MANAGER, Role.MARKETING_MANAGER]


@pytest.fixture
def world(users):
    """Leads of every kind of relation to the salespeople, each named."""
    manager, sp, jr = users["sales_manager"], users["salesperson"], users["jr_salesperson"]
    other = UserFactory(username="other", role=Role.SALESPERSON)

    def lead(name, **data):
        return LeadFactory(by=manager, first_name=name, last_name="Test", **data)

    leads = {
        "sp_owned": lead("SpOwned", owner=sp, status="prospect", source="website"),
        "sp_assigned": lead(
            "SpAssigned", owner=manager, assignee=sp, status="contact", source="referral"
        ),
        "pool": lead("Pool", owner=None, status="tentative", source="website"),
        "jr_owned": lead("JrOwned", owner=jr, status="prospect", source="email"),
        "jr_assigned": lead(
            "JrAssigned", owner=other, assignee=jr, status="closed", source="phone"
        ),
        "other_owned": lead("OtherOwned", owner=other, status="customer", source="referral"),
        "manager_owned": lead("MgrOwned", owner=manager, status="potential", source="social"),
        "deleted": lead("Deleted", owner=sp, status="potential", source="event"),
    }
    lead_delete(actor=Actor(user=manager), lead=leads["deleted"])
    return leads


SEES = {
    Role.SALESPERSON: {"sp_owned", "sp_assigned", "pool"},
    Role.JR_SALESPERSON: {"jr_owned", "jr_assigned"},
    **{
        role: {
            "sp_owned",
            "sp_assigned",
            "pool",
            "jr_owned",
            "jr_assigned",
            "other_owned",
            "manager_owned",
        }
        for role in MANAGERS
    },
}


def _html_counts(html: str, attr: str) -> dict[str, int]:
    pattern = rf'<li data-{attr}="([^"]+)">.*?<span class="count">(\d+)</span>'
    return {key: int(n) for key, n in re.findall(pattern, html, flags=re.S)}


@pytest.mark.parametrize("role", list(SEES))
def test_counts_by_status_and_source_are_what_the_role_sees(client, users, world, role):
    client.force_login(users[role])
    response = client.get("/")
    assert response.status_code == 200
    seen = [world[name] for name in SEES[role]]
    want_status = Counter(lead.status_id for lead in seen)
    want_source = Counter(lead.source_id for lead in seen)

    by_status = {status.key: n for status, n, _ in response.context["by_status"]}
    assert {k: n for k, n in by_status.items() if n} == want_status
    assert "deleted" not in by_status  # the reserved status is never a row
    assert set(by_status) >= {"prospect", "tentative", "potential", "closed", "contact"}
    assert response.context["total"] == len(seen)

    html = response.content.decode()
    assert f'data-testid="total-leads">{len(seen)}<' in html
    assert {k: n for k, n in _html_counts(html, "status").items() if n} == want_status
    assert _html_counts(html, "source") == want_source  # sources without leads are left out


def test_status_counts_link_to_the_filtered_list(client, users, world):
    client.force_login(users["salesperson"])
    html = client.get("/").content.decode()
    assert 'href="/leads/?list_type=all&amp;status=prospect"' in html
    assert 'href="/leads/?list_type=all&amp;source=website"' in html


def _today_start():
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


@pytest.fixture
def agenda(users, world):
    """Appointments of the salesperson and of others; returned by name."""
    sp, manager = users["salesperson"], users["sales_manager"]
    today = _today_start()
    far = today + timedelta(days=30)  # booked in the future, then moved to early today
    made = {
        "sp_today": AppointmentFactory(
            lead=world["sp_owned"], by=sp, start=far, end=far + timedelta(hours=1)
        ),
        "sp_in_2_days": AppointmentFactory(
            lead=world["sp_assigned"],
            by=sp,
            start=today + timedelta(days=2, hours=10),
            end=today + timedelta(days=2, hours=11),
        ),
        "sp_in_10_days": AppointmentFactory(
            lead=world["sp_owned"],
            by=sp,
            start=today + timedelta(days=10, hours=10),
            end=today + timedelta(days=10, hours=11),
        ),
        "manager_today": AppointmentFactory(
            lead=world["sp_owned"], by=manager, start=far, end=far + timedelta(hours=1)
        ),
        "manager_for_sp_lead": AppointmentFactory(
            lead=world["manager_owned"],
            by=manager,
            start=today + timedelta(days=3, hours=9),
            end=today + timedelta(days=3, hours=10),
        ),
    }
    # "Today" must be early today, which the domain refuses to book (past); move it directly.
    for name, minute in (("sp_today", 1), ("manager_today", 2)):
        start = today + timedelta(minutes=minute)
        Appointment.objects.filter(pk=made[name].pk).update(
            start=start, end=start + timedelta(minutes=30)
        )
    # An appointment whose lead is later deleted is shown to nobody.
    on_deleted = LeadFactory(by=manager, owner=sp, first_name="Soon", last_name="Deleted")
    made["on_deleted_lead"] = AppointmentFactory(
        lead=on_deleted,
        by=sp,
        start=today + timedelta(days=1, hours=15),
        end=today + timedelta(days=1, hours=16),
    )
    lead_delete(actor=Actor(user=manager), lead=on_deleted)
    return made


def test_today_and_upcoming_appointments_are_the_users_own(client, users, agenda):
    client.force_login(users["salesperson"])
    response = client.get("/")
    assert [a.pk for a in response.context["today"]] == [agenda["sp_today"].pk]
    assert [a.pk for a in response.context["upcoming"]] == [agenda["sp_in_2_days"].pk]
    html = response.content.decode()
    today_section = html.split('id="appointments-today"')[1].split('id="appointments-upcoming"')[0]
    assert "SpOwned Test" in today_section
    assert "Soon Deleted" not in html


def test_a_managers_dashboard_shows_only_its_own_appointments(client, users, agenda):
    client.force_login(users["sales_manager"])
    response = client.get("/")
    assert [a.pk for a in response.context["today"]] == [agenda["manager_today"].pk]
    assert [a.pk for a in response.context["upcoming"]] == [agenda["manager_for_sp_lead"].pk]


def test_a_full_week_shows_the_first_appointments_and_links_to_the_agenda(
    client, users, world, monkeypatch
):
    from leads.views import dashboard

    monkeypatch.setattr(dashboard, "AGENDA_LIMIT", 3)
    sp = users["salesperson"]
    tomorrow = _today_start() + timedelta(days=1)
    made = [
        AppointmentFactory(
            lead=world["sp_owned"],
            by=sp,
            start=tomorrow + timedelta(hours=8 + i),
            end=tomorrow + timedelta(hours=8 + i, minutes=30),
        )
        for i in range(4)
    ]
    client.force_login(sp)
    response = client.get("/")
    assert [a.pk for a in response.context["upcoming"]] == [a.pk for a in made[:3]]
    assert "More this week in your agenda" in response.content.decode()
    Appointment.objects.filter(pk=made[3].pk).delete()
    response = client.get("/")
    assert [a.pk for a in response.context["upcoming"]] == [a.pk for a in made[:3]]
    assert "More this week in your agenda" not in response.content.decode()


def test_no_appointments_say_so(client, users, world):
    client.force_login(users["jr_salesperson"])
    html = client.get("/").content.decode()
    assert "No appointments today." in html
    assert "Nothing booked this week." in html


@pytest.fixture
def activity(users, world):
    """A note on every lead (the newest events), named by the lead."""
    manager = users["sales_manager"]
    for name, lead in world.items():
        if name != "deleted":
            NoteFactory(lead=lead, by=manager, text=f"note on {name}")


@pytest.mark.parametrize(
    ("role", "works"),
    [
        (Role.SALESPERSON, {"sp_owned", "sp_assigned"}),  # not the pool it only sees
        (Role.JR_SALESPERSON, {"jr_owned", "jr_assigned"}),
        (Role.SALES_MANAGER, SEES[Role.SALES_MANAGER]),
        (Role.MARKETING_MANAGER, SEES[Role.MARKETING_MANAGER]),
    ],
)
def test_recent_activity_is_on_the_leads_the_user_works(
    client, users, world, activity, role, works
):
    client.force_login(users[role])
    response = client.get("/")
    events = list(response.context["activity"])
    assert events, "some activity is shown"
    by_lead = {name for name, lead in world.items() if lead.pk in {e.lead_id for e in events}}
    assert by_lead <= works
    assert "deleted" not in by_lead
    notes = {e.data.get("text") for e in events if e.type == "note_added"}
    if len(works) * 2 <= 10:  # every worked lead's note and creation fit in the ten shown
        assert notes == {f"note on {name}" for name in works}
    html = response.content.decode()
    assert "Recent activity on your leads" in html
    for name in SEES[Role.MARKETING_MANAGER] - works:
        assert f"note on {name}" not in html


def test_recent_activity_is_newest_first_and_at_most_ten(client, users, world):
    sp = users["salesperson"]
    for i in range(12):
        NoteFactory(lead=world["sp_owned"], by=sp, text=f"note {i}")
    client.force_login(sp)
    events = list(client.get("/").context["activity"])
    assert [e.data["text"] for e in events] == [f"note {i}" for i in range(11, 1, -1)]


def test_my_day_lists_the_users_open_tasks_due_today_overdue_ones_marked(client, users, world):
    sp, manager = users["salesperson"], users["sales_manager"]
    now = timezone.now()
    as_manager = Actor(user=manager)

    def task(name, when, lead=None, to=sp):
        return task_create(actor=as_manager, title=name, due=when, lead=lead, assignee=to)

    late = task("Call back", now - timedelta(days=1), world["sp_owned"])
    today = task("Send the quote", _today_start() + timedelta(minutes=5), world["sp_assigned"])
    own = task("Plan the week", _today_start() + timedelta(minutes=10))
    task("Not mine", now - timedelta(hours=1), world["manager_owned"], to=manager)
    task("Next week", now + timedelta(days=7), world["sp_owned"])
    done = task("Done already", now - timedelta(hours=2), world["sp_owned"])
    task_complete(actor=as_manager, task=done)
    client.force_login(sp)
    response = client.get("/")
    rows = response.context["day_tasks"]
    assert [row.task.pk for row in rows] == [late.pk, today.pk, own.pk]
    assert [row.overdue for row in rows] == [True, today.due < timezone.now(), own.due < now]
    html = response.content.decode().split('id="my-day-tasks"')[1].split("</ul>")[0]
    assert "Call back" in html and "SpOwned Test" in html and "Not mine" not in html
    assert html.count("Overdue</span>") == sum(row.overdue for row in rows)

    client.force_login(users["jr_salesperson"])
    assert "Nothing due today." in client.get("/").content.decode()


def test_dashboard_refuses_post(client, users):
    client.force_login(users["salesperson"])
    assert client.post("/").status_code == 405


def grow(users, n: int) -> None:
    """``n`` more leads of the salesperson, each with a note, an appointment and a follow-up
    task due."""
    sp, manager = users["salesperson"], users["sales_manager"]
    today = _today_start()
    for i in range(n):
        lead = LeadFactory(
            by=manager,
            owner=sp if i % 2 else None,
            assignee=None if i % 2 else sp,
            source=["website", "referral", "email"][i % 3],
        )
        when = timezone.now() - timedelta(hours=i + 1)
        lead_followup_set(actor=Actor(user=manager), lead=lead, when=when)
        NoteFactory(lead=lead, by=sp)
        start = today + timedelta(days=1 + i % 5, hours=i)
        AppointmentFactory(lead=lead, by=sp, start=start, end=start + timedelta(minutes=30))


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.SALES_MANAGER])
@pytest.mark.parametrize("n", [2, 20])
def test_dashboard_query_count_is_pinned(client, users, django_assert_num_queries, role, n):
    grow(users, n)
    client.force_login(users[role])
    # 1 session, 2 user,
    # 3 counts by status and source (from the rollup),
    # 4 the active statuses, 5 the active sources,
    # 6 the week's appointments joined to their leads,
    # 7 the recent events joined to lead, actor and API key,
    # 8 My day's tasks joined to their leads,
    # the pictures (leads.charts) from the rollups: 9 the salesperson's funnel by status (a
    # manager's whole team is the overview's counts, but it reads the people to pick from),
    # 10 new leads per week by source, 11 appointments per week by outcome
    with django_assert_num_queries(11):
        response = client.get("/")
    assert response.context["total"] == n
    mine = role == Role.SALESPERSON  # the follow-ups are the salesperson's tasks
    assert len(response.context["day_tasks"]) == (n if mine else 0)
    assert len(response.context["activity"]) == min(4 * n, 10)  # created, follow-up, note, booked


@pytest.mark.parametrize("role", list(Role))
def test_my_days_read_once_per_role_gives_each_user_their_own(users, role):
    """My day's tasks are read by a statement compiled once per role with the user's id as a
    value: two users of one role each get their own tasks due, as the queryset would."""
    from leads import selectors
    from leads.models import Task

    manager = users["sales_manager"]
    as_manager = Actor(user=manager)
    first, second = UserFactory(role=role), UserFactory(role=role)
    due = timezone.now() - timedelta(hours=1)
    for owner, assignee in [(first, None), (manager, first), (second, None), (None, second)]:
        lead = LeadFactory(by=manager, owner=owner, assignee=assignee)
        for user in (first, second):  # as if the lead were given away after the task
            Task.objects.create(title="t", due=due, lead=lead, assignee=user)
    for user in (first, second):
        task_create(actor=Actor(user=user), title="own", due=due)
        task_create(actor=Actor(user=user), title="later", due=due + timedelta(days=5))
    gone = LeadFactory(by=manager, owner=first)
    task_create(actor=as_manager, title="gone", due=due, lead=gone, assignee=first)
    lead_delete(actor=as_manager, lead=gone)
    until = timezone.now() + timedelta(hours=1)
    for user in (first, second, first):
        actor = Actor(user=user)
        expected = list(
            selectors.visible_tasks(actor)
            .filter(assignee=user, done_at__isnull=True, due__lt=until)
            .order_by("due", "id")
            .values_list("pk", flat=True)
        )
        found = selectors.open_tasks(actor=actor, until=until)
        assert [task.pk for task in found] == expected, (role, user.username)
        assert len(found) >= 1 and all(isinstance(task, Task) for task in found)
        assert all(task.lead is None or task.lead.slug for task in found)
