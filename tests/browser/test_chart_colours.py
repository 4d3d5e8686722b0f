"""Chart colours in the browser (issue 14, item 16): a salesperson with new leads from twelve
sources sees twelve different colours in "New leads per week by source", each at 3:1 or more
against the card, in the light and in the dark theme."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from leads import charts
from leads.defaults import SOURCES
from leads.models import Source
from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot
from tests.factories import LeadFactory
from tests.test_chart_colours import contrast

pytestmark = BROWSER_DB

COLOURS = """chart => {
  const card = getComputedStyle(chart).backgroundColor;
  const swatches = [...chart.querySelectorAll('.chart-legend .chart-swatch')];
  return {card, swatches: swatches.map(s => getComputedStyle(s).backgroundColor),
          bars: [...chart.querySelectorAll('rect')].map(r => getComputedStyle(r).fill)};
}"""


def hex_of(css_colour: str) -> str:
    r, g, b = (int(n) for n in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def test_a_salesperson_sees_a_colour_per_source_in_both_themes(page_for, users):
    seller = users["salesperson"]
    keys = [key for key, _ in SOURCES]
    for i in range(charts.SERIES_COLOURS - len(keys)):
        Source.objects.create(key=f"extra{i}", label=f"Extra {i}", order=100 + i)
        keys.append(f"extra{i}")
    for key in keys:
        LeadFactory(by=users["sales_manager"], owner=seller, source=key)

    page = page_for(seller)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto("/")
        chart = page.locator("#chart-new-leads")
        expect(chart.locator(".chart-legend li")).to_have_count(len(keys))
        seen = chart.evaluate(COLOURS)
        card = hex_of(seen["card"])
        swatches = [hex_of(c) for c in seen["swatches"]]
        assert len(set(swatches)) == len(keys), (scheme, swatches)
        assert {hex_of(c) for c in seen["bars"]} == set(swatches)  # the bars wear them
        for colour in swatches:
            assert contrast(colour, card) >= 3, (scheme, colour, card)
        chart.scroll_into_view_if_needed()
        shoot(page, f"chart-colours-{scheme}")
        assert_accessible(page)
