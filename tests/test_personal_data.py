"""A lead's personal data: the export holds everything about the person, and erasure leaves
none of the person's values in any table (or in storage), keeps the counts and the
non-personal history, and records who erased it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from appointments.services import appointment_create
from crm.domain import Actor, Forbidden
from crm.roles import Role
from leads import bulk, privacy, selectors
from leads.models import Event, EventType, Lead, LeadFile, LeadImport
from leads.services import field_create, lead_create, lead_file_attach, lead_update, note_create
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db

SECRET_VALUES = {
    "first_name": "Ottilie",
    "last_name": "Quarrington",
    "email": "ottilie.quarrington@example.org",
    "phone": "5559876543",
    "company": "Quarrington Mills",
    "city": "Wexcombe",
}
NICKNAME = "Tilly-Q"
NOTE = "Ottilie prefers calls after five"
FILE_NAME = "quarrington-contract.pdf"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def person(users, media):
    """A lead with a value in every kind of place the CRM keeps one."""
    manager = Actor(user=users[Role.SALES_MANAGER])
    nickname = field_create(label="Nickname", is_custom=True).system_name
    lead = lead_create(
        actor=manager,
        data={**SECRET_VALUES, "status": "prospect"},
        custom={nickname: NICKNAME},
        tags=["vip"],
    )
    lead_update(actor=manager, lead=lead, data={"title": "Owner of Quarrington Mills"})
    note_create(actor=manager, lead=lead, text=NOTE)
    start = timezone.now() + dt.timedelta(days=3)
    appointment_create(
        actor=manager, lead=lead, start=start, end=start + dt.timedelta(hours=1),
        note="Meet Ottilie at Quarrington Mills",
    )  # fmt: skip
    bulk.calls_log_many(
        actor=manager,
        items=[
            bulk.CallInput(lead.pk, timezone.now(), 60, "Answered", "Ottilie asked for a quote")
        ],
    )
    lead_file_attach(actor=manager, lead=lead, name=FILE_NAME, content=b"Ottilie Quarrington")
    LeadImport.objects.create(
        file_name="people.csv",
        encoding="utf-8",
        headers=["Name", "Email"],
        rows=[[2, ["Ottilie", SECRET_VALUES["email"]]], [3, ["Someone", "else@example.com"]]],
        mapping=["first_name", "email"],
        created_by=users[Role.SALES_MANAGER],
    )
    subscription = Subscription.objects.create(
        api_key_id=_key().pk, url="https://partner.example/hook", secret="s" * 20
    )
    Delivery.objects.create(
        subscription=subscription,
        lead_ids=[lead.pk],
        body=json.dumps({"leads": [{"id": str(lead.pk), "emailAddress": SECRET_VALUES["email"]}]},
                        separators=(",", ":")),
        give_up_at=timezone.now() + dt.timedelta(days=1),
    )  # fmt: skip
    return Lead.objects.get(pk=lead.pk)


def _key():
    from crm.services import api_key_create

    return api_key_create(name="Partner")[0]


def stored_texts() -> list[tuple[str, str]]:
    """(table, text) of every text and JSON value in every table of the project's apps."""
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in ("crm", "leads", "appointments", "webhooks"):
            continue
        columns = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
        ]
        for row in model._default_manager.values_list(*columns):
            found += [
                (model._meta.db_table, json.dumps(v, default=str))
                for v in row
                if v not in (None, "")
            ]
    return found


def personal_traces() -> list[tuple[str, str]]:
    needles = [v.casefold() for v in (*SECRET_VALUES.values(), NICKNAME, "ottilie")]
    return [(t, text) for t, text in stored_texts() if any(n in text.casefold() for n in needles)]


def test_the_export_holds_everything_about_the_person(users, person):
    exported = privacy.personal_data(actor=Actor(user=users[Role.ADMINISTRATOR]), lead=person)
    json.dumps(exported)  # JSON-ready as it is
    assert {k: exported["lead"][k] for k in SECRET_VALUES} == SECRET_VALUES
    assert list(exported["lead"]["custom_fields"].values()) == [NICKNAME]
    assert exported["lead"]["tags"] == ["vip"]
    assert [n["text"] for n in exported["notes"]] == [NOTE]
    assert exported["appointments"][0]["note"] == "Meet Ottilie at Quarrington Mills"
    assert exported["calls"][0]["notes"] == "Ottilie asked for a quote"
    assert [f["name"] for f in exported["files"]] == [FILE_NAME]
    types = [e["type"] for e in exported["timeline"]]
    assert {"created", "updated", "note_added", "appointment_created", "call_logged"} <= set(types)


