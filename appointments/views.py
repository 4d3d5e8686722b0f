"""Appointments in the salespeople's web app (SPEC §8): the lead page's appointments section,
the agenda, the week calendar, one appointment's ``.ics`` file and the secret calendar feed.

Move and cancel forms appear on three pages (lead, agenda, week); each form says where it is
(``back`` and ``day``, and on the team calendar ``host``), and the answer is that page again:
its fragment for HTMX, a redirect for a plain form, or the page with the form's errors (422).

The agenda and the week are the user's own appointments; managers (who may book for anyone,
``access.can_give``) choose whose with ``?host=``: their own (none), ``all`` (every host, each
appointment naming its host) or one active user's id. Anyone else's ``?host=`` is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django_htmx.http import push_url, trigger_client_event

from appointments import calendar, selectors, services
from appointments.forms import BookForm, LogForm, MoveForm, NewAppointmentForm, person_label
from appointments.models import Appointment, AppointmentStatus, CalendarFeed
from crm import filters
from crm import selectors as user_selectors
from crm.domain import Actor, Forbidden, NotFound, RuleViolation
from crm.models import User
from crm.web import (
    INVALID,
    AuthedRequest,
    HtmxHttpRequest,
    actor_of,
    add_domain_errors,
    is_fragment,
    plain,
    render_page,
)
from leads import access
from leads.models import Lead
from leads.views.common import lead_or_404

LEAD_SECTION = "appointments/lead_section.html"
LEAD_PAGE = "appointments/lead_page.html"
AGENDA = "appointments/agenda.html"
WEEK = "appointments/week.html"
FEED = "appointments/feed.html"
MOVE = "appointments/move.html"

LEAD_LIMIT = 100  # appointments listed on a lead's page (the latest)
AGENDA_LIMIT = 50  # appointments per agenda page (as many as the leads list shows)
WEEK_LIMIT = 500  # appointments shown in one week
BOOKABLE_LIMIT = 100  # leads offered by the week's booking form (a longer select is unusable)
FEED_DAYS_BACK = 30
FEED_LIMIT = 1000
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)  # days one may ask for

# The pages a move or cancel form can be on, each with the element its HTMX answers replace.
BACK_PAGES = {"lead": "#lead-appointments", "agenda": "#agenda", "week": "#week"}
# The client event of every HTMX answer to a change, for other parts of a page to listen to
# (``hx-trigger="appointmentsChanged from:body"``), e.g. the lead page's timeline.
CHANGED_EVENT = "appointmentsChanged"
# Statuses an appointment yet to start may be confirmed from; those nothing follows.
CONFIRMABLE = (AppointmentStatus.PENDING, AppointmentStatus.RESCHEDULED)
FINAL = (AppointmentStatus.CANCELLED, AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW)
# ``?host=`` of the team calendar: every host's appointments ("" or none: the user's own).
EVERYONE = "all"


@dataclass
class Row:
    """One appointment as a page shows it: may the user move and cancel it, and the move form
    the user sent with errors, if any (the others are fetched when the user opens "Move")."""

    appointment: Appointment
    can_change: bool
    move_form: MoveForm | None
    tz: tzinfo  # the current time zone, asked for once per page

    # What the item shows, worked out once per row here: a template filter per use costs more
    # than the rest of the item on a page of many appointments.
    @cached_property
    def start(self) -> datetime:
        return self.appointment.start.astimezone(self.tz)

    @cached_property
    def end(self) -> datetime:
        return self.appointment.end.astimezone(self.tz)

    @cached_property
    def when(self) -> str:
        """How the item's hidden labels name it, e.g. "Mon Nov 30, 14:00"."""
        return _day_and_time(self.start)

    @property
    def ends_another_day(self) -> bool:
        return self.end.date() != self.start.date()

    # The times as the item writes them: ``start`` and ``end`` are already in the current
    # time zone, so these are the ``iso`` and ``hm`` filters without asking for it again.
    @cached_property
    def start_iso(self) -> str:
        return self.start.isoformat()

    @cached_property
    def end_iso(self) -> str:
        return self.end.isoformat()

    @cached_property
    def start_hm(self) -> str:
        return f"{self.start:%H:%M}"

    @cached_property
    def end_hm(self) -> str:
        return f"{self.end:%H:%M}"

    @cached_property
    def started(self) -> bool:
        return self.appointment.start <= timezone.now()

    @property
    def can_confirm(self) -> bool:
        status = self.appointment.status
        return self.can_change and not self.started and status in CONFIRMABLE

    @property
    def can_mark_outcome(self) -> bool:
        status = self.appointment.status
        return self.can_change and self.started and status not in FINAL

    @property
    def can_cancel(self) -> bool:
        return self.can_change and self.appointment.status != AppointmentStatus.CANCELLED

    @cached_property
    def mark_url(self) -> str:
        return filters.url_of(self.appointment.pk, "appointments:mark")

    @cached_property
    def move_url(self) -> str:
        return filters.url_of(self.appointment.pk, "appointments:move")

    @cached_property
    def cancel_url(self) -> str:
        return filters.url_of(self.appointment.pk, "appointments:cancel")

    @cached_property
    def ics_url(self) -> str:
        return filters.url_of(self.appointment.pk, "appointments:ics")


