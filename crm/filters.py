"""Filters of the web app's templates (registered in ``crm/jinja.py``): the same output as
Django's built-in filters and tags, for less work per row of a long list."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

import phonenumbers
from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language


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


def call_length(seconds: int | None) -> str:
    """A call's duration in seconds as people say it: "45 s", "4 min", "1 h 5 min"; "" for
    none (a call logged without its length)."""
    if not isinstance(seconds, int) or seconds <= 0:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return " ".join([f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes))


# --- filters for the rows of long lists: the same output as the built-in tags, for less -------

_PLAIN = re.compile(r"[A-Za-z0-9_-]+")  # a URL argument reverse() leaves as it is
_MARK = "9081726354"  # an argument every converter of ours takes (str, slug, int)


@functools.lru_cache(maxsize=64)
def _url_around(name: str, prefix: str) -> tuple[str, str, bool]:
    """The URL of the one-argument view ``name`` before and after its argument, and whether
    its argument may be other than digits."""
    head, _, tail = reverse(name, args=[_MARK]).partition(_MARK)
    try:
        reverse(name, args=["a"])
    except NoReverseMatch:
        return head, tail, False
    return head, tail, True


def url_of(value, name: str) -> str:
    """``{{ lead.slug|url_of:"leads:detail" }}`` is ``{% url "leads:detail" lead.slug %}``,
    without resolving the URL pattern again for every row of a list."""
    arg = str(value)
    if _PLAIN.fullmatch(arg):
        head, tail, any_text = _url_around(name, get_script_prefix())
        if any_text or arg.isdigit():
            return f"{head}{arg}{tail}"
    return reverse(name, args=[arg])


@functools.lru_cache(maxsize=4096)
def _day(day: date, fmt: str, language: str | None) -> str:
    return date_format(day, fmt)


def day(value: datetime | date | None, fmt: str = "M j, Y") -> str:
    """``{{ value|day:"M j, Y" }}`` is ``{{ value|date:"M j, Y" }}`` for a format of the day
    alone (no time of day): the day in the server's time zone, each day formatted once."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return _day(value, fmt, get_language())


def iso(value: datetime | None) -> str:
    """``{{ value|iso }}`` is ``{{ value|date:"c" }}``: ISO 8601 in the server's time zone."""
    if not isinstance(value, datetime):
        return ""
    return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()


def hm(value: datetime | None) -> str:
    """``{{ value|hm }}`` is ``{{ value|time:"H:i" }}``: the time of day in the server's time
    zone, without the locale machinery a format of digits alone does not need."""
    if not isinstance(value, datetime):
        return ""
    return f"{timezone.localtime(value) if timezone.is_aware(value) else value:%H:%M}"


def stamp(value: datetime | None, day_format: str = "M j, Y") -> str:
    """``{{ value|stamp }}`` is ``{{ value|date:"M j, Y H:i" }}`` (``stamp("D M j")`` that of
    "D M j H:i"): the day, formatted once per day, then the time of day."""
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{_day(local.date(), day_format, get_language())} {local:%H:%M}"


@functools.lru_cache(maxsize=4096)
def _phone(value: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(parsed):
        return value
    # National format for the home country's numbers, international for the others.
    home = parsed.country_code == phonenumbers.country_code_for_region(region)
    how = phonenumbers.PhoneNumberFormat.NATIONAL
    if not home:
        how = phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, how)


def phone(value: str | None) -> str:
    """A phone number as people read it ("5556079806" -> "(555) 607-9806"; "+4930123456" ->
    "+49 30 123456"), in ``PHONE_DEFAULT_REGION``'s numbering when it has no country code;
    anything that is not a possible number is shown as it was given (stored as given)."""
    if not value:
        return ""
    return _phone(str(value).strip(), settings.PHONE_DEFAULT_REGION)


def tel(value: str | None) -> str:
    """A phone number for a ``tel:`` link: E.164 when it parses, else as given."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(str(value), settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return str(value)
    if not phonenumbers.is_possible_number(parsed):
        return str(value)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