def test_erasure_leaves_no_personal_value_in_any_table(users, person, media):
    assert personal_traces()  # the search finds them before
    stored_file = LeadFile.objects.get(lead=person).file.name
    assert (media / stored_file).exists()
    counts_before = selectors.overview(actor=Actor(user=users[Role.ADMINISTRATOR]))

    admin = users[Role.ADMINISTRATOR]
    privacy.personal_data_erase(actor=Actor(user=admin), lead=person)

    assert personal_traces() == []
    assert not (media / stored_file).exists()
    lead = Lead.objects.get(pk=person.pk)
    assert (lead.first_name, lead.email, lead.custom_fields) == ("Erased", "", {})
    assert lead.status_id == "prospect" and lead.owner == users[Role.SALES_MANAGER]
    assert selectors.overview(actor=Actor(user=admin)) == counts_before  # counts are kept
    assert LeadImport.objects.get().rows[1] == [3, ["Someone", "else@example.com"]]
    audit = Event.objects.get(lead=lead, type=EventType.PERSONAL_DATA_ERASED)
    assert audit.actor == admin and "email" in audit.data["fields"]
    kinds = set(Event.objects.filter(lead=lead).values_list("type", flat=True))
    assert {"created", "note_added", "call_logged"} <= kinds  # the history's shape stays


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SALESPERSON, Role.MARKETING_MANAGER])
def test_only_administrators_and_company_managers_handle_personal_data(users, person, role):
    actor = Actor(user=users[role])
    with pytest.raises(Forbidden):
        privacy.personal_data(actor=actor, lead=person)
    with pytest.raises(Forbidden):
        privacy.personal_data_erase(actor=actor, lead=person)
    assert Lead.objects.get(pk=person.pk).email == SECRET_VALUES["email"]
    company = Actor(user=users[Role.COMPANY_MANAGER])
    assert privacy.personal_data(actor=company, lead=person)["lead"]["email"]


# --- the web app and the admin ---------------------------------------------------------------


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_lead_page_offers_both_only_to_those_who_may(users, person):
    page = f"/leads/{person.slug}/"
    for role in (Role.ADMINISTRATOR, Role.COMPANY_MANAGER):
        html = _client(users[role]).get(page).content.decode()
        assert "Export personal data" in html and "Erase personal data" in html, role
    html = _client(users[Role.SALES_MANAGER]).get(page).content.decode()
    assert "Export personal data" not in html and "Erase personal data" not in html
    refused = _client(users[Role.SALES_MANAGER]).get(f"{page}personal-data/")
    assert refused.status_code == 403


def test_export_downloads_a_json_file(users, person):
    response = _client(users[Role.COMPANY_MANAGER]).get(f"/leads/{person.slug}/personal-data/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["lead"]["email"] == SECRET_VALUES["email"]


def test_erase_on_the_web_asks_first_then_erases(users, person):
    client = _client(users[Role.ADMINISTRATOR])
    url = f"/leads/{person.slug}/personal-data/erase/"
    asked = client.post(url)  # a form without JavaScript: a page that asks
    assert asked.status_code == 200 and b"cannot be undone" in asked.content
    assert Lead.objects.get(pk=person.pk).email == SECRET_VALUES["email"]
    done = client.post(url, {"confirmed": "1"}, headers={"HX-Request": "true"})
    assert done.status_code == 200 and done["HX-Redirect"] == f"/leads/{person.slug}/"
    assert Lead.objects.get(pk=person.pk).email == ""
    refused = _client(users[Role.SALESPERSON]).post(url, {"confirmed": "1"})
    assert refused.status_code == 404  # the salesperson does not see the manager's lead


def test_the_admin_exports_and_erases_after_asking(users, person):
    admin_client = _client(users[Role.ADMINISTRATOR])
    changelist = "/admin/leads/lead/"
    picked = {"_selected_action": [person.pk]}
    exported = admin_client.post(changelist, {**picked, "action": "export_personal_data"})
    assert json.loads(exported.content)[person.slug]["lead"]["email"] == SECRET_VALUES["email"]
    asked = admin_client.post(changelist, {**picked, "action": "erase_personal_data"})
    assert asked.status_code == 200 and b"Yes, erase their personal data" in asked.content
    assert Lead.objects.get(pk=person.pk).email == SECRET_VALUES["email"]
    admin_client.post(changelist, {**picked, "action": "erase_personal_data", "confirmed": "1"})
    assert Lead.objects.get(pk=person.pk).email == ""
    assert personal_traces() == []
