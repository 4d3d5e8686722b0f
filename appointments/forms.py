"""Forms of the appointment pages. They only parse input: the fields come from the model (so
the note's length and the statuses are the model's), and every rule (future start, end after
start, no double-booking, who may book) is the services' to decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import fields_for_model

from appointments.models import NEW_STATUSES, Appointment, AppointmentStatus
from crm.datetime_fields import DateTime24Field
from crm.forms import QuickSelect
from crm.models import User

_FIELDS = fields_for_model(
    Appointment,
    fields=["start", "end", "note", "status"],
    field_classes={"start": DateTime24Field, "end": DateTime24Field},
    labels={"start": "Start", "end": "End", "note": "Note", "status": "Status"},
)


class MoveForm(forms.Form):
    """New times for an appointment (one per appointment on a page: prefix ``move-<id>``)."""

    start = _FIELDS["start"]
    end = _FIELDS["end"]


class BookForm(MoveForm):
    """Book an appointment on the lead whose page this is: Pending or Confirmed (what comes
    after is marked on the appointment)."""

    note = _FIELDS["note"]
    status = forms.ChoiceField(
        label="Status",
        choices=[(s, AppointmentStatus(s).label) for s in NEW_STATUSES],
        initial=AppointmentStatus.PENDING,
    )


class LogForm(MoveForm):
    """A meeting that already happened, logged on the lead whose page this is."""

    note = _FIELDS["note"]


def person_label(user: User) -> str:
    """A user as a choice names it: the name, and the username when they differ."""
    name = str(user)
    return name if name == user.username else f"{name} ({user.username})"


class HostField(forms.ChoiceField):
    """One of ``people`` (read once for the page), by id; cleans to the ``User``."""

    widget = QuickSelect

    def __init__(self, *, people: list[User], **kwargs: Any) -> None:
        self.people = {str(user.pk): user for user in people}
        choices = [(key, person_label(user)) for key, user in self.people.items()]
        super().__init__(label="Host", choices=choices, **kwargs)

    def clean(self, value: Any) -> User:
        return self.people[super().clean(value)]


class NewAppointmentForm(MoveForm):
    """Book an appointment from the week calendar, choosing one of ``leads`` ((slug, name) of
    those the user may book on); ``cleaned_data["lead"]`` is the chosen lead's slug. With
    ``hosts`` (for managers, who book for anyone), a "Host" choice among them, ``host`` by
    default; without, the booking is the user's own and ``cleaned_data`` names no host."""

    lead = forms.ChoiceField(label="Lead", widget=QuickSelect)
    note = _FIELDS["note"]

    field_order = ["lead", "host", "start", "end", "note"]

    def __init__(
        self,
        *args: Any,
        leads: list[tuple[str, str]],
        hosts: list[User] | None = None,
        host: User | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead"].choices = [("", "Choose a lead"), *leads]
        if hosts:
            self.fields["host"] = HostField(
                people=hosts, initial=str(host.pk) if host is not None else None
            )
            self.order_fields(self.field_order)
