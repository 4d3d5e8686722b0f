"""Real-browser tests: Playwright's sync API driving Debian's chromium against ``live_server``.

A test module looks like this::

    from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot

    pytestmark = BROWSER_DB


    def test_lead_list(page_for, users):
        page = page_for(users["salesperson"], width=390)  # signed in, no login form
        page.goto("/leads/")  # relative to live_server.url
        shoot(page, "lead-list")  # screenshots/lead-list-390.png
        assert_accessible(page)  # fails on serious or critical axe-core violations

Every page of a test fails it (at teardown) on an uncaught JavaScript error or a console error;
a test that expects one takes it with ``take_errors(page)``. Every test here is marked
``browser``, so ``pytest -m "not browser"`` leaves them out.

The browser is Debian's ``chromium`` (``apt-get install chromium``), never one downloaded by
``playwright install``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    sync_playwright,
)
from pytest_playwright_axe import Axe

# Playwright's sync API runs an asyncio event loop in this thread for as long as the browser is
# up (the session), so Django sees a "running event loop" and raises SynchronousOnlyOperation on
# every ORM call in the test thread, in browser tests and in the tests that run after them in
# the same process. Nothing here runs async code concurrently with the ORM: the loop only
# serves Playwright's calls, which block until they finish.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Browser tests need real transactions (the live server's threads must see the test's data),
# and the flush after a transactional test would also drop the statuses and sources the data
# migrations load; serialized_rollback brings them back (as in tests/test_concurrent_booking.py).
# Use as ``pytestmark = BROWSER_DB``; a browser test without any django_db mark gets it anyway.
BROWSER_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HERE = Path(__file__).resolve().parent
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root (Playwright passes this by default too)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Errors seen by the pages of the running test, per page; see _watch() and take_errors().
_CSP_KEY = "_crm_csp_violations"
_ERRORS_KEY = "_browser_test_errors"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser ``browser``, and give it BROWSER_DB if unmarked."""
    for item in items:
        if item.path.parent != HERE:  # (a comparison: Path.is_relative_to is slow on every test)
            continue
        item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("django_db") is None:
            item.add_marker(BROWSER_DB)


def _keep_serialized_contents(start: Callable[[], object]) -> object:
    """Run ``start`` (which starts Playwright's event loop in this thread), keeping what
    serialized_rollback restores.

    Django keeps database connections in an asgiref ``Local`` that is thread-local while the
    thread runs no event loop and context-local once one runs; so after Playwright starts, this
    thread sees new connection objects, without the ``_test_serialized_contents`` the test
    database setup put on the old ones. Without them every transactional test after the first
    starts from an empty database (no statuses, no sources) whenever the database was set up
    before the browser, as when ordinary tests run first in the same process.
    """
    from django.db import connections

    kept = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    started = start()
    for alias, contents in kept.items():
        if not hasattr(connections[alias], "_test_serialized_contents"):
            connections[alias]._test_serialized_contents = contents
    return started


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator[Browser]:
    """Debian's chromium, headless, one per test process (so one per xdist worker)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Browser tests need Debian's chromium: `apt-get install chromium` "
            "(.ci/run does this). Playwright's own downloaded browsers are not used.",
            pytrace=False,
        )
    playwright = _keep_serialized_contents(sync_playwright().start)
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except BaseException:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


# Reports each Content-Security-Policy violation on the console, where _watch sees it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked "
    + (event.blockedURI || "inline") + " at " + (event.sourceFile || location.href)
    + ":" + event.lineNumber);
});
"""


def _watch(page: Page) -> None:
    """Collect the page's uncaught JavaScript errors and console errors. Content-Security-Policy
    violations are kept apart: no test expects one (take_errors leaves them)."""
    errors: list[str] = []
    violations: list[str] = []
    setattr(page, _ERRORS_KEY, errors)
    setattr(page, _CSP_KEY, violations)

    def on_pageerror(error: Exception) -> None:
        errors.append(f"uncaught JavaScript error on {page.url}: {error}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url") or page.url
        if message.text.startswith("CSP violation:"):
            violations.append(f"on {page.url}: {message.text}")
            return
        if "Content Security Policy" in message.text:
            return  # chromium's own words for a violation the listener reports
        if urlsplit(where).path == "/favicon.ico" and page.url != where:
            return  # chromium asks for /favicon.ico by itself when a page names no icon
        errors.append(f"console error on {where}: {message.text}")

    page.on("pageerror", on_pageerror)
    page.on("console", on_console)


def take_errors(page: Page) -> list[str]:
    """The page's JavaScript and console errors so far, which no longer fail the test."""
    errors: list[str] = getattr(page, _ERRORS_KEY)
    taken = list(errors)
    errors.clear()
    return taken


