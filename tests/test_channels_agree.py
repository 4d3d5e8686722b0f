"""One lead, five channels (issue 12): the web form, the CSV import, REST ``create/lead``,
JSON-RPC ``createLeads`` and lead_set ``insert`` store the same lead for the same input, and
refuse the same input, by the rules of ``leads.rules``.

Each channel gets the input in its own words. A channel without a way to say something is left
out of that case, by its documented contract: only the CSV import and lead_set take a full name
(the others get the two parts as a person types them); JSON-RPC's lead has no source and REST's
and JSON-RPC's no tags (seeds 002 and 004).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from crm.domain import Actor, Forbidden
from crm.roles import Role
from leads import bulk, imports, rules
from leads.models import Event, Lead, Status
from leads.rpc.objects import KEY_OF_FIELD
from leads.services import field_create, lead_create, lead_update
from tests.factories import UserFactory
from tests.test_web_lead_page import errors_of

pytestmark = pytest.mark.django_db

REQUIRED = "This field is required."
TAG_TOO_LONG = "Ensure each tag has no more than 100 characters."
README = Path(__file__).resolve().parent.parent / "README.md"

WEB, IMPORT, REST, RPC, LEAD_SET = (
    rules.WEB_FORM,
    rules.CSV_IMPORT,
    rules.REST,
    rules.JSON_RPC,
    rules.LEAD_SET,
)
CHANNELS = (WEB, IMPORT, REST, RPC, LEAD_SET)
# What each channel can say, besides first and last name, email, phone and status.
CARRIES = {
    WEB: {"source", "tags"},
    IMPORT: {"full_name", "source", "tags"},
    REST: {"source"},
    RPC: set(),
    LEAD_SET: {"full_name", "source", "tags"},
}
BASE = {
    "first_name": "Pat",
    "last_name": "Buyer",
    "email": "pat@example.com",
    "phone": "(555) 123-4567",
    "status": "prospect",
}


@dataclass
class Outcome:
    """What a channel did: the lead it stored, or the messages it refused with, by model field
    (``errors``; a CSV row's messages are named by the column's label)."""

    lead: Lead | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def stored(self) -> dict:
        assert self.lead is not None, self.errors
        lead = Lead.objects.get(pk=self.lead.pk)
        return {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "email": lead.email,
            "phone": lead.phone,
            "status": lead.status_id,
            "source": lead.source_id,
            "tags": sorted(lead.tags.values_list("name", flat=True)),
        }


# --- the five channels ----------------------------------------------------------------------


def _web(ctx, values: dict) -> Outcome:
    client = ctx["client"]
    client.force_login(ctx["users"]["salesperson"])
    response = client.post("/leads/new/", values)
    if response.status_code == 302:
        return Outcome(lead=Lead.objects.get())
    assert response.status_code == 422, response.content.decode()[:2000]
    errors = {name: errors_of(response, name) for name in (*values, *rules.CONTACT_FIELDS)}
    return Outcome(errors={name: found for name, found in errors.items() if found})


COLUMNS = {
    "full_name": "Full name",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "status": "Status",
    "source": "Source",
    "tags": "Tags",
}


def _import(ctx, values: dict) -> Outcome:
    """Upload, the guessed mapping, and the run: the import service's flow."""
    actor = Actor(user=ctx["users"]["salesperson"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([COLUMNS[name] for name in values])
    writer.writerow(values.values())
    upload = SimpleUploadedFile("leads.csv", out.getvalue().encode(), content_type="text/csv")
    imp = imports.import_create(actor=actor, upload=upload)
    assert imp.mapping == [*values], imp.mapping  # every column found its field
    result = imports.import_run(actor=actor, imp=imp)
    if result["created"]:
        return Outcome(lead=Lead.objects.get(pk=result["created_ids"][0]))
    [failure] = result["failures"]
    labels = {imports.FIELD_TARGETS[name][0]: name for name in imports.FIELD_TARGETS}
    errors: dict[str, list[str]] = {}
    for message in failure["errors"]:
        label, _, text = message.partition(": ")
        errors.setdefault(labels.get(label, label), []).append(text)
    return Outcome(errors=errors)


def _rest(ctx, values: dict) -> Outcome:
    response = ctx["api"].post("create/lead/", values)
    body = response.json()
    if response.status_code == 201:
        return Outcome(lead=Lead.objects.get(slug=body["data"]["slug"]))
    assert response.status_code == 400, body
    return Outcome(errors=body["errors"])


RPC_KEYS = {**KEY_OF_FIELD, "status": "leadStatus"}


def _rpc(ctx, values: dict) -> Outcome:
    lead = {RPC_KEYS[name]: value for name, value in values.items()}
    [created] = ctx["rpc"].result("createLeads", {"objects": [lead]})["creates"]
    if created["success"] == "true":
        return Outcome(lead=Lead.objects.get(pk=int(created["id"])))
    fields = {key: name for name, key in RPC_KEYS.items()}
    errors: dict[str, list[str]] = {}
    for entry in created["error"]["data"]:
        errors.setdefault(fields.get(entry["field"], entry["field"]), []).append(entry["message"])
    return Outcome(errors=errors)


def _lead_set(ctx, values: dict) -> Outcome:
    response = Client().post(
        "/api/service/lead_set/",
        urlencode({"mode": "insert", **values}),
        content_type="application/x-www-form-urlencoded",
        headers={"apikey": ctx["api_key"]},
    )
    body = response.json()
    if body["status"] == 0:
        return Outcome(lead=Lead.objects.get(pk=body["lead_id"]))
    assert body["status"] == 12, body  # VALIDATION_FAILED: errors by parameter
    return Outcome(errors=body["errors"])


SEND = {WEB: _web, IMPORT: _import, REST: _rest, RPC: _rpc, LEAD_SET: _lead_set}


@pytest.fixture
def send(client, users, api, rpc, api_key):
    """``send(channel, values)``: the channel's outcome for these values (model field names;
    ``full_name`` and ``tags`` as text)."""
    ctx = {"client": client, "users": users, "api": api, "rpc": rpc, "api_key": api_key}

    def sending(channel: str, values: dict) -> Outcome:
        return SEND[channel](ctx, {k: v for k, v in values.items() if v is not None})

    return sending


def cases(examples: list, needs: str = "") -> list:
    """``(channel, *example)`` for every channel that can say what the examples need."""
    return [
        pytest.param(channel, *example, id=f"{channel}-{i}")
        for i, example in enumerate(examples)
        for channel in CHANNELS
        if not needs or needs in CARRIES[channel]
    ]


# --- full names -----------------------------------------------------------------------------

NAMES = [
    ("Mary Ann Lee", "Mary Ann", "Lee"),
    ("Dr. John Q. Public Jr.", "John Q.", "Public Jr."),
    ("Doe, John", "John", "Doe"),
]


@pytest.mark.parametrize(("channel", "full_name", "first", "last"), cases(NAMES))
def test_a_full_name_is_stored_the_same(send, channel, full_name, first, last):
    values = {k: v for k, v in BASE.items() if k not in ("first_name", "last_name")}
    if "full_name" in CARRIES[channel]:
        values["full_name"] = full_name
    else:  # the two parts, as a person types them into the form's two fields
        values |= {"first_name": first, "last_name": last}
    stored = send(channel, values).stored()
    assert (stored["first_name"], stored["last_name"]) == (first, last)
    assert (stored["email"], stored["phone"], stored["status"]) == (
        "pat@example.com",
        "5551234567",  # one phone rule: the separators people type are dropped
        "prospect",
    )


# --- statuses and sources by key and by label -----------------------------------------------

STATUSES = [
    ("customer", "customer"),
    ("  TENTATIVE ", "tentative"),
    ("Warm lead", "potential"),
    ("WARM LEAD", "potential"),
]
SOURCES = [("social", "social"), ("Social media", "social"), ("SOCIAL MEDIA", "social")]


@pytest.mark.parametrize(("channel", "given", "key"), cases(STATUSES))
def test_a_status_by_key_or_label_is_stored_the_same(send, channel, given, key):
    Status.objects.filter(pk="potential").update(label="Warm lead")  # an administrator's label
    assert send(channel, {**BASE, "status": given}).stored()["status"] == key


@pytest.mark.parametrize(("channel", "given", "key"), cases(SOURCES, needs="source"))
def test_a_source_by_key_or_label_is_stored_the_same(send, channel, given, key):
    assert send(channel, {**BASE, "source": given}).stored()["source"] == key


@pytest.mark.parametrize(
    ("channel", "name", "given"),
    [
        *cases([("status", "hot"), ("status", "deleted"), ("status", "Deleted")]),
        *cases([("source", "billboard")], needs="source"),
    ],
)
def test_an_unknown_or_reserved_status_or_source_is_refused_the_same(send, channel, name, given):
    outcome = send(channel, {**BASE, name: given})
    assert outcome.errors == {name: [f'"{given}" is not a valid choice.']}
    assert not Lead.objects.exists()


# --- tags -----------------------------------------------------------------------------------

TAGS = [
    ("vip,fair;spring|web\nexpo", ["expo", "fair", "spring", "vip", "web"]),
    (" vip , ;vip|| fair 2026 ", ["fair 2026", "vip"]),
    ("t" * 100, ["t" * 100]),
]


@pytest.mark.parametrize(("channel", "given", "names"), cases(TAGS, needs="tags"))
def test_tags_are_split_and_stored_the_same(send, channel, given, names):
    assert send(channel, {**BASE, "tags": given}).stored()["tags"] == names


@pytest.mark.parametrize(("channel",), cases([()], needs="tags"))
def test_an_over_long_tag_is_refused_the_same_never_cut(send, channel):
    outcome = send(channel, {**BASE, "tags": "vip, " + "t" * 101})
    assert outcome.errors == {"tags": [TAG_TOO_LONG]}
    assert not Lead.objects.exists()


# --- required contact fields ----------------------------------------------------------------


@pytest.mark.parametrize("missing", rules.CONTACT_FIELDS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_each_channel_requires_the_contact_fields_its_table_row_names(send, channel, missing):
    values = {**BASE, missing: None}
    outcome = send(channel, values)
    if missing in rules.required_contact_fields(channel, creating=True):
        assert outcome.errors == {missing: [REQUIRED]}
        assert not Lead.objects.exists()
    else:
        assert outcome.stored()[missing] == ""


def test_the_readme_shows_the_required_fields_table():
    """README's table ("Lead rules, every channel") is ``rules.REQUIRED_CONTACT_FIELDS``."""
    text = README.read_text()
    rows = {}
    for channel in CHANNELS:
        match = re.search(rf"^\| [^|]*`{channel}`[^|]*\|([^|]*)\|([^|]*)\|", text, re.M)
        assert match, channel
        rows[channel] = {
            when: tuple(n for n in re.findall(r"`(\w+)`", cell) if n in rules.CONTACT_FIELDS)
            for when, cell in zip(("create", "update"), match.groups(), strict=True)
        }
    assert rows == rules.REQUIRED_CONTACT_FIELDS


def test_the_services_refuse_an_over_long_tag_on_update_too(users):
    """The domain owns the tag rule: an edit, a merge or an import's update is refused too."""
    actor = Actor(user=users["sales_manager"])
    lead = lead_create(actor=actor, data={"email": "pat@example.com"}, tags=["keep"])
    with pytest.raises(ValidationError) as refused:
        lead_update(actor=actor, lead=lead, data={"city": "Hill Valley"}, tags=["t" * 101])
    assert refused.value.message_dict == {"tags": [TAG_TOO_LONG]}
    lead = Lead.objects.get(pk=lead.pk)
    assert (lead.city, list(lead.tags.values_list("name", flat=True))) == ("", ["keep"])


# --- under the channels: the single-lead and the batch services -----------------------------
#
# The web form, REST and lead_set write through ``lead_create`` / ``lead_update``; JSON-RPC and
# the CSV import's new rows through ``leads_create_many`` / ``leads_update_many``. Both plan each
# lead with one function (``plan_create`` / ``plan_update``), so every rule gives the same lead,
# the same timeline entries or the same refusal through both.

STORED = ("first_name", "email", "phone", "city", "status", "source", "owner", "assignee")
EVERY_REFUSAL = {"status": "hot", "source": "billboard", "phone": "call me", "email": "x@"}


def _single(write) -> Outcome:
    try:
        return Outcome(lead=write())
    except ValidationError as exc:
        return Outcome(errors=exc.message_dict)
    except Forbidden as exc:
        return Outcome(errors={"refused": [exc.message]})


def _batch(outcomes: list[bulk.Outcome]) -> Outcome:
    [outcome] = outcomes
    if outcome.ok:
        return Outcome(lead=outcome.lead)
    return Outcome(errors=outcome.errors or {"refused": [outcome.message]})


def _written(outcome: Outcome) -> dict:
    """The lead as stored, with its timeline, or the refusal."""
    if outcome.lead is None:
        return outcome.errors
    lead = Lead.objects.get(pk=outcome.lead.pk)
    return {
        **{name: getattr(lead, Lead._meta.get_field(name).attname) for name in STORED},
        "custom": lead.custom_fields,
        "tags": sorted(lead.tags.values_list("name", flat=True)),
        "events": [(e.type, e.data) for e in Event.objects.filter(lead=lead).order_by("pk")],
    }


@pytest.fixture
def people(users):
    """Who writes and who is named: by role, and a user who left (deactivated in the admin)."""
    gone = UserFactory(role=Role.SALESPERSON)
    gone.is_active = False
    return {**users, "gone": gone}


@pytest.fixture
def custom(db):
    """``custom(color=..., seats=...)``: custom values by system name; seats is required."""
    names = {
        "color": field_create(label="Color", data_length=10).system_name,
        "seats": field_create(label="Seats", data_type="number", is_required=True).system_name,
    }
    return lambda **values: {names[name]: value for name, value in values.items()}


# (who creates, the lead's values from people and custom, refused?)
CREATES = {
    "the creator owns the lead, whose status is prospect": (
        "salesperson",
        lambda p, c: {"data": {"first_name": "Pat"}, "custom": c(seats="3")},
        False,
    ),
    "status and source by label, tags, phone, custom values": (
        "sales_manager",
        lambda p, c: {
            "data": {"status": "Customer", "source": "SOCIAL MEDIA", "phone": "(555) 123-4567"},
            "custom": c(seats="12", color="Blue"),
            "tags": ["vip, fair", " vip"],
        },
        False,
    ),
    "a manager gives the lead to someone else": (
        "sales_manager",
        lambda p, c: {
            "data": {"owner": p["salesperson"], "assignee": p["jr_salesperson"]},
            "custom": c(seats="1"),
        },
        False,
    ),
    "a salesperson leaves the lead in the pool": (
        "salesperson",
        lambda p, c: {"data": {"owner": None}, "custom": c(seats="1")},
        False,
    ),
    "a salesperson may not give it to someone else": (
        "salesperson",
        lambda p, c: {"data": {"owner": p["sales_manager"]}, "custom": c(seats="1")},
        True,
    ),
    "an inactive owner": (
        "sales_manager",
        lambda p, c: {"data": {"owner": p["gone"]}, "custom": c(seats="1")},
        True,
    ),
    "a reserved status": (
        "sales_manager",
        lambda p, c: {"data": {"status": "deleted"}, "custom": c(seats="1")},
        True,
    ),
    "an over-long tag": (
        "sales_manager",
        lambda p, c: {"data": {}, "custom": c(seats="1"), "tags": ["vip", "t" * 101]},
        True,
    ),
    "an invalid custom value": (
        "sales_manager",
        lambda p, c: {"data": {}, "custom": c(seats="many")},
        True,
    ),
    "a required custom value left out": (
        "sales_manager",
        lambda p, c: {"data": {}, "custom": c(color="Red")},
        True,
    ),
    "every refused value at once, in one answer": (
        "sales_manager",
        lambda p, c: {
            "data": EVERY_REFUSAL,
            "custom": {**c(color="Far too long a colour"), "nope": "1"},
            "tags": ["t" * 101],
        },
        True,
    ),
}


@pytest.mark.parametrize("case", CREATES)
def test_a_create_gives_the_same_lead_or_refusal_singly_and_in_a_batch(people, custom, case):
    role, values_of, refused = CREATES[case]
    actor = Actor(user=people[role])
    values = values_of(people, custom)
    values["data"] = {"email": "pat@example.com", **values["data"]}

    # The batch first: it refuses an email a live lead has; lead_create leaves that to callers.
    batch = _batch(bulk.leads_create_many(actor=actor, items=[bulk.LeadInput(**values)]))
    single = _single(lambda: lead_create(actor=actor, **values))

    assert _written(single) == _written(batch)
    assert (single.lead is None, batch.lead is None) == (refused, refused)
    if case == "the creator owns the lead, whose status is prospect":
        assert (single.lead.owner, single.lead.status_id) == (people["salesperson"], "prospect")
    if case == "every refused value at once, in one answer":
        # by kind (the lists, tags, plain fields, custom values), then in the model's order
        assert [*single.errors] == [
            *("status", "source", "tags", "email", "phone"),
            *custom(color=None),
            "nope",
            *custom(seats=None),  # required, and left out
        ]


# (who updates, the changes from people and custom, refused?); each lead is the salesperson's
# with 2 seats, or the pool's (no owner) where the case says so.
UPDATES = {
    "the given fields are overwritten, the others stay": (
        "salesperson",
        lambda p, c: {"data": {"city": " Salem ", "status": "Customer"}, "custom": c(color="Red")},
        False,
    ),
    "a value given as it is changes nothing": (
        "salesperson",
        lambda p, c: {"data": {"first_name": "Pat", "status": "prospect"}, "custom": c(seats=2)},
        False,
    ),
    "a manager gives the lead to someone else": (
        "sales_manager",
        lambda p, c: {"data": {"owner": p["jr_salesperson"]}},
        False,
    ),
    "a salesperson may not edit a pool lead, whatever the values": (
        "salesperson",
        lambda p, c: {"data": {"city": "Salem", "status": "hot"}},
        True,
    ),
    "nor give its lead to someone else": (
        "salesperson",
        lambda p, c: {"data": {"assignee": p["jr_salesperson"]}},
        True,
    ),
    "an inactive assignee": ("sales_manager", lambda p, c: {"data": {"assignee": p["gone"]}}, True),
    "a status left empty": ("salesperson", lambda p, c: {"data": {"status": None}}, True),
    "a required custom value emptied": (
        "salesperson",
        lambda p, c: {"data": {}, "custom": c(seats="")},
        True,
    ),
    "every refused value at once, in one answer": (
        "salesperson",
        lambda p, c: {"data": EVERY_REFUSAL, "custom": {**c(seats="many"), "nope": "1"}},
        True,
    ),
}


@pytest.mark.parametrize("case", UPDATES)
def test_an_update_gives_the_same_lead_or_refusal_singly_and_in_a_batch(people, custom, case):
    role, values_of, refused = UPDATES[case]
    owner = None if "pool" in case else people["salesperson"]
    manager = Actor(user=people["sales_manager"])
    start = {"first_name": "Pat", "email": "pat@example.com", "owner": owner}
    one, other = (lead_create(actor=manager, data=start, custom=custom(seats=2)) for _ in "12")
    actor = Actor(user=people[role])
    values = values_of(people, custom)

    single = _single(lambda: lead_update(actor=actor, lead=one, **values))
    batch = _batch(
        bulk.leads_update_many(actor=actor, items=[bulk.LeadInput(lead_id=other.pk, **values)])
    )

    assert (single.lead is None, batch.lead is None) == (refused, refused)
    if refused:
        assert single.errors == batch.errors
        one, other = Outcome(lead=one), Outcome(lead=other)  # each stays as it was
    else:
        one, other = single, batch
    assert _written(one) == _written(other)


@pytest.mark.parametrize("name", ["phone", "mobile_phone", "office_phone", "fax"])
def test_every_phone_number_is_stored_without_separators_singly_and_in_a_batch(users, name):
    actor = Actor(user=users["sales_manager"])
    single = lead_create(actor=actor, data={"email": "one@example.com", name: "(555) 123-4567"})
    [batch] = bulk.leads_create_many(
        actor=actor,
        items=[bulk.LeadInput(data={"email": "two@example.com", name: "+1 555.123.4567"})],
    )
    stored = Lead.objects.in_bulk([single.pk, batch.lead.pk])
    assert getattr(stored[single.pk], name) == "5551234567"
    assert getattr(stored[batch.lead.pk], name) == "+15551234567"


def test_a_value_given_as_stored_is_not_checked_again_singly_or_in_a_batch(people):
    """An update checks the values that change the lead: an email stored before today's rule
    (here written past the services) does not block an edit that sends it back unchanged."""
    manager = Actor(user=people["sales_manager"])
    one, other = (lead_create(actor=manager, data={"email": "pat@example.com"}) for _ in "12")
    Lead.objects.filter(pk__in=[one.pk, other.pk]).update(email="pat at example")
    one.refresh_from_db()
    values = {"data": {"email": "pat at example", "city": "Salem"}}

    single = _single(lambda: lead_update(actor=manager, lead=one, **values))
    batch = _batch(
        bulk.leads_update_many(actor=manager, items=[bulk.LeadInput(lead_id=other.pk, **values)])
    )

    assert _written(single) == _written(batch)
    assert (single.lead.email, single.lead.city) == ("pat at example", "Salem")
