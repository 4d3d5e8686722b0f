"""The pages' Jinja2 engine (crm/jinja.py): partials, CSRF, missing variables, the test signal."""

from __future__ import annotations

import re

import jinja2
import pytest
from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.template import engines
from django.template.loader import render_to_string
from django.test import RequestFactory

from crm.jinja import environment
from tests.factories import LeadFactory, NoteFactory

pytestmark = pytest.mark.django_db


def test_a_partial_is_one_block_of_the_page_alone(rf: RequestFactory, users):
    request = rf.get("/")
    request.user = users["salesperson"]
    context = {"messages": [Message(messages.SUCCESS, "Saved.")], "oob": True}
    part = render_to_string("base.html#messages", context, request=request)
    assert part.lstrip().startswith('<div id="messages"') and 'hx-swap-oob="true"' in part
    assert "Saved." in part and "<html" not in part and "<main" not in part
    page = render_to_string("base.html", context, request=request)
    assert page.startswith("<!doctype html>") and part.strip() in page


def test_a_partial_that_does_not_exist_is_an_error(rf: RequestFactory):
    with pytest.raises(KeyError):
        render_to_string("base.html#nothing", {}, request=rf.get("/"))


def test_the_csrf_token_is_masked_once_per_page_and_read_only_if_shown(client, users):
    manager = users["sales_manager"]
    client.force_login(manager)
    lead = LeadFactory(by=manager, owner=manager)
    for _ in range(3):
        NoteFactory(lead=lead, by=manager)
    html = client.get(f"/leads/{lead.slug}/").content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert len(tokens) > 3 and len(set(tokens)) == 1  # a Delete form on each note, one mask
    # The token every form carries is the one the page's HTMX headers send.
    assert f'"X-CSRFToken": "{tokens[0]}"' in html


def test_a_page_without_a_form_sets_no_csrf_cookie(rf: RequestFactory):
    request = rf.get("/")
    html = engines["pages"].get_template("appointments/tabs.html").render({}, request=request)
    assert "Agenda" in html and "CSRF_COOKIE" not in request.META


def test_a_missing_variable_renders_empty_in_development_too():
    env = environment(
        loader=jinja2.DictLoader({"t": "[{{ missing }}|{{ lead.missing }}]"}),
        autoescape=True,
        undefined=jinja2.DebugUndefined,  # what Django's backend passes when DEBUG is on
    )
    assert env.get_template("t").render(lead=object()) == "[|]"


def test_the_test_client_sees_the_context_and_the_templates(client, users):
    client.force_login(users["salesperson"])
    response = client.get("/leads/")
    assert "page" in response.context and "form" in response.context
    assert "leads/list.html" in [t.name for t in response.templates]
