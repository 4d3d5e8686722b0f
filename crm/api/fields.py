import functools
import zoneinfo
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.utils import html


def as_text(value: Any) -> str | None:
    """A ``CharField``'s representation (for serializers that read rows directly): the value
    as text, None as None."""
    return None if value is None else str(value)


class KeepBlankMixin:
    """Keep an empty optional form value (multipart, urlencoded) as ``""``.

    For an optional field DRF reads ``field=`` in form data as if the field were absent, so a
    blank value would be ignored there while JSON refuses it; the API answers both as blank.
    """

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class Text(serializers.CharField):
    """``serializers.CharField`` whose ``max_length`` counts the text as sent, whitespace
    around it included (what the OpenAPI ``maxLength`` says), before it is trimmed."""

    def to_internal_value(self, data: Any) -> str:
        if self.max_length is not None and isinstance(data, str) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class CharField(KeepBlankMixin, Text):
    """``Text`` that answers a blank form value as blank, like JSON."""


class IdField(serializers.IntegerField):
    """A row id parameter: ``""`` is *blank*; anything but a positive bigint is *invalid*."""

    def __init__(self, *, invalid: str, blank: str, **kwargs: Any) -> None:
        messages = dict.fromkeys(
            ("invalid", "max_string_length", "min_value", "max_value"), invalid
        )
        super().__init__(
            min_value=1, max_value=2**63 - 1, error_messages={**messages, "blank": blank}, **kwargs
        )

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if isinstance(data, str) and not data.strip():
            self.fail("blank")
        return super().validate_empty_values(data)


def validated(serializer_class: type[serializers.Serializer], request: Request):
    """The bound serializer for the request body; its errors raise into the envelope (400)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer


def local_minutes(value) -> str:
    """``yyyy-mm-dd HH:MM`` in the current time zone (the server's), the format the API
    documents. Remembered per moment and zone: lists repeat the same appointments' times."""
    return _local_minutes(value, timezone.get_current_timezone_name())


@functools.lru_cache(maxsize=8192)
def _local_minutes(value, zone: str) -> str:
    return timezone.localtime(value, zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
