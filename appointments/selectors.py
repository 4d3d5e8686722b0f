from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet
from django.utils import timezone

from appointments.models import (
    Appointment,
    AppointmentStatus,
    AppointmentWeekCount,
    CalendarFeed,
)
from crm.compiled import CompiledRead, Statement, marker
from crm.domain import Actor, NotFound
from crm.models import USER_NAME_COLUMNS, User
from leads.access import (
    activity_filter,
    manages_activity,
    on_visible_leads,
    sees_all,
    visible_leads,
)
from leads.models import DELETED_STATUS, Lead, lead_name
from leads.selectors import TextFilter


class AppointmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AppointmentStatus.choices)
    lead = TextFilter(field_name="lead__first_name", lookup_expr="iexact", max_length=255)
    slug = TextFilter(field_name="lead__slug", max_length=255)

    class Meta:
        model = Appointment
        fields: list[str] = []


# A listed appointment: all of it, and of its lead what names and links it (its
# ``select_related`` lead, whose other columns, custom fields included, stay unread).
LISTED_COLUMNS = (
    *(field.name for field in Appointment._meta.concrete_fields),
    *(f"lead__{name}" for name in (*Lead.NAME_COLUMNS, "status_id")),
)


def appointment_list(
    *, actor: Actor, filters: dict, day: date | None = None, relation: str = "on"
) -> QuerySet[Appointment]:
    """Appointments on the leads ``actor`` can see, optionally starting ``on``, ``before`` or
    ``after`` a day (in the server's time zone). Raises ``ValidationError`` on bad filters."""
    from django.core.exceptions import ValidationError

    qs = Appointment.objects.alive().filter(on_visible_leads(actor))
    if day is not None:
        begin = timezone.make_aware(datetime.combine(day, time.min))
        if relation == "before":
            qs = qs.filter(start__lt=begin)
        elif day == date.max:  # no day after the last one
            qs = qs.filter(start__gte=begin) if relation == "on" else qs.none()
        else:
            end = begin + timedelta(days=1)
            qs = (
                qs.filter(start__gte=end)
                if relation == "after"
                else qs.filter(start__gte=begin, start__lt=end)
            )
    fs = AppointmentFilter(filters, queryset=qs)
    if not fs.is_valid():
        raise ValidationError({k: list(v) for k, v in fs.errors.items()})
    return fs.qs.select_related("lead", "host").order_by("start", "id")


def appointment_for_actor(actor: Actor, pk: int) -> Appointment:
    """An appointment on a lead the actor can see; ``NotFound`` otherwise."""
    try:
        return (
            Appointment.objects.alive()
            .select_related("lead", "host")
            .filter(on_visible_leads(actor, include_deleted=True))
            .get(pk=pk)
        )
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise NotFound("Appointment not found.", code="appointment_not_found") from None


def hosted_between(*, user, start: datetime, end: datetime | None = None) -> QuerySet[Appointment]:
    """The user's own (hosted) live appointments starting in [start, end), cancelled ones
    included, oldest first, with their leads."""
    qs = (
        Appointment.objects.alive()
        .filter(host=user, start__gte=start)
        .exclude(lead__status_id=DELETED_STATUS)
    )
    if end is not None:
        qs = qs.filter(start__lt=end)
    return qs.select_related("lead").only(*LISTED_COLUMNS).order_by("start", "id")


DASHBOARD_LIMIT = 21  # the dashboard shows 20, and one more tells there are more
_dashboard_agenda = CompiledRead(
    Appointment,
    lambda host, start, end: hosted_between(user=host, start=start, end=end)[:DASHBOARD_LIMIT],
    host=int,
    start=datetime,
    end=datetime,
)


def dashboard_agenda(*, user_id: int, start: datetime, end: datetime) -> list[Appointment]:
    """``hosted_between``'s first ``DASHBOARD_LIMIT`` rows: the dashboard's read, compiled
    once (crm.compiled)."""
    return _dashboard_agenda(host=user_id, start=start, end=end)


@functools.cache
def _lead_appointments(limit: int) -> CompiledRead:
    return CompiledRead(
        Appointment,
        lambda lead_id: (
            Appointment.objects.alive()
            .filter(lead_id=lead_id)
            .select_related("host")
            .order_by("-start", "-id")[:limit]
        ),
        lead_id=int,
    )


