"""REST wire format for leads and notes. Input serializers check only the shape the API
documents (required, blank, length); every rule beyond that is the domain's."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from appointments.api.serializers import AppointmentSerializer
from crm import selectors as user_selectors
from crm.api.fields import CharField, IdField, Text, as_text
from crm.api.schema import SPACE
from crm.models import User
from leads import rules
from leads.models import Lead, LeadNote
from leads.rules import PHONE_SEPARATORS
from leads.selectors import active_custom_fields

REQUIRED_AND_NOT_BLANK = "This field is required and this may not be blank."
ASSIGNEE_NOT_FOUND = "Assignee not found."


def _text(max_length: int | None = 255, kind: type = CharField, **kwargs: Any):
    return kind(max_length=max_length, **kwargs)


# What ``email_validator`` (Django's ``EmailValidator``) takes, spelled without its look-arounds
# and case folding: a dot-atom or quoted local part; a host name with a top-level domain of
# letters (or punycode), ``localhost`` or an IPv4 literal. Host names are spelled in ASCII
# (an international one in its ``xn--`` form): Django also takes their Unicode spelling and an
# IPv6 literal (``a@[::1]``), which this pattern leaves out.
_ATOM = r"[-!#$%&'*+/=?^_`{}|~0-9A-Za-z\u0131\u017f\u212a]+"
_QUOTED = r'"([\x01-\x08\x0b\x0c\x0e-\x1f!#-\[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*"'
_L = "a-zA-Z"
_LABEL = rf"[{_L}0-9]([{_L}0-9-]{{0,61}}[{_L}0-9])?"
_TLD = rf"([{_L}][{_L}-]{{0,61}}[{_L}]|[xX][nN]--[a-zA-Z0-9]{{1,59}})"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_DOMAIN = rf"{_LABEL}(\.{_LABEL})*\.{_TLD}|localhost|\[({_OCTET}\.){{3}}{_OCTET}\]"
EMAIL = rf"^[{SPACE}]*({_ATOM}(\.{_ATOM})*|{_QUOTED})@({_DOMAIN})[{SPACE}]*$"


class EmailText(CharField):
    """An email address (the domain checks it: "Invalid email.")."""

    wire_schema = {"format": "email", "pattern": EMAIL}


_SEP = PHONE_SEPARATORS.replace(r"\s", SPACE)


class PhoneText(CharField):
    """A phone number as people type it: what ``phone_validator`` takes once the separators
    (spaces, dashes, dots, brackets) are gone; the domain checks it."""

    wire_schema = {"pattern": rf"^{_SEP}*(\+{_SEP}*)?(1{_SEP}*)?([0-9]{_SEP}*){{9,15}}$"}


def _optional_text(max_length: int = 255) -> serializers.CharField:
    return Text(max_length=max_length, required=False, allow_blank=True)


class LeadInputSerializer(serializers.Serializer):
    """create/lead; update/lead (``LeadUpdateInputSerializer``) takes the same fields and a
    slug. The contact fields are required as ``rules.REQUIRED_CONTACT_FIELDS`` says for REST
    (``get_fields``): a required one refuses a missing and a blank value, any other takes
    blank."""

    creating = True
    first_name = _text()
    last_name = _text()
    email = _text(kind=EmailText)
    phone = _text(kind=PhoneText)
    status = Text(max_length=50, required=False, allow_blank=True)
    source = Text(max_length=50, required=False, allow_blank=True)
    location = _optional_text()
    message = _optional_text()
    assignee = _text(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        required = rules.required_contact_fields(rules.REST, creating=self.creating)
        for name in rules.CONTACT_FIELDS:
            fields[name].required = name in required
            fields[name].allow_blank = name not in required
        return fields

    def validate_assignee(self, value: str) -> User:
        user = user_selectors.active_user(username=value)
        if user is None:
            raise serializers.ValidationError(ASSIGNEE_NOT_FOUND)
        return user

    def domain_input(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(lead fields, custom field values by system name) for the domain services."""
        data = dict(self.validated_data)
        for key in ("status", "source"):
            if key in data and not data[key]:
                data.pop(key)
        raw = self.initial_data if isinstance(self.initial_data, dict) else {}
        names = {f.system_name for f in active_custom_fields()}
        custom = {name: raw.get(name) for name in names if name in raw}
        return data, custom


class LeadUpdateInputSerializer(LeadInputSerializer):
    creating = False
    slug = _text(max_length=258)


class SlugInputSerializer(serializers.Serializer):
    slug = _text(max_length=258)


class NoteInputSerializer(SlugInputSerializer):
    note = _text(max_length=499)


class NoteIdInputSerializer(serializers.Serializer):
    note_id = IdField(invalid="Invalid note id.", blank="This field may not be blank.")


class NoteSerializer(serializers.ModelSerializer):
    note_id = serializers.IntegerField(source="id")
    note = serializers.CharField(source="text")
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LeadNote
        fields = ["note_id", "note", "author", "created_at"]


# How the list writes a moment: DRF's own field, made once (a serializer builds its fields
# on first use, which costs more than writing a page of rows). It reads the time zone and
# format on every call.
MOMENT = serializers.DateTimeField()


class LeadSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="status_id")
    source = serializers.CharField(source="source_id", allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "slug",
            "first_name",
            "last_name",
            "email",
            "phone",
            "status",
            "source",
            "location",
            "message",
            "owner",
            "assignee",
            "created_at",
            "updated_at",
            "custom_fields",
        ]

    # The columns to_representation reads (lead_list(columns=...)).
    COLUMNS = (
        *("id", "slug", "first_name", "last_name", "email", "phone", "status", "source"),
        *("location", "message", "created_at", "updated_at", "custom_fields"),
        *("owner__username", "assignee__username"),
    )

    def to_representation(self, lead: Lead) -> dict[str, Any]:
        """What ``ModelSerializer`` gives for these fields (tests/test_rest_serializers.py
        holds the two equal, keys in order), read straight off the lead: a list page has
        many rows, and the generic path costs several times more per field."""
        moment = MOMENT.to_representation
        owner, assignee = lead.owner, lead.assignee
        return {
            "id": lead.pk,
            "slug": as_text(lead.slug),
            "first_name": as_text(lead.first_name),
            "last_name": as_text(lead.last_name),
            "email": as_text(lead.email),
            "phone": as_text(lead.phone),
            "status": as_text(lead.status_id),
            "source": as_text(lead.source_id),
            "location": as_text(lead.location),
            "message": as_text(lead.message),
            "owner": None if owner is None else owner.username,
            "assignee": None if assignee is None else assignee.username,
            "created_at": None if lead.created_at is None else moment(lead.created_at),
            "updated_at": None if lead.updated_at is None else moment(lead.updated_at),
            "custom_fields": lead.custom_fields,
        }


class LeadDetailSerializer(LeadSerializer):
    notes = NoteSerializer(many=True, read_only=True)
    appointments = serializers.SerializerMethodField()

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "notes", "appointments"]

    # One lead: the generic path, for the added fields.
    to_representation = serializers.ModelSerializer.to_representation

    def get_appointments(self, lead: Lead) -> list[dict]:
        return AppointmentSerializer(lead.appointments.all(), many=True).data
