"""Reads shared by the web UI and the APIs. Filters live here (django-filter) so the HTML list
and every API list run the same query."""

from __future__ import annotations

from datetime import UTC, timedelta

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

from crm.domain import Actor
from leads.access import visible_leads
from leads.models import Field, Lead, LeadNote, Source, Status

LIST_TYPES = ("owned", "assigned", "all")


class StorableIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time that converts to UTC (the year 9999 at -14:00 does not)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return value


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = StorableIsoDateTimeField


TEXT = 255  # longest text filter: SQLite refuses LIKE patterns over 50,000 bytes


class LeadFilter(django_filters.FilterSet):
    campaign_slug = django_filters.CharFilter(field_name="campaign__slug", max_length=TEXT)
    first_name = django_filters.CharFilter(lookup_expr="iexact", max_length=TEXT)
    last_name = django_filters.CharFilter(lookup_expr="iexact", max_length=TEXT)
    email = django_filters.CharFilter(lookup_expr="iexact", max_length=TEXT)
    phone = django_filters.CharFilter(method="filter_phone", max_length=TEXT)
    status = django_filters.CharFilter(field_name="status_id", max_length=TEXT)
    source = django_filters.CharFilter(field_name="source_id", max_length=TEXT)
    owner = django_filters.CharFilter(field_name="owner__username", max_length=TEXT)
    assignee = django_filters.CharFilter(field_name="assignee__username", max_length=TEXT)
    search = django_filters.CharFilter(method="filter_search", max_length=TEXT)
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

    def filter_phone(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        from leads.services import normalize_phone

        return queryset.filter(phone=normalize_phone(value))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        condition = Q()
        for term in value.split()[:5]:
            condition &= (
                Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(email__icontains=term)
                | Q(phone__icontains=term)
                | Q(company__icontains=term)
            )
        return queryset.filter(condition)


def lead_list(*, actor: Actor, list_type: str | None, filters: dict) -> QuerySet[Lead]:
    """Leads for a list: ``list_type`` narrows to owned (default), assigned, or all visible.

    Raises ``django.core.exceptions.ValidationError`` for filter values that do not parse.
    """
    from django.core.exceptions import ValidationError

    qs = visible_leads(actor)
    list_type = list_type or "owned"
    if list_type not in LIST_TYPES:
        raise ValidationError({"list_type": [f'"{list_type}" is not a valid choice.']})
    if list_type == "owned":
        qs = qs.filter(owner_id=actor.user_id)
    elif list_type == "assigned":
        qs = qs.filter(assignee_id=actor.user_id)
    fs = LeadFilter(filters, queryset=qs)
    if not fs.is_valid():
        raise ValidationError({k: list(v) for k, v in fs.errors.items()})
    qs = fs.qs
    if not qs.query.order_by:
        qs = qs.order_by("-id")
    return qs.select_related("owner", "assignee")


def lead_detail_queryset() -> QuerySet[Lead]:
    from appointments.models import Appointment

    return Lead.objects.select_related("owner", "assignee").prefetch_related(
        Prefetch(
            "notes",
            queryset=LeadNote.objects.filter(deleted_at__isnull=True).select_related("author"),
        ),
        Prefetch(
            "appointments",
            queryset=Appointment.objects.alive().select_related("host", "lead"),
        ),
    )


def overview(*, actor: Actor) -> dict:
    """Counts of visible leads by status (every active status, with zeros) and by source."""
    leads = visible_leads(actor)
    by_status = dict(leads.order_by().values_list("status_id").annotate(n=Count("id")))
    by_source = dict(leads.order_by().values_list("source_id").annotate(n=Count("id")))
    statuses = list(Status.objects.filter(active=True).exclude(pk="deleted"))
    sources = list(Source.objects.filter(active=True))
    return {
        "status": [(s, by_status.get(s.key, 0)) for s in statuses],
        "source": [(s, by_source.get(s.key, 0)) for s in sources],
        "total": sum(by_status.values()),
    }


def overview_appointments(*, actor: Actor, window: str) -> QuerySet:
    """Blocking appointments on visible leads in a window: upcoming, today, week or month."""
    from appointments.models import Appointment

    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    qs = (
        Appointment.objects.blocking()
        .filter(lead__in=visible_leads(actor).values("pk"))
        .select_related("lead")
    )
    if window == "upcoming":
        qs = qs.filter(start__gte=now)
    else:
        days = {"today": 1, "week": 7, "month": 31}[window]
        qs = qs.filter(start__gte=today, start__lt=today + timedelta(days=days))
    return qs.order_by("start", "id")[: settings.CRM["OVERVIEW_APPOINTMENTS_LIMIT"]]


def active_custom_fields() -> list[Field]:
    return list(Field.objects.filter(is_custom=True, is_active=True))
