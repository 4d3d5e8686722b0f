from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.models import API_STATUSES, Appointment, AppointmentStatus
from crm.api.fields import CharField, IdField, Text, as_text, local_minutes

BLANK = "This field is may not be blank."
INVALID_DATE = "Invalid date format."
INVALID_STATUS = "Invalid appointment status."
# The source API's documentation spells this status "fullfilled"; both are accepted.
STATUS_ALIASES = {"fullfilled": AppointmentStatus.FULFILLED}


YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"  # 0001-9999
_MONTH_DAY = "(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_HOUR = "([01][0-9]|2[0-3])"
# ``yyyy-mm-dd HH:MM`` (seconds and ISO 8601's ``T``, fraction and offset accepted too).
APPOINTMENT_TIME = re.compile(
    rf"{YEAR}-{_MONTH_DAY}[T ]{_HOUR}:[0-5][0-9](:[0-5][0-9](\.[0-9]{{1,6}})?)?"
    rf"(Z|[+-]{_HOUR}:[0-5][0-9])?"
)
# The OpenAPI format of such a time: a real date and time, in the server's time zone unless it
# names an offset, that falls within the years 1 to 9999 in UTC.
APPOINTMENT_TIME_FORMAT = "yyyy-mm-dd HH:MM"


@extend_schema_field(
    {
        "type": "string",
        "format": APPOINTMENT_TIME_FORMAT,
        "pattern": f"^{APPOINTMENT_TIME.pattern}$",
        "description": "yyyy-mm-dd HH:MM in the server's time zone (ISO 8601 accepted too).",
    }
)
class AppointmentDateField(CharField):
    """``APPOINTMENT_TIME``, as written (no whitespace around it)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})["blank"] = BLANK
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        text = super().to_internal_value(data)
        if not APPOINTMENT_TIME.fullmatch(text):
            raise serializers.ValidationError(INVALID_DATE)
        try:
            parsed = datetime.fromisoformat(text)
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed)
            parsed.astimezone(UTC)  # stored in UTC: the year 9999 at -14:00 is not
        except (ValueError, OverflowError):
            raise serializers.ValidationError(INVALID_DATE) from None
        return parsed


@extend_schema_field({"type": "string", "enum": [*API_STATUSES, *STATUS_ALIASES]})
class AppointmentStatusField(CharField):
    """One of the statuses, as written (the documented ``fullfilled`` too)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})["blank"] = BLANK
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        value = STATUS_ALIASES.get(value, value)
        if value not in API_STATUSES:
            raise serializers.ValidationError(INVALID_STATUS)
        return value


def _slug(**kwargs: Any) -> CharField:
    # error_messages must be given to the constructor: DRF rebuilds declared fields from their
    # constructor arguments for every serializer instance, dropping later changes.
    return CharField(max_length=258, error_messages={"blank": BLANK}, **kwargs)


class AppointmentIdSerializer(serializers.Serializer):
    appointment_id = IdField(invalid="Invalid appointment id.", blank=BLANK)


class AppointmentCreateSerializer(serializers.Serializer):
    slug = _slug()
    appointment_date = AppointmentDateField()
    appointment_to = AppointmentDateField()
    appointment_note = Text(max_length=200, required=False, allow_blank=True)
    appointment_status = AppointmentStatusField(required=False)


class AppointmentUpdateSerializer(AppointmentIdSerializer):
    slug = _slug(required=False)
    appointment_date = AppointmentDateField(required=False)
    appointment_to = AppointmentDateField(required=False)
    appointment_note = Text(max_length=200, required=False, allow_blank=True)
    appointment_status = AppointmentStatusField(required=False)


class OverviewAppointmentSerializer(serializers.ModelSerializer):
    appointment_id = serializers.IntegerField(source="id")
    slug = serializers.CharField(source="lead.slug")
    appointment_note = serializers.CharField(source="note")
    appointment_status = serializers.CharField(source="status")
    appointment_date = serializers.SerializerMethodField()
    appointment_to = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "appointment_id",
            "slug",
            "appointment_note",
            "appointment_status",
            "appointment_date",
            "appointment_to",
        ]

    # The columns the representation reads (for ``QuerySet.only``): a list's rows carry no more.
    reads = ("id", "lead__slug", "note", "status", "start", "end")

    def get_appointment_date(self, obj: Appointment) -> str:
        return local_minutes(obj.start)

    def get_appointment_to(self, obj: Appointment) -> str:
        return local_minutes(obj.end)

    def to_representation(self, appointment: Appointment) -> dict[str, Any]:
        """What ``ModelSerializer`` gives (tests/test_rest_serializers.py holds the two equal,
        keys in order), read straight off the row: lists hold up to a hundred."""
        a = appointment
        return self._row(a.pk, a.lead.slug, a.note, a.status, a.start, a.end)

    @classmethod
    def rows(cls, values: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """The representation of each appointment from its ``reads`` columns alone, as a
        selector's ``values_list`` gives them (no model instances: the overview lists up to a
        hundred)."""
        return [cls._row(*row) for row in values]

    @staticmethod
    def _row(pk, slug, note, status, start, end) -> dict[str, Any]:
        return {
            "appointment_id": pk,
            "slug": as_text(slug),
            "appointment_note": as_text(note),
            "appointment_status": as_text(status),
            "appointment_date": local_minutes(start),
            "appointment_to": local_minutes(end),
        }


class AppointmentSerializer(OverviewAppointmentSerializer):
    host = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reads = (*OverviewAppointmentSerializer.reads, "host__username")

    def to_representation(self, appointment: Appointment) -> dict[str, Any]:
        host = appointment.host
        return {
            **super().to_representation(appointment),
            "host": None if host is None else host.username,
        }

    class Meta(OverviewAppointmentSerializer.Meta):
        fields = [*OverviewAppointmentSerializer.Meta.fields, "host"]
