"""The pure lead rules of ``leads.rules`` (no database): full names, statuses and sources by key,
label, alias or position, tags, phone numbers and the required contact fields table.
tests/test_channels_agree.py holds the five channels to them."""

from __future__ import annotations

import pytest

from leads import rules
from leads.models import Tag

STATUSES = {
    "prospect": "Prospect",
    "tentative": "Tentative",
    "potential": "Warm lead",
    "contact": "Contact",
    "customer": "Customer",
    "closed": "Closed",
}


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Mary Ann Lee", "Mary Ann", "Lee"),
        ("Dr. John Q. Public Jr.", "John Q.", "Public Jr."),
        ("Doe, John", "John", "Doe"),
        ("Lee, Mary Ann", "Mary Ann", "Lee"),
        ("Juan de la Vega", "Juan", "de la Vega"),
        ("Ann Lee, PhD", "Ann", "Lee PhD"),
        ('John "Jack" Smith', "John", "Smith"),
        ("  Mary   Ann \t Lee ", "Mary Ann", "Lee"),
        ("Madonna", "Madonna", ""),
        ("Dr.", "Dr.", ""),  # nothing but a title: kept whole rather than lost
        ("", "", ""),
        ("   ", "", ""),
    ],
)
def test_a_full_name_is_split_into_given_names_and_family_name(text, first, last):
    assert rules.split_full_name(text) == (first, last)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("customer", "customer"),  # a key
        ("CUSTOMER", "customer"),  # a key in any case
        (" Customer ", "customer"),
        ("Warm lead", "potential"),  # a label
        ("wARM LEAD", "potential"),  # a label in any case
        ("hot", None),
        ("", None),
        ("1", None),  # positions only where a channel says so
        ("deleted", None),  # not among the entries a lead may be given
    ],
)
def test_a_status_is_named_by_key_or_label(value, key):
    assert rules.resolve_choice(value, STATUSES) == key


def test_a_key_wins_over_another_entrys_label():
    options = {"warm": "Hot", "hot": "Warm"}
    assert rules.resolve_choice("hot", options) == "hot"
    assert rules.resolve_choice("Warm", options) == "warm"  # a key in any case, before labels
    assert rules.resolve_choice("HOT", options) == "hot"


def test_two_entries_with_one_label_give_the_first_in_order():
    assert rules.resolve_choice("same", {"a": "Same", "b": "same"}) == "a"


@pytest.mark.parametrize(
    ("value", "key"),
    [("1", "prospect"), ("6", "closed"), ("0", None), ("7", None), ("prospect", "prospect")],
)
def test_lead_set_names_a_status_by_its_position_too(value, key):
    assert rules.resolve_choice(value, STATUSES, by_position=True) == key


def test_json_rpc_names_a_status_by_its_own_values_first():
    aliases = {"open": "prospect", "qualified": "potential", "contact": "customer"}
    assert rules.resolve_choice("open", STATUSES, aliases=aliases) == "prospect"
    assert rules.resolve_choice("Qualified", STATUSES, aliases=aliases) == "potential"
    assert rules.resolve_choice("contact", STATUSES, aliases=aliases) == "customer"
    assert rules.resolve_choice("Warm lead", STATUSES, aliases=aliases) == "potential"
    # An alias for a status a lead may not be given names nothing.
    assert rules.resolve_choice("gone", STATUSES, aliases={"gone": "deleted"}) is None


@pytest.mark.parametrize(
    ("given", "names"),
    [
        ("vip,fair;spring|web\nexpo\r\nlast", ["vip", "fair", "spring", "web", "expo", "last"]),
        (" vip , ;vip|| fair 2026 ", ["vip", "fair 2026"]),
        ("", []),
        (["vip", "a;b", " ", "vip"], ["vip", "a", "b"]),  # each item of a list is split too
        ("VIP,vip", ["VIP", "vip"]),  # tags keep their case
    ],
)
def test_tags_are_split_on_one_set_of_separators(given, names):
    assert rules.split_tags(given) == names


def test_an_over_long_tag_and_too_many_tags_are_refused():
    assert rules.tag_errors(["t" * 100] * 1) == []
    assert rules.tag_errors(["ok", "t" * 101]) == [
        "Ensure each tag has no more than 100 characters."
    ]
    assert rules.tag_errors([f"t{i}" for i in range(100)]) == []
    assert rules.tag_errors([f"t{i}" for i in range(101)]) == [
        "Ensure there are no more than 100 tags."
    ]


def test_a_tag_is_as_long_as_the_tag_table_keeps():
    assert Tag._meta.get_field("name").max_length == rules.TAG_LENGTH


@pytest.mark.parametrize(
    ("given", "stored"),
    [("(555) 123-4567", "5551234567"), ("+1 555.123.4567", "+15551234567"), ("", "")],
)
def test_a_phone_number_is_kept_without_separators(given, stored):
    assert rules.normalize_phone(given) == stored


def test_the_required_contact_fields_table_covers_every_channel():
    assert set(rules.REQUIRED_CONTACT_FIELDS) == set(rules.CHANNELS)
    for row in rules.REQUIRED_CONTACT_FIELDS.values():
        assert set(row) == {"create", "update"}
        assert all(set(fields) <= set(rules.CONTACT_FIELDS) for fields in row.values())


def test_missing_contact_fields_are_the_required_ones_absent_or_blank():
    data = {"first_name": "Pat", "last_name": " ", "email": None}
    assert rules.missing_contact_fields(rules.REST, data, creating=True) == [
        "last_name",
        "email",
        "phone",
    ]
    assert rules.missing_contact_fields(rules.JSON_RPC, data, creating=True) == ["email"]
    assert rules.missing_contact_fields(rules.JSON_RPC, data, creating=False) == []
    assert rules.missing_contact_fields(rules.LEAD_SET, {}, creating=True) == []
