from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from appointments.models import Appointment, AppointmentStatus
from crm.api.fields import CharField, IdField, as_text
from leads.api.serializers import local_minutes

BLANK = "This field is may not be blank."
INVALID_DATE = "Invalid date format."
INVALID_STATUS = "Invalid appointment status."
# The source API's documentation spells this status "fullfilled"; both are accepted.
STATUS_ALIASES = {"fullfilled": AppointmentStatus.FULFILLED}


class AppointmentDateField(CharField):
    """``yyyy-mm-dd HH:MM`` (ISO 8601 accepted too) in the server's time zone."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})["blank"] = BLANK
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        text = super().to_internal_value(data)
        if len(text) > 64:
            raise serializers.ValidationError(INVALID_DATE)
        parsed = None
        for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
            try:
                parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
        if parsed is None:
            try:
                parsed = parse_datetime(text)
            except ValueError:
                parsed = None
        if parsed is None:
            raise serializers.ValidationError(INVALID_DATE)
        if timezone.is_naive(parsed):
            try:
                parsed = timezone.make_aware(parsed)
            except (ValueError, OverflowError):
                raise serializers.ValidationError(INVALID_DATE) from None
        try:
            parsed.astimezone(UTC)  # stored in UTC: the year 9999 at -14:00 is not
        except OverflowError:
            raise serializers.ValidationError(INVALID_DATE) from None
        return parsed


class AppointmentStatusField(CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})["blank"] = BLANK
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).lower()[:32]
        value = STATUS_ALIASES.get(value, value)
        if value not in AppointmentStatus.values:
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
    appointment_note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    appointment_status = AppointmentStatusField(required=False)


class AppointmentUpdateSerializer(AppointmentIdSerializer):
    slug = _slug(required=False)
    appointment_date = AppointmentDateField(required=False)
    appointment_to = AppointmentDateField(required=False)
    appointment_note = serializers.CharField(max_length=200, required=False, allow_blank=True)
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
    def rows(cls, appointments) -> list[dict[str, Any]]:
        """The representation of each appointment of a queryset, from its columns alone (no
        model instances: the overview lists up to a hundred)."""
        return [cls._row(*values) for values in appointments.values_list(*cls.reads)]

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
