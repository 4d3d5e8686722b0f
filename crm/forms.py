"""Form rendering shared by every page: one field template with a visible label, help and
errors tied to the input for screen readers.

Fields and widgets render with the pages' Jinja2 engine (``crm/jinja.py``: ``templates/jinja2``
and Django's own Jinja2 widget templates): the same markup as Django's templates (but for
quotes escaped as ``&#34;``), in about a third of the time, which counts on pages with many
fields or long selects (the leads list's filter bar, the week calendar's booking form).
Widgets that ship only Django templates (the admin's) render with those.
"""

from __future__ import annotations

from django import forms
from django.forms.renderers import BaseRenderer
from django.template import TemplateDoesNotExist, engines
from django.template.loader import get_template
from django.utils.functional import cached_property
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe

from crm.jinja import Pages


class FormRenderer(BaseRenderer):
    field_template_name = "forms/field.html"

    @cached_property
    def jinja2(self) -> Pages:
        return engines["pages"]

    def __init__(self) -> None:
        super().__init__()
        self._only_django: set[str] = set()  # names Jinja2 has no template of

    def get_template(self, template_name: str):
        if template_name not in self._only_django:
            try:
                return self.jinja2.get_template(template_name)
            except TemplateDoesNotExist:
                self._only_django.add(template_name)
        return get_template(template_name)


class QuickSelect(forms.Select):
    """A ``<select>`` of flat choices written in Python: the markup of Django's ``Select``
    without a template per option, which counts on long lists (the week calendar's booking form
    offers 100 leads; the list filters offer every active person). Grouped choices render as
    Django renders them."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        choices = list(self.choices)
        if any(isinstance(label, (list, tuple)) for _value, label in choices):
            return super().render(name, value, attrs, renderer)
        chosen = self.format_value(value)
        options, has_selected = [], False
        for option, label in choices:
            selected = not has_selected and str(option) in chosen  # Django's rule: the first
            has_selected |= selected
            mark = " selected" if selected else ""
            options.append(f'<option value="{esc(option)}"{mark}>{esc(label)}</option>')
        tag = f'<select name="{esc(name)}"{quick_attrs(self.build_attrs(self.attrs, attrs))}>'
        return mark_safe(tag + "".join(options) + "</select>")


def quick_attrs(attrs: dict) -> str:
    """``flatatt(attrs)``, the same text, without a ``format_html`` call per attribute: the
    valued attributes sorted by name, then the ones set to True; False and None left out."""
    valued = sorted((k, v) for k, v in attrs.items() if not isinstance(v, bool) and v is not None)
    text = "".join(f' {esc(k)}="{esc(v)}"' for k, v in valued)
    return text + "".join(f" {esc(k)}" for k, v in attrs.items() if v is True)


class QuickInput(forms.TextInput):
    """An ``<input>`` (text, search, date...: ``attrs={"type": ...}``) written in Python, as
    ``QuickSelect`` writes its select: the markup of Django's input template (attributes in
    ``flatatt``'s order) without rendering a template, for the filter bars of the lists."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        value = self.format_value(value)
        shown = "" if value is None else f' value="{esc(value)}"'
        extra = quick_attrs(self.build_attrs(self.attrs, attrs))
        return mark_safe(f'<input type="{esc(self.input_type)}" name="{esc(name)}"{shown}{extra}>')


class QuickDateInput(QuickInput, forms.DateInput):
    """``QuickInput`` for a date (``DateInput``'s formatting of the value)."""


class SettingsForm(forms.Form):
    """The Settings page: the shape of the input; ``crm.services.user_settings_update`` checks
    the rest."""

    email = forms.EmailField(
        label="Email", required=False, help_text="Reminders and the morning agenda go here."
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        widget=QuickSelect,
        help_text="Every page shows and takes times in this time zone.",
    )
    remind_minutes = forms.TypedChoiceField(
        label="Appointment reminders",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="An email before each appointment you host, with its .ics file.",
    )
    morning_agenda = forms.BooleanField(
        label="Morning agenda",
        required=False,
        help_text="An email at 07:00 in your time zone with the day's tasks and appointments.",
    )

    def __init__(self, *args, server_zone: str, zones: list[str], reminders: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", f"The server's ({server_zone})"),
            *((zone, zone) for zone in zones),
        ]
        self.fields["remind_minutes"].choices = [
            ("" if minutes is None else str(minutes), label) for minutes, label in reminders.items()
        ]
