"""The morning report as one self-contained HTML file: no script, no request, no CDN.

A Content-Security-Policy forbids every fetch (``default-src 'none'``) and allows only
the page's own style block, by its hash. Every text from a ledger (external ids, error
details, paths, URLs) passes ``text.html_text``: it is shown, never read as markup.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from ae_import.text import html_text

from .data import OUTCOMES, Report
from .fixes import fix_command
from .svg import COLORS, runs_chart, timeline_chart

__all__ = ["render_html"]

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121;
       margin: 24px auto; max-width: 820px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta, .none, .tick, .legend, .axis { color: #616161; fill: #616161; font-size: 12px; }
.tiles { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.tile { border: 1px solid #e0e0e0; border-radius: 6px; padding: 6px 12px; min-width: 80px; }
.tile b { display: block; font-size: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eeeeee;
         vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #f5f5f5; padding: 2px 4px; border-radius: 3px; white-space: nowrap; }
.ex code, p code { white-space: normal; overflow-wrap: anywhere; }
.grid { stroke: #eeeeee; } svg { max-width: 100%; height: auto; }
.ex { color: #424242; font-size: 12px; }
""".strip()


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _duration(minutes: float) -> str:
    whole = round(minutes)
    hours, rest = divmod(whole, 60)
    return f"{hours}h {rest:02d}m" if hours else f"{max(rest, 1) if minutes else 0} min"


def _absolute(path: str) -> str:
    return str(Path(path).resolve())


def _when(stamp: str) -> str:
    """Return an ISO 8601 UTC time as the table shows it: 2026-03-05 02:00:41Z."""
    return stamp[:19].replace("T", " ") + ("Z" if stamp.endswith("Z") else "")


def _tiles(report: Report) -> str:
    items = [(name, count) for name, count in report.counts.items()]
    items.append(("dismissed", report.dismissed))
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile" data-status="{name}" data-count="{count}"><b>{count:,}</b>'
            f"{html_text(name)}</div>"
            for name, count in items
        )
        + "</div>"
    )


def _runs_table(report: Report) -> str:
    head = "".join(f'<th class="n">{name}</th>' for name in OUTCOMES)
    rows = []
    for run in reversed(report.runs):
        cells = "".join(f'<td class="n">{run.counts[name]:,}</td>' for name in OUTCOMES)
        rows.append(
            f"<tr><td>#{run.run_id}</td><td>{html_text(_when(run.started_at))}</td>"
            f"<td>{html_text(_when(run.ended_at) if run.ended_at else 'not ended')}</td>"
            f'<td class="n">{html_text("" if run.exit_code is None else run.exit_code)}</td>'
            f"{cells}</tr>"
        )
    return (
        '<table><tr><th>run</th><th>started</th><th>ended</th><th class="n">exit</th>'
        f"{head}</tr>{''.join(rows)}</table>"
    )


def _problems(report: Report) -> str:
    if not report.problems:
        return '<p class="none">No row failed, invalid or retryable.</p>'
    rows = []
    for problem in report.problems:
        examples = "".join(
            f'<div class="ex"><code>{html_text(ex["external_id"])}</code> '
            f"{html_text(ex['manifest'] or '')} line {html_text(ex['line'] or '')}: "
            f"{html_text(ex['detail'] or '')}</div>"
            for ex in problem["examples"]
        )
        code = problem["code"] or "(no code)"
        rows.append(
            f'<tr class="problem" data-status="{html_text(problem["status"])}" '
            f'data-code="{html_text(code)}" data-count="{problem["count"]}">'
            f"<td>{html_text(problem['status'])}</td><td><code>{html_text(code)}</code></td>"
            f'<td class="n">{problem["count"]:,}</td><td>{examples}</td>'
            f"<td>{html_text(problem['fix'])}</td></tr>"
        )
    commands = "".join(
        f"<p>Write the fix file: <code>{html_text(fix_command(_absolute(ledger['path'])))}"
        "</code></p>"
        for ledger in report.ledgers
    )
    return (
        '<table><tr><th>status</th><th>code</th><th class="n">rows</th><th>examples</th>'
        f"<th>fix</th></tr>{''.join(rows)}</table>{commands}"
    )


