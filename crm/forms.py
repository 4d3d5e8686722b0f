"""Form rendering shared by every page: one field template with a visible label, help and
errors tied to the input for screen readers."""

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    field_template_name = "forms/field.html"
