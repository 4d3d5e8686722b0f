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
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst, format_lazy
from rest_framework.serializers import CharField as ApiCharField

from crm import selectors as user_selectors
from crm.datetime_fields import DateTime24BoundField, DateTime24Field, DateTime24TextWidget
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
        DataType.DATETIME: DateTime24TextWidget(),
        DataType.URL: forms.URLInput(),
        DataType.EMAIL: forms.EmailInput(),
        DataType.PHONE: forms.TextInput(attrs={"type": "tel"}),
    }
    if kind == DataType.DATETIME:  # a date and a 24-hour time, as "YYYY-MM-DDTHH:MM"
        common["bound_field_class"] = DateTime24BoundField
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


# --- every stored field of a lead, grouped (issue 14) -----------------------------------------

# The lead's own fields as the lead page and the edit form group them: every field a lead
# stores but its name, status, people and tags (shown apart) and its custom fields.
LEAD_FIELD_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("contact", "Contact", ("email", "phone", "mobile_phone", "office_phone", "phone_extension",
                            "fax", "skype", "best_time", "ok_to_text")),
    ("company", "Company", ("company", "title", "website", "industry")),
    ("address", "Address", ("street", "address_2", "city", "state", "zipcode", "country",
                            "location", "lat", "lng", "gmt_offset")),
    ("marketing", "Marketing", ("source", "campaign", "persona", "lead_score",
                                "lead_score_weighted", "tracking_id", "sub_id", "sub_id2",
                                "is_unsubscribed")),
    ("other", "Other", ("message", "description", "priority", "pool", "birth_date",
                        "external_id", "ip", "active", "followup_date")),
)  # fmt: skip
# Shown on the lead page, set elsewhere: the campaign by the import and the partner APIs, the
# follow-up date by the lead's follow-up task (Tasks).
NOT_IN_FORM = frozenset({"campaign", "followup_date"})
# The fields of the lead form's "Lead" fieldset (status and people are the page's own card).
FORM_LEAD_FIELDS = ("status", "source", "owner", "assignee")
# Groups the form folds while they are empty: what most leads never have.
FOLDED_WHEN_EMPTY = frozenset({"address", "marketing", "other"})

YES_NO = [("true", "Yes"), ("false", "No")]
INT16 = 32767
INT32 = 2**31 - 1


def field_label(name: str) -> str:
    """A lead field's label, as the merge page and the lead page name it."""
    return selectors.FIELD_LABELS.get(name) or capfirst(
        str(Lead._meta.get_field(name).verbose_name)
    )


