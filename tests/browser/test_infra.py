"""The browser-test infrastructure itself, against pages that exist without the web app."""

from __future__ import annotations

import pytest

from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot, take_errors

pytestmark = BROWSER_DB


def test_admin_login_page_renders_is_accessible_and_is_shot(anon_page, anon_page_for):
    response = anon_page.goto("/admin/login/")
    assert response is not None and response.status == 200
    assert anon_page.title() == "Log in | Lead CRM admin"
    assert anon_page.get_by_label("Username").is_visible()
    assert shoot(anon_page, "infra-admin-login").is_file()
    assert_accessible(anon_page)

    narrow = anon_page_for(width=390, height=844)
    narrow.goto("/admin/login/")
    assert narrow.viewport_size == {"width": 390, "height": 844}
    assert shoot(narrow, "infra-admin-login").name == "infra-admin-login-390.png"


def test_page_for_is_signed_in_without_the_login_form(page_for, users):
    page = page_for(users["administrator"])
    response = page.goto("/admin/")
    assert response is not None and response.status == 200
    assert page.url.endswith("/admin/")  # not redirected to the login form
    assert page.get_by_role("heading", name="Users, lists, custom fields and API keys").is_visible()
    assert page.get_by_role("link", name="Users").first.is_visible()


def test_anonymous_page_is_sent_to_the_login_form(anon_page):
    anon_page.goto("/admin/")
    assert "/admin/login/" in anon_page.url


def test_uncaught_javascript_and_console_errors_are_collected(anon_page):
    anon_page.set_content(
        "<main><h1>Hi</h1></main>"
        "<script>console.error('logged on purpose');</script>"
        "<script>throw new Error('thrown on purpose');</script>"
    )
    anon_page.evaluate("1")  # a round trip: the scripts' events have come back by now
    errors = take_errors(anon_page)
    # Taken, so they do not fail this test at teardown; untaken, they would.
    assert any("console error" in e and "logged on purpose" in e for e in errors), errors
    thrown = [e for e in errors if "uncaught JavaScript error" in e and "thrown on purpose" in e]
    assert thrown, errors
    assert take_errors(anon_page) == []


def test_accessibility_failures_list_rule_and_target(anon_page):
    anon_page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_accessible(anon_page)
    assert "image-alt (critical): Images must have alternative text" in str(failure.value)
    assert "at img" in str(failure.value)
