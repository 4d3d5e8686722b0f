"""The pages' Jinja2 functions and filters (crm/jinja.py, crm/filters.py) give what Django's
built-in tags and filters give."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import NoReverseMatch, set_script_prefix


def render(source: str, **context) -> str:
    """Rendered by the pages' engine (Jinja2)."""
    return engines["pages"].from_string(source).render(context)


def builtin(source: str, **context) -> str:
    """Rendered by Django's template language."""
    return engines["django"].from_string(source).render(context)


@pytest.mark.parametrize("arg", ["ada-lovelace-1", "a b", "é", "?&#", 42, "0", "-", "x/y", ""])
@pytest.mark.parametrize("name", ["leads:detail", "appointments:ics"])
def test_url_of_is_the_url_tag(name, arg):
    try:
        expected = builtin("{% url name arg %}", arg=arg, name=name)
    except NoReverseMatch:
        with pytest.raises(NoReverseMatch):
            render("{{ arg|url_of(name) }}", arg=arg, name=name)
        with pytest.raises(NoReverseMatch):
            render("{{ url(name, arg) }}", arg=arg, name=name)
    else:
        assert render("{{ arg|url_of(name) }}", arg=arg, name=name) == expected
        assert render("{{ url(name, arg) }}", arg=arg, name=name) == expected


def test_url_of_follows_the_script_prefix():
    set_script_prefix("/crm/")
    try:
        assert render('{{ "x-1"|url_of("leads:detail") }}') == "/crm/leads/x-1/"
    finally:
        set_script_prefix("/")
    assert render('{{ "x-1"|url_of("leads:detail") }}') == "/leads/x-1/"


VALUES = [
    datetime(2026, 11, 30, 23, 30, 5, 123456, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5),  # noqa: DTZ001 - naive: shown as it is
    date(2026, 2, 28),
    None,
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("fmt", ["M j, Y", "D M j, Y", "Ymd", "D M j"])
def test_day_and_iso_are_the_date_filter(value, zone, fmt):
    with override_settings(TIME_ZONE=zone):
        ours = render("{{ v|day(fmt) }}|{{ v|iso }}", v=value, fmt=fmt)
        django = builtin('{{ v|date:fmt }}|{% if v.hour is not None %}{{ v|date:"c" }}{% endif %}',
                         v=value, fmt=fmt)  # fmt: skip
    assert ours == django


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("fmt", ["M j, Y H:i", "c", "l, F j, Y", "H:i"])
def test_date_and_time_are_djangos(value, zone, fmt):
    """Jinja2 shows an aware date-time in the current time zone, as Django's engine does."""
    with override_settings(TIME_ZONE=zone):
        try:
            django = builtin("{{ v|date:fmt }}|{{ v|time:fmt }}", v=value, fmt=fmt)
        except TypeError:  # a time of day asked of a date: a mistake in the template
            with pytest.raises(TypeError):
                render("{{ v|date(fmt) }}|{{ v|time(fmt) }}", v=value, fmt=fmt)
        else:
            assert render("{{ v|date(fmt) }}|{{ v|time(fmt) }}", v=value, fmt=fmt) == django


def test_a_day_near_midnight_is_the_local_day():
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        assert render('{{ v|day("M j, Y") }}', v=late) == "Dec 1, 2026"
    with override_settings(TIME_ZONE="UTC"):
        assert render('{{ v|day("M j, Y") }}', v=late) == "Nov 30, 2026"


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_hm_is_the_time_filter(value, zone):
    with override_settings(TIME_ZONE=zone):
        assert render("{{ v|hm }}", v=value) == builtin('{{ v|time:"H:i" }}', v=value)


@pytest.mark.parametrize("value", [v for v in VALUES if isinstance(v, datetime) or v is None])
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("day_format", ["M j, Y", "D M j"])
def test_stamp_is_the_date_filter_with_the_time_of_day(value, zone, day_format):
    with override_settings(TIME_ZONE=zone):
        ours = render("{{ v|stamp(fmt) }}", v=value, fmt=day_format)
        django = builtin("{{ v|date:fmt }}", v=value, fmt=f"{day_format} H:i")
    assert ours == django


@pytest.mark.parametrize("name", ["dashboard", "leads:list", "appointments:week"])
def test_a_url_without_arguments_is_the_url_tag_under_any_script_prefix(name):
    assert render("{{ url(name) }}", name=name) == builtin("{% url name %}", name=name)
    set_script_prefix("/crm/")
    try:
        assert render("{{ url(name) }}", name=name) == builtin("{% url name %}", name=name)
        assert render("{{ url(name) }}", name=name).startswith("/crm/")
    finally:
        set_script_prefix("/")