@dataclass
class LeadSection:
    lead: Lead
    rows: list[Row]
    book_form: BookForm | None
    log_form: LogForm | None = None
    log_open: bool = False  # sent back with errors, or asked for without JavaScript
    back: str = "lead"


@dataclass(frozen=True)
class Place:
    """The page a move or cancel form was on, to answer with: ``back`` is one of BACK_PAGES,
    ``day`` the agenda's first day or the week's Monday, ``host`` its ``?host=`` (unchecked
    here: the page checks it again when it renders)."""

    back: str
    day: date
    host: str = ""


@dataclass(frozen=True)
class Hosts:
    """Whose appointments the agenda or the week shows. ``value`` is what ``?host=`` keeps
    in links ("" for the user's own, ``EVERYONE`` or a user's id), ``host_id`` the host shown
    (None: every host). Managers also get ``choices``, the "Host" filter's options, and
    ``people``, the active users they may book for; for anyone else both are empty."""

    value: str
    host_id: int | None
    choices: list[tuple[str, str]] = field(default_factory=list)
    people: list[User] = field(default_factory=list)

    @property
    def everyone(self) -> bool:
        return self.host_id is None

    def query(self, **params: str) -> str:
        """``params`` and this host choice as a query string ("" when there is nothing)."""
        params |= {"host": self.value} if self.value else {}
        return f"?{urlencode(params)}" if params else ""


@dataclass
class Day:
    day: date
    rows: list[Row] = field(default_factory=list)


# --- helpers ------------------------------------------------------------------------------


def _parse_day(value: str | None) -> date | None:
    try:
        day = date.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _starts(start: datetime) -> str:
    """A start as the pages name it, e.g. "Mon Nov 30, 14:00" (the server's time zone)."""
    return _day_and_time(timezone.localtime(start))


def _day_and_time(local: datetime) -> str:
    """``_starts`` of a time already in the current time zone."""
    return f"{filters.day(local.date(), 'D M j')}, {local:%H:%M}"


def _when(appointment: Appointment) -> str:
    """An appointment as the pages' messages name it, e.g. "Mon Nov 30, 14:00–14:30"."""
    return f"{_starts(appointment.start)}–{filters.hm(appointment.end)}"


def _place_query(back: str, day: date | None, host: str = "") -> str:
    """Where a move form is: the query of its address, the fields of its POST."""
    place = {"back": back, "day": f"{day:%Y-%m-%d}" if day else ""}
    return urlencode(place | ({"host": host} if host else {}))


