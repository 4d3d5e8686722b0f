"""The team calendar (SPEC §8 "managers: of every host they may see, filterable"): managers
choose whose appointments the agenda and the week show with "Host" (Me, Everyone, one active
user) and book for another host; everyone else sees and books their own only, whatever they
send. Through Django's test client, with pinned query counts."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import selectors
from appointments.models import Appointment
from crm.domain import Actor
from crm.roles import Role
from tests.factories import AppointmentFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
WEEK = reverse("appointments:week")
AGENDA = reverse("appointments:agenda")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` in the server's time zone."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def typed(moment: datetime) -> str:
    """One "YYYY-MM-DDTHH:MM" value (as a datetime-local input sent it; still understood)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def text(response) -> str:
    return response.content.decode()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shown(response, appointment: Appointment) -> bool:
    return f'id="appointment-{appointment.pk}"' in text(response)


def selected_host(response, select_id: str) -> str | None:
    """The value of the chosen option of the "Host" filter ``select_id`` (None: no filter)."""
    found = re.search(rf'<select id="{select_id}" name="host">(.*?)</select>', text(response), re.S)
    if found is None:
        return None
    chosen = re.search(r'<option value="([^"]*)" selected>', found.group(1))
    return html.unescape(chosen.group(1)) if chosen else None


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def day() -> date:
    """A Tuesday a few weeks ahead: every booking on it is in the future."""
    ahead = timezone.localdate() + timedelta(days=21)
    return ahead - timedelta(days=ahead.weekday()) + timedelta(days=1)


@pytest.fixture
def monday(day) -> date:
    return day - timedelta(days=day.weekday())


@pytest.fixture
def seller(users):
    return users["salesperson"]


@pytest.fixture
def colleague(db):
    """Another salesperson, whose appointments the managers look at."""
    return UserFactory(
        username="salesperson_two",
        first_name="Second",
        last_name="Salesperson",
        role=Role.SALESPERSON,
    )


@pytest.fixture
def shared_lead(manager, seller, colleague):
    """The salesperson's lead, worked by the colleague: both see it, both book on it."""
    return LeadFactory(
        by=manager, owner=seller, assignee=colleague, first_name="Ada", last_name="Lee"
    )


@pytest.fixture
def theirs(colleague, shared_lead, day) -> Appointment:
    """The colleague's appointment, on a lead the salesperson sees too."""
    start = at(day, 10)
    return AppointmentFactory(
        lead=shared_lead,
        by=colleague,
        start=start,
        end=start + timedelta(hours=1),
        note="Demo by the second salesperson",
    )


@pytest.fixture
def mine(manager, day) -> Appointment:
    """The manager's own appointment that week."""
    lead = LeadFactory(by=manager, owner=manager, first_name="Grace", last_name="Hopper")
    start = at(day, 14)
    return AppointmentFactory(lead=lead, by=manager, start=start, end=start + timedelta(hours=1))


# --- managers see the team --------------------------------------------------------------------


def test_manager_sees_only_their_own_by_default(manager, theirs, mine, day):
    response = client_for(manager).get(WEEK, {"week": day.isoformat()})
    assert response.status_code == 200
    assert shown(response, mine) and not shown(response, theirs)
    assert selected_host(response, "week-host") == ""  # "Me"
    assert '<label for="week-host">Host</label>' in text(response)
    assert 'class="meta appt-host"' not in text(response)  # one host: no host names


def test_manager_sees_everyone_with_each_host_named(manager, colleague, theirs, mine, day):
    response = client_for(manager).get(WEEK, {"week": day.isoformat(), "host": "all"})
    body = text(response)
    assert shown(response, theirs) and shown(response, mine)
    assert selected_host(response, "week-host") == "all"
    assert "Host: Second Salesperson" in body and f"Host: {manager}" in body
    for label in (
        ">Me</option>",
        ">Everyone</option>",
        ">Second Salesperson (salesperson_two)</option>",
    ):
        assert label in body