def _lead_form_field(name: str) -> forms.Field:
    """The form field of a stored lead field that the form's declared fields leave out, fit
    for its type; blank is always allowed (the domain checks the rest)."""
    model_field = Lead._meta.get_field(name)
    label = field_label(name)
    if isinstance(model_field, models.BooleanField):
        if model_field.null:
            return forms.NullBooleanField(
                label=label, required=False, widget=forms.NullBooleanSelect()
            )
        return forms.TypedChoiceField(
            label=label, choices=YES_NO, coerce=lambda v: v == "true", required=False,
            empty_value=None, widget=QuickSelect(),
        )  # fmt: skip
    if isinstance(model_field, models.DecimalField):
        return forms.DecimalField(
            label=label,
            required=False,
            max_digits=model_field.max_digits,
            decimal_places=model_field.decimal_places,
            widget=forms.NumberInput(attrs={"step": "any"}),
        )
    if isinstance(model_field, models.IntegerField):
        limit = INT16 if isinstance(model_field, models.SmallIntegerField) else INT32
        return forms.IntegerField(
            label=label, required=False, min_value=-limit - 1, max_value=limit
        )
    if isinstance(model_field, models.DateField):
        return forms.DateField(
            label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
    if isinstance(model_field, models.GenericIPAddressField):
        return forms.GenericIPAddressField(label=label, required=False)
    if isinstance(model_field, models.TextField):
        return forms.CharField(
            label=label, required=False, widget=forms.Textarea(attrs={"rows": 3})
        )
    widgets = {"website": forms.URLInput(), "mobile_phone": forms.TextInput(attrs={"type": "tel"})}
    widgets |= {"office_phone": widgets["mobile_phone"], "fax": widgets["mobile_phone"]}
    return _text(label, max_length=model_field.max_length, widget=widgets.get(name))


def _form_initial(name: str, value: Any) -> Any:
    if isinstance(Lead._meta.get_field(name), models.BooleanField) and value is not None:
        return "true" if value else "false"
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
    # The other stored fields (LEAD_FIELD_GROUPS), made from their model fields in __init__.
    EXTRA_FIELDS = tuple(
        name
        for _key, _title, names in LEAD_FIELD_GROUPS
        for name in names
        if name not in NOT_IN_FORM
        and name not in {"email", "phone", "company", "title", "source", "location", "message"}
    )

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
        initial: dict[str, Any] = {"status": DEFAULT_STATUS, "active": "true"}
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
            initial |= {n: _form_initial(n, getattr(lead, n)) for n in self.EXTRA_FIELDS}
        super().__init__(data, initial=initial)
        for name in self.EXTRA_FIELDS:
            self.fields[name] = _lead_form_field(name)
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

    def custom_bound_fields(self) -> list[forms.BoundField]:
        return [self[f.system_name] for f in self.custom_fields]

    def field_groups(self) -> list[dict[str, Any]]:
        """The form's fieldsets, as the lead page groups the fields: contact (with the name),
        the lead's status, source and people, then company, address, marketing and other;
        ``folded`` for a group the form may fold (``FOLDED_WHEN_EMPTY``), ``open`` unless it is
        empty and has no error."""
        groups: list[dict[str, Any]] = []
        for key, title, names in LEAD_FIELD_GROUPS:
            names = tuple(n for n in names if n in self.fields and n not in FORM_LEAD_FIELDS)
            if key == "contact":
                names = ("first_name", "last_name", *names)
            bound = self._group(names)
            filled = any(self._has_value(field) for field in bound)
            groups.append(
                {
                    "key": key,
                    "title": title,
                    "fields": bound,
                    "folded": key in FOLDED_WHEN_EMPTY,
                    "open": key not in FOLDED_WHEN_EMPTY or filled,
                }
            )
            if key == "contact":
                lead = self._group(FORM_LEAD_FIELDS)
                groups.append(
                    {"key": "lead", "title": "Lead", "fields": lead, "folded": False, "open": True}
                )
        return groups

    def _has_value(self, field: forms.BoundField) -> bool:
        if field.errors:
            return True
        value = field.value()
        if isinstance(Lead._meta.get_field(field.name), models.BooleanField):
            model_field = Lead._meta.get_field(field.name)
            return value not in (
                None,
                "",
                "unknown",
                _form_initial(field.name, model_field.default),
            )
        return value not in (None, "")

    def domain_input(self) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """(lead fields, custom values by system name, tags) for the domain services.

        On edit, status, source, owner, assignee and custom fields are given only when changed,
        so a value nobody touched is never checked again (a status or user made inactive since,
        a newly required field).
        """
        cleaned = self.cleaned_data
        creating = self.lead is None
        # Of a form with errors, the fields that passed (the views check them too).
        data: dict[str, Any] = {name: cleaned[name] for name in self.TEXT_FIELDS if name in cleaned}
        for name in self.EXTRA_FIELDS:
            # On edit, only those sent: a client that posts fewer fields leaves the rest alone.
            if name not in cleaned or (not creating and name not in self.data):
                continue
            value = cleaned[name]
            if value is None and not Lead._meta.get_field(name).null:
                continue  # a Yes/No left unset
            data[name] = None if value == "" and name == "ip" else value
        for name in ("status", "source", *self.PEOPLE):
            if name in cleaned and (creating or name in self.changed_data):
                data[name] = cleaned[name] or None
        custom = {
            f.system_name: cleaned[f.system_name]
            for f in self.custom_fields
            if f.is_editable_in_contact_manager
            and f.system_name in cleaned
            and (creating or f.system_name in self.changed_data)
        }
        return data, custom, rules.split_tags(cleaned.get("tags", ""))


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


class LongText(forms.CharField):
    """What a person writes at length (a note, a call's summary): longer than the limit is
    refused with the count ("at most 499 characters; this one has 612"), never cut. The field
    has no ``maxlength`` attribute, at which a browser silently cuts typed or pasted text; it
    carries ``data-maxlength`` for the counter app.js shows instead."""

    def __init__(self, label: str, *, what: str, required: bool = False) -> None:
        too_long = (
            f"{what} can be at most %(limit_value)d characters; this one has %(show_value)d. "
            "Shorten it, or split it in two."
        )
        super().__init__(
            label=label,
            required=required,
            max_length=NOTE_LENGTH,
            widget=forms.Textarea(attrs={"rows": 3}),
            error_messages={"required": REQUIRED, "max_length": too_long},
        )

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return {**attrs, "data-maxlength": str(self.max_length)}


class NoteForm(forms.Form):
    note = LongText("Note", what="A note", required=True)


CALL_OUTCOMES = ["Connected", "Left a voicemail", "No answer", "Busy", "Wrong number"]
CALL_MINUTES_MAX = 24 * 60


class CallForm(forms.Form):
    """A call to log from the lead page (``leads.bulk.call_log``, as JSON-RPC ``logCalls``):
    its outcome, when it was and how long it took, and what was said."""

    result = forms.ChoiceField(label="Outcome", choices=[(o, o) for o in CALL_OUTCOMES])
    timestamp = DateTime24Field(label="When", error_messages={"required": REQUIRED})
    minutes = forms.IntegerField(
        label="Duration (minutes)",
        min_value=0,
        max_value=CALL_MINUTES_MAX,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    notes = LongText("Summary", what="A summary")

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
    due = DateTime24Field(label="Due", error_messages={"required": REQUIRED})

    def __init__(self, *args: Any, people: list[User] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "task")  # apart from the lead form's "title"
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["assignee"] = PersonField(label="For", people=people, empty="Me")


class SnoozeForm(forms.Form):
    """A task's new due time: ``until`` is "tomorrow", "next_week" or "date" (then ``due``)."""

    until = forms.ChoiceField(choices=[*SNOOZE_CHOICES.items(), ("date", "A date")])
    due = DateTime24Field(label="Until", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("until") == "date" and not data.get("due") and "due" not in self.errors:
            self.add_error("due", "Enter the new due time.")
        return data

    def new_due(self, task: Task) -> Any:
        data = self.cleaned_data
        return data["due"] if data["until"] == "date" else snooze_time(data["until"], task.due)
