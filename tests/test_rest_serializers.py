"""The list serializers read rows directly (leads/api/serializers.py,
appointments/api/serializers.py); they must answer exactly what the generic ModelSerializer
path answers for the same fields: values, types and key order."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework import serializers

from appointments.api.serializers import AppointmentSerializer, OverviewAppointmentSerializer
from appointments.models import Appointment
from leads.api.serializers import LeadSerializer
from leads.models import Lead
from leads.services import field_create
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = pytest.mark.django_db


def generic(serializer_class, obj) -> dict:
    return serializers.ModelSerializer.to_representation(serializer_class(), obj)


def same(serializer_class, obj) -> None:
    fast, slow = serializer_class().to_representation(obj), generic(serializer_class, obj)
    assert list(fast.items()) == list(slow.items())
    assert json.dumps(fast) == json.dumps(slow)  # the same types, too


@pytest.fixture
def leads(manager, salesperson):
    budget = field_create(label="Budget").system_name
    return [
        LeadFactory(by=manager, owner=salesperson, assignee=manager, source="website",
                    location="Lisbon", message="Call after 5", custom={budget: "9000"}),
        LeadFactory(by=manager, owner=None, first_name="", email="", phone=""),
        LeadFactory(by=salesperson, status="contact"),
    ]  # fmt: skip


@pytest.mark.parametrize("zone", ["UTC", "America/Sao_Paulo"])
def test_lead_rows_are_the_generic_representation(leads, zone):
    with override_settings(TIME_ZONE=zone):
        for lead in Lead.objects.select_related("owner", "assignee").filter(
            pk__in=[lead.pk for lead in leads]
        ):
            same(LeadSerializer, lead)
        same(LeadSerializer, leads[0])  # as the create endpoints answer it


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_appointment_rows_are_the_generic_representation(leads, manager, salesperson, zone):
    booked = [
        AppointmentFactory(lead=leads[0], by=salesperson, note="Demo"),
        AppointmentFactory(lead=leads[1], by=manager, status="cancelled"),
    ]
    with override_settings(TIME_ZONE=zone):
        for serializer_class in (OverviewAppointmentSerializer, AppointmentSerializer):
            for appointment in [*booked, *Appointment.objects.select_related("lead", "host")]:
                same(serializer_class, appointment)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_overview_rows_are_the_generic_representation(leads, manager, salesperson, zone):
    AppointmentFactory(lead=leads[0], by=salesperson, note="Demo")
    AppointmentFactory(lead=leads[1], by=manager, status="cancelled", note="")
    with override_settings(TIME_ZONE=zone):
        appointments = Appointment.objects.order_by("id")
        reads = OverviewAppointmentSerializer.reads
        rows = OverviewAppointmentSerializer.rows(appointments.values_list(*reads))
        slow = [generic(OverviewAppointmentSerializer, a) for a in appointments]
        assert [list(row.items()) for row in rows] == [list(row.items()) for row in slow]
        assert json.dumps(rows) == json.dumps(slow)


def test_a_field_added_to_the_list_serializer_must_be_read_too():
    assert list(LeadSerializer().fields) == LeadSerializer.Meta.fields
    assert list(AppointmentSerializer().fields) == AppointmentSerializer.Meta.fields


def test_local_minutes_remembers_per_moment_and_zone():
    """The same moment, asked again in another zone, is that zone's time (the memo is keyed
    by both); around a daylight-saving change too."""
    import datetime as dt

    from django.utils import timezone

    from crm.api.fields import local_minutes

    moments = [
        dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC),  # Lisbon/Berlin go forward at 01:00 UTC
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 23, 45, 30, tzinfo=dt.UTC),
    ]
    for zone in ["UTC", "Europe/Berlin", "Asia/Kolkata", "Europe/Berlin", "America/Sao_Paulo"]:
        with timezone.override(zone):
            for moment in moments * 2:
                expected = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
                assert local_minutes(moment) == expected, (zone, moment)
    with timezone.override("Europe/Berlin"):
        assert local_minutes(moments[0]) == "2026-03-29 01:59"
        assert local_minutes(moments[1]) == "2026-03-29 03:00"
