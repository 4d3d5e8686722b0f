"""Destructive actions ask first, also without JavaScript (issue 14, item 5): the server is the
source of truth. A delete posted without ``confirmed=1`` (a plain form: no JavaScript, or a
stale page) destroys nothing and answers a page in the app's layout that asks; the same post
with ``confirmed=1`` (what confirm.js or that page sends) acts. Nobody is asked to do what
they would be refused."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.utils import timezone

from crm.domain import Actor
from crm.roles import Role
from leads.models import LeadFile, Task
from leads.services import lead_file_attach, task_create
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


@pytest.fixture
def lead(salesperson, manager):
    return LeadFactory(by=manager, owner=salesperson, first_name="Ada", last_name="Lovelace")


def confirm_form(html: str) -> str:
    """The confirm page's form, or "" when the page has none."""
    start = html.find('<section class="card confirm-page"')
    return html[start : html.find("</section>", start)] if start >= 0 else ""


def test_deleting_a_lead_without_confirmation_asks_and_deletes_nothing(web, salesperson, lead):
    client = web(salesperson)
    url = f"/leads/{lead.slug}/delete/"
    response = client.post(url)
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "<title>Delete lead Ada Lovelace? · Lead CRM</title>" in html
    assert 'id="main"' in html and "Sign out" in html  # the app's layout
    form = confirm_form(html)
    assert f'action="{url}"' in form and '<input type="hidden" name="confirmed" value="1">' in form
    assert ">Delete lead</button>" in form
    assert f'<a class="btn" href="/leads/{lead.slug}/">Cancel</a>' in form
    assert "an administrator can restore it" in html
    lead.refresh_from_db()
    assert lead.status_id == "prospect"

    confirmed = client.post(url, {"confirmed": "1"})
    assert (confirmed.status_code, confirmed["Location"]) == (302, "/leads/")
    lead.refresh_from_db()
    assert lead.status_id == "deleted"


def test_an_htmx_delete_without_confirmation_asks_in_the_main_region(web, salesperson, lead):
    response = web(salesperson).post(f"/leads/{lead.slug}/delete/", headers=HTMX)
    assert response.status_code == 200
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#main", "innerHTML")
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card confirm-page"')  # the part only
    assert "<html" not in html
    lead.refresh_from_db()
    assert lead.status_id == "prospect"


def test_who_may_not_delete_is_refused_not_asked(web, users, salesperson, lead):
    jr = users[Role.JR_SALESPERSON]
    lead.assignee = jr
    lead.save(update_fields=["assignee"])
    response = web(jr).post(f"/leads/{lead.slug}/delete/")
    assert response.status_code == 302  # back to the lead with the reason
    lead.refresh_from_db()
    assert lead.status_id == "prospect"


def test_deleting_a_file_asks_first(web, salesperson, lead):
    attached = lead_file_attach(
        actor=Actor(user=salesperson), lead=lead, name="quote.pdf", content=b"%PDF"
    )
    client = web(salesperson)
    url = f"/leads/{lead.slug}/files/{attached.pk}/delete/"
    html = unescape(client.post(url).content.decode())
    assert "Delete the file quote.pdf?" in html
    assert "It is removed from Ada Lovelace and from the storage." in html
    form = confirm_form(html)
    assert ">Delete file</button>" in form and f'href="/leads/{lead.slug}/#lead-files"' in form
    assert LeadFile.objects.get().deleted_at is None

    response = client.post(url, {"confirmed": "1"})
    assert response.status_code == 302
    assert LeadFile.objects.get().deleted_at is not None
    attached.file.storage.delete(attached.file.name)


@pytest.mark.parametrize("back", ["lead", "day"])
def test_deleting_a_task_asks_first_and_keeps_where_it_came_from(web, salesperson, lead, back):
    due = timezone.now() + dt.timedelta(days=1)
    task = task_create(
        actor=Actor(user=salesperson), title="Send the quote", due=due, lead=lead,
        assignee=salesperson,
    )  # fmt: skip
    client = web(salesperson)
    url = f"/tasks/{task.pk}/delete/"
    html = unescape(client.post(url, {"back": back}).content.decode())
    assert "Delete the task “Send the quote”?" in html
    assert "It leaves the tasks of Ada Lovelace; the lead's timeline records the deletion." in html
    form = confirm_form(html)
    assert f'<input type="hidden" name="back" value="{back}">' in form  # sent again
    cancel = f"/leads/{lead.slug}/#lead-tasks" if back == "lead" else "/#my-day"
    assert f'href="{cancel}">Cancel</a>' in form
    assert Task.objects.get().deleted_at is None

    response = client.post(url, {"back": back, "confirmed": "1"})
    assert (response.status_code, response["Location"]) == (302, cancel)
    assert Task.objects.get().deleted_at is not None


def test_a_wrong_confirmation_value_is_no_confirmation(web, salesperson, lead):
    response = web(salesperson).post(f"/leads/{lead.slug}/delete/", {"confirmed": "yes"})
    assert response.status_code == 200 and b"confirm-page" in response.content
    lead.refresh_from_db()
    assert lead.status_id == "prospect"


# --- j/k through lists (issue 14, item 15): the rows shortcuts.js walks ----------------------


def test_the_rows_j_and_k_walk_are_marked_on_every_list(web, salesperson, manager, lead):
    """Each list's rows carry ``data-nav-item`` (shortcuts.js needs nothing per page): the
    pipeline's cards, My day's tasks, the agenda's appointments, the notifications."""
    task_create(
        actor=Actor(user=salesperson), title="Call back", due=timezone.now(), lead=lead,
        assignee=salesperson,
    )  # fmt: skip
    start = timezone.now() + dt.timedelta(days=1)
    AppointmentFactory(lead=lead, by=manager, host=salesperson, start=start,
                       end=start + dt.timedelta(hours=1))  # fmt: skip
    client = web(salesperson)
    marked = {
        "/pipeline/": r'<li class="board-card"[^>]*data-nav-item',
        "/": r'<li class="task[^"]*" data-nav-item id="task-\d+">',
        "/appointments/": r'<li class="appt [^"]*" data-nav-item id="appointment-\d+">',
        "/notifications/": r'<li class="notification[^"]*" data-nav-item',
    }
    for url, pattern in marked.items():
        html = client.get(url).content.decode()
        assert re.search(pattern, html), url