def test_manager_chooses_one_host(manager, colleague, theirs, mine, day):
    response = client_for(manager).get(WEEK, {"week": day.isoformat(), "host": str(colleague.pk)})
    assert shown(response, theirs) and not shown(response, mine)
    assert selected_host(response, "week-host") == str(colleague.pk)


@pytest.mark.parametrize("host", ["all", "colleague"])
def test_manager_agenda_of_everyone_and_of_one_host(manager, colleague, theirs, mine, day, host):
    value = "all" if host == "all" else str(colleague.pk)
    response = client_for(manager).get(AGENDA, {"from": day.isoformat(), "host": value})
    assert response.status_code == 200
    assert shown(response, theirs)
    assert shown(response, mine) is (host == "all")
    assert ("Host: Second Salesperson" in text(response)) is (host == "all")
    assert selected_host(response, "agenda-host") == value


@pytest.mark.parametrize("role", ["administrator", "company_manager", "sales_manager"])
def test_every_manager_role_gets_the_filter(users, role, theirs, day):
    response = client_for(users[role]).get(WEEK, {"week": day.isoformat(), "host": "all"})
    assert shown(response, theirs)


def test_appointments_on_deleted_leads_are_left_out(manager, colleague, theirs, day):
    from leads.services import lead_delete

    lead_delete(actor=Actor(user=manager), lead=theirs.lead)
    for host in ("all", str(colleague.pk)):
        assert not shown(client_for(manager).get(WEEK, {"week": day, "host": host}), theirs)
        assert not shown(client_for(manager).get(AGENDA, {"from": day, "host": host}), theirs)


@pytest.mark.parametrize(
    "value", ["", "me", "ALL", "abc", "999999", "-1", "1.5", "\x00", "all\x00", " all", "9" * 40]
)
def test_a_bad_host_is_ignored(manager, theirs, mine, day, value):
    client = client_for(manager)
    for url, key, select in ((WEEK, "week", "week-host"), (AGENDA, "from", "agenda-host")):
        response = client.get(url, {key: day.isoformat(), "host": value})
        assert response.status_code == 200
        assert shown(response, mine) and not shown(response, theirs)
        assert selected_host(response, select) == ""


def test_an_inactive_user_is_no_choice(manager, colleague, theirs, mine, day):
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    response = client_for(manager).get(WEEK, {"week": day.isoformat(), "host": str(colleague.pk)})
    assert shown(response, mine) and not shown(response, theirs)
    assert ">Second Salesperson (salesperson_two)</option>" not in text(response)
    # Everyone's still shows the appointments an inactive host had.
    assert shown(client_for(manager).get(WEEK, {"week": day, "host": "all"}), theirs)


def test_choosing_oneself_is_me(manager, theirs, mine, day):
    response = client_for(manager).get(WEEK, {"week": day.isoformat(), "host": str(manager.pk)})
    assert shown(response, mine) and not shown(response, theirs)
    assert selected_host(response, "week-host") == ""
    assert f'<option value="{manager.pk}"' not in text(response).split("week-host")[1][:2000]


# --- everyone else sees their own --------------------------------------------------------------


@pytest.mark.parametrize("role", ["salesperson", "jr_salesperson", "marketing_manager"])
def test_others_ignore_host_and_get_no_filter(users, seller, colleague, theirs, day, role):
    user = users[role]
    client = client_for(user)
    for host in (str(colleague.pk), "all", str(user.pk)):
        for url, key in ((WEEK, "week"), (AGENDA, "from")):
            response = client.get(url, {key: day.isoformat(), "host": host})
            assert response.status_code == 200
            assert not shown(response, theirs)
            assert 'name="host"' not in text(response)
            assert "host=" not in text(response)  # no link carries it on


