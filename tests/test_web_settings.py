"""The Settings page (email, time zone, reminders, morning agenda), reached from the user's name
in the header, and pages in the user's time zone while the APIs keep the server's."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from appointments.models import Appointment
from crm.web import UserTimeZoneMiddleware
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"


def valid(**changes) -> dict:
    return {
        "email": "seller@example.com",
        "time_zone": LA,
        "remind_minutes": "60",
        "morning_agenda": "on",
        **changes,
    }


def test_the_users_name_in_the_header_leads_to_settings(web, salesperson):
    html = web(salesperson).get("/").content.decode()
    link = html.split('<div class="whoami">')[1].split("</a>")[0]
    assert 'href="/settings/"' in link and "Settings: " in link


def test_settings_are_saved_and_shown_again(web, salesperson):
    client = web(salesperson)
    page = client.get("/settings/").content.decode()
    for label in ("Email", "Time zone", "Appointment reminders", "Morning agenda"):
        assert f">{label}" in page
    assert '<option value="30" selected>30 minutes before</option>' in page  # the default
    response = client.post("/settings/", valid())
    assert response.status_code == 302 and response["Location"] == "/settings/"
    salesperson.refresh_from_db()
    assert (
        salesperson.email,
        salesperson.time_zone,
        salesperson.remind_minutes,
        salesperson.morning_agenda,
    ) == ("seller@example.com", LA, 60, True)
    page = client.get("/settings/").content.decode()
    assert f'<option value="{LA}" selected>{LA}</option>' in page
    client.post("/settings/", valid(remind_minutes="", time_zone="", morning_agenda=""))
    salesperson.refresh_from_db()
    assert (salesperson.remind_minutes, salesperson.time_zone) == (None, "")
    assert not salesperson.morning_agenda


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "US/Pacific"}, "time_zone"),  # a legacy alias
        ({"email": "not-an-email"}, "email"),
        ({"remind_minutes": "7"}, "remind_minutes"),
        ({"remind_minutes": "abc"}, "remind_minutes"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_saved(web, salesperson, changes, field):
    response = web(salesperson).post("/settings/", valid(**changes))
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in response.content.decode()
    salesperson.refresh_from_db()
    assert (salesperson.time_zone, salesperson.email) == ("", "")


def test_pages_take_and_show_times_in_the_users_time_zone(web, salesperson):
    """09:00 booked in Los Angeles in winter is 17:00 UTC; the week and the agenda show 09:00."""
    salesperson.time_zone = LA
    salesperson.save(update_fields=["time_zone"])
    lead = LeadFactory(owner=salesperson, first_name="Ada", last_name="Lee")
    day = dt.date(timezone.now().year + 1, 1, 12)  # winter: UTC-8
    client = web(salesperson)
    response = client.post(
        f"/leads/{lead.slug}/appointments/",
        {"book-start": f"{day}T09:00", "book-end": f"{day}T09:30", "book-status": "pending"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    booked = Appointment.objects.get()
    assert booked.start == dt.datetime.combine(day, dt.time(17), tzinfo=dt.UTC)
    monday = day - dt.timedelta(days=day.weekday())
    week = client.get(f"/appointments/week/?week={monday}").content.decode()
    assert "09:00" in week and "17:00" not in week
    agenda = client.get(f"/appointments/?from={day}").content.decode()
    assert "09:00" in agenda and "17:00" not in agenda


def test_a_day_ends_at_midnight_in_the_users_time_zone(web, salesperson):
    """An appointment at 23:30 in Los Angeles (07:30 UTC the next day) is on the week's day it
    falls on there."""
    salesperson.time_zone = LA
    salesperson.save(update_fields=["time_zone"])
    lead = LeadFactory(owner=salesperson)
    zone = zoneinfo.ZoneInfo(LA)
    day = dt.datetime.now(zone).date() + dt.timedelta(days=14)
    start = dt.datetime.combine(day, dt.time(23, 30), tzinfo=zone)
    AppointmentFactory(lead=lead, by=salesperson, start=start, end=start + dt.timedelta(minutes=20))
    monday = day - dt.timedelta(days=day.weekday())
    week = web(salesperson).get(f"/appointments/week/?week={monday}").content.decode()
    section = week.split(f'id="week-{day}"')[1].split("</section>")[0]
    assert "23:30" in section


@pytest.mark.parametrize(
    ("path", "zone"),
    [
        ("/leads/", LA),
        ("/api/v1/leads/list/", settings.TIME_ZONE),
        ("/pubapi/v1/", settings.TIME_ZONE),
        ("/api/service/lead_set", settings.TIME_ZONE),
    ],
)
def test_pages_use_the_users_zone_and_the_apis_the_servers(salesperson, path, zone):
    salesperson.time_zone = LA
    seen = []

    def view(request):
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    request = RequestFactory().get(path)
    request.user = salesperson
    UserTimeZoneMiddleware(view)(request)
    assert seen == [zone]
    # The next request of the thread, of nobody, is in the server's zone again.
    anonymous = RequestFactory().get("/accounts/login/")
    from django.contrib.auth.models import AnonymousUser

    anonymous.user = AnonymousUser()
    UserTimeZoneMiddleware(view)(anonymous)
    assert seen[-1] == settings.TIME_ZONE
