"""Forms of the lead pages: the lead create/edit form (built-in fields, tags, and the active
custom fields, built from their ``Field`` rows) and the lead page's small forms (status,
owner and assignee, note).

Like the REST API's input serializers they check only the shape of the input (required,
length) with the REST wording; every rule is the domain's (``leads.services``), whose
refusals the views put next to the fields with ``crm.web.add_domain_errors``. Custom fields are
named by their system name, the key the domain's errors use.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import format_lazy
from rest_framework.serializers import CharField as ApiCharField

from appointments.forms import DateTimeLocalInput
from crm import selectors as user_selectors
from crm.domain import Actor
from crm.forms import QuickSelect
from crm.models import User
from leads import access, rules, selectors
from leads.bulk import CallInput
from leads.models import DataType, Field, Lead, LeadNote, Task
from leads.services import DEFAULT_STATUS, REQUIRED, SNOOZE_CHOICES, snooze_time

# The REST API's wording ("Ensure this field has no more than N characters.").
TOO_LONG = ApiCharField.default_error_messages["max_length"]
NOTE_LENGTH = LeadNote._meta.get_field("text").max_length


def _text(
    label: str, *, required: bool = False, max_length: int = 255, widget: Any = None
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=widget,
        error_messages={
            "required": REQUIRED,
            "max_length": format_lazy(TOO_LONG, max_length=max_length),
        },
    )


class PersonField(forms.ChoiceField):
    """A user picked from a list, or nobody; cleans to a ``User`` or None."""

    widget = QuickSelect

    def __init__(self, *, label: str, people: list[User], empty: str = "Nobody", **kwargs: Any):
        self.people = {str(u.pk): u for u in people}
        choices = [("", empty), *((str(u.pk), _person_label(u)) for u in people)]
        super().__init__(label=label, required=False, choices=choices, **kwargs)

    def clean(self, value: Any) -> User | None:
        key = super().clean(value)
        return self.people.get(key) if key else None


def _person_label(user: User) -> str:
    name = str(user)
    label = name if name == user.username else f"{name} ({user.username})"
    return label if user.is_active else f"{label}, inactive"


def status_choices() -> list[tuple[str, str]]:
    """The statuses a lead may be given: the active ones but ``deleted``."""
    return selectors.assignable_statuses()


def source_choices() -> list[tuple[str, str]]:
    return selectors.assignable_sources()


def people_choices(lead: Lead | None) -> list[User]:
    """Active users, plus the lead's current (possibly inactive) owner and assignee."""
    current = [pk for pk in (lead.owner_id, lead.assignee_id) if pk] if lead else []
    return list(user_selectors.people(also=current))


def _with_current(choices: list[tuple[str, str]], key: str | None, entry: Any) -> list:
    if key is None or key in dict(choices):
        return choices
    return [*choices, (key, str(entry))]


def _custom_form_field(field: Field, *, editable: bool) -> forms.Field:
    """A form field for one custom field: the widget fits its data type; its value is checked
    by the domain (``clean_custom_values``), so the form field accepts any text."""
    common: dict[str, Any] = {
        "label": field.label,
        "required": False,
        "disabled": not editable,
        "help_text": ("Required." if field.is_required else "")
        if editable
        else "Not editable here.",
    }
    kind = field.data_type
    if kind == DataType.BOOLEAN:
        return forms.BooleanField(**common)
    if kind == DataType.PICKLIST:
        options = [("", "—"), *((str(o), str(o)) for o in field.options or [])]
        return forms.CharField(widget=QuickSelect(choices=options), **common)
    widgets = {
        DataType.TEXTAREA: forms.Textarea(attrs={"rows": 3}),
        DataType.NUMBER: forms.NumberInput(attrs={"step": "any"}),
        DataType.DATE: forms.DateInput(attrs={"type": "date"}),
        DataType.DATETIME: forms.TextInput(attrs={"type": "datetime-local"}),
        DataType.URL: forms.URLInput(),
        DataType.EMAIL: forms.EmailInput(),
        DataType.PHONE: forms.TextInput(attrs={"type": "tel"}),
    }
    return forms.CharField(widget=widgets.get(kind, forms.TextInput()), **common)


