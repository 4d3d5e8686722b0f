"""Chart colours (issue 14, item 16): on the dashboard's "new leads per week by source" every
source shown has its own colour (ten sources no longer share blue and orange), and each colour
keeps WCAG's 3:1 non-text contrast against the card in the light and in the dark theme."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest

from leads import charts
from leads.defaults import SOURCES
from leads.models import Source
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

CSS = Path(__file__).resolve().parents[1] / "static" / "crm" / "app.css"
DARK = "@media (prefers-color-scheme: dark)"


def legend_of(html: str, key: str) -> list[tuple[str, str]]:
    """The legend of chart ``key``: (label, colour class) per entry."""
    section = html.split(f'id="chart-{key}"', 1)[1].split("</section>", 1)[0]
    return re.findall(
        r'<li><span class="chart-swatch (\S+)" aria-hidden="true"></span>(.*?)</li>', section
    )


def new_leads_legend(client, user) -> dict[str, str]:
    client.force_login(user)
    html = client.get("/").content.decode()
    return {label: css for css, label in legend_of(html, "new-leads")}


def add_sources(count: int) -> list[str]:
    """``count`` more sources after the built-in ones; their keys."""
    keys = [f"extra{i}" for i in range(count)]
    for i, key in enumerate(keys):
        Source.objects.create(key=key, label=f"Extra {i}", order=100 + i)
    return keys


def test_each_source_has_its_own_colour_by_its_order(client, users):
    manager = users["sales_manager"]
    keys = [key for key, _ in SOURCES] + add_sources(charts.SERIES_COLOURS - len(SOURCES))
    assert len(keys) == charts.SERIES_COLOURS >= 12
    for key in keys:
        LeadFactory(by=manager, owner=manager, source=key)
    legend = new_leads_legend(client, manager)
    assert len(legend) == len(keys)
    assert len(set(legend.values())) == len(keys), legend  # no two alike
    # By the sources' order, the same whoever is pictured: Website and Import, Referral and
    # Other (once both blue, both orange) apart.
    assert legend["Website"] == "chart-c0" and legend["Import"] == "chart-c8"
    assert legend["Referral"] == "chart-c1" and legend["Other"] == "chart-c9"
    assert legend["Extra 1"] == "chart-c11"


def test_more_sources_than_colours_still_differ_among_those_shown(client, users):
    manager = users["sales_manager"]
    keys = [key for key, _ in SOURCES] + add_sources(6)  # 16 sources, 12 of them with leads
    shown = keys[2 : 2 + charts.SERIES_COLOURS]
    for key in shown:
        LeadFactory(by=manager, owner=manager, source=key)
    legend = new_leads_legend(client, manager)
    assert len(legend) == charts.SERIES_COLOURS
    assert len(set(legend.values())) == charts.SERIES_COLOURS, legend


# --- the stylesheet's colours ----------------------------------------------------------------


def _blocks(css: str) -> tuple[str, str]:
    """The stylesheet without its dark-theme blocks, and those blocks' insides."""
    light, dark, rest = [], [], css
    while DARK in rest:
        before, after = rest.split(DARK, 1)
        light.append(before)
        depth, end = 0, len(after)
        for index, char in enumerate(after):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if char == "}" and depth == 0:
                end = index + 1
                break
        dark.append(after[:end])
        rest = after[end:]
    light.append(rest)
    return "".join(light), "".join(dark)


def _variables(block: str) -> dict[str, str]:
    """Custom properties of ``:root`` rules in ``block`` (later ones win)."""
    found: dict[str, str] = {}
    for body in re.findall(r":root\s*\{([^}]*)\}", block):
        found.update(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\b", body))
    return found


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _lab(colour: str) -> tuple[float, float, float]:
    def channel(c: int) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_every_series_colour_is_distinct_and_contrasts_with_the_card_in_both_themes():
    css = CSS.read_text(encoding="utf-8")
    light_css, dark_css = _blocks(css)
    light = _variables(light_css)
    dark = {**light, **_variables(dark_css)}
    for n in range(charts.SERIES_COLOURS):  # each class reads its variable
        assert re.search(rf"\.chart-c{n} \{{ fill: var\(--chart-{n}\);", css), n
    for name, theme in (("light", light), ("dark", dark)):
        colours = [theme[f"--chart-{n}"] for n in range(charts.SERIES_COLOURS)]
        for colour in colours:
            assert contrast(colour, theme["--surface"]) >= 3, (name, colour)
        palette = [*colours, theme["--chart-other"]]
        assert len({c.lower() for c in palette}) == len(palette), (name, palette)
        closest = min(math.dist(_lab(a), _lab(b)) for a, b in itertools.combinations(palette, 2))
        assert closest > 20, (name, closest)  # far apart at a glance (CIE76 ΔE)
    assert light["--surface"] != dark["--surface"]  # the dark theme was read