def _hosts(actor: Actor, value: Any) -> Hosts:
    """Whose appointments to show for ``?host=value``. Only managers choose: for anyone else
    it is their own, whatever the value. A value that names no active user is ignored."""
    own = Hosts(value="", host_id=actor.user_id)
    if not access.can_give(actor):
        return own
    people = user_selectors.people()
    others = [p for p in people if p.pk != actor.user_id]
    choices = [("", "Me"), (EVERYONE, "Everyone")]
    choices += [(str(p.pk), person_label(p)) for p in others]
    if value == EVERYONE:
        return Hosts(value=EVERYONE, host_id=None, choices=choices, people=people)
    chosen = next((p for p in others if str(p.pk) == value), None)
    if chosen is None:
        return Hosts(value="", host_id=actor.user_id, choices=choices, people=people)
    return Hosts(value=value, host_id=chosen.pk, choices=choices, people=people)


def _shown(
    actor: Actor, hosts: Hosts, start: datetime, end: datetime | None, limit: int
) -> list[Appointment]:
    """The first ``limit`` appointments from ``start`` (to ``end``) of the host(s) shown: the
    user's own through ``hosted_list``, as before; another's or everyone's on the leads the
    user may see, each with its host."""
    if hosts.host_id == actor.user_id:
        return selectors.hosted_list(actor=actor, start=start, end=end, limit=limit)
    return selectors.calendar_list(
        actor=actor, host_id=hosts.host_id, start=start, end=end, limit=limit
    )


def _can_change(actor: Actor, appointment: Appointment) -> bool:
    return appointment.status != AppointmentStatus.CANCELLED and access.can_change_appointment(
        actor, appointment
    )


def _rows(
    actor: Actor, appointments: Iterable[Appointment], move_forms: dict[int, MoveForm] | None
) -> list[Row]:
    rows = []
    tz = timezone.get_current_timezone()
    for appointment in appointments:
        can_change = _can_change(actor, appointment)
        form = (move_forms or {}).get(appointment.pk) if can_change else None
        rows.append(Row(appointment, can_change, form, tz))
    return rows


def _appointment_or_404(actor: Actor, pk: int) -> Appointment:
    """An appointment on a live lead the user can see: on the web pages a deleted lead's
    appointments are unknown, as the lead is (the agenda, week and feed leave them out too)."""
    try:
        appointment = selectors.appointment_for_actor(actor, pk)
    except NotFound:
        raise Http404("No such appointment.") from None
    if appointment.lead.is_deleted:
        raise Http404("No such appointment.")
    return appointment


def _lead_url(request: HtmxHttpRequest, appointment: Appointment) -> str:
    return request.build_absolute_uri(reverse("leads:detail", args=[appointment.lead.slug]))


def _changed(response: HttpResponse, appointment: Appointment) -> HttpResponse:
    return trigger_client_event(
        response, CHANGED_EVENT, {"appointment": appointment.pk, "lead": appointment.lead.slug}
    )


# --- the lead page's section --------------------------------------------------------------


def lead_section_context(
    request: AuthedRequest,
    lead: Lead,
    *,
    book_form: BookForm | None = None,
    log_form: LogForm | None = None,
    move_forms: dict[int, MoveForm] | None = None,
) -> dict[str, Any]:
    """What ``appointments/lead_section.html`` needs, for the lead page that includes it."""
    actor = actor_of(request)
    log_open = log_form is not None or request.GET.get("log") == "1"
    if not lead.is_deleted and access.can_write_activity(actor, lead):
        book_form = book_form or BookForm(prefix="book")
        log_form = log_form or LogForm(prefix="log")
    appointments = selectors.lead_appointments(lead=lead, limit=LEAD_LIMIT)
    section = LeadSection(
        lead=lead, rows=_rows(actor, appointments, move_forms), book_form=book_form,
        log_form=log_form, log_open=log_open,
    )  # fmt: skip
    return {"appointment_section": section, "place_query": _place_query("lead", None)}


