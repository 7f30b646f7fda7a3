"""The morning report: what ledgers hold, drawn as one self-contained HTML page.

``gather_report`` reads the ledgers (runs, the newest run's per-minute series, problems
by code, backlog, media checks); ``render_html`` writes the page, charts as plain SVG.
``fix_command`` is the command that writes a ledger's fix file (run's summary says it too).
"""

from __future__ import annotations

from .data import LAST_RUNS, PROBLEM_STATUSES, Report, RunBar, gather_report
from .fixes import fix_command, fix_for
from .page import render_html

__all__ = [
    "LAST_RUNS",
    "PROBLEM_STATUSES",
    "Report",
    "RunBar",
    "fix_command",
    "fix_for",
    "gather_report",
    "render_html",
]