def take_csp_violations(page: Page) -> list[str]:
    """The page's Content-Security-Policy violations so far (for the test of the policy)."""
    violations: list[str] = getattr(page, _CSP_KEY)
    taken = list(violations)
    violations.clear()
    return taken


@pytest.fixture
def _browser_contexts(browser: Browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """Opens contexts on the live server; closes them, then fails on errors their pages saw."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def new_context(
        *, width: int, height: int, javascript: bool = True, locale: str | None = None
    ) -> BrowserContext:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            base_url=live_server.url,
            java_script_enabled=javascript,
            **({"locale": locale} if locale else {}),
        )
        context.set_default_timeout(10_000)
        context.set_default_navigation_timeout(15_000)
        context.add_init_script(REPORT_CSP_VIOLATIONS)

        def on_page(page: Page) -> None:
            _watch(page)
            pages.append(page)

        context.on("page", on_page)
        contexts.append(context)
        return context

    yield new_context

    errors = [error for page in pages for error in getattr(page, _ERRORS_KEY)]
    errors += [
        f"Content-Security-Policy violation {v}" for p in pages for v in getattr(p, _CSP_KEY)
    ]
    for context in contexts:
        context.close()
    if errors:
        pytest.fail(
            "The browser reported errors (take_errors(page) if the test expects them):\n  "
            + "\n  ".join(errors),
            pytrace=False,
        )


@pytest.fixture
def page_for(_browser_contexts, live_server) -> Callable[..., Page]:
    """``page_for(user, *, width=1280, height=900, javascript=True, locale=None)``: a new page
    signed in as ``user`` (``javascript=False``: in a browser with JavaScript turned off;
    ``locale="en-US"``: a browser in that locale).

    The session is made as ``Client.force_login`` makes it (no login form, no password), and its
    cookie is put into a fresh browser context whose base URL is the live server's.
    """

    def make(
        user,
        *,
        width: int = 1280,
        height: int = 900,
        javascript: bool = True,
        locale: str | None = None,
    ) -> Page:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context = _browser_contexts(
            width=width, height=height, javascript=javascript, locale=locale
        )
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        return context.new_page()

    return make


@pytest.fixture
def anon_page_for(_browser_contexts) -> Callable[..., Page]:
    """``anon_page_for(*, width=1280, height=900)``: a new page that is not signed in."""

    def make(*, width: int = 1280, height: int = 900) -> Page:
        return _browser_contexts(width=width, height=height).new_page()

    return make


@pytest.fixture
def anon_page(anon_page_for) -> Page:
    """A page that is not signed in, 1280x900, with the live server as its base URL."""
    return anon_page_for()


def shoot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``screenshots/<name>-<viewport width>.png``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = SCREENSHOTS / f"{name}-{width}.png"
    page.screenshot(path=path, full_page=True)
    return path


def settled(page: Page) -> None:
    """Wait until htmx has swapped and settled (it wires up new content after settling; a
    click before that would submit a form without htmx)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


FAILING_IMPACTS = ("serious", "critical")


# axe-core as pytest-playwright-axe bundles it. Its Axe.run() scans frame by frame and merges
# the results in a second browser context, about 2 s a page; our pages have no frames, so the
# script runs in the page itself, once per page, and reports violations only (0.2-0.4 s).
AXE_SOURCE = Axe().axe_path.read_text(encoding="UTF-8")
RUN_AXE = "axe.run(document, {resultTypes: ['violations']})"


def assert_accessible(page: Page) -> None:
    """Run axe-core on the page as it is now; fail listing every serious or critical violation."""
    assert page.locator("iframe").count() == 0, "a page with frames needs Axe().run()"
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    results = page.evaluate(RUN_AXE)
    violations = [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]
    if not violations:
        return
    lines = [f"axe-core found {len(violations)} serious or critical violation(s) on {page.url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            target = " >> ".join(_selector(part) for part in node["target"])
            lines.append(f"    at {target}")
            if node.get("failureSummary"):
                summary = node["failureSummary"].replace("\n", "\n      ")
                lines.append(f"      {summary}")
    pytest.fail("\n".join(lines), pytrace=False)


def _selector(part) -> str:
    """A target part is a selector, or a list of them (into shadow DOM)."""
    return " >>> ".join(part) if isinstance(part, list) else str(part)


def when_inputs(scope, label: str) -> tuple[Locator, Locator]:
    """The date input and the 24-hour time input ("<label> time") of a date-time field."""
    date = scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))  # "*": required
    return date, scope.get_by_label(f"{label} time", exact=True)


def fill_when(scope, label: str, value) -> None:
    """Type a date-time (a datetime, or "YYYY-MM-DDTHH:MM") into the field labelled ``label``:
    its date input, then its 24-hour time input."""
    text = value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M")
    day, _, time = text.partition("T")
    date_input, time_input = when_inputs(scope, label)
    date_input.fill(day)
    time_input.fill(time[:5])