def _render_lead(
    request: AuthedRequest, lead: Lead, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """The section alone for HTMX; otherwise a page of its own around it (the no-JavaScript
    answer to a booking with errors)."""
    context = lead_section_context(request, lead, **forms)
    if is_fragment(request):
        return render(request, f"{LEAD_SECTION}#section", context, status=status)
    return render(request, LEAD_PAGE, {"lead": lead, **context}, status=status)


def _add_on_lead(
    request: AuthedRequest,
    lead: Lead,
    form: BookForm | LogForm,
    add: Callable[..., Appointment],
    said: str,
    form_name: str,
) -> HttpResponse:
    """Book or log an appointment on the lead with ``add`` (a service) from ``form``; the
    section again, or the form with the service's refusals next to its fields."""
    if form.is_valid():
        try:
            appointment = add(actor=actor_of(request), lead=lead, **form.cleaned_data)
        except Forbidden as exc:
            raise PermissionDenied(plain(exc.message)) from None
        except (RuleViolation, ValidationError) as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, said.format(when=_when(appointment)))
            if not is_fragment(request):
                return redirect(reverse("leads:detail", args=[lead.slug]) + "#lead-appointments")
            return _changed(_render_lead(request, lead), appointment)
    return _render_lead(request, lead, **{form_name: form}, status=INVALID)


@require_http_methods(["GET", "POST"])
@login_required
def lead_appointments(request: AuthedRequest, slug: str) -> HttpResponse:
    """GET: the lead's appointments; POST: book one."""
    lead = lead_or_404(request, slug)
    if request.method == "GET":
        return _render_lead(request, lead)
    form = BookForm(request.POST, prefix="book")
    said = "Appointment booked for {when}."
    return _add_on_lead(request, lead, form, services.appointment_create, said, "book_form")


@require_POST
@login_required
def lead_log(request: AuthedRequest, slug: str) -> HttpResponse:
    """Log a meeting with the lead that already happened (Fulfilled)."""
    lead = lead_or_404(request, slug)
    form = LogForm(request.POST, prefix="log")
    said = "Meeting of {when} logged."
    return _add_on_lead(request, lead, form, services.appointment_log, said, "log_form")


# --- the agenda ---------------------------------------------------------------------------


def _days(rows: list[Row]) -> list[Day]:
    return [
        Day(day=day, rows=list(group)) for day, group in groupby(rows, key=lambda r: r.start.date())
    ]


def _agenda_url(first_day: date | None, hosts: Hosts) -> str:
    """The agenda from ``first_day`` (from today without one), of the same host(s)."""
    day = {"from": f"{first_day:%Y-%m-%d}"} if first_day else {}
    return reverse("appointments:agenda") + hosts.query(**day)


def _render_agenda(
    request: AuthedRequest,
    first_day: date,
    *,
    host: str = "",
    status: int = 200,
    move_forms: dict[int, MoveForm] | None = None,
) -> HttpResponse:
    actor = actor_of(request)
    hosts = _hosts(actor, host)
    found = _shown(actor, hosts, _midnight(first_day), None, AGENDA_LIMIT + 1)
    later = None
    if len(found) > AGENDA_LIMIT:
        # Page by whole days: the next page starts on the first day not shown in full.
        later = timezone.localdate(found[AGENDA_LIMIT].start)
        shown = [a for a in found[:AGENDA_LIMIT] if timezone.localdate(a.start) < later]
        if shown:
            found = shown
        else:  # one day with more than a page of appointments
            found, later = found[:AGENDA_LIMIT], later + timedelta(days=1)
    today = timezone.localdate()
    later = later if later and later <= LATEST else None
    context = {
        "first_day": first_day,
        "today": today,
        "days": _days(_rows(actor, found, move_forms)),
        "later_url": _agenda_url(later, hosts) if later else None,
        "earlier_url": _agenda_url(max(first_day - timedelta(days=7), EARLIEST), hosts),
        "today_url": _agenda_url(None, hosts),
        "hosts": hosts,
        "back": "agenda",
        "back_day": first_day,
        "back_host": hosts.value,
        "place_query": _place_query("agenda", first_day, hosts.value),
    }
    return render_page(request, AGENDA, context, partial="agenda", status=status)