def _backlog(report: Report) -> str:
    pending, retryable = report.counts["pending"], report.counts["retryable"]
    text = f"{report.backlog:,} rows to send: {pending:,} pending, {retryable:,} retryable. "
    finish = report.finish_minutes
    if report.backlog == 0:
        text += "Nothing left to send."
    elif finish is None or report.rate_per_min is None:
        text += "No rate measured yet (the last run sent nothing): no estimate."
    else:
        text += (
            f"At the last run's rate, {report.rate_per_min:,.1f} rows a minute, a run "
            f"sends them in about {_duration(finish)}."
        )
    rate = "" if report.rate_per_min is None else f"{report.rate_per_min:.3f}"
    return (
        f'<p class="backlog" data-backlog="{report.backlog}" data-pending="{pending}" '
        f'data-retryable="{retryable}" data-rate-per-min="{rate}">{html_text(text)}</p>'
    )


def _media(report: Report) -> str:
    media: dict[str, Any] = report.media
    refused = media["refused"]
    lines = [
        f"{media['checked']:,} media checked good and cached"
        + (f" (newest {media['newest']})" if media["newest"] else "")
        + "."
    ]
    if refused:
        shown = ", ".join(f"{count:,} {code}" for code, count in sorted(refused.items()))
        lines.append(f"Refused by the check (invalid rows): {shown}.")
    elif not media["checked"]:
        lines.append("No media check recorded: run with --check-media to check media first.")
    total = sum(refused.values())
    return (
        f'<p class="media" data-checked="{media["checked"]}" data-refused="{total}">'
        + " ".join(html_text(line) for line in lines)
        + "</p>"
    )


def _sources(report: Report) -> str:
    rows = "".join(
        f"<tr><td><code>{html_text(ledger['path'])}</code></td>"
        f"<td>{html_text(ledger['target'] or 'no target yet')}</td>"
        f"<td>{html_text(ledger['shard'] or 'every row')}</td></tr>"
        for ledger in report.ledgers
    )
    runs = ", ".join(f"#{run.run_id}" for run in report.runs) or "none"
    return (
        f"<table><tr><th>ledger</th><th>target</th><th>shard</th></tr>{rows}</table>"
        f'<p class="meta">Runs drawn: {html_text(runs)}. Made {html_text(report.made_at)} '
        "by ae-import status --html.</p>"
    )


def render_html(report: Report) -> str:
    """Return the report as one HTML page that opens offline."""
    last = report.last_run
    about_last = (
        "No run recorded yet."
        if last is None
        else f"Run #{last.run_id}, started {last.started_at}"
        + (f", ended {last.ended_at}" if last.ended_at else ", not ended")
        + f" (exit {'' if last.exit_code is None else last.exit_code})."
    )
    legend = (
        f'<p class="meta">Shaded: every worker paused by a 429 ({COLORS["pause"]}); '
        "a triangle: the longest Retry-After of that minute; bars: retries.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_csp()}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ae-import: the morning report</title>
<style>{_STYLE}</style></head>
<body>
<h1>ae-import: the morning report</h1>
<p class="meta">Made {html_text(report.made_at)} from {len(report.ledgers)} ledger(s).</p>
{_tiles(report)}
<h2 id="runs">Outcomes of the last {len(report.runs)} runs</h2>
{runs_chart(report.runs)}
{_runs_table(report)}
<h2 id="last-run">The last run, minute by minute</h2>
<p class="meta">{html_text(about_last)}</p>
{timeline_chart(report.minutes)}
{legend}
<h2 id="problems">Failed, invalid and retryable rows by code</h2>
{_problems(report)}
<h2 id="backlog">Backlog</h2>
{_backlog(report)}
<h2 id="media">Media checks</h2>
{_media(report)}
<h2 id="sources">Made from</h2>
{_sources(report)}
</body></html>
"""
