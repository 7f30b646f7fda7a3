"""The report's charts, as SVG written here: no library, no script, a few kilobytes.

Chosen by measurement over plotly's offline bundle and Vega-Lite through altair
(docs/dependencies.md): the page must open offline under a CSP that forbids scripts
and the network, and a 100-run chart is a few hundred elements. Every number a chart
draws is also in the element's ``data-`` attributes and its ``<title>`` (the tooltip),
so a reader, or a test, gets the exact figure. Every text passes ``html_text``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ae_import.ledger import Minute
from ae_import.text import html_text

from .data import OUTCOMES, RunBar

__all__ = ["COLORS", "runs_chart", "timeline_chart"]

COLORS = {
    "created": "#2e7d32",
    "existing": "#81c784",
    "skipped": "#b0bec5",
    "changed": "#ffb74d",
    "failed": "#c62828",
    "invalid": "#ef6c00",
    "retryable": "#6a1b9a",
    "sent": "#1565c0",
    "retries": "#8e24aa",
    "pause": "#ffcdd2",
}
_W, _H = 760, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 16, 44


def _nice(top: float) -> float:
    """Return a round axis maximum at or above ``top``."""
    if top <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(top))
    for factor in (1, 2, 2.5, 5, 10):
        if top <= factor * step:
            return float(factor * step)
    return float(10 * step)  # pragma: no cover


def _axis(top: float, label: str) -> list[str]:
    """Return the y axis: ticks at 0, half and the top, and its label."""
    parts = []
    inner = _H - _TOP - _BOTTOM
    for share in (0.0, 0.5, 1.0):
        y = _TOP + inner * (1 - share)
        value = top * share
        text = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>'
        )
    parts.append(
        f'<text class="axis" x="12" y="{_TOP + inner / 2:.1f}" '
        f'transform="rotate(-90 12 {_TOP + inner / 2:.1f})" text-anchor="middle">'
        f"{html_text(label)}</text>"
    )
    return parts


def _legend(names: Sequence[str], y: float) -> str:
    parts = []
    x = _LEFT
    for name in names:
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLORS[name]}"/>'
            f'<text class="legend" x="{x + 14}" y="{y}">{html_text(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return "".join(parts)


def _svg(label: str, body: list[str], height: int = _H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html_text(label)}" '
        f'viewBox="0 0 {_W} {height}" width="{_W}" height="{height}">' + "".join(body) + "</svg>"
    )


def runs_chart(runs: Sequence[RunBar]) -> str:
    """Return the outcomes of each run as stacked bars, oldest on the left."""
    if not runs:
        return '<p class="none">No run recorded yet.</p>'
    totals = [sum(run.counts.values()) for run in runs]
    top = _nice(max(totals))
    inner_w = _W - _LEFT - _RIGHT
    inner_h = _H - _TOP - _BOTTOM
    band = inner_w / len(runs)
    width = max(4.0, min(48.0, band * 0.7))
    body = _axis(top, "rows")
    for index, run in enumerate(runs):
        x = _LEFT + band * index + (band - width) / 2
        y = float(_TOP + inner_h)
        shown = ", ".join(f"{run.counts[n]:,} {n}" for n in OUTCOMES if run.counts[n]) or "no rows"
        title = html_text(f"run {run.run_id}, {run.started_at}: {shown}")
        body.append(
            f'<g class="run" data-ledger="{html_text(run.ledger)}" data-run="{run.run_id}" '
            f'data-total="{totals[index]}"><title>{title}</title>'
        )
        for name in OUTCOMES:
            count = run.counts[name]
            height = inner_h * count / top
            y -= height
            body.append(
                f'<rect class="seg" data-outcome="{name}" data-count="{count}" x="{x:.1f}" '
                f'y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{COLORS[name]}"/>'
            )
        body.append("</g>")
        if len(runs) <= 20 or index % math.ceil(len(runs) / 20) == 0:
            body.append(
                f'<text class="tick" x="{x + width / 2:.1f}" y="{_H - _BOTTOM + 14}" '
                f'text-anchor="middle">#{run.run_id}</text>'
            )
    body.append(_legend(OUTCOMES, _H - 8))
    return _svg("outcomes of the last runs", body)


def timeline_chart(minutes: Sequence[Minute]) -> str:
    """Return the last run minute by minute: sent and created lines, retries, 429 pauses."""
    if not minutes:
        return '<p class="none">No per-minute series for this run.</p>'
    span = max(m.minute for m in minutes) + 1
    top = _nice(max(max(m.sent, m.created + m.existing, m.retries) for m in minutes))
    inner_w = _W - _LEFT - _RIGHT
    inner_h = _H - _TOP - _BOTTOM
    step = inner_w / span
    base = _TOP + inner_h

    def x_of(minute: float) -> float:
        return _LEFT + step * minute

    def y_of(value: float) -> float:
        return base - inner_h * value / top

    body = []
    for m in minutes:  # 429 pauses first, under everything
        if m.paused_s > 0:
            width = step * min(m.paused_s, 60.0) / 60.0
            body.append(
                f'<rect class="pause" x="{x_of(m.minute):.1f}" y="{_TOP}" width="{width:.1f}" '
                f'height="{inner_h}" fill="{COLORS["pause"]}"><title>minute {m.minute}: '
                f"paused {m.paused_s:.0f} s by 429</title></rect>"
            )
    body += _axis(top, "per minute")
    by_minute = {m.minute: m for m in minutes}
    for name, color in (("sent", COLORS["sent"]), ("created", COLORS["created"])):
        points = []
        for index in range(span):
            at = by_minute.get(index)
            value = 0 if at is None else (at.sent if name == "sent" else at.created + at.existing)
            points.append(f"{x_of(index + 0.5):.1f},{y_of(value):.1f}")
        body.append(
            f'<polyline class="line" data-series="{name}" points="{" ".join(points)}" '
            f'fill="none" stroke="{color}" stroke-width="2"/>'
        )
        if span <= 90:  # few minutes: a dot on each, so one minute still shows
            body += [
                f'<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>'
                for x, y in (point.split(",") for point in points)
            ]
    for m in minutes:
        if m.retries:
            h = inner_h * m.retries / top
            body.append(
                f'<rect class="retries" x="{x_of(m.minute + 0.35):.1f}" y="{base - h:.1f}" '
                f'width="{step * 0.3:.1f}" height="{h:.1f}" fill="{COLORS["retries"]}"/>'
            )
        if m.max_retry_after:
            cx = x_of(m.minute + 0.5)
            body.append(
                f'<path class="retry-after" d="M{cx - 5:.1f},{_TOP - 2} L{cx + 5:.1f},{_TOP - 2} '
                f'L{cx:.1f},{_TOP + 7}" fill="#b71c1c"><title>minute {m.minute}: '
                f"Retry-After up to {m.max_retry_after:g} s ({m.rate_limited} 429s)</title></path>"
            )
    for m in minutes:  # the numbers, one hover band a minute
        pace = "unpaced" if m.pace is None else f"paced at {m.pace:.2f}/s"
        title = html_text(
            f"minute {m.minute} ({m.started_at}): {m.sent} sent, {m.created} created, "
            f"{m.existing} existing, {m.failed} failed, {m.invalid} invalid, "
            f"{m.retries} retries, {m.rate_limited} 429s, paused {m.paused_s:.0f} s, {pace}"
        )
        attrs = " ".join(
            f'data-{key.replace("_", "-")}="{value}"'
            for key, value in (
                ("minute", m.minute),
                ("sent", m.sent),
                ("created", m.created),
                ("existing", m.existing),
                ("failed", m.failed),
                ("invalid", m.invalid),
                ("retries", m.retries),
                ("rate_limited", m.rate_limited),
                ("paused_s", f"{m.paused_s:.3f}"),
                ("max_retry_after", "" if m.max_retry_after is None else f"{m.max_retry_after:g}"),
                ("pace", "" if m.pace is None else f"{m.pace:.4f}"),
            )
        )
        body.append(
            f'<rect class="minute" {attrs} x="{x_of(m.minute):.1f}" y="{_TOP}" '
            f'width="{step:.1f}" height="{inner_h}" fill="transparent">'
            f"<title>{title}</title></rect>"
        )
    every = max(1, math.ceil(span / 12))
    for index in range(0, span, every):
        body.append(
            f'<text class="tick" x="{x_of(index + 0.5):.1f}" y="{base + 14}" '
            f'text-anchor="middle">{index}m</text>'
        )
    body.append(_legend(("sent", "created", "retries", "pause"), _H - 8))
    return _svg("the last run minute by minute", body)