@require_GET
@login_required
def agenda(request: AuthedRequest) -> HttpResponse:
    """The user's own appointments from ``?from=YYYY-MM-DD`` (today by default) on, by day;
    for managers, those of ``?host=`` (see the module's docstring)."""
    first_day = _parse_day(request.GET.get("from")) or timezone.localdate()
    return _render_agenda(request, first_day, host=request.GET.get("host", ""))


# --- the week calendar --------------------------------------------------------------------


def _new_appointment_form(
    request: AuthedRequest, leads: list[tuple[str, str]], hosts: Hosts, data: Any = None
) -> NewAppointmentForm:
    """The week's booking form: with a "Host" choice (the user by default) for managers."""
    return NewAppointmentForm(
        data, prefix="new", leads=leads, hosts=hosts.people, host=actor_of(request).user
    )


def _render_week(
    request: AuthedRequest,
    monday: date,
    *,
    host: str = "",
    status: int = 200,
    create_form: NewAppointmentForm | None = None,
    move_forms: dict[int, MoveForm] | None = None,
) -> HttpResponse:
    actor = actor_of(request)
    hosts = _hosts(actor, host)
    start, end = _midnight(monday), _midnight(monday + timedelta(days=7))
    found = _shown(actor, hosts, start, end, WEEK_LIMIT + 1)
    more = len(found) > WEEK_LIMIT
    by_day = {d.day: d for d in _days(_rows(actor, found[:WEEK_LIMIT], move_forms))}
    days = [
        by_day.get(day) or Day(day=day) for day in (monday + timedelta(days=i) for i in range(7))
    ]
    if create_form is None:
        leads = selectors.bookable_leads(actor=actor, limit=BOOKABLE_LIMIT)
        create_form = _new_appointment_form(request, leads, hosts) if leads else None
    this_week = _monday(timezone.localdate())
    context = {
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "days": days,
        "today": timezone.localdate(),
        "previous_url": _week_url(max(monday - timedelta(days=7), EARLIEST), hosts.value),
        "next_url": _week_url(min(monday + timedelta(days=7), LATEST), hosts.value),
        "this_week_url": reverse("appointments:week") + hosts.query(),
        "is_this_week": monday == this_week,
        "more": more,
        "week_limit": WEEK_LIMIT,
        "hosts": hosts,
        "create_form": create_form,
        "book_url": _week_url(monday, hosts.value),
        "bookable_limit": BOOKABLE_LIMIT,
        "back": "week",
        "back_day": monday,
        "back_host": hosts.value,
        "place_query": _place_query("week", monday, hosts.value),
    }
    return render_page(request, WEEK, context, partial="week", status=status)


def _week_url(monday: date, host: str = "") -> str:
    """The week of ``monday``, of the host(s) ``host`` names (a ``?host=`` value)."""
    query = {"week": f"{monday:%Y-%m-%d}"} | ({"host": host} if host else {})
    return f"{reverse('appointments:week')}?{urlencode(query)}"