def _custom_initial(field: Field, value: Any) -> Any:
    """A stored custom value as its widget shows it."""
    if value is None:
        return None
    if field.data_type == DataType.DATETIME:
        parsed = parse_datetime(str(value))
        if parsed is not None:
            if timezone.is_aware(parsed):
                parsed = timezone.localtime(parsed)
            return parsed.strftime("%Y-%m-%dT%H:%M")
    return value


class LeadForm(forms.Form):
    """The lead create and edit form. ``domain_input()`` gives what ``lead_create`` /
    ``lead_update`` take."""

    # Required or not as ``rules.REQUIRED_CONTACT_FIELDS`` says (set in ``__init__``).
    first_name = _text("First name")
    last_name = _text("Last name")
    email = _text("Email", widget=forms.EmailInput())
    phone = _text("Phone", widget=forms.TextInput(attrs={"type": "tel"}))
    company = _text("Company")
    title = _text("Title")
    status = forms.CharField(label="Status", required=False, widget=QuickSelect())
    source = forms.CharField(label="Source", required=False, widget=QuickSelect())
    location = _text("Location")
    message = _text("Message", widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(
        label="Tags", required=False, help_text="Separate tags with commas, e.g. vip, spring fair."
    )

    TEXT_FIELDS = ("first_name", "last_name", "email", "phone", "company", "title")
    TEXT_FIELDS += ("location", "message")
    PEOPLE = ("owner", "assignee")

    def __init__(
        self,
        data: Any = None,
        *,
        actor: Actor,
        statuses: list[tuple[str, str]],
        sources: list[tuple[str, str]],
        custom_fields: list[Field],
        lead: Lead | None = None,
        tags: list[str] | None = None,
        inline: bool = False,
    ) -> None:
        self.lead = lead
        initial: dict[str, Any] = {"status": DEFAULT_STATUS}
        if actor.user is not None:
            initial["owner"] = str(actor.user.pk)
        if lead is not None:
            initial = {name: getattr(lead, name) for name in self.TEXT_FIELDS}
            initial |= {
                "status": lead.status_id,
                "source": lead.source_id or "",
                "owner": str(lead.owner_id or ""),
                "assignee": str(lead.assignee_id or ""),
                "tags": ", ".join(tags or []),
            }
        super().__init__(data, initial=initial)
        required = rules.required_contact_fields(rules.WEB_FORM, creating=lead is None)
        for name in rules.CONTACT_FIELDS:
            self.fields[name].required = name in required
        if lead is not None:  # a status or source made inactive since still shows
            statuses = _with_current(statuses, lead.status_id, lead.status)
            sources = _with_current(sources, lead.source_id, lead.source)
        self.fields["status"].widget.choices = statuses
        self.fields["source"].widget.choices = [("", "—"), *sources]
        if access.can_give(actor):
            people = people_choices(lead)
            self.fields["owner"] = PersonField(label="Owner", people=people)
            self.fields["assignee"] = PersonField(label="Assignee", people=people)
        self.custom_fields = [f for f in custom_fields if f.is_available_in_contact_manager]
        values = lead.custom_fields if lead is not None else {}
        for field in self.custom_fields:
            editable = field.is_editable_in_contact_manager
            self.fields[field.system_name] = _custom_form_field(field, editable=editable)
            self.initial[field.system_name] = _custom_initial(field, values.get(field.system_name))
        if inline:
            self.fields["first_name"].widget.attrs["autofocus"] = True

    def _group(self, names: tuple[str, ...]) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    def contact_fields(self) -> list[forms.BoundField]:
        return self._group(("first_name", "last_name", "email", "phone", "company", "title"))

    def lead_fields(self) -> list[forms.BoundField]:
        return self._group(("status", "source", "owner", "assignee", "location"))

    def custom_bound_fields(self) -> list[forms.BoundField]:
        return [self[f.system_name] for f in self.custom_fields]

    def domain_input(self) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """(lead fields, custom values by system name, tags) for the domain services.

        On edit, status, source, owner, assignee and custom fields are given only when changed,
        so a value nobody touched is never checked again (a status or user made inactive since,
        a newly required field).
        """
        cleaned = self.cleaned_data
        creating = self.lead is None
        data: dict[str, Any] = {name: cleaned[name] for name in self.TEXT_FIELDS}
        for name in ("status", "source", *self.PEOPLE):
            if name in self.fields and (creating or name in self.changed_data):
                data[name] = cleaned[name] or None
        custom = {
            f.system_name: cleaned[f.system_name]
            for f in self.custom_fields
            if f.is_editable_in_contact_manager and (creating or f.system_name in self.changed_data)
        }
        return data, custom, rules.split_tags(cleaned["tags"])


class StatusForm(forms.Form):
    """The lead page's status control."""

    status = forms.CharField(
        label="Status", widget=QuickSelect(), error_messages={"required": REQUIRED}
    )

    def __init__(self, data: Any = None, *, choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(data, auto_id="change-%s", **kwargs)
        self.fields["status"].widget.choices = choices


class PeopleForm(forms.Form):
    """The lead page's owner and assignee control. A person missing from the submitted data
    stays as it is (a salesperson's "Claim" button sends only the owner)."""

    def __init__(self, data: Any = None, *, people: list[User], **kwargs: Any):
        super().__init__(data, auto_id="people-%s", **kwargs)
        self.fields["owner"] = PersonField(label="Owner", people=people, empty="Nobody (pool)")
        self.fields["assignee"] = PersonField(label="Assignee", people=people)

    def people(self) -> dict[str, User | None]:
        return {
            name: self.cleaned_data[name] for name in ("owner", "assignee") if name in self.data
        }


class NoteForm(forms.Form):
    note = _text(
        "Note", required=True, max_length=NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


CALL_OUTCOMES = ["Connected", "Left a voicemail", "No answer", "Busy", "Wrong number"]
CALL_MINUTES_MAX = 24 * 60


class CallForm(forms.Form):
    """A call to log from the lead page (``leads.bulk.call_log``, as JSON-RPC ``logCalls``):
    its outcome, when it was and how long it took, and what was said."""

    result = forms.ChoiceField(label="Outcome", choices=[(o, o) for o in CALL_OUTCOMES])
    timestamp = forms.DateTimeField(
        label="When", widget=DateTimeLocalInput, error_messages={"required": REQUIRED}
    )
    minutes = forms.IntegerField(
        label="Duration (minutes)",
        min_value=0,
        max_value=CALL_MINUTES_MAX,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    notes = _text("Summary", max_length=NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "call")  # apart from the note form's "note"
        kwargs.setdefault("initial", {"timestamp": timezone.localtime().replace(second=0)})
        super().__init__(*args, **kwargs)

    def clean_timestamp(self) -> Any:
        when = self.cleaned_data["timestamp"]
        if when > timezone.now():
            raise forms.ValidationError("Enter a time that has passed: log a call after it.")
        return when

    @staticmethod
    def call_of(data: dict[str, Any]) -> CallInput:
        """The call a valid form's ``cleaned_data`` describes (its lead set by the service)."""
        seconds = (data["minutes"] or 0) * 60
        return CallInput(0, data["timestamp"], seconds, data["result"], data["notes"])


class FileForm(forms.Form):
    """A file to attach to the lead (``services.lead_file_attach``, as lead_set's upload)."""

    file = forms.FileField(label="File", error_messages={"required": "Choose a file to attach."})


class TaskForm(forms.Form):
    """A new task: what and when, and (for those who give tasks) for whom."""

    title = _text("Task", required=True, max_length=Task._meta.get_field("title").max_length)
    due = forms.DateTimeField(
        label="Due", widget=DateTimeLocalInput, error_messages={"required": REQUIRED}
    )

    def __init__(self, *args: Any, people: list[User] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "task")  # apart from the lead form's "title"
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["assignee"] = PersonField(label="For", people=people, empty="Me")


class SnoozeForm(forms.Form):
    """A task's new due time: ``until`` is "tomorrow", "next_week" or "date" (then ``due``)."""

    until = forms.ChoiceField(choices=[*SNOOZE_CHOICES.items(), ("date", "A date")])
    due = forms.DateTimeField(label="Until", required=False, widget=DateTimeLocalInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("until") == "date" and not data.get("due") and "due" not in self.errors:
            self.add_error("due", "Enter the new due time.")
        return data

    def new_due(self, task: Task) -> Any:
        data = self.cleaned_data
        return data["due"] if data["until"] == "date" else snooze_time(data["until"], task.due)