def lead_appointments(*, lead: Lead, limit: int) -> list[Appointment]:
    """The lead's live appointments (cancelled ones included) with their hosts, oldest first;
    the latest ``limit`` when there are more. Compiled once per limit (crm.compiled)."""
    latest = _lead_appointments(limit)(lead_id=lead.pk)
    for appointment in latest:
        appointment.lead = lead  # as the lead's related manager would give them
    return latest[::-1]


def hosted_by(*, actor: Actor, start: datetime, end: datetime | None = None) -> QuerySet:
    """The actor's own (hosted) live appointments starting in [start, end) on leads the actor
    can see, cancelled ones included, oldest first, with their leads."""
    qs = Appointment.objects.alive().filter(
        on_visible_leads(actor), host_id=actor.user_id, start__gte=start
    )
    if end is not None:
        qs = qs.filter(start__lt=end)
    return qs.select_related("lead").only(*LISTED_COLUMNS).order_by("start", "id")


# The pages' reads of an actor's appointments and leads depend on the actor's role (its
# visibility rules shape the statement) and id: compiled once per role (crm.compiled), with
# a stand-in user of that role whose id is a marker.
@functools.cache
def _hosted_read(role: str, bounded: bool, limit: int) -> CompiledRead:
    def build(user_id: int, start: datetime, end: datetime | None = None) -> QuerySet:
        stand_in = Actor(user=User(pk=user_id, role=role))
        return hosted_by(actor=stand_in, start=start, end=end)[:limit]

    kinds = {"user_id": int, "start": datetime} | ({"end": datetime} if bounded else {})
    return CompiledRead(Appointment, build, **kinds)


def hosted_list(
    *, actor: Actor, start: datetime, end: datetime | None = None, limit: int
) -> list[Appointment]:
    """The first ``limit`` of ``hosted_by``, read through a statement compiled once per role."""
    if actor.user is None:
        return list(hosted_by(actor=actor, start=start, end=end)[:limit])
    read = _hosted_read(actor.role, end is not None, limit)
    bounds = {"end": end} if end is not None else {}
    return read(user_id=actor.user_id, start=start, **bounds)


# ``LISTED_COLUMNS`` and of the host what names it: the team calendar shows whose each is.
LISTED_WITH_HOST = (*LISTED_COLUMNS, *(f"host__{name}" for name in USER_NAME_COLUMNS))


def calendar_by(
    *, actor: Actor, host_id: int | None, start: datetime, end: datetime | None = None
) -> QuerySet:
    """The live appointments on leads the actor can see starting in [start, end), of the host
    ``host_id`` or, with None, of every host (the team calendar of managers), cancelled ones
    included, oldest first, with their leads and hosts. Everyone's is a range of the start
    index joined to the leads; one host's a range of the (host, start) index."""
    qs = Appointment.objects.alive().filter(on_visible_leads(actor), start__gte=start)
    if host_id is not None:
        qs = qs.filter(host_id=host_id)
    if end is not None:
        qs = qs.filter(start__lt=end)
    return qs.select_related("lead", "host").only(*LISTED_WITH_HOST).order_by("start", "id")


@functools.cache
def _calendar_read(role: str, bounded: bool, everyone: bool, limit: int) -> CompiledRead:
    """``calendar_by`` compiled once per role and shape; the user's id is a value of it only
    for a role whose visibility depends on who asks."""
    personal = not sees_all(Actor(user=User(role=role)))

    def build(
        start: datetime,
        end: datetime | None = None,
        host_id: int | None = None,
        user_id: int | None = None,
    ) -> QuerySet:
        stand_in = Actor(user=User(pk=user_id, role=role))
        return calendar_by(actor=stand_in, host_id=host_id, start=start, end=end)[:limit]

    kinds: dict[str, type] = {"start": datetime}
    kinds |= {"end": datetime} if bounded else {}
    kinds |= {} if everyone else {"host_id": int}
    kinds |= {"user_id": int} if personal else {}
    return CompiledRead(Appointment, build, **kinds)


def calendar_list(
    *,
    actor: Actor,
    host_id: int | None,
    start: datetime,
    end: datetime | None = None,
    limit: int,
) -> list[Appointment]:
    """The first ``limit`` of ``calendar_by``, read through a statement compiled once per role
    and shape (one host or everyone, bounded or not)."""
    if actor.user is None:
        return list(calendar_by(actor=actor, host_id=host_id, start=start, end=end)[:limit])
    read = _calendar_read(actor.role, end is not None, host_id is None, limit)
    values: dict[str, Any] = {"start": start}
    if end is not None:
        values["end"] = end
    if host_id is not None:
        values["host_id"] = host_id
    if not sees_all(actor):
        values["user_id"] = actor.user_id
    return read(**values)


