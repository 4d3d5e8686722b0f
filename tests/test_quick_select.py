"""QuickSelect writes the markup of Django's Select itself, for long lists: the same HTML as
Django's widget for every kind of value, label and attribute the pages give it."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html
from django.utils.safestring import mark_safe

from crm.forms import QuickSelect

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
