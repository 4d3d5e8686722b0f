"""Reads shared by the web UI and the APIs. Filters live here (django-filter) so the HTML list
and every API list run the same query."""

from __future__ import annotations

import functools
import re
from collections import namedtuple
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import connections, models
from django.db.models import F, Func, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower, RowNumber
from django.db.models.lookups import Contains
from django.utils import timezone
from django.utils.text import capfirst
from django_filters.fields import IsoDateTimeField

from appointments.models import Appointment
from crm import pagination
from crm.compiled import CompiledRead, Statement, marker
from crm.domain import NOT_A_CHOICE, Actor, NotFound
from crm.models import USER_NAME_COLUMNS, User, user_name
from crm.pagination import bounded_count, keyset_page
from leads import access, rollup, timeline
from leads.access import visible_leads
from leads.models import (
    DELETED_STATUS,
    MERGE_FIELDS,
    CallLog,
    Campaign,
    Event,
    Field,
    Lead,
    LeadCount,
    LeadFile,
    LeadNote,
    LeadWeekCount,
    ListMembership,
    Source,
    Status,
    Tag,
    Task,
    lead_name,
)
from leads.rules import MERGE_ONLY_IF_CHOSEN, MERGE_OTHER, merge_default, normalize_phone
from leads.search import COLUMNS as SEARCH_COLUMNS
from leads.search import lead_search_text, search_terms

LIST_TYPES = ("owned", "assigned", "all")


# An RFC 3339 date-time (OpenAPI's ``date-time``): ``2024-05-01T09:30:00Z``, ``...+02:00``.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class StorableIsoDateTimeField(IsoDateTimeField):
    """An RFC 3339 date-time, in UTC. An instant outside the years 1 to 9999 in UTC (the year
    1 at +14:00) is the first or last one the database stores: a bound past every lead."""

    def to_python(self, value):
        if isinstance(value, str) and value:
            if not RFC3339.fullmatch(value):
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            value = value.upper()
        value = super().to_python(value)
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                first, last = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
                value = first if value.year == 1 else last
        return value


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = StorableIsoDateTimeField


TEXT = 255  # longest text filter: SQLite refuses LIKE patterns over 50,000 bytes


class TextField(forms.CharField):
    """A text filter's value, whose ``max_length`` counts it as sent, whitespace around it
    included (what the OpenAPI ``maxLength`` says), before it is trimmed."""

    def to_python(self, value):
        if isinstance(value, str) and self.max_length is not None:
            MaxLengthValidator(self.max_length)(value)
        return super().to_python(value)


class TextFilter(django_filters.CharFilter):
    field_class = TextField


class SearchText(Func):
    """What the leads search reads of a lead, as one text (``leads.search.lead_search_text``):
    its name, email, company and city without accents and upper-cased, then the digits of its
    phone numbers. On PostgreSQL the column ``search_folded`` that the SQL function
    ``crm_lead_search`` fills, with its trigram index ``lead_search_column_trgm`` (migrations
    0023 and 0024); on SQLite the Python function, registered on each connection."""

    function = "crm_lead_search"
    output_field = models.TextField()

    def __init__(self) -> None:
        super().__init__(*(F(column) for column in SEARCH_COLUMNS))

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        """The lead's stored ``search_folded`` column, which the database computes with
        ``crm_lead_search`` when the lead is written (migration 0024_lead_search_column):
        computing it again for each row a search reads cost 20 times as much."""
        alias = self.get_source_expressions()[0].alias  # the leads table's alias in the query
        quote = connection.ops.quote_name
        return f"{compiler.quote_name(alias)}.{quote('search_folded')}", []


def register_sqlite_search(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: give a SQLite connection the search's ``crm_lead_search``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SearchText.function,
            len(SEARCH_COLUMNS),
            lead_search_text,
            deterministic=True,
        )


def search_filter(value: str) -> list[Contains]:
    """The conditions of a leads search: each of its words (``leads.search.search_terms``)
    is in the lead's ``SearchText``. ``LIKE '%WORD%'`` on the folded text: the trigram index
    answers it on PostgreSQL."""
    return [Contains(SearchText(), term) for term in search_terms(value)]


