"""Date-time inputs that show the same 24-hour time as the pages' text (issue 14, item 10).

``<input type="datetime-local">`` shows the browser's locale clock: "02:30 PM" in an en-US
chromium, next to text that says "14:30". Instead a date-time is two inputs: a
``type="date"`` one, named after the field and labelled by the field's label, and a 24-hour
"hh:mm" text input (``<name>_time``, numeric keyboard, a pattern, and the visible hint
"24-hour, e.g. 14:30"), whose accessible name is the field's label and "time". Both carry
the field's help and error (``aria-describedby``, ``aria-invalid``).

A caller that still posts one ``YYYY-MM-DDTHH:MM`` value under the field's name (what a
datetime-local input sent) is understood as before, with ``DateTimeField``'s messages.

Times are in the current time zone (the user's, activated for each request), as with Django's
``DateTimeField``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils import timezone

TIME_SUFFIX = "_time"
TIME_HINT = "24-hour, e.g. 14:30"
TIME_PATTERN = "([01]?[0-9]|2[0-3]):[0-5][0-9]"
INVALID_TIME = "Enter a time as 24-hour hh:mm, e.g. 14:30."
_LABEL = "data-when-label"  # the field's label, passed from the bound field to the widget


class _Time24Input(forms.TimeInput):
    input_type = "text"

    def __init__(self) -> None:
        super().__init__(
            attrs={
                "inputmode": "numeric",
                "pattern": TIME_PATTERN,
                "maxlength": "5",
                "autocomplete": "off",
                "placeholder": "hh:mm",
                "class": "when-time",
            },
            format="%H:%M",
        )


class DateTime24Widget(forms.MultiWidget):
    """A date input and a 24-hour time input; the value is ``[date, time]`` as typed, or the
    one ``YYYY-MM-DDTHH:MM`` string a caller posted under the field's own name."""

    template_name = "forms/widgets/datetime24.html"
    use_fieldset = False  # one label (for the date), so the help and errors describe both

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        date = forms.DateInput(attrs={"type": "date", "class": "when-date"}, format="%Y-%m-%d")
        super().__init__({"": date, TIME_SUFFIX[1:]: _Time24Input()}, attrs)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, dt.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return [value.date(), value.time().replace(second=0, microsecond=0)]
        if isinstance(value, str) and value:
            return split_legacy(value)
        return [None, None]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        time = data.get(name + TIME_SUFFIX)
        if time is None and data.get(name):
            return data.get(name)  # one value, as a datetime-local input sent it
        return [data.get(name), time]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and name + TIME_SUFFIX not in data

    def id_for_label(self, id_: str) -> str:
        return id_  # the date input keeps the field's id

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict:
        attrs = dict(attrs or {})
        label = str(attrs.pop(_LABEL, "") or "")
        context = super().get_context(name, value, attrs)
        date, time = context["widget"]["subwidgets"]
        base = context["widget"]["attrs"].get("id")
        time["attrs"]["aria-label"] = f"{label} time" if label else "Time"
        time["attrs"].pop("autofocus", None)  # the date input takes the focus
        if base:
            date["attrs"]["id"] = base
            time["attrs"]["id"] = base + TIME_SUFFIX
            hint = f"{base}_hint"
            described = [hint, *(time["attrs"].get("aria-describedby") or "").split()]
            time["attrs"]["aria-describedby"] = " ".join(described)
            context["widget"]["hint_id"] = hint
        context["widget"]["hint"] = TIME_HINT
        return context


class DateTime24TextWidget(DateTime24Widget):
    """The same two inputs for a text field (a custom field of type datetime): the value is
    the ``YYYY-MM-DDTHH:MM`` text the domain parses."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        value = super().value_from_datadict(data, files, name)
        if isinstance(value, str):
            return value
        date, time = ((part or "").strip() for part in value)
        return f"{date}T{time}" if date or time else ""


class DateTime24BoundField(BoundField):
    """Hands the field's label to the widget, which names the time input after it."""

    def build_widget_attrs(self, attrs: dict, widget: forms.Widget | None = None) -> dict:
        attrs = super().build_widget_attrs(attrs, widget)
        if isinstance(widget or self.field.widget, DateTime24Widget):
            attrs.setdefault(_LABEL, self.label)
        return attrs


class DateTime24Field(forms.SplitDateTimeField):
    """A date-time typed as a date and a 24-hour time, cleaned to an aware datetime in the
    current time zone (``required`` errors say the field's own ``required`` message)."""

    widget = DateTime24Widget
    bound_field_class = DateTime24BoundField

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.pop("empty_value", None)
        messages = {"invalid_time": INVALID_TIME, **kwargs.pop("error_messages", {})}
        super().__init__(error_messages=messages, **kwargs)

    def clean(self, value: Any) -> Any:
        if isinstance(value, str):  # one "YYYY-MM-DDTHH:MM" value
            single = forms.DateTimeField(
                required=self.required,
                error_messages={"required": self.error_messages["required"]},
            )
            return single.clean(value)
        if isinstance(value, (list, tuple)) and len(value) == 2:
            date, time = (str(part or "").strip() for part in value)
            if date and not time:  # say which half is missing, not "This field is required."
                raise forms.ValidationError(
                    self.error_messages["invalid_time"], code="invalid_time"
                )
            if time and not date:
                raise forms.ValidationError(
                    self.error_messages["invalid_date"], code="invalid_date"
                )
        return super().clean(value)


def split_legacy(value: str) -> list[str]:
    """``"2030-01-15T14:30"`` (or with a space) as ``["2030-01-15", "14:30"]``."""
    date, sep, time = value.strip().replace(" ", "T", 1).partition("T")
    return [date, time[:5] if sep else ""]
