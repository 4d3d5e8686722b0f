"""Appointments as iCalendar (RFC 5545): one appointment's ``.ics`` file and a user's feed.

Times are written in UTC; each appointment keeps one UID for life, so a calendar app that
subscribed to the feed updates (moves, cancels) the event it already has instead of adding one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from icalendar import Calendar, Event

from appointments.models import Appointment, AppointmentStatus

PRODID = "-//Lead CRM//Appointments//EN"
UID_DOMAIN = "lead-crm"
CONTENT_TYPE = "text/calendar; charset=utf-8"

STATUS = {
    AppointmentStatus.CANCELLED: "CANCELLED",
    AppointmentStatus.CONFIRMED: "CONFIRMED",
}
OTHER_STATUS = "TENTATIVE"


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@{UID_DOMAIN}"


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def event(appointment: Appointment, *, lead_url: str | None = None) -> Event:
    """One appointment as a VEVENT (its ``lead`` loaded)."""
    item = Event()
    item.add("uid", uid(appointment))
    item.add("dtstamp", _utc(appointment.updated_at))
    item.add("created", _utc(appointment.created_at))
    item.add("last-modified", _utc(appointment.updated_at))
    item.add("dtstart", _utc(appointment.start))
    item.add("dtend", _utc(appointment.end))
    item.add("summary", f"Appointment with {appointment.lead}")
    if appointment.note:
        item.add("description", appointment.note)
    item.add("status", STATUS.get(appointment.status, OTHER_STATUS))
    if lead_url:
        item.add("url", lead_url)
    return item


def calendar(
    appointments: Iterable[Appointment],
    *,
    name: str | None = None,
    lead_url: Callable[[Appointment], str] | None = None,
) -> bytes:
    """A VCALENDAR of ``appointments``; ``lead_url(appointment)`` gives each event's link."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("x-wr-calname", name)
    for appointment in appointments:
        cal.add_component(event(appointment, lead_url=lead_url(appointment) if lead_url else None))
    return cal.to_ical()
