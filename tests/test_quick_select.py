"""QuickSelect and QuickInput write the markup of Django's Select and inputs themselves, for
long lists and filter bars: the same HTML as Django's widgets for every kind of value, label
and attribute the pages give them."""

from __future__ import annotations

from datetime import date

import pytest
from django import forms
from django.forms.utils import flatatt
from django.test.html import parse_html
from django.utils.safestring import mark_safe

from crm.forms import QuickDateInput, QuickInput, QuickSelect, quick_attrs

CHOICES = [
    ("", "Choose a lead"),
    ("a-b", 'Ann "Quote" <Lee> & Co'),
    ("o'neil", "O'Neil"),
    (7, "Seven"),
    ("dup", "First of a value"),
    ("dup", "Second of a value"),
    ("safe", mark_safe("<b>kept</b>")),
]


def both(value, attrs=None, choices=CHOICES) -> tuple[str, str]:
    ours = QuickSelect(choices=choices).render("lead", value, attrs)
    django = forms.Select(choices=choices).render("lead", value, attrs)
    return ours, django


@pytest.mark.parametrize("value", [None, "", "a-b", "o'neil", 7, "7", "dup", "unknown", "safe"])
def test_the_same_markup_as_djangos_select_for_any_value(value):
    ours, django = both(value, {"id": "id_lead", "required": True, "aria-describedby": "x y"})
    assert parse_html(ours) == parse_html(django)


def test_one_option_at_most_is_selected_and_attributes_are_escaped():
    ours, _ = both("dup", {"id": 'a"b', "disabled": False, "required": True})
    assert ours.count(" selected") == 1
    assert 'id="a&quot;b"' in ours and "disabled" not in ours and " required" in ours
    assert "&lt;Lee&gt; &amp; Co" in ours and "<b>kept</b>" in ours


def test_grouped_choices_render_as_django_renders_them():
    grouped = [("", "Any"), ("Group", [("x", "X"), ("y", "Y")])]
    ours, django = both("y", choices=grouped)
    assert "<optgroup" in ours
    assert parse_html(ours) == parse_html(django)


def test_a_bound_form_field_renders_with_its_errors_and_value():
    class Form(forms.Form):
        lead = forms.ChoiceField(choices=CHOICES, widget=QuickSelect)

    class Plain(forms.Form):
        lead = forms.ChoiceField(choices=CHOICES)

    for data in ({"lead": "o'neil"}, {"lead": "nope"}, {}):
        ours, django = Form(data)["lead"], Plain(data)["lead"]
        assert ours.errors == django.errors
        assert parse_html(str(ours)) == parse_html(str(django))


ATTRS = [
    {},
    {"id": 'a"b', "placeholder": "Name, <email> & phone", "required": True, "disabled": False},
    {"type": "search", "aria-describedby": "x y", "data-n": 7, "hidden": None},
    {"title": mark_safe("<b>kept</b>"), "autofocus": True, "readonly": True},
]


@pytest.mark.parametrize("attrs", ATTRS)
def test_quick_attrs_are_flatatts_text(attrs):
    assert quick_attrs(attrs) == flatatt(attrs)


@pytest.mark.parametrize(
    ("ours", "django"),
    [
        (QuickInput(attrs={"type": "search"}), forms.TextInput(attrs={"type": "search"})),
        (QuickInput(), forms.TextInput()),
        (QuickDateInput(attrs={"type": "date"}), forms.DateInput(attrs={"type": "date"})),
    ],
)
@pytest.mark.parametrize("value", [None, "", 'Ann "Quote" <Lee>', date(2026, 12, 7), "2026-12-07"])
def test_quick_inputs_write_djangos_markup(ours, django, value):
    attrs = {"id": "id_q", "required": True, "aria-describedby": "id_q_error"}
    assert parse_html(ours.render("q", value, attrs)) == parse_html(
        django.render("q", value, attrs)
    )