def test_salesperson_still_sees_their_own_with_a_host(seller, shared_lead, colleague, theirs, day):
    start = at(day, 16)
    own = AppointmentFactory(
        lead=shared_lead, by=seller, start=start, end=start + timedelta(hours=1)
    )
    response = client_for(seller).get(WEEK, {"week": day.isoformat(), "host": str(colleague.pk)})
    assert shown(response, own) and not shown(response, theirs)


# --- links and forms keep the choice ------------------------------------------------------------


def test_week_links_keep_the_host(manager, colleague, theirs, monday):
    response = client_for(manager).get(WEEK, {"week": monday.isoformat(), "host": "all"})
    body = text(response)
    for other in (monday - timedelta(days=7), monday + timedelta(days=7)):
        url = f"/appointments/week/?week={other.isoformat()}&amp;host=all"
        assert f'href="{url}"' in body and f'hx-get="{url}"' in body
    assert 'href="/appointments/week/?host=all"' in body  # This week
    assert f'action="/appointments/week/?week={monday.isoformat()}&amp;host=all"' in body
    # The item's forms say where they are, the host included.
    assert f"?back=week&amp;day={monday.isoformat()}&amp;host=all" in body
    assert '<input type="hidden" name="host" value="all">' in body
    assert (
        "hx-vals='{&#34;host&#34;: &#34;all&#34;}'" in body or 'hx-vals=\'{"host": "all"}\'' in body
    )


def test_agenda_links_keep_the_host(manager, colleague, theirs, day):
    response = client_for(manager).get(AGENDA, {"from": day.isoformat(), "host": str(colleague.pk)})
    body = text(response)
    earlier = (day - timedelta(days=7)).isoformat()
    assert f'href="/appointments/?from={earlier}&amp;host={colleague.pk}"' in body
    assert f'href="/appointments/?host={colleague.pk}"' in body  # From today
    assert f"?back=agenda&amp;day={day.isoformat()}&amp;host={colleague.pk}" in body


def test_cancel_goes_back_to_the_same_host_choice(manager, colleague, theirs, monday):
    url = reverse("appointments:cancel", args=[theirs.pk])
    place = {"back": "week", "day": monday.isoformat(), "host": "all"}
    response = client_for(manager).post(url, place)
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/week/?week={monday.isoformat()}&host=all"
    theirs.refresh_from_db()
    assert theirs.status == "cancelled"


def test_htmx_changes_answer_the_same_host_choice(manager, colleague, theirs, monday, day):
    client = client_for(manager)
    mark = reverse("appointments:mark", args=[theirs.pk])
    place = {"back": "week", "day": monday.isoformat(), "host": "all"}
    response = client.post(mark, {**place, "status": "confirmed"}, headers=HX)
    assert response.status_code == 200 and shown(response, theirs)
    assert selected_host(response, "week-host") == "all"
    # A move sent with errors comes back on the page it came from, with their appointment.
    move = reverse("appointments:move", args=[theirs.pk])
    prefix = f"move-{theirs.pk}"
    sent = {**place, "back": "agenda", "host": str(colleague.pk), f"{prefix}-start": "nonsense"}
    response = client.post(move, sent, headers=HX)
    assert response.status_code == 422 and shown(response, theirs)
    assert selected_host(response, "agenda-host") == str(colleague.pk)
    # The move page (without JavaScript) goes back to the same choice.
    response = client.get(move, place)
    assert f'href="/appointments/week/?week={monday.isoformat()}&amp;host=all"' in text(response)


def test_a_salespersons_host_in_a_form_is_ignored_too(
    seller, colleague, theirs, shared_lead, monday
):
    start = at(monday + timedelta(days=3), 9)
    own = AppointmentFactory(
        lead=shared_lead, by=seller, start=start, end=start + timedelta(hours=1)
    )
    url = reverse("appointments:cancel", args=[own.pk])
    place = {"back": "week", "day": monday.isoformat(), "host": str(colleague.pk)}
    response = client_for(seller).post(url, place, headers=HX)
    assert response.status_code == 200
    assert shown(response, own) and not shown(response, theirs)


