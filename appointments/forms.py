"""Forms of the appointment pages. They only parse input: the fields come from the model (so
the note's length and the statuses are the model's), and every rule (future start, end after
start, no double-booking, who may book) is the services' to decide."""

from __future__ import annotations

from django import forms
from django.forms.models import fields_for_model

from appointments.models import NEW_STATUSES, Appointment, AppointmentStatus
from crm.forms import QuickSelect


class DateTimeLocalInput(forms.DateTimeInput):
    """``<input type="datetime-local">``, in the server's time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


_FIELDS = fields_for_model(
    Appointment,
    fields=["start", "end", "note", "status"],
    widgets={"start": DateTimeLocalInput, "end": DateTimeLocalInput},
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


class NewAppointmentForm(MoveForm):
    """Book an appointment from the week calendar, choosing one of ``leads`` ((slug, name) of
    those the user may book on); ``cleaned_data["lead"]`` is the chosen lead's slug."""

    lead = forms.ChoiceField(label="Lead", widget=QuickSelect)
    note = _FIELDS["note"]

    field_order = ["lead", "start", "end", "note"]

    def __init__(self, *args, leads: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead"].choices = [("", "Choose a lead"), *leads]
