"""Template filters of the web app."""

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime

register = template.Library()


@register.filter
def when(value: str | None, fmt: str = "M j, Y H:i") -> str:
    """An ISO 8601 date-time kept in a timeline event's data, shown in the server's time zone."""
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return value or ""
    if timezone.is_aware(parsed):
        parsed = timezone.localtime(parsed)
    return date_format(parsed, fmt)