class LeadFilter(django_filters.FilterSet):
    campaign_slug = TextFilter(field_name="campaign__slug", max_length=TEXT)
    first_name = TextFilter(lookup_expr="iexact", max_length=TEXT)
    last_name = TextFilter(lookup_expr="iexact", max_length=TEXT)
    email = TextFilter(lookup_expr="iexact", max_length=TEXT)
    phone = TextFilter(method="filter_phone", max_length=TEXT)
    status = TextFilter(field_name="status_id", max_length=TEXT)
    source = TextFilter(field_name="source_id", max_length=TEXT)
    owner = TextFilter(field_name="owner__username", max_length=TEXT)
    assignee = TextFilter(field_name="assignee__username", max_length=TEXT)
    search = TextFilter(method="filter_search", max_length=TEXT)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("id", "id"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("email", "email"),
            ("status", "status"),
        )
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def get_form_class(self):
        """The form of this FilterSet class, made once: its fields follow from the class's
        filters alone (django-filter makes a new form class for every request)."""
        cls = type(self)
        form = cls.__dict__.get("_form_class")
        if form is None:
            form = cls._form_class = super().get_form_class()
        return form

    def filter_phone(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(phone=normalize_phone(value))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(*search_filter(value))


@functools.lru_cache(maxsize=512)
def _filters_of(names: frozenset[str]) -> type[LeadFilter]:
    """``LeadFilter`` with only the filters ``names``: a FilterSet copies each of its filters
    (and their form fields) for every request, though a request gives two or three."""
    narrowed = type("LeadFilter", (LeadFilter,), {})
    # After the class is made: its metaclass sets base_filters from every declared filter.
    narrowed.base_filters = {k: f for k, f in LeadFilter.base_filters.items() if k in names}
    return narrowed


def lead_list(
    *, actor: Actor, list_type: str | None, filters: dict, columns: Iterable[str] = ()
) -> QuerySet[Lead]:
    """Leads for a list: ``list_type`` narrows to owned (default), assigned, or all visible;
    with ``columns``, only those are read (a list of 50 columns pays for each of them in
    every row).

    Raises ``django.core.exceptions.ValidationError`` for filter values that do not parse.
    """
    from django.core.exceptions import ValidationError

    qs = visible_leads(actor)
    list_type = list_type or "owned"
    if list_type not in LIST_TYPES:
        raise ValidationError({"list_type": [NOT_A_CHOICE.format(list_type)]})
    if list_type == "owned":
        qs = qs.filter(owner_id=actor.user_id)
    elif list_type == "assigned":
        qs = qs.filter(assignee_id=actor.user_id)
    given = frozenset(
        name for name in LeadFilter.base_filters if filters.get(name) not in (None, "")
    )
    if given:
        fs = _filters_of(given)(filters, queryset=qs)
        if not fs.is_valid():
            raise ValidationError({k: list(v) for k, v in fs.errors.items()})
        qs = fs.qs
    if not qs.query.order_by:
        qs = qs.order_by("-id")
    qs = qs.select_related("owner", "assignee")
    return qs.only(*columns) if columns else qs


def lead_detail_queryset(*, appointments: bool = True) -> QuerySet[Lead]:
    """A lead with its people and live notes (and live appointments unless the caller reads
    them itself, as the web page's appointments section does)."""
    prefetches: list[Prefetch] = [
        Prefetch(
            "notes",
            queryset=LeadNote.objects.filter(deleted_at__isnull=True).select_related(
                "author", "api_key"
            ),
        )
    ]
    if appointments:
        prefetches.append(
            Prefetch(
                "appointments",
                queryset=Appointment.objects.alive().select_related("host", "lead"),
            )
        )
    return Lead.objects.select_related("owner", "assignee").prefetch_related(*prefetches)


# --- counts, from the rollup (leads.rollup) --------------------------------------------------

# Filters the rollup answers; any other filter with a value is counted by reading rows.
ROLLUP_FILTERS = frozenset({"status", "source", "owner", "assignee", "campaign_slug"})
NOT_FILTERS = frozenset({"ordering"})


@dataclass(frozen=True)
class LeadCounts:
    """Live leads by status key and by source key ("" for none)."""

    by_status: dict[str, int]
    by_source: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


Term = tuple[int, int, int]  # (sign, rollup scope, user id)


def _visible_terms(actor: Actor, list_type: str) -> list[Term] | None:
    """The rollup rows (signed) whose sum counts the leads of ``list_type`` the actor sees."""
    if list_type == "owned":
        return [(1, rollup.OWNER, actor.user_id or rollup.NOBODY)]
    if list_type == "assigned":
        return [(1, rollup.ASSIGNEE, actor.user_id)] if actor.user_id else None
    return access.visibility_terms(actor)


def _narrowed(terms: list[Term], uid: int | None, owner: int | None, assignee: int | None):
    """``terms`` narrowed to an owner and/or an assignee (user ids), or None when no rollup
    rows count that. The visible sets are: everything, owned by ``uid``, assigned to ``uid``,
    or owned-or-assigned (with or without the pool)."""
    everything = terms == [(1, rollup.ALL, rollup.NOBODY)]
    owned_by_me = terms == [(1, rollup.OWNER, uid)]
    assigned_to_me = terms == [(1, rollup.ASSIGNEE, uid)]
    if owner is not None and assignee is not None:
        if owner == assignee and (everything or uid == owner):
            return [(1, rollup.OWNER_ASSIGNEE, owner)]
        return None
    if owner is not None:
        if everything:
            return [(1, rollup.OWNER, owner)]
        if owner == uid:  # every set the user sees holds all the leads it owns
            return [(1, rollup.OWNER_ASSIGNEE, uid)] if assigned_to_me else [(1, rollup.OWNER, uid)]
        return [] if owned_by_me else None
    if everything:
        return [(1, rollup.ASSIGNEE, assignee)]
    if assignee == uid:
        return [(1, rollup.OWNER_ASSIGNEE, uid)] if owned_by_me else [(1, rollup.ASSIGNEE, uid)]
    return [] if assigned_to_me else None


def _user_id(username: str) -> int:
    return User.objects.filter(username=username).values_list("pk", flat=True).first() or -1


@functools.cache
def _rollup_rows(scopes: tuple[int, ...]) -> CompiledRead:
    """The live rollup rows of a campaign (``rollup.ANY_CAMPAIGN`` for all) for (scope, user)
    pairs, the scopes fixed (the read's shape) and the users given as ``user0``, ``user1``...
    with the ``campaign``: one compiled read per tuple of scopes."""

    def build(campaign: int, **users: int) -> QuerySet[LeadCount]:
        which = Q()
        for i, scope in enumerate(scopes):
            which |= Q(scope=scope, user_id=users[f"user{i}"])
        return (
            LeadCount.objects.filter(which, campaign_id=campaign)
            .exclude(status_id=DELETED_STATUS)
            .values_list("scope", "user_id", "status_id", "source_id", "n")
        )

    return CompiledRead(
        LeadCount, build, campaign=int, **{f"user{i}": int for i in range(len(scopes))}
    )


def _rollup_sums(
    terms: list[Term], *, campaign: int, status: str | None = None, source: str | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Live leads by status and by source for ``terms`` in a campaign, from the rollup: a few
    dozen rows (statuses x sources per term), summed here with their signs, which is cheaper
    than asking the database to group them. The ``status`` and ``source`` filters are applied
    to those rows here too, so the read has one shape per tuple of scopes (compiled once)."""
    signs = {(scope, user): sign for sign, scope, user in terms}
    users = {f"user{i}": user for i, (_scope, user) in enumerate(signs)}
    read = _rollup_rows(tuple(scope for scope, _user in signs))
    by_status: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for scope, user, status_id, source_id, n in read(campaign=campaign, **users):
        if (status and status_id != status) or (source and source_id != source):
            continue
        n *= signs[(scope, user)]
        by_status[status_id] = by_status.get(status_id, 0) + n
        by_source[source_id] = by_source.get(source_id, 0) + n
    return (
        {k: n for k, n in by_status.items() if n},
        {k: n for k, n in by_source.items() if n},
    )


def lead_counts(
    *, actor: Actor, list_type: str | None, filters: Mapping[str, Any]
) -> LeadCounts | None:
    """The live leads ``lead_list`` would give, counted by status and by source from the rollup
    (one query over a few dozen rows, whatever the number of leads), or None when a filter is
    one the rollup cannot answer (search, names, dates...)."""
    given = {
        k: v for k, v in filters.items() if k in LeadFilter.base_filters and v not in ("", None)
    }
    if set(given) - ROLLUP_FILTERS - NOT_FILTERS:
        return None
    list_type = list_type or "owned"
    terms = _visible_terms(actor, list_type) if list_type in LIST_TYPES else None
    if terms is None:
        return None
    owner = _user_id(given["owner"]) if "owner" in given else None
    assignee = _user_id(given["assignee"]) if "assignee" in given else None
    if owner is not None or assignee is not None:
        terms = _narrowed(terms, actor.user_id, owner, assignee)
        if terms is None:
            return None
    campaign = rollup.ANY_CAMPAIGN
    if "campaign_slug" in given:
        slug = given["campaign_slug"]
        campaign = Campaign.objects.filter(slug=slug).values_list("pk", flat=True).first() or -1
    if not terms or -1 in (owner, assignee):
        return LeadCounts({}, {})
    by_status, by_source = _rollup_sums(
        terms, campaign=campaign, status=given.get("status"), source=given.get("source")
    )
    return LeadCounts(by_status, by_source)


def lead_list_total(
    *, actor: Actor, list_type: str | None, filters: Mapping[str, Any]
) -> tuple[int | None, int]:
    """How many leads ``lead_list`` gives for these arguments, from the rollup when it
    answers the filters (None otherwise); and how many rows a count stops at when it does
    not: ``crm.pagination.SEARCH_COUNT_LIMIT`` for a search, ``COUNT_LIMIT`` otherwise."""
    counts = lead_counts(actor=actor, list_type=list_type, filters=filters)
    bound = pagination.SEARCH_COUNT_LIMIT if filters.get("search") else pagination.COUNT_LIMIT
    return (counts.total if counts is not None else None), bound


def lead_list_count(
    *, actor: Actor, list_type: str | None, filters: Mapping[str, Any], leads: QuerySet[Lead]
) -> tuple[int, bool]:
    """How many leads ``lead_list`` gave (``leads``, for the same arguments): ``(count,
    exact)``, by ``lead_list_total``: past its bound, ``exact`` is False."""
    total, bound = lead_list_total(actor=actor, list_type=list_type, filters=filters)
    return (total, True) if total is not None else bounded_count(leads, bound)


def overview(*, actor: Actor) -> dict:
    """Counts of visible leads by status (every active status, with zeros) and by source."""
    counts = lead_counts(actor=actor, list_type="all", filters={})
    statuses = _assignable_status_rows()
    sources = _active_source_rows()
    return {
        "status": [(s, counts.by_status.get(s.key, 0)) for s in statuses],
        "source": [(s, counts.by_source.get(s.key, 0)) for s in sources],
        "total": counts.total,
    }


def overview_appointments(*, actor: Actor, window: str) -> QuerySet:
    """Blocking appointments on visible leads in a window: upcoming, today, week or month."""
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    qs = (
        Appointment.objects.blocking().filter(access.on_visible_leads(actor)).select_related("lead")
    )
    if window == "upcoming":
        qs = qs.filter(start__gte=now)
    else:
        days = {"today": 1, "week": 7, "month": 31}[window]
        qs = qs.filter(start__gte=today, start__lt=today + timedelta(days=days))
    return qs.order_by("start", "id")[: settings.CRM["OVERVIEW_APPOINTMENTS_LIMIT"]]


# The choice lists every form and filter shows: fixed reads, compiled once (crm.compiled).
_assignable_statuses = CompiledRead(
    Status, lambda: Status.objects.assignable().values_list("key", "label")
)
_assignable_sources = CompiledRead(
    Source, lambda: Source.objects.assignable().values_list("key", "label")
)
# The overview's and the board's rows: the statuses and sources with their colours.
_assignable_status_rows = CompiledRead(Status, lambda: Status.objects.assignable())
_active_source_rows = CompiledRead(Source, lambda: Source.objects.filter(active=True))


def _choices_part(queryset: QuerySet, kind: str, value: str, label: str, extra: str, order: list):
    """One list of ``list_choices``' statement: (kind, value, label, extra, position)."""
    return (
        queryset.order_by()
        .annotate(
            kind=models.Value(kind),
            value=F(value),
            label_=F(label),
            extra=F(extra),
            position=models.Window(RowNumber(), order_by=order),
        )
        .values_list("kind", "value", "label_", "extra", "position")
    )


# The leads list's four choice lists, in one statement of four small reads: each list's
# order is its own row number, as a UNION keeps none.
_list_choices = CompiledRead(
    Status,
    lambda: (
        _choices_part(
            Status.objects.assignable(), "status", "key", "label", "label", ["order", "key"]
        )
        .union(
            _choices_part(
                Source.objects.all(), "source", "key", "label", "label", ["order", "key"]
            ),
            _choices_part(
                Campaign.objects.filter(active=True), "campaign", "slug", "name", "name", ["name"]
            ),
            _choices_part(
                User.objects.filter(is_active=True),
                "person",
                "username",
                "first_name",
                "last_name",
                ["username"],
            ),
            all=True,
        )
        .order_by("kind", "position")
    ),
)


@dataclass(frozen=True)
class ListChoices:
    """What the leads list's filters and bulk bar offer, each list in its order."""

    statuses: list[tuple[str, str]]  # (key, label) of the assignable statuses
    sources: list[tuple[str, str]]  # (key, label) of every source, those no longer given too
    campaigns: list[tuple[str, str]]  # (slug, name) of the active campaigns
    people: list[tuple[str, str, str]]  # (username, first name, last name) of active users


def list_choices() -> ListChoices:
    """The choice lists of the leads list, read in one statement."""
    lists: dict[str, list] = {"status": [], "source": [], "campaign": [], "person": []}
    for kind, value, label, extra, _position in _list_choices():
        lists[kind].append((value, label, extra))
    return ListChoices(
        statuses=[row[:2] for row in lists["status"]],
        sources=[row[:2] for row in lists["source"]],
        campaigns=[row[:2] for row in lists["campaign"]],
        people=lists["person"],
    )


def assignable_statuses() -> list[tuple[str, str]]:
    """(key, label) of the statuses a lead may be given: the active ones but ``deleted``."""
    return _assignable_statuses()


def assignable_sources() -> list[tuple[str, str]]:
    """(key, label) of the sources a lead may be given."""
    return _assignable_sources()


def campaigns_by_id(ids: Iterable[int]) -> dict[int, Campaign]:
    """The campaigns of these ids, by id: one query."""
    ids = set(ids)
    return {c.pk: c for c in Campaign.objects.filter(pk__in=ids)} if ids else {}


def events_of_visible_leads(actor: Actor) -> QuerySet[Event]:
    """The timeline events of the leads ``actor`` sees, deleted leads included."""
    return Event.objects.filter(lead__in=visible_leads(actor, include_deleted=True))


def list_memberships(actor: Actor, lead_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(lead id, list id) of these leads' list memberships, for the leads ``actor`` sees, by
    list."""
    visible = visible_leads(actor).filter(pk__in=list(lead_ids)).values_list("pk", flat=True)
    rows = ListMembership.objects.filter(lead_id__in=visible).order_by("list_id")
    return list(rows.values_list("lead_id", "list_id"))


def fields_in_order() -> QuerySet[Field]:
    """Every custom and standard field definition, in the administrators' order."""
    return Field.objects.order_by("order", "pk")


def active_custom_fields() -> list[Field]:
    return list(Field.objects.filter(is_custom=True, is_active=True))


def _mine(actor: Actor) -> Q:
    """Leads the actor works: owns or is assigned."""
    return Q(owner_id=actor.user_id) | Q(assignee_id=actor.user_id)


def latest_worked(user_id: int | None, limit: int) -> RawSQL:
    """The ids of the ``limit`` live leads the user owns and the ``limit`` it is assigned
    with the latest activity (``Lead.last_activity_at``): an index range each, which together
    hold the actor's ``limit`` most recently worked leads; never a walk through other users'
    leads. For ``filter(id__in=...)``."""
    live = Lead.objects.exclude(status_id=DELETED_STATUS).order_by("-last_activity_at", "-id")
    parts = [
        live.filter(**{field: user_id}).values("id")[:limit].query.sql_with_params()
        for field in ("owner_id", "assignee_id")
    ]
    # UNION ALL of two limited subqueries, each in a FROM (as SQLite wants it).
    return RawSQL(
        " UNION ALL ".join(
            f"SELECT id FROM ({sql}) AS mine{i}" for i, (sql, _) in enumerate(parts)
        ),
        tuple(param for _, params in parts for param in params),
    )


# What a timeline entry shows: the event, its lead's name and who did it.
EVENT_COLUMNS = (
    *("type", "created_at", "data", "lead_id", "actor_id", "api_key_id"),
    *(f"lead__{name}" for name in Lead.NAME_COLUMNS),
    *(f"actor__{name}" for name in USER_NAME_COLUMNS),
    *("api_key__name", "api_key__account_id"),
)


def _activity(user_id: int | None = None, *, limit: int) -> QuerySet[Event]:
    events = Event.objects.exclude(lead__status_id=DELETED_STATUS)
    if user_id is not None:
        events = events.filter(lead_id__in=latest_worked(user_id, limit))
    return (
        events.select_related("lead", "actor", "api_key")
        .only(*EVENT_COLUMNS)
        .order_by("-created_at", "-id")[:limit]
    )


ACTIVITY_LIMIT = 10
# The dashboard's reads, compiled once (crm.compiled): every role's dashboard runs one.
_all_activity = CompiledRead(Event, lambda: _activity(limit=ACTIVITY_LIMIT))
_my_activity = CompiledRead(
    Event, lambda user_id: _activity(user_id, limit=ACTIVITY_LIMIT), user_id=int
)


def recent_activity(*, actor: Actor) -> list[Event]:
    """The latest ``ACTIVITY_LIMIT`` timeline events on the live leads the actor works (owns
    or is assigned), or on every live lead for roles that see all.

    For all: the events newest first, stopping after the limit. For the actor's own leads:
    the events of its most recently worked leads (``latest_worked``), which hold the latest
    events of all the actor's leads.
    """
    if access.sees_all(actor):
        return _all_activity()
    return _my_activity(user_id=actor.user_id)


# --- tasks --------------------------------------------------------------------------------


def visible_tasks(actor: Actor) -> QuerySet[Task]:
    """The live tasks ``actor`` sees: those of the live leads it sees, and its own tasks of no
    lead (assigned to it or written by it)."""
    own = Q(lead__isnull=True) & (Q(assignee_id=actor.user_id) | Q(created_by_id=actor.user_id))
    of_leads = Q(lead__isnull=False) & access.on_visible_leads(actor)
    return Task.objects.live().filter(of_leads | own)


def task_for_actor(actor: Actor, pk: Any) -> Task:
    """A live task ``actor`` sees, with its lead and assignee; ``NotFound`` otherwise."""
    try:
        return visible_tasks(actor).select_related("lead", "assignee").get(pk=int(pk))
    except (Task.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound("Task not found.", code="task_not_found") from None


LEAD_TASKS_LIMIT = 30


def lead_tasks(lead: Lead, limit: int = LEAD_TASKS_LIMIT) -> tuple[list[Task], bool]:
    """The lead's live tasks, open ones first by due time, then the done ones, latest first:
    the first ``limit``, and whether there are more."""
    tasks = list(
        Task.objects.live()
        .filter(lead=lead)
        .select_related("assignee")
        .order_by(F("done_at").desc(nulls_first=True), "due", "id")[: limit + 1]
    )
    return tasks[:limit], len(tasks) > limit


def open_tasks(*, actor: Actor, until: datetime, limit: int = 50) -> list[Task]:
    """The actor's open tasks due before ``until`` (overdue ones included) that it still sees,
    by due time, with their leads: My day's list, read by a statement compiled once per role
    and limit (crm.compiled)."""
    return _open_tasks_read(actor.role, limit)(user_id=actor.user_id, until=until)


@functools.cache
def _open_tasks_read(role: str, limit: int) -> CompiledRead:
    def build(user_id: int, until: datetime) -> QuerySet[Task]:
        stand_in = Actor(user=User(pk=user_id, role=role))
        return (
            visible_tasks(stand_in)
            .filter(assignee_id=user_id, done_at__isnull=True, due__lt=until)
            .select_related("lead")
            .order_by("due", "id")[:limit]
        )

    return CompiledRead(Task, build, user_id=int, until=datetime)


# What a row of the leads table shows (and the sort keys its pages walk by).
TABLE_COLUMNS = (
    *("id", "slug", "first_name", "last_name", "email", "phone", "company", "created_at"),
    *("updated_at", "status_id", "status__label", "status__color", "owner_id"),
    *(f"{who}__{name}" for who in ("owner", "assignee") for name in USER_NAME_COLUMNS),
)


@dataclass(frozen=True, slots=True)
class TableRow:
    """A row of the leads table: read as plain columns (a page shows 50 leads, each with its
    status, owner and assignee), named as pages name leads and users."""

    pk: int
    slug: str
    name: str
    first_name: str
    email: str
    phone: str
    company: str
    created_at: datetime
    status_id: str
    status_label: str
    status_color: str
    owner: str | None  # the owner's name
    assignee: str | None  # the assignee's name
    owner_id: int | None = None  # what access.can_edit asks of a row

    def __str__(self) -> str:
        return self.name

    @classmethod
    def of(cls, row: Any) -> TableRow:
        def person(who: str) -> str | None:
            username = getattr(row, f"{who}__username")
            if username is None:
                return None
            first, last = getattr(row, f"{who}__first_name"), getattr(row, f"{who}__last_name")
            return user_name(username, first, last)

        return cls(
            pk=row.id,
            slug=row.slug,
            name=lead_name(row.slug, row.first_name, row.last_name, row.email),
            first_name=row.first_name,
            email=row.email,
            phone=row.phone,
            company=row.company,
            created_at=row.created_at,
            status_id=row.status_id,
            status_label=row.status__label,
            status_color=row.status__color,
            owner=person("owner"),
            assignee=person("assignee"),
            owner_id=row.owner_id,
        )


# Columns the web app's leads table sorts by, each walked by keyset pages on (column, id).
# Creation order is the id's: ids are given as leads are created and ``created_at`` never
# changes, and every filter's index (status, owner, assignee, live) already ends in the id.
TABLE_SORTS = {
    "created_at": "id",
    "updated_at": "updated_at",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "status": "status",
}


def lead_table(
    *,
    actor: Actor,
    list_type: str,
    filters: dict,
    ordering: str = "-created_at",
    after: str | None = None,
    before: str | None = None,
    size: int | None = None,
):
    """One keyset page of the leads table, as ``TableRow``: the filters of ``lead_list``,
    sorted by one of ``TABLE_SORTS`` (``-`` for descending), with status, owner and assignee
    joined; only the ``TABLE_COLUMNS`` are read.

    A search finds the page's ids first, then reads their rows: PostgreSQL plans a search
    afresh for each term (its rows depend on the term), and planning it with the three joins
    costs more than running it; the read by ids keeps one plan."""
    descending = ordering.startswith("-")
    field = TABLE_SORTS.get(ordering.lstrip("-"), "created_at")
    filters = {k: v for k, v in filters.items() if k != "ordering"}
    qs = lead_list(actor=actor, list_type=list_type, filters=filters)
    searching = bool(str(filters.get("search") or "").split())
    columns = dict.fromkeys(("id", Lead._meta.get_field(field).attname)) if searching else {}
    page = keyset_page(
        qs.values_list(*(columns or TABLE_COLUMNS), named=True),
        field=field,
        descending=descending,
        size=size or settings.CRM["LEADS_PAGE_SIZE"],
        after=after,
        before=before,
    )
    rows = page.rows
    if searching and rows:
        ids = [row.id for row in rows]
        size = max(len(ids), settings.CRM["LEADS_PAGE_SIZE"])
        padded = ids + ids[:1] * (size - len(ids))  # the first again: one statement a size
        found = _table_rows(size)(**{f"id{i}": pk for i, pk in enumerate(padded)})
        by_id = {values[0]: _TableValues._make(values) for values in found}
        rows = [by_id[pk] for pk in ids if pk in by_id]
    return replace(page, rows=[TableRow.of(row) for row in rows])


def lead_table_total(
    *, actor: Actor, list_type: str, filters: dict, page: tuple[int, int] | None = None
) -> tuple[int, bool]:
    """How many leads the table of these filters holds, ``(count, exact)``: from the rollup
    where it answers (one query over a few dozen rows), else counted up to a bound
    (``lead_list_count``); never a count that grows with the table.

    ``page``: ``(first row's number, rows)`` of the page shown, when more follow it. A search,
    whose count stops at ``SEARCH_COUNT_LIMIT``, is not counted when its page already holds
    that many rows: the count could say no more than the page's look-ahead row ("more than
    50"), and would cost a second search."""
    searching = bool(str(filters.get("search") or "").split())
    if searching and page and page[1] >= pagination.SEARCH_COUNT_LIMIT:
        return page[0] + page[1] - 1, False
    filters = {k: v for k, v in filters.items() if k != "ordering"}
    total, bound = lead_list_total(actor=actor, list_type=list_type, filters=filters)
    if total is not None:
        return total, True
    return bounded_count(lead_list(actor=actor, list_type=list_type, filters=filters), bound)


def last_matching_lead_id(*, actor: Actor, list_type: str, filters: dict) -> int:
    """The largest id of the leads of these filters (0 for none): where a "select all
    matching" batch stops, so leads created while it runs are left alone. One query."""
    filters = {k: v for k, v in filters.items() if k != "ordering"}
    leads = lead_list(actor=actor, list_type=list_type, filters=filters)
    return leads.order_by("-pk").values_list("pk", flat=True).first() or 0


def matching_lead_ids(
    *, actor: Actor, list_type: str, filters: dict, after: int, upto: int, limit: int
) -> list[int]:
    """The ids of the next ``limit`` leads of these filters with ``after < id <= upto``, in id
    order: one chunk of a "select all matching" batch, walked by id (no OFFSET). One query."""
    filters = {k: v for k, v in filters.items() if k != "ordering"}
    leads = lead_list(actor=actor, list_type=list_type, filters=filters)
    leads = leads.filter(pk__gt=after, pk__lte=upto).order_by("pk")
    return list(leads.values_list("pk", flat=True)[:limit])


_TableValues = namedtuple("_TableValues", TABLE_COLUMNS)  # as values_list(named=True) names them


@functools.cache
def _table_rows(size: int) -> CompiledRead:
    """The ``TABLE_COLUMNS`` of up to ``size`` leads by id, compiled once (crm.compiled): a
    search's page, whose ids were read first."""
    ids = {f"id{i}": int for i in range(size)}
    return CompiledRead(
        Lead, lambda **pks: Lead.objects.filter(pk__in=pks.values()).values_list(*TABLE_COLUMNS),
        **ids,
    )  # fmt: skip


# The CSV export's columns, in the order a person reads them (name, contact, company, status,
# source, people, address, dates; the lead's id last): header -> the lead's value. "owner" and
# "assignee" are the person's name; custom fields follow, headed by their labels. The headers
# are the import's own field names, so an exported file imports back with the guessed mapping.
EXPORT_COLUMNS = {
    "First name": "first_name",
    "Last name": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Mobile phone": "mobile_phone",
    "Office phone": "office_phone",
    "Company": "company",
    "Title": "title",
    "Status": "status__label",
    "Source": "source__label",
    "Owner": "owner",
    "Assignee": "assignee",
    "Campaign": "campaign__name",
    "Street": "street",
    "Address line 2": "address_2",
    "City": "city",
    "State": "state",
    "Zip code": "zipcode",
    "Country": "country",
    "Location": "location",
    "Website": "website",
    "Created": "created_at",
    "Updated": "updated_at",
    "ID": "slug",
}
_EXPORT_PEOPLE = ("owner", "assignee")


def lead_export_rows(*, actor: Actor, list_type: str, filters: dict):
    """Every lead of a filter as a list of ``EXPORT_COLUMNS`` values (the owner and assignee
    by name) then its custom field values (a dict), streamed from the database in chunks."""
    filters = {k: v for k, v in filters.items() if k != "ordering"}
    qs = lead_list(actor=actor, list_type=list_type, filters=filters).order_by("-created_at", "-id")
    columns: list[str] = []
    for column in EXPORT_COLUMNS.values():
        if column in _EXPORT_PEOPLE:
            columns += [f"{column}__{name}" for name in USER_NAME_COLUMNS]
        else:
            columns.append(column)
    for row in qs.values_list(*columns, "custom_fields").iterator(chunk_size=2000):
        values = iter(row)
        out: list = []
        for column in EXPORT_COLUMNS.values():
            if column in _EXPORT_PEOPLE:
                username, first, last = next(values), next(values), next(values)
                out.append("" if username is None else user_name(username, first, last))
            else:
                out.append(next(values))
        out.append(next(values))
        yield out


@dataclass(frozen=True, slots=True)
class Card:
    """A pipeline card: what the board shows of a lead, and what its move controls ask
    (``access.can_edit`` reads ``owner_id``). The board holds hundreds of cards, so they are
    read as plain rows rather than as leads with their owner and assignee."""

    pk: int
    slug: str
    name: str
    company: str
    status_id: str
    owner_id: int | None
    owner: str | None  # the owner's name
    assignee: str | None  # the assignee's name

    def __str__(self) -> str:
        return self.name


CARD_COLUMNS = (
    *("id", "status_id", "owner_id", "company", *Lead.NAME_COLUMNS),
    *(f"{who}__{name}" for who in ("owner", "assignee") for name in USER_NAME_COLUMNS),
)


def _card(row: tuple) -> Card:
    pk, status_id, owner_id, company, slug, first, last, email, *people = row
    owner = user_name(*people[:3]) if people[0] is not None else None
    assignee = user_name(*people[3:]) if people[3] is not None else None
    return Card(pk, slug, lead_name(slug, first, last, email), company, status_id, owner_id,
                owner, assignee)  # fmt: skip


def pipeline(
    *, actor: Actor, list_type: str, per_status: int = 50
) -> list[tuple[Status, int, list[Card]]]:
    """The board: each active status with its count and its newest ``per_status`` leads.

    Queries: the statuses, the counts (from the rollup), then the cards: one index range scan
    per status that stops after ``per_status`` rows, all in one UNION ALL statement
    (``_newest_per_status``). Neither the number of statements nor the rows read follow the
    number of leads.
    """
    statuses = _assignable_status_rows()
    leads = lead_list(actor=actor, list_type=list_type, filters={}).order_by()
    counts = lead_counts(actor=actor, list_type=list_type, filters={}).by_status
    by_status: dict[str, list[Card]] = {s.key: [] for s in statuses}
    for row in _newest_per_status(leads, [s.key for s in statuses], per_status):
        by_status[row[1]].append(_card(row))
    for column in by_status.values():
        column.sort(key=lambda card: card.pk, reverse=True)  # a union keeps no order
    return [(s, counts.get(s.key, 0), by_status[s.key]) for s in statuses]


_STATUS = marker(str)  # stands for a status key in the compiled column


def _newest_per_status(leads: QuerySet[Lead], keys: list[str], per_status: int) -> list[tuple]:
    """``CARD_COLUMNS`` of the ``per_status`` newest of ``leads`` in each status of ``keys``,
    in one UNION ALL statement of one index range scan per status. The ORM compiles one
    column's query (the compiling, not the database, is what a board of six columns paid
    most for), which is then repeated with each status in its place."""
    column = leads.order_by("-id").values_list(*CARD_COLUMNS).filter(status_id=_STATUS)
    try:
        part = Statement.of(*column[:per_status].query.sql_with_params(), status=_STATUS)
    except EmptyResultSet:  # the actor sees no lead at all
        return []
    if not keys:
        return []
    union = " UNION ALL ".join(f"SELECT * FROM ({part.sql}) AS c{i}" for i in range(len(keys)))
    values = [value for key in keys for value in part.bind(status=key)]
    with connections[column.db].cursor() as cursor:
        cursor.execute(union, values)
        return cursor.fetchall()


# --- duplicates (CSV import) --------------------------------------------------------------

# The lead fields the duplicate rules compare.
DUPLICATE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "mobile_phone",
    "street",
    "zipcode",
    "city",
)
DUPLICATE_KINDS = {
    "email": "same email",
    "name_phone": "same name and phone",
    "name_address": "same name and address",
}


@dataclass(frozen=True)
class Duplicate:
    """What a candidate lead duplicates: an existing lead, or an earlier candidate (``row``,
    its index), and by which rule (a key of ``DUPLICATE_KINDS``)."""

    kind: str
    lead: Lead | None = None
    row: int | None = None

    @property
    def reason(self) -> str:
        return DUPLICATE_KINDS[self.kind]


def _fold(value: Any) -> str:
    """Case and spacing do not make two values different."""
    return " ".join(str(value or "").lower().split())


def duplicate_keys(values: Mapping[str, Any]) -> dict[str, set[tuple]]:
    """The keys under which a lead (field values, model names) counts as a duplicate of another:
    its email, case-insensitive; its name with each of its phone numbers; its name with its
    street and zip code, and with its street and city. Two leads sharing a key are duplicates."""
    keys: dict[str, set[tuple]] = {kind: set() for kind in DUPLICATE_KINDS}
    email = _fold(values.get("email"))
    if email:
        keys["email"].add((email,))
    name = (_fold(values.get("first_name")), _fold(values.get("last_name")))
    if not any(name):
        return keys
    for field in ("phone", "mobile_phone"):
        phone = normalize_phone(str(values.get(field) or ""))
        if phone:
            keys["name_phone"].add((*name, phone))
    street = _fold(re.sub(r"[^\w\s]", " ", str(values.get("street") or "")))
    places = {
        "zipcode": _fold(values.get("zipcode")).replace(" ", ""),
        "city": _fold(values.get("city")),
    }
    for part, place in places.items():
        if street and place:
            keys["name_address"].add((*name, street, part, place))
    return keys


def _leads_by_key(
    actor: Actor, wanted: dict[str, set[tuple]]
) -> dict[tuple[str, tuple], list[Lead]]:
    """The live leads the actor may see under each duplicate key (kind, key), oldest first,
    for the ``wanted`` keys of each kind (at most one query per kind). Leads found are listed
    under every key they have, wanted or not."""
    emails, name_phones = wanted.get("email"), wanted.get("name_phone")
    name_places = wanted.get("name_address")
    leads = visible_leads(actor).select_related("owner").order_by("pk")
    found: list[Lead] = []
    if emails:
        found += leads.annotate(email_key=Lower("email")).filter(
            email_key__in={key[0] for key in emails}
        )
    if name_phones:
        phones = {key[2] for key in name_phones}
        found += leads.filter(Q(phone__in=phones) | Q(mobile_phone__in=phones))
    if name_places:
        found += leads.annotate(first_key=Lower("first_name"), last_key=Lower("last_name")).filter(
            first_key__in={key[0] for key in name_places},
            last_key__in={key[1] for key in name_places},
        )
    unique: dict[int, Lead] = {}  # one instance per lead, however many rules found it
    for lead in found:
        unique.setdefault(lead.pk, lead)
    existing: dict[tuple[str, tuple], list[Lead]] = {}
    for lead in sorted(unique.values(), key=lambda lead: lead.pk):
        for kind, keys in duplicate_keys({f: getattr(lead, f) for f in DUPLICATE_FIELDS}).items():
            for key in keys:
                existing.setdefault((kind, key), []).append(lead)
    return existing


def duplicate_leads(*, actor: Actor, values: Mapping[str, Any], kinds: Sequence[str]) -> list[Lead]:
    """Every live lead the actor may see that ``values`` (lead field values, model names)
    duplicates by one of the rules ``kinds`` (keys of ``DUPLICATE_KINDS``; the rules are ORed),
    oldest first. The rules of ``find_duplicates``; at most one query per rule."""
    unknown = set(kinds) - set(DUPLICATE_KINDS)
    if unknown:
        raise ValueError(f"Unknown duplicate rules: {sorted(unknown)}")
    keys = duplicate_keys(values)
    wanted = {kind: keys[kind] for kind in kinds}
    found: dict[int, Lead] = {}
    for (kind, key), leads in _leads_by_key(actor, wanted).items():
        if key in wanted.get(kind, ()):
            for lead in leads:
                found.setdefault(lead.pk, lead)
    return sorted(found.values(), key=lambda lead: lead.pk)


# The lead create and edit forms warn of a lead with the same email, or the same name and phone.
WARNED_DUPLICATES = ("email", "name_phone")


def possible_duplicates(
    *, actor: Actor, values: Mapping[str, Any], exclude: Lead | None = None, limit: int = 5
) -> list[tuple[Lead, str]]:
    """The first ``limit`` live leads the actor may see that a lead with ``values`` (being
    created, or ``exclude`` being edited) would duplicate by email or by name and phone, oldest
    first, each with why (``DUPLICATE_KINDS``' words): at most two queries."""
    keys = duplicate_keys(values)
    found = [
        lead
        for lead in duplicate_leads(actor=actor, values=values, kinds=WARNED_DUPLICATES)
        if exclude is None or lead.pk != exclude.pk
    ][:limit]
    result = []
    for lead in found:
        theirs = duplicate_keys({f: getattr(lead, f) for f in DUPLICATE_FIELDS})
        kind = next(k for k in WARNED_DUPLICATES if keys[k] & theirs[k])
        result.append((lead, DUPLICATE_KINDS[kind]))
    return result


def find_duplicates(
    *, actor: Actor, candidates: Sequence[Mapping[str, Any] | None]
) -> list[Duplicate | None]:
    """For each candidate (lead field values, or None to leave it out), what it duplicates: a
    live lead the actor may see, else an earlier candidate; None if nothing.

    An existing lead wins over an earlier candidate, then the rules in order (email, name and
    phone, name and address); among several leads the oldest. At most three queries (one per
    rule) for any number of candidates."""
    keyed = [duplicate_keys(c) if c is not None else None for c in candidates]
    wanted = {
        kind: {key for keys in keyed if keys for key in keys[kind]} for kind in DUPLICATE_KINDS
    }
    existing = {pair: leads[0] for pair, leads in _leads_by_key(actor, wanted).items()}

    result: list[Duplicate | None] = []
    earlier: dict[tuple[str, tuple], int] = {}
    for index, keys in enumerate(keyed):
        if keys is None:
            result.append(None)
            continue
        pairs = [(kind, key) for kind in DUPLICATE_KINDS for key in sorted(keys[kind])]
        match = next(
            (Duplicate(k, lead=existing[(k, key)]) for k, key in pairs if (k, key) in existing),
            None,
        )
        if match is None:
            match = next(
                (Duplicate(k, row=earlier[(k, key)]) for k, key in pairs if (k, key) in earlier),
                None,
            )
        result.append(match)
        for pair in pairs:
            earlier.setdefault(pair, index)
    return result


# --- merge --------------------------------------------------------------------------------

FIELD_LABELS = {
    "email": "Email",
    "zipcode": "Zip code",
    "address_2": "Address line 2",
    "lat": "Latitude",
    "lng": "Longitude",
    "ip": "IP address",
    "gmt_offset": "GMT offset",
    "ok_to_text": "OK to text",
    "is_unsubscribed": "Unsubscribed",
    "external_id": "External ID",
    "tracking_id": "Tracking ID",
    "sub_id": "Sub ID",
    "sub_id2": "Sub ID 2",
    "followup_date": "Follow-up date",
}


def merge_queryset() -> QuerySet[Lead]:
    """Leads with what the merge page shows of them."""
    return Lead.objects.select_related("status", "source", "owner", "assignee", "campaign")


def merge_candidates(*, actor: Actor, search: str, exclude: str | None = None) -> list[Lead]:
    """Up to 20 live leads the actor may see matching ``search`` (as the leads list searches),
    to pick the second lead of a merge. One query."""
    try:
        leads = lead_list(actor=actor, list_type="all", filters={"search": search})
    except ValidationError:
        return []
    if exclude:
        leads = leads.exclude(slug=exclude)
    return list(leads[:20])


def _shown(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def merge_comparison(*, keep: Lead, other: Lead) -> list[dict[str, Any]]:
    """The two leads field by field, for choosing what the merge keeps: ``key`` (a field name
    or ``custom:<system name>``), ``label``, both values as shown, whether they differ, and
    the side the page offers checked: the non-empty value for every field (``merge_default``),
    and for the owner and assignee, which a merge takes only when chosen, the other's active
    person where the kept lead has nobody (the page's choice is then sent on purpose). Fields
    blank on both leads are left out."""
    rows: list[dict[str, Any]] = []

    def add(key: str, label: str, mine: Any, theirs: Any, shown: tuple[Any, Any]) -> None:
        if mine in (None, "") and theirs in (None, ""):
            return
        default = merge_default(key, mine, theirs)
        if key in MERGE_ONLY_IF_CHOSEN and mine is None and shown[1] is not None:
            default = MERGE_OTHER if shown[1].is_active else default
        rows.append(
            {
                "key": key,
                "label": label,
                "keep": _shown(shown[0]),
                "other": _shown(shown[1]),
                "differs": mine != theirs,
                "default": default,
            }
        )

    for name in MERGE_FIELDS:
        field = Lead._meta.get_field(name)
        label = FIELD_LABELS.get(name) or capfirst(str(field.verbose_name))
        mine, theirs = getattr(keep, field.attname), getattr(other, field.attname)
        add(name, label, mine, theirs, (getattr(keep, name), getattr(other, name)))
    for custom in active_custom_fields():
        name = custom.system_name
        mine, theirs = keep.custom_fields.get(name), other.custom_fields.get(name)
        add(f"custom:{name}", custom.label, mine, theirs, (mine, theirs))
    return rows


def merge_moves(*, other: Lead) -> dict[str, Any]:
    """What a merge moves from ``other`` to the kept lead, counted: live notes, live
    appointments, timeline events, calls, list memberships; and its tags."""
    return {
        "notes": LeadNote.objects.filter(lead=other, deleted_at__isnull=True).count(),
        "appointments": Appointment.objects.alive().filter(lead=other).count(),
        "events": Event.objects.filter(lead=other).count(),
        "calls": CallLog.objects.filter(lead=other).count(),
        "lists": ListMembership.objects.filter(lead=other).count(),
        "tags": list(other.tags.values_list("name", flat=True)),
    }


# --- reads the adapters once refined themselves (issue 12: no query outside selectors) -------


def leads_by_id(actor: Actor, where: Q | None = None) -> QuerySet[Lead]:
    """The live leads ``actor`` sees, those matching ``where`` when given, in id order: what
    the JSON-RPC getters page through."""
    leads = visible_leads(actor).order_by("pk")
    return leads if where is None else leads.filter(where)


def leads_changed_between(*, actor: Actor, created: bool, start, end) -> QuerySet[Lead]:
    """The live leads ``actor`` sees created (``created``) or last updated between ``start``
    and ``end``, both included, in id order."""
    column = "created_at" if created else "updated_at"
    return leads_by_id(actor, Q(**{f"{column}__gte": start, f"{column}__lte": end}))


def visible_leads_by_slug(actor: Actor, slugs: Iterable[str]) -> list[Lead]:
    """The live leads ``actor`` sees among these slugs (a bulk action's selection): one query;
    slugs of leads it does not see are left out."""
    return list(visible_leads(actor).filter(slug__in=slugs))


def leads_exist() -> bool:
    """Whether any lead is stored, deleted ones too."""
    return Lead.objects.exists()


def timeline_events(
    actor: Actor,
    *,
    lead_id: int | None = None,
    since: datetime | None = None,
    event_type: str | None = None,
    newest_first: bool = False,
) -> QuerySet[Event]:
    """The timeline events of the leads ``actor`` sees, deleted leads included: those of the
    lead ``lead_id``, created after ``since`` and of ``event_type``, each when given; oldest
    first, or ``newest_first`` (by creation, then id)."""
    events = events_of_visible_leads(actor)
    if lead_id is not None:
        events = events.filter(lead_id=lead_id)
    if since is not None:
        events = events.filter(created_at__gt=since)
    if event_type is not None:
        events = events.filter(type=event_type)
    if newest_first:
        return events.order_by("-created_at", "-pk")
    return events.order_by("created_at", "pk")


def field_definitions(
    *,
    system_name: str | None = None,
    is_custom: bool | None = None,
    is_active: bool | None = None,
) -> QuerySet[Field]:
    """The field definitions in the administrators' order, narrowed to the system name and
    the custom and active flags given."""
    fields = fields_in_order()
    wanted = {"system_name": system_name, "is_custom": is_custom, "is_active": is_active}
    for lookup, value in wanted.items():
        if value is not None:
            fields = fields.filter(**{lookup: value})
    return fields


def lead_page(*, actor: Actor, slug: str) -> Lead:
    """The live lead ``slug`` that ``actor`` may see (``access.lead_for_actor``'s rule), with
    its people, status and source; ``NotFound`` otherwise. The lead page asks for it with
    every request, so the statement is compiled once per role (crm.compiled); its notes,
    tags, files, timeline and appointments are read by their own compiled reads."""
    if actor.user is None or access.no_such_slug(slug):
        return access.lead_for_actor(actor, slug=slug, queryset=_lead_page_queryset())
    read = _lead_page_read(actor.role)
    found = read(slug=slug, user_id=actor.user_id) if read.kinds.get("user_id") else read(slug=slug)
    if not found:
        raise NotFound("Lead not found.", code="lead_not_found")
    return found[0]


def _lead_page_queryset() -> QuerySet[Lead]:
    # The campaign too: the page's details name it (issue 14), joined rather than read apart.
    return Lead.objects.select_related("owner", "assignee", "status", "source", "campaign")


@functools.cache
def _lead_page_read(role: str) -> CompiledRead:
    """``lead_page``'s read for a role: a stand-in user of that role, whose id is a value of
    the read unless the role sees every lead."""

    def build(slug: str, user_id: int = 0) -> QuerySet[Lead]:
        stand_in = Actor(user=User(pk=user_id, role=role))
        leads = access.visible_leads(stand_in, queryset=_lead_page_queryset())
        return leads.filter(slug=slug)[:1]

    everyone = access.sees_all(Actor(user=User(role=role)))
    return CompiledRead(Lead, build, slug=str, **({} if everyone else {"user_id": int}))


_live_notes = CompiledRead(
    LeadNote,
    lambda lead_id: LeadNote.objects.filter(lead_id=lead_id, deleted_at__isnull=True)
    .select_related("author", "api_key"),
    lead_id=int,
)  # fmt: skip


def worded_events(events: Iterable[Event]) -> list[Event]:
    """``events`` as the timeline tells them (``leads.timeline``): each with its ``wording``,
    those another event of the same change tells left out. Reads the status labels and the
    people's names only when a status or person changed (one query each, whatever the rows)."""
    events = list(events)
    need_statuses, people_ids = timeline.labels_needed(events)
    statuses = dict(Status.objects.values_list("key", "label")) if need_statuses else {}
    people = (
        {u.pk: str(u) for u in User.objects.filter(pk__in=people_ids).only(*USER_NAME_COLUMNS)}
        if people_ids
        else {}
    )
    return timeline.describe(events, statuses, people)


def deleted_note(*, lead: Lead, pk: int) -> LeadNote | None:
    """The soft-deleted note ``pk`` of ``lead`` (to restore it), or None."""
    note = LeadNote.objects.filter(lead=lead, pk=pk, deleted_at__isnull=False).first()
    if note is not None:
        note.lead = lead
    return note


def live_notes(lead: Lead) -> list[LeadNote]:
    """The lead's live notes, newest first, with their authors (user or API key): one query,
    compiled once (crm.compiled)."""
    notes = _live_notes(lead_id=lead.pk)
    for note in notes:
        note.lead = lead  # as the lead's related manager would give them
    return notes


_lead_tags = CompiledRead(
    Tag, lambda lead_id: Tag.objects.filter(leads=lead_id).only("name"), lead_id=int
)


def lead_tags(lead: Lead) -> list[str]:
    """The names of the lead's tags, in order: one query, compiled once (crm.compiled)."""
    return [tag.name for tag in _lead_tags(lead_id=lead.pk)]


LEAD_FILES_SHOWN = 50

_lead_files = CompiledRead(
    LeadFile,
    lambda lead_id: LeadFile.objects.filter(lead_id=lead_id, deleted_at__isnull=True).only(
        "pk", "name", "size", "created_at", "lead_id", "uploaded_by_id"
    )[: LEAD_FILES_SHOWN + 1],
    lead_id=int,
)


def lead_files(lead: Lead) -> tuple[list[LeadFile], bool]:
    """The lead's live attached files (lead_set and lead page uploads), newest first, without
    their storage details, and whether more than those exist: one query, compiled once
    (crm.compiled)."""
    files = _lead_files(lead_id=lead.pk)
    return files[:LEAD_FILES_SHOWN], len(files) > LEAD_FILES_SHOWN


def attached_file(*, lead: Lead, pk: int) -> LeadFile | None:
    """The live file ``pk`` attached to the lead, or None."""
    return lead.files.filter(pk=pk, deleted_at__isnull=True).first()


def latest_events(*, lead: Lead, limit: int) -> tuple[list[Event], bool]:
    """The lead's latest ``limit`` timeline events, newest first, with who caused them (user
    and API key), and whether older ones exist: one query, compiled once per limit."""
    events = _latest_events(limit)(lead_id=lead.pk)
    for event in events:
        event.lead = lead  # as the lead's related manager would give them
    return events[:limit], len(events) > limit


@functools.cache
def _latest_events(limit: int) -> CompiledRead:
    """``latest_events``' read for this limit, compiled once (crm.compiled)."""
    return CompiledRead(
        Event,
        lambda lead_id: (
            Event.objects.filter(lead_id=lead_id)
            .select_related("actor", "api_key")
            .order_by("-created_at", "-id")[: limit + 1]
        ),
        lead_id=int,
    )


def overview_appointment_values(
    *, actor: Actor, window: str, columns: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    """``columns`` of each of ``overview_appointments``, as tuples (no model instances: the
    overview lists up to a hundred)."""
    return list(overview_appointments(actor=actor, window=window).values_list(*columns))


def leads_with_external_id(*, actor: Actor, external_id: str, limit: int) -> list[Lead]:
    """The live leads the actor may see with this external id, oldest first, at most
    ``limit`` (an external id names one lead, but nothing keeps a partner from reusing it)."""
    return list(visible_leads(actor).filter(external_id=external_id).order_by("pk")[:limit])


# --- The dashboard's pictures (leads.charts), from the rollups --------------------------------


def chart_terms(*, actor: Actor, person_id: int | None = None) -> list[Term]:
    """The rollup terms (``Term``) of the leads a dashboard picture counts: a person's (owned
    or assigned, ``person_id``, which the caller has let the actor pick), else everything the
    actor sees when it sees all, else the actor's own (owned or assigned: not the pool)."""
    uid = person_id if person_id is not None else actor.user_id
    if person_id is None and access.sees_all(actor):
        return [(1, rollup.ALL, rollup.NOBODY)]
    if not uid:
        return []
    return [(1, rollup.OWNER, uid), (1, rollup.ASSIGNEE, uid), (-1, rollup.OWNER_ASSIGNEE, uid)]


def _which(terms: list[Term]) -> tuple[dict[tuple[int, int], int], Q]:
    signs = {(scope, user): sign for sign, scope, user in terms}
    which = Q()
    for scope, user in signs:
        which |= Q(scope=scope, user_id=user)
    return signs, which


def status_funnel(*, terms: list[Term]) -> dict[str, int]:
    """Live leads by status for ``terms``, from the lead count rollup (one query over a few
    dozen rows, whatever the number of leads)."""
    if not terms:
        return {}
    return _rollup_sums(terms, campaign=rollup.ANY_CAMPAIGN)[0]


def leads_per_week(*, terms: list[Term], since) -> dict[tuple[Any, str], int]:
    """Live leads created from the week of ``since`` (a Monday) on, by (week, source key; ""
    for none), for ``terms``: from the weekly rollup, at most weeks x sources x terms rows."""
    if not terms:
        return {}
    signs, which = _which(terms)
    rows = LeadWeekCount.objects.filter(which, week__gte=since).values_list(
        "scope", "user_id", "week", "source_id", "n"
    )
    counts: dict[tuple[Any, str], int] = {}
    for scope, user, week, source, n in rows:
        counts[(week, source)] = counts.get((week, source), 0) + n * signs[(scope, user)]
    return {k: n for k, n in counts.items() if n}
