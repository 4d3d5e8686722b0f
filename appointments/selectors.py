from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from crm.domain import Actor, NotFound
from leads.access import visible_leads


class AppointmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AppointmentStatus.choices)
    lead = django_filters.CharFilter(
        field_name="lead__first_name", lookup_expr="iexact", max_length=255
    )
    slug = django_filters.CharFilter(field_name="lead__slug", max_length=255)

    class Meta:
        model = Appointment
        fields: list[str] = []


def appointment_list(
    *, actor: Actor, filters: dict, day: date | None = None, relation: str = "on"
) -> QuerySet[Appointment]:
    """Appointments on the leads ``actor`` can see, optionally starting ``on``, ``before`` or
    ``after`` a day (in the server's time zone). Raises ``ValidationError`` on bad filters."""
    from django.core.exceptions import ValidationError

    qs = Appointment.objects.alive().filter(lead__in=visible_leads(actor).values("pk"))
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
            .filter(lead__in=visible_leads(actor, include_deleted=True).values("pk"))
            .get(pk=pk)
        )
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise NotFound("Appointment not found.", code="appointment_not_found") from None
