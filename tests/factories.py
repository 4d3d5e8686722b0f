"""Factories that build state through the domain services, so test data obeys the rules."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_create
from crm.domain import Actor
from crm.models import User
from crm.roles import Role
from crm.services import user_create
from leads.models import Lead, LeadNote
from leads.services import lead_create, note_create

PASSWORD = "test-password"


class UserFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.SALESPERSON

    @classmethod
    def _create(cls, model_class, **kwargs):
        return user_create(password=PASSWORD, validate=False, **kwargs)


def _manager() -> User:
    manager = User.objects.filter(username="factory-manager").first()
    return manager or UserFactory(username="factory-manager", role=Role.SALES_MANAGER)


class LeadFactory(factory.Factory):
    """``LeadFactory(owner=u)``; ``by`` is the acting user (a sales manager by default)."""

    class Meta:
        model = Lead

    first_name = "Lead"
    last_name = factory.Sequence(lambda n: f"Number {n}")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    phone = factory.Sequence(lambda n: f"555{n:07d}")

    @classmethod
    def _create(cls, model_class, by: User | None = None, custom=None, **data):
        return lead_create(actor=Actor(user=by or _manager()), data=data, custom=custom)


class NoteFactory(factory.Factory):
    class Meta:
        model = LeadNote

    text = "Called; asked for a quote."

    @classmethod
    def _create(cls, model_class, lead: Lead, by: User | None = None, **kwargs):
        return note_create(actor=Actor(user=by or _manager()), lead=lead, **kwargs)


class AppointmentFactory(factory.Factory):
    class Meta:
        model = Appointment

    start = factory.Sequence(lambda n: timezone.now() + timedelta(days=1, hours=2 * n))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(hours=1))

    @classmethod
    def _create(cls, model_class, lead: Lead, by: User | None = None, **kwargs):
        return appointment_create(actor=Actor(user=by or _manager()), lead=lead, **kwargs)
