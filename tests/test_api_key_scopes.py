"""Scoped API keys: full account (the default), read-only, and acting as one user, on the
three APIs (REST, JSON-RPC, lead_set) and on webhooks."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from appointments.models import Appointment
from crm.domain import Actor
from crm.models import ApiKey, KeyScope
from crm.roles import Role
from crm.services import api_key_authenticate, api_key_create
from leads import access
from leads.access import READ_ONLY_KEY
from leads.models import CallLog, Event, Lead, LeadNote
from tests.conftest import PartnerClient, error_of
from tests.factories import PASSWORD, AppointmentFactory, LeadFactory, NoteFactory
from tests.rpc import RpcClient
from webhooks.delivery import dispatch_pending_changes, render_body
from webhooks.models import Delivery, LeadChange
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db

LEAD_SET = "/api/service/lead_set/"
LOGIN = "/api/v1/user/login/"
FIELDS = {
    "first_name": "Pat",
    "last_name": "Buyer",
    "email": "b@example.com",
    "phone": "5551234567",
}
OTHER_USER = "This API key acts as another user."


def snapshot() -> dict[str, int]:
    """Rows of everything a write may add."""
    return {
        model.__name__: model.objects.count()
        for model in (Lead, LeadNote, Event, Appointment, CallLog)
    }


@pytest.fixture
def world(users):
    """A lead the salesperson owns, one it is assigned, one of the sales manager's, and one in
    the pool."""
    seller, manager = users[Role.SALESPERSON], users[Role.SALES_MANAGER]
    return {
        "owned": LeadFactory(by=manager, owner=seller, first_name="Owned"),
        "assigned": LeadFactory(by=manager, owner=manager, assignee=seller, first_name="Given"),
        "managers": LeadFactory(by=manager, owner=manager, first_name="Managers"),
        "pool": LeadFactory(by=manager, owner=None, first_name="Pool"),
    }


@pytest.fixture
def read_only_key(db) -> str:
    return api_key_create(name="Reporting", scope=KeyScope.READ_ONLY)[1]


@pytest.fixture
def seller_key(users) -> str:
    return api_key_create(
        name="Seller's tool", scope=KeyScope.USER, acts_as=users[Role.SALESPERSON]
    )[1]


def rpc_ids(rows: list[dict]) -> set[int]:
    return {int(row["id"]) for row in rows}


# --- the key itself -------------------------------------------------------------------------


def test_a_user_key_names_its_user_and_only_a_user_key_does(users):
    with pytest.raises(ValidationError) as caught:
        api_key_create(name="No one", scope=KeyScope.USER)
    assert "acts_as" in caught.value.message_dict
    with pytest.raises(ValidationError):
        api_key_create(name="Both", scope=KeyScope.READ_ONLY, acts_as=users[Role.SALESPERSON])
    key, _raw = api_key_create(name="Default")
    assert key.scope == KeyScope.FULL and key.acts_as is None
    with pytest.raises(IntegrityError), transaction.atomic():  # the database says so too
        ApiKey.objects.filter(pk=key.pk).update(scope=KeyScope.USER)


def test_create_api_key_takes_a_scope(users):
    out = StringIO()
    call_command("create_api_key", "Seller", "--scope", "user", "--acts-as", "salesperson",
                 stdout=out)  # fmt: skip
    lines = out.getvalue().strip().splitlines()
    assert "Acts as a user salesperson" in lines[0]
    key = api_key_authenticate(lines[-1])
    assert (key.scope, key.acts_as) == (KeyScope.USER, users[Role.SALESPERSON])
    with pytest.raises(CommandError, match="No user is named"):
        call_command("create_api_key", "X", "--scope", "user", "--acts-as", "nobody")
    with pytest.raises(CommandError, match="Choose the user"):
        call_command("create_api_key", "X", "--scope", "user")


def test_a_user_key_stops_with_its_user(users, seller_key, world):
    rpc = RpcClient(seller_key)
    assert rpc.call("getLeads", {"where": {}})["error"] is None
    seller = users[Role.SALESPERSON]
    seller.is_active = False
    seller.save()
    assert api_key_authenticate(seller_key) is None
    body = rpc.send({"method": "getLeads", "params": {"where": {}}, "id": 1}).json()
    assert body["result"] is None and body["error"]["code"] == 105  # refused on the next call


def test_a_read_only_key_has_no_permission_to_change_anything(api_key, read_only_key, world):
    """leads.access itself answers no to a read-only key, whatever it asks (the services also
    refuse it before asking), where a full key, an administrator, is answered yes."""
    lead = world["owned"]
    note = NoteFactory(lead=lead)
    appointment = AppointmentFactory(lead=lead)

    def answers(raw_key: str) -> dict[str, bool]:
        actor = Actor.for_key(api_key_authenticate(raw_key))
        return {
            "edit": access.can_edit(actor, lead),
            "give": access.can_give(actor),
            "change a person": access.can_change_person(actor, lead.owner_id, None),
            "delete": access.can_delete(actor, lead),
            "write activity": access.can_write_activity(actor, lead),
            "delete a note": access.can_delete_note(actor, note),
            "change an appointment": access.can_change_appointment(actor, appointment),
            "delete in bulk": access.can_bulk_delete(actor),
            "handle personal data": access.can_handle_personal_data(actor),
        }

    full, read_only = answers(api_key), answers(read_only_key)
    assert all(full.values()), full
    assert not any(read_only.values()), read_only


def test_the_admin_sets_and_shows_the_scope(admin_client, users):
    seller = users[Role.SALESPERSON]
    response = admin_client.post(
        "/admin/crm/apikey/add/",
        {"name": "Seller's tool", "scope": "user", "acts_as": seller.pk},
        follow=True,
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="Seller's tool")
    assert (key.scope, key.acts_as) == (KeyScope.USER, seller)
    refused = admin_client.post("/admin/crm/apikey/add/", {"name": "Nobody's", "scope": "user"})
    assert refused.status_code == 200 and b"Choose the user this key acts as." in refused.content
    api_key_create(name="Reporting", scope=KeyScope.READ_ONLY)
    listing = admin_client.get("/admin/crm/apikey/").content.decode()
    assert "Acts as a user: salesperson" in listing and "Read-only" in listing
    assert "Full account" not in listing or "Reporting" in listing


# --- JSON-RPC -------------------------------------------------------------------------------


def test_rpc_read_only_key_reads_everything_and_changes_nothing(read_only_key, world):
    rpc = RpcClient(read_only_key)
    assert rpc_ids(rpc.result("getLeads", {"where": {}})["lead"]) == {
        lead.pk for lead in world.values()
    }
    before = snapshot()
    lead = world["owned"]
    calls = {
        "createLeads": {"objects": [{"emailAddress": "new@example.com"}]},
        "updateLeads": {"objects": [{"id": lead.pk, "companyName": "Changed"}]},
        "deleteLeads": {"objects": [{"id": lead.pk}]},
        "logCalls": {"objects": [{"leadID": lead.pk, "timestamp": "2026-01-01 10:00:00"}]},
    }
    for method, params in calls.items():
        result = rpc.result(method, params)
        entries = next(iter(v for k, v in result.items() if isinstance(v, list)))
        assert [e["error"]["code"] for e in entries] == [403], method
        assert entries[0]["error"]["message"] == "This API key is read-only."
    assert snapshot() == before
    lead.refresh_from_db()
    assert lead.company != "Changed" and not lead.is_deleted


def test_rpc_user_key_sees_and_writes_as_its_user(users, seller_key, world):
    rpc = RpcClient(seller_key)
    seen = rpc_ids(rpc.result("getLeads", {"where": {}})["lead"])
    # a salesperson's visibility: its own, its assigned, and the pool; not the manager's
    assert seen == {world["owned"].pk, world["assigned"].pk, world["pool"].pk}
    created = rpc.result("createLeads", {"objects": [{"emailAddress": "mine@example.com"}]})
    new = Lead.objects.get(pk=created["creates"][0]["id"])
    assert new.owner == users[Role.SALESPERSON]  # the user it acts as owns what it creates
    assert new.events.get().api_key.scope == KeyScope.USER
    update = rpc.result(
        "updateLeads", {"objects": [{"id": world["managers"].pk, "companyName": "Taken"}]}
    )
    assert update["updates"][0]["error"]["code"] == 404  # as if it did not exist
    delete = rpc.result("deleteLeads", {"objects": [{"id": world["assigned"].pk}]})
    assert delete["deletes"][0]["error"] is not None  # a salesperson deletes only its own


# --- lead_set -------------------------------------------------------------------------------


def test_lead_set_refuses_a_read_only_key(read_only_key, client):
    before = snapshot()
    response = client.post(LEAD_SET, {"mode": "insert"}, headers={"apikey": read_only_key})
    body = response.json()
    assert (response.status_code, body["status"]) == (403, 19)
    assert body["status_message"] == READ_ONLY_KEY
    assert snapshot() == before


def test_lead_set_user_key_creates_leads_its_user_owns(users, seller_key, client, world):
    response = client.post(
        LEAD_SET, {"mode": "insert", "email": "x@example.com"}, headers={"apikey": seller_key}
    )
    assert response.status_code == 200, response.json()
    assert Lead.objects.get(pk=response.json()["lead_id"]).owner == users[Role.SALESPERSON]
    response = client.post(
        LEAD_SET,
        {"mode": "update", "lead_id": world["managers"].pk, "company": "Taken"},
        headers={"apikey": seller_key},
    )
    assert (response.status_code, response.json()["status"]) == (404, 10)


# --- REST -----------------------------------------------------------------------------------


def test_rest_read_only_key_reads_but_every_write_is_refused(users, read_only_key, world):
    api = PartnerClient(read_only_key, users[Role.SALES_MANAGER])
    body = api.get("list/", {"list_type": "all"}).json()
    assert body["data"]["count"] == 4
    before = snapshot()
    lead = world["owned"]
    writes = [
        ("create/lead/", FIELDS),
        ("update/lead/", {**FIELDS, "slug": lead.slug, "company": "Changed"}),
        ("delete/lead/", {"slug": lead.slug}),
        ("create/leadnote/", {"slug": lead.slug, "note": "Called"}),
        (
            "create/appointment/",
            {
                "slug": lead.slug,
                "appointment_date": "2099-01-05 10:00",
                "appointment_to": "2099-01-05 11:00",
            },
        ),
    ]
    for path, data in writes:
        status, kind, errors = error_of(api.post(path, data))
        assert (status, errors) == (403, {"detail": [READ_ONLY_KEY]}), path
    assert snapshot() == before


def test_rest_user_key_signs_in_only_its_user(users, seller_key, world):
    anonymous = PartnerClient(seller_key)
    other = {"username": "sales_manager", "password": PASSWORD}
    status, _kind, errors = error_of(anonymous.post(LOGIN, other))
    assert (status, errors) == (403, {"detail": [OTHER_USER]})
    own = anonymous.post(LOGIN, {"username": "salesperson", "password": PASSWORD})
    assert own.status_code == 200 and own.json()["access"]
    # a token of another user, sent with this key, is refused too
    status, _kind, errors = error_of(
        PartnerClient(seller_key, users[Role.SALES_MANAGER]).get("list/")
    )
    assert (status, errors) == (401, {"detail": [OTHER_USER]})
    seller = PartnerClient(seller_key, users[Role.SALESPERSON])
    slugs = {
        row["slug"] for row in seller.get("list/", {"list_type": "all"}).json()["data"]["results"]
    }
    assert slugs == {world[name].slug for name in ("owned", "assigned", "pool")}


# --- webhooks -------------------------------------------------------------------------------


def test_a_user_keys_subscription_hears_only_of_its_users_leads(users, world):
    full, _ = api_key_create(name="Everything")
    seller, _ = api_key_create(
        name="Seller's", scope=KeyScope.USER, acts_as=users[Role.SALESPERSON]
    )
    everything, _ = subscription_create(api_key=full, url="https://all.example/hook")
    mine, _ = subscription_create(api_key=seller, url="https://seller.example/hook")
    LeadChange.objects.all().delete()
    LeadChange.objects.bulk_create([LeadChange(lead_id=lead.pk) for lead in world.values()])
    only_managers = LeadFactory(by=users[Role.SALES_MANAGER], owner=users[Role.SALES_MANAGER])
    dispatch_pending_changes()

    by_subscription = {d.subscription_id: d for d in Delivery.objects.all()}
    assert set(by_subscription[everything.pk].lead_ids) == {
        *(lead.pk for lead in world.values()),
        only_managers.pk,
    }
    assert set(by_subscription[mine.pk].lead_ids) == {
        world[name].pk for name in ("owned", "assigned", "pool")
    }
    # and what it renders, when the lead is given away before the POST, leaves it out
    Lead.objects.filter(pk=world["assigned"].pk).update(assignee=None)
    sent = json.loads(render_body(by_subscription[mine.pk]))
    assert rpc_ids(sent["leads"]) == {world["owned"].pk, world["pool"].pk}
    assert not re.search(r"Managers", json.dumps(sent))


def test_a_full_key_acts_as_an_administrator(api_key, world):
    """The default scope keeps the source systems' behaviour."""
    assert Actor.for_key(api_key_authenticate(api_key)).role == Role.ADMINISTRATOR
    rpc = RpcClient(api_key)
    assert len(rpc.result("getLeads", {"where": {}})["lead"]) == 4
