"""Owner and assignee changes in the domain layer (the REST API only sends the assignee)."""

import pytest

from crm.domain import Actor, Forbidden
from crm.roles import Role
from leads.services import lead_assign, lead_update
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

GIVERS = {"administrator", "company_manager", "sales_manager"}


@pytest.mark.parametrize("role", Role.values)
def test_only_managers_give_a_lead_to_another_owner(users, role):
    me = users[role]
    lead = LeadFactory(owner=me)
    colleague = users["company_manager"] if role != "company_manager" else users["salesperson"]
    if role in GIVERS:
        lead_update(actor=Actor(user=me), lead=lead, data={"owner": colleague})
        lead.refresh_from_db()
        assert lead.owner == colleague
        assert lead.events.filter(type="assigned", data__field="owner").exists()
    else:
        with pytest.raises(Forbidden):
            lead_update(actor=Actor(user=me), lead=lead, data={"owner": colleague})
        lead.refresh_from_db()
        assert lead.owner == me
        assert not lead.events.filter(type="assigned").exists()


def test_a_salesperson_releases_its_lead_to_the_pool_but_edits_no_pool_lead(users):
    salesperson = users["salesperson"]
    actor = Actor(user=salesperson)
    lead = LeadFactory(owner=salesperson)
    lead_update(actor=actor, lead=lead, data={"owner": None})
    lead.refresh_from_db()
    assert lead.owner is None
    with pytest.raises(Forbidden) as refused:
        lead_update(actor=actor, lead=lead, data={"owner": salesperson})
    assert refused.value.code == "not_owner"  # a salesperson edits only the leads it owns


def test_a_salesperson_may_not_take_its_lead_from_the_colleague_working_it(users):
    """Releasing is for one's own slot: the owner may not unassign a colleague (nor hand the
    slot to itself); a manager may."""
    salesperson, colleague = users["salesperson"], users["jr_salesperson"]
    lead = LeadFactory(owner=salesperson, assignee=colleague)
    for person in (None, salesperson):
        with pytest.raises(Forbidden) as refused:
            lead_assign(actor=Actor(user=salesperson), lead=lead, people={"assignee": person})
        assert refused.value.code == "cannot_assign"
    lead.refresh_from_db()
    assert lead.assignee == colleague
    assert not lead.events.filter(type="assigned").exists()
    lead_assign(actor=Actor(user=users["sales_manager"]), lead=lead, people={"assignee": None})
    lead.refresh_from_db()
    assert lead.assignee is None


def test_an_api_key_acting_alone_has_administrator_rights(users):
    lead = LeadFactory(owner=users["salesperson"])
    lead_update(actor=Actor(), lead=lead, data={"owner": users["jr_salesperson"]})
    lead.refresh_from_db()
    assert lead.owner == users["jr_salesperson"]