def bookable_leads(*, actor: Actor, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` live leads the actor may book appointments on, as (slug, name) by name:
    for those who book on any lead the most recently updated ones, for the others the ones they
    worked last (``_latest_worked_names``, never a walk through other users' leads). Only the
    name's columns are read, into tuples: a page offers them all."""
    if manages_activity(actor):
        leads = visible_leads(actor).filter(activity_filter(actor))
        rows = leads.order_by("-updated_at", "-id").values_list("id", *Lead.NAME_COLUMNS)[:limit]
    else:
        rows = _latest_worked_names(actor, limit)
    named = [(lead_name(*columns), pk, columns[0]) for pk, *columns in rows]
    named.sort(key=lambda row: (row[0].casefold(), row[1]))
    return [(slug, name) for name, _pk, slug in named]


_USER = marker(int)  # stands for the user's id in a statement compiled per role


@functools.cache
def _latest_worked_statement(role: str, limit: int) -> Statement | None:
    """``_latest_worked_names``' statement for a role, to bind with the user's id; None for
    a role that books on no lead at all."""
    stand_in = Actor(user=User(pk=_USER, role=role))
    leads = visible_leads(stand_in).filter(activity_filter(stand_in))
    newest = leads.order_by("-last_activity_at", "-id").values_list(
        "id", *Lead.NAME_COLUMNS, "last_activity_at"
    )
    try:
        parts = [
            newest.filter(**{field: _USER})[:limit].query.sql_with_params()
            for field in ("owner_id", "assignee_id")
        ]
    except EmptyResultSet:
        return None
    # Each limited part in a FROM (as SQLite wants it); UNION drops a lead in both.
    activity = len(Lead.NAME_COLUMNS) + 2  # the position of last_activity_at
    sql = " UNION ".join(f"SELECT * FROM ({part}) AS part{i}" for i, (part, _) in enumerate(parts))
    sql += f" ORDER BY {activity} DESC, 1 DESC LIMIT {int(limit)}"
    return Statement.of(sql, (*parts[0][1], *parts[1][1]), user_id=_USER)


def _latest_worked_names(actor: Actor, limit: int) -> list[tuple]:
    """(id, *``Lead.NAME_COLUMNS``) of the ``limit`` leads the actor may book on that it owns
    or is assigned with the latest activity: the ``limit`` newest of each index range
    (owner's, assignee's), merged in one statement, so only those rows are read."""
    statement = _latest_worked_statement(actor.role, limit)
    if statement is None:
        return []
    with connections[router.db_for_read(Lead)].cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(user_id=actor.user_id))
        return [row[:-1] for row in cursor.fetchall()]


def calendar_feed_by_token(token: str) -> CalendarFeed:
    """The calendar feed with this secret token, of an active user; ``NotFound`` otherwise."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token=token, user__is_active=True)
        .first()
    )
    if feed is None:
        raise NotFound("Calendar not found.", code="calendar_not_found")
    return feed


def appointment_list_columns(
    *,
    actor: Actor,
    filters: dict,
    day: date | None = None,
    relation: str = "on",
    columns: tuple[str, ...],
) -> QuerySet[Appointment]:
    """``appointment_list`` reading only ``columns`` of each row (what a list's representation
    shows, lookups across relations included). Raises ``ValidationError`` on bad filters."""
    qs = appointment_list(actor=actor, filters=filters, day=day, relation=relation)
    return qs.only(*columns)


def appointments_per_week(
    *, host_id: int, since: date, statuses: tuple[str, ...]
) -> dict[tuple[date, str], int]:
    """Live appointments of a host (0: every host) starting from the week of ``since`` (a
    Monday) on, by (week, status), for ``statuses``: from the weekly rollup, not the
    appointments (at most weeks x statuses rows)."""
    rows = AppointmentWeekCount.objects.filter(
        host_id=host_id, week__gte=since, status__in=statuses, n__gt=0
    ).values_list("week", "status", "n")
    return {(week, status): n for week, status, n in rows}