# --- booking from the week -------------------------------------------------------------------


def booking(lead, start: datetime, end: datetime, **more: str) -> dict[str, str]:
    return {
        "new-lead": lead.slug,
        "new-start": typed(start),
        "new-end": typed(end),
        "new-note": "",
        **{f"new-{k}": v for k, v in more.items()},
    }


def test_manager_books_for_another_host(manager, colleague, shared_lead, day, monday):
    client = client_for(manager)
    page = text(client.get(WEEK, {"week": monday.isoformat(), "host": "all"}))
    assert '<label for="id_new-host">Host' in page
    assert f'<option value="{manager.pk}" selected>' in page.split('id="id_new-host"')[1]
    url = f"{WEEK}?week={monday.isoformat()}&host=all"
    response = client.post(
        url, booking(shared_lead, at(day, 9), at(day, 10), host=str(colleague.pk))
    )
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/week/?week={monday.isoformat()}&host=all"
    booked = Appointment.objects.get()
    assert booked.host == colleague and booked.lead == shared_lead
    # With HTMX: the week again, of the same hosts, the new one in it, its host named.
    response = client.post(
        url, booking(shared_lead, at(day, 11), at(day, 12), host=str(colleague.pk)), headers=HX
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == f"/appointments/week/?week={monday.isoformat()}&host=all"
    later = Appointment.objects.get(start=at(day, 11))
    assert later.host == colleague and shown(response, later)
    assert "Host: Second Salesperson" in text(response)


def test_manager_books_for_themselves_by_default(manager, shared_lead, day, monday):
    client = client_for(manager)
    response = client.post(
        WEEK, booking(shared_lead, at(day, 9), at(day, 10), host=str(manager.pk))
    )
    assert response.status_code == 302
    assert Appointment.objects.get().host == manager


def test_booking_for_another_host_checks_that_hosts_time(manager, colleague, theirs, day):
    lead = theirs.lead
    sent = booking(lead, at(day, 10, 30), at(day, 11, 30), host=str(colleague.pk))
    response = client_for(manager).post(f"{WEEK}?host={colleague.pk}", sent, headers=HX)
    assert response.status_code == 422
    assert "Appointment schedule exists for this time." in text(response)
    assert selected_host(response, "week-host") == str(colleague.pk)
    # The manager's own time is free.
    sent["new-host"] = str(manager.pk)
    assert client_for(manager).post(WEEK, sent).status_code == 302


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_manager_booking_for_no_active_user_is_refused(manager, colleague, shared_lead, day, value):
    if value == "999999":
        colleague.is_active = False
        colleague.save(update_fields=["is_active"])
        value = str(colleague.pk)
    sent = booking(shared_lead, at(day, 9), at(day, 10), host=value)
    response = client_for(manager).post(WEEK, sent, headers=HX)
    assert response.status_code == 422
    assert 'id="id_new-host_error"' in text(response)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("role", ["salesperson", "jr_salesperson"])
def test_salesperson_cannot_pick_a_host(users, colleague, shared_lead, day, role):
    user = users[role]
    lead = LeadFactory(by=users["sales_manager"], owner=user, assignee=user)
    client = client_for(user)
    assert 'name="new-host"' not in text(client.get(WEEK))
    sent = booking(lead, at(day, 9), at(day, 10), host=str(colleague.pk))
    response = client.post(f"{WEEK}?host={colleague.pk}", sent)
    assert response.status_code == 302
    assert "host=" not in response["Location"]
    assert Appointment.objects.get().host == user  # their own, whatever was sent


# --- the reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("bounded", [True, False])
@pytest.mark.parametrize("everyone", [True, False])
def test_the_compiled_read_is_its_queryset_for_every_role(
    users, colleague, role, bounded, everyone
):
    """``calendar_list`` compiles ``calendar_by`` once per role and shape: each role's
    visibility still decides, and the host filter holds."""
    manager = users[Role.SALES_MANAGER]
    soon = timezone.now() + timedelta(days=2)
    for i, host in enumerate([*users.values(), colleague]):
        for j, owner in enumerate((host, None, manager)):
            lead = LeadFactory(by=manager, owner=owner)
            start = soon + timedelta(hours=i, minutes=10 * j)
            AppointmentFactory(
                lead=lead, by=manager, host=host, start=start, end=start + timedelta(minutes=5)
            )
    actor = Actor(user=users[role])
    host_id = None if everyone else colleague.pk
    start = timezone.now()
    end = start + timedelta(days=30) if bounded else None
    got = selectors.calendar_list(actor=actor, host_id=host_id, start=start, end=end, limit=50)
    want = list(selectors.calendar_by(actor=actor, host_id=host_id, start=start, end=end)[:50])
    assert [(a.pk, str(a.lead), str(a.host)) for a in got] == [
        (a.pk, str(a.lead), str(a.host)) for a in want
    ]
    assert got or (
        role == Role.JR_SALESPERSON and not everyone
    )  # sees none of the colleague's leads
    if not everyone:
        assert all(a.host_id == colleague.pk for a in got)


# --- pinned query counts ----------------------------------------------------------------------


def grow(manager, hosts, day: date, n: int) -> None:
    """``n`` appointments on ``day``, half-hour each from 6:00, hosts taking turns, on leads
    of their own."""
    leads = {h.pk: LeadFactory(by=manager, owner=h, first_name=f"Lead of {h}") for h in hosts}
    for i in range(n):
        host = hosts[i % len(hosts)]
        start = at(day, 6, 0) + timedelta(minutes=30 * i)
        AppointmentFactory(
            lead=leads[host.pk], by=manager, host=host, start=start,
            end=start + timedelta(minutes=30), note=f"Meeting {i}",
        )  # fmt: skip


# session, user, the active users (the "Host" filter, and the booking's host on the week), the
# appointments joined to their leads and hosts; on the week, + the leads one may book on
PAGE_QUERIES = {WEEK: ("week", 5), AGENDA: ("from", 4)}


@pytest.mark.parametrize("n", [2, 10])
@pytest.mark.parametrize("host", ["all", "colleague"])
@pytest.mark.parametrize("url", [WEEK, AGENDA])
def test_team_calendar_query_count(
    manager, seller, colleague, day, django_assert_num_queries, n, host, url
):
    grow(manager, [colleague, seller] if host == "all" else [colleague], day, n)
    value = "all" if host == "all" else str(colleague.pk)
    client = client_for(manager)
    key, queries = PAGE_QUERIES[url]
    with django_assert_num_queries(queries):
        response = client.get(url, {key: day.isoformat(), "host": value})
    assert text(response).count('class="appt appt-') == n


@pytest.mark.parametrize("n", [2, 10])
def test_a_salespersons_week_with_a_host_costs_as_before(
    seller, colleague, day, django_assert_num_queries, n
):
    grow(seller, [seller], day, n)
    client = client_for(seller)
    # session, user, the week's own appointments joined to their leads, the leads one may book on
    with django_assert_num_queries(4):
        response = client.get(WEEK, {"week": day.isoformat(), "host": "all"})
    assert text(response).count('class="appt appt-') == n


def test_a_move_without_javascript_goes_back_to_the_same_host_choice(
    manager, colleague, theirs, monday
):
    client = client_for(manager)
    url = reverse("appointments:move", args=[theirs.pk])
    place = {"back": "week", "day": monday.isoformat(), "host": "all"}
    page = text(client.get(url, place))
    assert '<input type="hidden" name="host" value="all">' in page
    later = theirs.start + timedelta(hours=3)
    data = {**place, f"move-{theirs.pk}-start": typed(later)}
    data[f"move-{theirs.pk}-end"] = typed(later + timedelta(hours=1))
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/week/?week={monday.isoformat()}&host=all"
