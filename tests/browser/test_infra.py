"""The browser-test infrastructure itself, against pages that exist without the web app."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    BROWSER_DB,
    assert_accessible,
    shoot,
    take_csp_violations,
    take_errors,
)

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


def test_the_content_security_policy_runs_only_our_scripts(page_for, users):
    """Every page carries the policy; the page's own scripts (with the request's nonce) run,
    injected inline code does not, and the browser tests hear of the violation."""
    page = page_for(users["salesperson"])
    response = page.goto("/")
    policy = response.headers["content-security-policy"]
    # Browsers hide a nonce attribute's value from the DOM; the element's property keeps it.
    nonce = page.evaluate("document.querySelector(\"script[src*='crm/app.js']\").nonce")
    assert nonce and f"'nonce-{nonce}'" in policy and "script-src 'self'" in policy
    assert page.evaluate("typeof window.crmShowError") == "function"  # app.js ran
    assert page.evaluate("typeof window.htmx") == "object"
    page.evaluate(
        """() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.appendChild(script);
    }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    (violation,) = take_csp_violations(page)
    assert "script-src" in violation and "blocked inline" in violation


def test_the_api_documentation_runs_under_the_policy(anon_page):
    """Swagger UI (drf-spectacular's split view: its start script is a file of its own)."""
    response = anon_page.goto("/api/docs/")
    assert "content-security-policy" in response.headers
    expect(anon_page.locator(".swagger-ui .title")).to_contain_text("Lead CRM REST API")
    expect(anon_page.get_by_text("/api/v1/leads/list/").first).to_be_visible()
