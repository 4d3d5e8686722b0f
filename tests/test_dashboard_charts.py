"""The dashboard's pictures (issue 14, item 16): a funnel by status, new leads per week by
source and appointments per week by outcome, drawn as inline SVG from the rollups.

The weekly rollups are kept by database triggers (``leads.rollup.WeeklyRollup``): every test
here compares them with a count of the tables themselves after writes by every path (services,
queryset updates, deletes), on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Appointment, AppointmentWeekCount
from appointments.services import appointment_cancel, appointment_delete, appointment_mark
from crm.domain import Actor
from crm.roles import Role
from leads import charts, rollup
from leads.models import DELETED_STATUS, Lead, LeadWeekCount
from leads.services import lead_delete, lead_update
from tests.factories import AppointmentFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def monday(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def lead_weeks_rollup() -> Counter:
    """The weekly lead rollup of the ALL scope, by (week, source), zeros left out."""
    rows = LeadWeekCount.objects.filter(scope=rollup.ALL).values_list("week", "source_id", "n")
    return Counter({(week, source): n for week, source, n in rows if n})


def lead_weeks_counted() -> Counter:
    """The same, counted from the leads table."""
    leads = Lead.objects.exclude(status_id=DELETED_STATUS).values_list("created_at", "source_id")
    return Counter((monday(created), source or "") for created, source in leads)


def owner_weeks_rollup(user_id: int) -> Counter:
    rows = LeadWeekCount.objects.filter(scope=rollup.OWNER, user_id=user_id)
    return Counter({(r.week, r.source_id): r.n for r in rows if r.n})


def appointment_weeks_rollup(host_id: int) -> Counter:
    rows = AppointmentWeekCount.objects.filter(host_id=host_id).values_list("week", "status", "n")
    return Counter({(week, status): n for week, status, n in rows if n})


def appointment_weeks_counted(host_id: int | None = None) -> Counter:
    qs = Appointment.objects.filter(deleted_at__isnull=True)
    if host_id is not None:
        qs = qs.filter(host_id=host_id)
    return Counter((monday(start), status) for start, status in qs.values_list("start", "status"))


def test_the_weekly_lead_rollup_follows_every_write(users):
    manager, seller = users["sales_manager"], users["salesperson"]
    me = Actor(user=manager)
    now = timezone.now()
    leads = [
        LeadFactory(by=manager, owner=seller, source=source)
        for source in ("website", "website", "referral", "email")
    ]
    LeadFactory(by=manager, owner=None)  # no source: counted under ""
    # Created three weeks ago (a raw UPDATE of created_at), a source changed, one deleted.
    Lead.objects.filter(pk=leads[0].pk).update(created_at=now - timedelta(weeks=3))
    lead_update(actor=me, lead=leads[1], data={"source": "phone"})
    lead_delete(actor=me, lead=leads[2])
    expected = lead_weeks_counted()
    assert lead_weeks_rollup() == expected
    assert expected[(monday(now - timedelta(weeks=3)), "website")] == 1
    assert expected[(monday(now), "phone")] == 1
    assert (monday(now), "referral") not in expected  # deleted
    # The owner's scope counts its own leads only; giving one away moves it.
    assert sum(owner_weeks_rollup(seller.pk).values()) == 3
    lead_update(actor=me, lead=leads[3], data={"owner": manager})
    assert sum(owner_weeks_rollup(seller.pk).values()) == 2
    assert sum(owner_weeks_rollup(manager.pk).values()) == 1
    # A hard delete takes its counts away.
    Lead.objects.filter(pk=leads[3].pk).delete()
    assert lead_weeks_rollup() == lead_weeks_counted()
    assert sum(owner_weeks_rollup(manager.pk).values()) == 0


def test_the_weekly_appointment_rollup_follows_every_write(users):
    manager, seller = users["sales_manager"], users["salesperson"]
    me = Actor(user=manager)
    lead = LeadFactory(by=manager, owner=seller)
    booked = [AppointmentFactory(lead=lead, by=manager, host=seller) for _ in range(4)]
    AppointmentFactory(lead=lead, by=manager)  # the manager's own
    # Two moved into the past (a raw UPDATE of start and end), then held and missed.
    for i, appointment in enumerate(booked[:2]):
        start = timezone.now() - timedelta(weeks=2 + i)
        Appointment.objects.filter(pk=appointment.pk).update(
            start=start, end=start + timedelta(hours=1)
        )
    appointment_mark(
        actor=me, appointment=Appointment.objects.get(pk=booked[0].pk), status="fulfilled"
    )
    appointment_mark(
        actor=me, appointment=Appointment.objects.get(pk=booked[1].pk), status="no_show"
    )
    appointment_cancel(actor=me, appointment=booked[2], reason="Ill")
    appointment_delete(actor=me, appointment=booked[3])
    assert appointment_weeks_rollup(rollup.NOBODY) == appointment_weeks_counted()
    assert appointment_weeks_rollup(seller.pk) == appointment_weeks_counted(seller.pk)
    statuses = Counter()
    for (_, status), n in appointment_weeks_rollup(seller.pk).items():
        statuses[status] += n
    assert statuses == Counter({"fulfilled": 1, "no_show": 1, "cancelled": 1})


def test_rebuild_counts_rebuilds_the_weekly_rollups(users, capsys):
    manager = users["sales_manager"]
    lead = LeadFactory(by=manager, source="website")
    AppointmentFactory(lead=lead, by=manager)
    expected = (lead_weeks_rollup(), appointment_weeks_rollup(manager.pk))
    LeadWeekCount.objects.all().update(n=99)
    AppointmentWeekCount.objects.all().delete()
    call_command("rebuild_counts")
    assert (lead_weeks_rollup(), appointment_weeks_rollup(manager.pk)) == expected
    assert "Weekly counts rebuilt" in capsys.readouterr().out


# --- the geometry -------------------------------------------------------------------------


def test_weeks_end_with_this_one_and_are_mondays():
    weeks = charts.weeks_ending(date(2026, 12, 6), 12)  # a Sunday
    assert weeks[-1] == date(2026, 11, 30)
    assert weeks[0] == date(2026, 9, 14)
    assert all(w.weekday() == 0 for w in weeks)
    assert len(set(weeks)) == 12


def test_the_funnel_bars_are_as_wide_as_their_share_and_centred():
    chart = charts.funnel(
        [("New", "#111111", 10), ("Won", "#222222", 5), ("Lost", "#333333", 0)], who="Me"
    )
    wide, half = chart.rects
    assert half.w == pytest.approx(wide.w / 2, abs=0.2)
    assert wide.x + wide.w / 2 == pytest.approx(half.x + half.w / 2, abs=0.2)
    assert (wide.fill, half.fill) == ("#111111", "#222222")
    assert chart.rows == [["New", "10"], ["Won", "5"], ["Lost", "0"], ["Total", "15"]]
    assert not chart.empty


def test_stacked_bars_add_up_and_fit_the_plot():
    weeks = charts.weeks_ending(date(2026, 12, 6), 3)
    series = [charts.Series("A", css="chart-c0"), charts.Series("B", css="chart-c1")]
    chart = charts.stacked_weeks(
        key="t", title="T", weeks=weeks, series=series, counts=[[1, 0, 4], [2, 0, 6]], unit="x"
    )
    last_week = [r for r in chart.rects if "Nov 30" in r.title]
    assert len(last_week) == 2
    bottom = max(r.y + r.h for r in chart.rects)
    top = min(r.y for r in chart.rects)
    assert bottom == pytest.approx(chart.height - 22, abs=0.2)  # on the axis
    assert top >= 0  # the tallest week (10) fits under the top of the scale
    assert chart.rows[-1] == ["Nov 30", "4", "6", "10"]
    assert chart.rows[1] == ["Nov 23", "0", "0", "0"]
    assert chart.columns == ["Week of", "A", "B", "Total"]


# --- the page -----------------------------------------------------------------------------


@pytest.fixture
def team(users):
    """Leads of a salesperson and of another one, and appointments kept, missed and
    cancelled last week."""
    manager, seller = users["sales_manager"], users["salesperson"]
    other = UserFactory(username="other_seller", role=Role.SALESPERSON)
    me = Actor(user=manager)
    mine = [
        LeadFactory(by=manager, owner=seller, status="prospect", source="website") for _ in range(3)
    ]
    LeadFactory(by=manager, owner=seller, status="contact", source="referral")
    LeadFactory(by=manager, owner=other, status="contact", source="email")
    LeadFactory(by=manager, owner=None, status="prospect", source="website")  # the pool
    # Tuesday noon (UTC) of last week: the four fit in its week whatever the day today.
    last_week = datetime.combine(
        monday(timezone.now()) - timedelta(days=6), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=12)
    for i, outcome in enumerate(("fulfilled", "no_show", "cancelled", "fulfilled")):
        appointment = AppointmentFactory(lead=mine[0], by=manager, host=seller)
        start = last_week + timedelta(hours=2 * i)
        Appointment.objects.filter(pk=appointment.pk).update(
            start=start, end=start + timedelta(hours=1)
        )
        appointment.refresh_from_db()
        if outcome == "cancelled":
            appointment_cancel(actor=me, appointment=appointment)
        else:
            appointment_mark(actor=me, appointment=appointment, status=outcome)
    return {"seller": seller, "other": other, "manager": manager}


def table_of(html: str, key: str) -> dict[str, list[str]]:
    """The table alternative of chart ``key``: its rows by their header cell."""
    section = html.split(f'id="chart-{key}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        head = re.search(r"<th scope=\"row\">(.*?)</th>", row).group(1)
        rows[head] = re.findall(r"<td[^>]*>(.*?)</td>", row)
    return rows


def test_a_salesperson_sees_pictures_of_its_own_leads_and_appointments(client, team):
    client.force_login(team["seller"])
    html = client.get("/").content.decode()
    funnel = table_of(html, "funnel")
    assert funnel["Prospect"] == ["3"]  # its own, not the pool's
    assert funnel["Contact"] == ["1"]
    assert funnel["Total"] == ["4"]
    this_week = charts.week_label(monday(timezone.now()))
    assert table_of(html, "new-leads")[this_week][-1] == "4"
    last_week = charts.week_label(monday(timezone.now() - timedelta(weeks=1)))
    # Kept, no-show, cancelled, total
    assert table_of(html, "appointments")[last_week] == ["2", "1", "1", "4"]
    assert "Your leads" in html
    assert 'id="chart-person"' not in html  # nobody to pick


def test_the_pictures_are_accessible_svg_in_the_status_colours(client, team):
    client.force_login(team["seller"])
    html = client.get("/").content.decode()
    for key in ("funnel", "new-leads", "appointments"):
        svg = re.search(rf'<svg[^>]*aria-labelledby="chart-{key}-title chart-{key}-desc"', html)
        assert svg and 'role="img"' in svg.group(0)
        assert f'<title id="chart-{key}-title">' in html
        assert f'<desc id="chart-{key}-desc">' in html
    assert html.count('<details class="chart-table">') == 3
    from leads.models import Status

    prospect = Status.objects.get(key="prospect")
    assert f'fill="{prospect.color}"' in html


def test_a_manager_sees_the_team_and_picks_a_salesperson(client, team):
    client.force_login(team["manager"])
    html = client.get("/").content.decode()
    assert table_of(html, "funnel")["Total"] == ["6"]
    assert 'id="chart-person"' in html
    html = client.get("/", {"person": team["seller"].pk}).content.decode()
    assert table_of(html, "funnel")["Total"] == ["4"]
    last_week = charts.week_label(monday(timezone.now() - timedelta(weeks=1)))
    assert table_of(html, "appointments")[last_week] == ["2", "1", "1", "4"]
    html = client.get("/", {"person": team["other"].pk}).content.decode()
    assert table_of(html, "funnel")["Total"] == ["1"]
    assert last_week not in table_of(html, "appointments") or table_of(html, "appointments")[
        last_week
    ] == ["0", "0", "0", "0"]
    # Anything else is the whole team.
    html = client.get("/", {"person": "nobody"}).content.decode()
    assert table_of(html, "funnel")["Total"] == ["6"]


def test_a_salesperson_cannot_pick_another_person(client, team):
    client.force_login(team["seller"])
    html = client.get("/", {"person": team["other"].pk}).content.decode()
    assert table_of(html, "funnel")["Total"] == ["4"]


@pytest.mark.parametrize("n", [2, 20])
def test_a_picked_persons_pictures_cost_a_fixed_number_of_queries(
    client, users, django_assert_num_queries, n
):
    manager, seller = users["sales_manager"], users["salesperson"]
    for i in range(n):
        lead = LeadFactory(by=manager, owner=seller, source=["website", "email"][i % 2])
        AppointmentFactory(lead=lead, by=manager, host=seller)
    client.force_login(manager)
    # 1 session, 2 user, 3 overview counts, 4 statuses, 5 sources, 6 the week's appointments,
    # 7 recent events, 8 My day's tasks, 9 the people to pick from, 10 the person's funnel,
    # 11 new leads per week, 12 appointments per week
    with django_assert_num_queries(12):
        response = client.get("/", {"person": seller.pk})
    funnel = response.context["charts"][0]
    assert funnel.rows[-1] == ["Total", str(n)]
