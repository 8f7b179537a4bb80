"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched from elsewhere.

Colours come from attributes (not inline styles), so the page's strict Content-Security-
Policy holds. Each bar carries a <title>, which browsers show as a tooltip and screen
readers read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.tracker_db.dashboard import DailyCount

WIDTH = 720
HEIGHT = 200
MARGIN_LEFT = 44
MARGIN_BOTTOM = 24
MARGIN_TOP = 10
BAR_COLOUR = "#2f6fb0"
MARKER_COLOUR = "#333"


@dataclass(frozen=True)
class ChartMarker:
    """A day to mark on the daily charts (a model went live), with what happened."""

    day: dt.date
    label: str


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _percent(value: float) -> str:
    return f"{value:.0%}"


def daily_bars(
    title: str,
    points: Sequence[DailyCount],
    percent: bool = False,
    colour: str = BAR_COLOUR,
    top: float | None = None,
    no_data: str = "Nothing to show for this period.",
    markers: Sequence[ChartMarker] = (),
) -> Markup:
    """A bar per day, with the highest value (or `top`) on the axis and a date label every
    week. A day whose value is None gets no bar: nothing was measured, which is not zero (a
    rate of 0 % shows as a sliver on the axis, so the two look different). Each of `markers`
    is a dashed vertical line through its day, labelled in its tooltip."""
    fmt: Callable[[float], str] = _percent if percent else _number
    measured = [point.value for point in points if point.value is not None]
    top = top or max(measured, default=0) or 1
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    step = plot_width / max(1, len(points))
    bar = max(1.0, step * 0.8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_height}" x2="{WIDTH - 4}" '
        f'y2="{MARGIN_TOP + plot_height}" stroke="#999" stroke-width="1"/>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 10}" text-anchor="end" '
        f'font-size="11" fill="#555">{escape(fmt(top))}</text>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + plot_height}" text-anchor="end" '
        f'font-size="11" fill="#555">0</text>',
    ]
    if not measured:
        parts.append(
            f'<text x="{MARGIN_LEFT + 8}" y="{MARGIN_TOP + plot_height / 2:.0f}" font-size="12" '
            f'fill="#555">{escape(no_data)}</text>'
        )
    for index, point in enumerate(points):
        x = MARGIN_LEFT + index * step + (step - bar) / 2
        if point.value is not None:
            height = plot_height * (point.value / top)
            if percent:
                height = max(height, 2.0)
            y = MARGIN_TOP + plot_height - height
            label = f"{point.day:%a %d %b %Y}: {fmt(point.value)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{escape(colour)}"><title>{escape(label)}</title></rect>'
            )
        # A date every week, counted back from the last day so the last one is labelled.
        from_end = len(points) - 1 - index
        if from_end % 7 == 0:
            anchor = "end" if from_end == 0 else "start" if index == 0 else "middle"
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}" '
                f'font-size="11" fill="#555">{point.day:%d %b}</text>'
            )
    parts += _marker_lines(points, markers, step)
    parts.append("</svg>")
    return Markup("".join(parts))


def _marker_lines(
    points: Sequence[DailyCount], markers: Sequence[ChartMarker], step: float
) -> list[str]:
    """One dashed line per marked day of the chart (markers of one day share it)."""
    index = {point.day: number for number, point in enumerate(points)}
    labels: dict[int, list[str]] = {}
    for marker in markers:
        if marker.day in index:
            labels.setdefault(index[marker.day], []).append(marker.label)
    lines = []
    for number, said in sorted(labels.items()):
        x = MARGIN_LEFT + number * step + step / 2
        lines.append(
            f'<line class="marker" x1="{x:.1f}" y1="{MARGIN_TOP}" x2="{x:.1f}" '
            f'y2="{HEIGHT - MARGIN_BOTTOM}" stroke="{MARKER_COLOUR}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"><title>{escape("; ".join(said))}</title></line>'
        )
    return lines


def horizontal_bars(
    title: str,
    items: Sequence[tuple[str, int]],
    empty: str = "No messages yet.",
    label_width: int = 220,
) -> Markup:
    """A labelled horizontal bar per item (e.g. the most frequent intents); `empty` when
    there are none, or when every count is 0."""
    row = 22
    items = items if any(value for _, value in items) else []
    height = max(row, row * len(items)) + 4
    top = max((value for _, value in items), default=0) or 1
    bar_space = WIDTH - label_width - 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not items:
        parts.append(f'<text x="4" y="16" font-size="12" fill="#555">{escape(empty)}</text>')
    for index, (name, value) in enumerate(items):
        y = index * row + 2
        width = bar_space * value / top
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="#222">{escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{BAR_COLOUR}"><title>{escape(name)}: {value:,}</title></rect>'
            f'<text x="{label_width + width + 6:.1f}" y="{y + 15}" font-size="12" '
            f'fill="#222">{value:,}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
