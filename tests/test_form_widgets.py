"""The project's form renderer writes a select's options in place (templates/jinja2/django/
forms/widgets/select.html): the HTML must stay exactly Django's own."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import Jinja2 as DjangoJinja2

from crm.forms import FormRenderer

CHOICES = [("", "Choose"), ("a", "Ann & <Bob>"), ("b", 'Say "hi"'), (3, "Three")]
GROUPED = [("", "None"), ("Team", [("1", "One"), ("2", "Two")]), ("x", "Other")]


class Sample(forms.Form):
    single = forms.ChoiceField(choices=CHOICES, required=False)
    grouped = forms.ChoiceField(choices=GROUPED, help_text="Pick one")
    many = forms.MultipleChoiceField(choices=CHOICES, required=False)
    disabled = forms.ChoiceField(choices=CHOICES, disabled=True, required=False)
    empty = forms.ChoiceField(choices=[], required=False)


@pytest.mark.parametrize("data", [None, {"single": "b", "grouped": "2", "many": ["a", "3"]},
                                  {"grouped": "nope"}])  # fmt: skip
@pytest.mark.parametrize("name", ["single", "grouped", "many", "disabled", "empty"])
def test_select_renders_as_django_renders_it(data, name):
    ours = Sample(data, renderer=FormRenderer())
    django = Sample(data, renderer=DjangoJinja2())
    assert str(ours[name].as_widget()) == str(django[name].as_widget())
    assert "<option" in str(ours[name].as_widget()) or name == "empty"