@require_http_methods(["GET", "POST"])
@login_required
def week(request: AuthedRequest) -> HttpResponse:
    """GET: the user's appointments of the week of ``?week=YYYY-MM-DD`` (this week by default),
    Monday first (for managers, those of ``?host=``, see the module's docstring); POST: book
    one on a lead the user chooses (managers also choose its host)."""
    monday = _monday(_parse_day(request.GET.get("week")) or timezone.localdate())
    host = request.GET.get("host", "")
    if request.method == "GET":
        return _render_week(request, monday, host=host)
    actor = actor_of(request)
    hosts = _hosts(actor, host)
    leads = selectors.bookable_leads(actor=actor, limit=BOOKABLE_LIMIT)
    form = _new_appointment_form(request, leads, hosts, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.appointment_create(
                actor=actor,
                lead=access.lead_for_actor(actor, slug=data["lead"]),
                start=data["start"],
                end=data["end"],
                note=data["note"],
                host=data.get("host"),  # managers' choice; the user's own without one
            )
        except Forbidden as exc:
            raise PermissionDenied(plain(exc.message)) from None
        except (NotFound, RuleViolation, ValidationError) as exc:  # NotFound: deleted meanwhile
            add_domain_errors(form, exc)
        else:
            hosted_by = "" if appointment.host_id == actor.user_id else f" ({appointment.host})"
            messages.success(
                request,
                f"Appointment with {appointment.lead} booked for {_when(appointment)}{hosted_by}.",
            )
            booked = _monday(timezone.localdate(appointment.start))
            url = _week_url(booked, hosts.value)
            if not is_fragment(request):
                return redirect(url)
            page = _render_week(request, booked, host=hosts.value)
            return _changed(push_url(page, url), appointment)
    return _render_week(request, monday, host=hosts.value, create_form=form, status=INVALID)


# --- move and cancel, from any of the three pages -----------------------------------------


def _place(request: AuthedRequest) -> Place:
    sent = request.POST if request.method == "POST" else request.GET
    back = sent.get("back")
    day = _parse_day(sent.get("day"))
    host = sent.get("host", "")
    if back not in BACK_PAGES or (back != "lead" and day is None):
        return Place(back="agenda", day=timezone.localdate(), host=host)
    return Place(back=back, day=day or timezone.localdate(), host=host)


def _answer(
    request: AuthedRequest,
    place: Place,
    appointment: Appointment,
    *,
    status: int = 200,
    move_forms: dict[int, MoveForm] | None = None,
) -> HttpResponse:
    """The page the form was on, again (its fragment for HTMX)."""
    if place.back == "lead":
        lead = appointment.lead
        if lead.is_deleted:
            raise Http404("No such lead.")
        return _render_lead(request, lead, status=status, move_forms=move_forms)
    if place.back == "week":
        monday = _monday(place.day)
        return _render_week(request, monday, host=place.host, status=status, move_forms=move_forms)
    return _render_agenda(request, place.day, host=place.host, status=status, move_forms=move_forms)


def _done(request: AuthedRequest, place: Place, appointment: Appointment) -> HttpResponse:
    """After a successful change: the updated fragment for HTMX; a redirect (PRG) otherwise."""
    if is_fragment(request):
        return _changed(_answer(request, place, appointment), appointment)
    return redirect(_place_url(place, appointment))


def _place_url(place: Place, appointment: Appointment) -> str:
    if place.back == "lead":
        return reverse("leads:detail", args=[appointment.lead.slug]) + "#lead-appointments"
    # The page's host choice as it came: the page checks it again (a salesperson's is ignored).
    if place.back == "week":
        return _week_url(_monday(place.day), place.host)
    query = {"from": f"{place.day:%Y-%m-%d}"} | ({"host": place.host} if place.host else {})
    return f"{reverse('appointments:agenda')}?{urlencode(query)}"


@require_http_methods(["GET", "POST"])
@login_required
def move(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the form for an appointment's new times (alone for HTMX, which fetches it when the
    user opens "Move"; a page of its own otherwise). POST: move it; the timeline records the
    previous times."""
    actor = actor_of(request)
    appointment = _appointment_or_404(actor, pk)
    place = _place(request)
    if request.method == "GET":
        if not _can_change(actor, appointment):
            raise PermissionDenied("You may not move this appointment.")
        form = MoveForm(
            prefix=f"move-{pk}", initial={"start": appointment.start, "end": appointment.end}
        )
        form.fields["start"].widget.attrs["autofocus"] = True  # where the user goes on typing
        context = {
            "a": appointment,
            "form": form,
            "back": place.back,
            "back_day": place.day if place.back != "lead" else None,
            "back_host": place.host if place.back != "lead" else "",
            "target": BACK_PAGES[place.back] if is_fragment(request) else None,
            "back_url": _place_url(place, appointment),
        }
        return render_page(request, MOVE, context, partial="move_form")
    form = MoveForm(request.POST, prefix=f"move-{pk}")
    if form.is_valid():
        try:
            services.appointment_update(
                actor=actor, appointment=appointment, changes=form.cleaned_data
            )
        except Forbidden as exc:
            raise PermissionDenied(plain(exc.message)) from None
        except (RuleViolation, ValidationError) as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, f"Appointment moved to {_when(appointment)}.")
            return _done(request, place, appointment)
    return _answer(request, place, appointment, status=INVALID, move_forms={pk: form})


MARKED = {
    AppointmentStatus.CONFIRMED: "confirmed",
    AppointmentStatus.FULFILLED: "marked fulfilled",
    AppointmentStatus.NO_SHOW: "marked no-show",
    AppointmentStatus.CANCELLED: "cancelled",
}


def _change_status(request: AuthedRequest, pk: int, status: str) -> HttpResponse:
    """Cancel (with the reason given) or mark the appointment; a refusal (it was cancelled
    meanwhile, has not started yet) is told as a message."""
    actor = actor_of(request)
    appointment = _appointment_or_404(actor, pk)
    place = _place(request)
    try:
        if status == AppointmentStatus.CANCELLED:
            reason = request.POST.get("reason", "")
            services.appointment_cancel(actor=actor, appointment=appointment, reason=reason)
        else:
            services.appointment_mark(actor=actor, appointment=appointment, status=status)
    except Forbidden as exc:
        raise PermissionDenied(plain(exc.message)) from None
    except RuleViolation as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Appointment of {_when(appointment)} {MARKED[status]}.")
    return _done(request, place, appointment)


@require_POST
@login_required
def cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    return _change_status(request, pk, AppointmentStatus.CANCELLED)


@require_POST
@login_required
def mark(request: AuthedRequest, pk: int) -> HttpResponse:
    """Confirm an appointment to come, or mark one that has started Fulfilled or No-show."""
    return _change_status(request, pk, request.POST.get("status", ""))


# --- calendar files -----------------------------------------------------------------------


def _ics(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type=calendar.CONTENT_TYPE)
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
@login_required
def appointment_ics(request: AuthedRequest, pk: int) -> HttpResponse:
    """One appointment (on a lead the user can see) as an ``.ics`` file to download."""
    appointment = _appointment_or_404(actor_of(request), pk)
    response = _ics(calendar.calendar([appointment], lead_url=lambda a: _lead_url(request, a)))
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


def _feed_url(request: HtmxHttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("appointments:feed-ics", args=[token]))


def _render_feed(request: AuthedRequest, calendar_feed: CalendarFeed) -> HttpResponse:
    url = _feed_url(request, calendar_feed.token)
    context = {
        "feed": calendar_feed,
        "feed_url": url,
        "webcal_url": "webcal://" + url.split("://", 1)[1],
        "days_back": FEED_DAYS_BACK,
    }
    return render_page(request, FEED, context, partial="feed")


@require_GET
@login_required
def feed(request: AuthedRequest) -> HttpResponse:
    """The user's secret calendar address (made on the first visit)."""
    return _render_feed(request, services.calendar_feed_for(user=request.user))


@require_POST
@login_required
def feed_reset(request: AuthedRequest) -> HttpResponse:
    """A new secret address; the old one stops working."""
    new = services.calendar_feed_reset(user=request.user)
    messages.success(
        request, "Your calendar has a new secret address; the old one no longer works."
    )
    if not is_fragment(request):
        return redirect("appointments:feed")
    return _render_feed(request, new)


@require_safe
def feed_ics(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The calendar feed: no session, the secret token in the address is the credential. The
    user's own appointments from FEED_DAYS_BACK days ago on, cancelled ones marked so."""
    try:
        found = selectors.calendar_feed_by_token(token)
    except NotFound:
        raise Http404("No such calendar.") from None
    user = found.user
    since = timezone.now() - timedelta(days=FEED_DAYS_BACK)
    appointments = selectors.hosted_list(actor=Actor(user=user), start=since, limit=FEED_LIMIT)
    body = calendar.calendar(
        appointments,
        name=f"Appointments of {user}",
        lead_url=lambda a: _lead_url(request, a),
    )
    response = _ics(body)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
