"""The dashboard's pictures as data: the geometry of small inline SVG charts, worked out here
so that the template only writes it out (``leads/includes/chart.html``).

Each chart is drawn in a fixed coordinate system (``WIDTH`` wide; the SVG scales to its box)
and comes with what a screen reader and a reader of numbers need: a title, a description, and
a table of the same numbers (the template puts it in a ``<details>``).

Colours: a status's bar is its status colour; other series carry a class (``chart-c0``...,
``chart-kept``...) that the stylesheet colours, for the light and the dark theme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

WIDTH = 360
FONT = 12
SERIES_COLOURS = 12  # chart-c0 ... chart-c11 in app.css, distinct in the light and dark theme


def series_css(index: int) -> str:
    """The class that colours the series at ``index`` (the colours repeat past the last)."""
    return f"chart-c{index % SERIES_COLOURS}"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    title: str  # what hovering it says (an SVG <title>)
    fill: str = ""  # a colour (status colours), or
    css: str = ""  # a class the stylesheet colours


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"  # SVG text-anchor
    css: str = "chart-label"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Series:
    """A legend entry: a label and how its marks are coloured."""

    label: str
    css: str = ""
    fill: str = ""


@dataclass
class Chart:
    key: str  # ids: chart-<key>-title, chart-<key>-desc
    title: str
    desc: str
    height: float
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[Series] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the table alternative's head
    rows: list[list[str]] = field(default_factory=list)  # and body (first cell: a row header)
    empty: bool = False

    width: int = WIDTH

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height:g}"


def _r(value: float) -> float:
    return round(value, 1)


def weeks_ending(today: date, count: int) -> list[date]:
    """The Mondays of the ``count`` weeks up to the week of ``today``, oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=count - 1 - i) for i in range(count)]


def week_label(monday: date) -> str:
    return f"{monday:%b} {monday.day}"


def funnel(statuses: Sequence[tuple[str, str, int]], *, who: str) -> Chart:
    """A funnel of ``statuses`` ((label, colour, count) in the pipeline's order): one bar per
    status, centred, as wide as its share of the largest."""
    row, gap, label_w, count_w = 22, 6, 118, 44
    left, right = label_w + 6, WIDTH - count_w
    span = right - left
    largest = max((n for _, _, n in statuses), default=0)
    total = sum(n for _, _, n in statuses)
    chart = Chart(
        key="funnel",
        title=f"Leads by status — {who}",
        desc=", ".join(f"{label}: {n}" for label, _, n in statuses) or "No statuses.",
        height=max(len(statuses), 1) * (row + gap) + gap,
        columns=["Status", "Leads"],
        empty=total == 0,
    )
    for i, (label, colour, n) in enumerate(statuses):
        y = gap + i * (row + gap)
        w = span * n / largest if largest else 0
        w = max(w, 2) if n else 0
        if w:
            chart.rects.append(
                Rect(_r(left + (span - w) / 2), y, _r(w), row, f"{label}: {n}", fill=colour)
            )
        baseline = y + row / 2 + FONT / 3
        chart.texts.append(Text(label_w, baseline, label, anchor="end"))
        chart.texts.append(Text(WIDTH - 2, baseline, str(n), anchor="end", css="chart-count"))
        chart.rows.append([label, str(n)])
    chart.rows.append(["Total", str(total)])
    return chart


def _nice_top(largest: int) -> int:
    """The top of the scale: ``largest`` rounded up to 1, 2 or 5 times a power of ten."""
    if largest <= 4:
        return {0: 1, 1: 1, 2: 2}.get(largest, 4)
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= largest:
                return m * step
        step *= 10


def stacked_weeks(
    *,
    key: str,
    title: str,
    weeks: Sequence[date],
    series: Sequence[Series],
    counts: Sequence[Sequence[int]],
    unit: str,
) -> Chart:
    """Stacked bars, one per week of ``weeks``: ``counts[s][w]`` of series ``s`` in week
    ``w``, bottom up in the order of ``series``."""
    top_pad, bottom, left, right = 10, 22, 30, WIDTH - 4
    height = 190
    plot_h = height - top_pad - bottom
    slot = (right - left) / max(len(weeks), 1)
    bar = slot * 0.66
    totals = [sum(c[w] for c in counts) for w in range(len(weeks))]
    top = _nice_top(max(totals, default=0))
    scale = plot_h / top
    base = height - bottom
    chart = Chart(
        key=key,
        title=title,
        desc=(
            f"{sum(totals)} {unit} in the last {len(weeks)} weeks; "
            + "; ".join(
                f"week of {week_label(w)}: {t}" for w, t in zip(weeks, totals, strict=True) if t
            )
        ),
        height=height,
        legend=list(series),
        columns=["Week of", *(s.label for s in series), "Total"],
        empty=sum(totals) == 0,
    )
    for value in (0, top // 2, top) if top % 2 == 0 else (0, top):
        y = _r(base - value * scale)
        chart.lines.append(Line(left, y, right, y))
        chart.texts.append(Text(left - 4, y + FONT / 3, str(value), anchor="end", css="chart-axis"))
    for w, monday in enumerate(weeks):
        x = _r(left + w * slot + (slot - bar) / 2)
        y = base
        for s, entry in enumerate(series):
            n = counts[s][w]
            if not n:
                continue
            h = n * scale
            y -= h
            chart.rects.append(
                Rect(
                    x,
                    _r(y),
                    _r(bar),
                    _r(h),
                    f"Week of {week_label(monday)}: {entry.label} {n}",
                    fill=entry.fill,
                    css=entry.css,
                )
            )
        if (len(weeks) - 1 - w) % 3 == 0:  # every third week, ending with this one
            chart.texts.append(
                Text(_r(x + bar / 2), height - 6, week_label(monday), "middle", "chart-axis")
            )
        chart.rows.append([week_label(monday), *(str(c[w]) for c in counts), str(totals[w])])
    return chart
