"""What the morning report shows, read from one or more ledgers (``gather_report``).

Read only, like ``status``: the runs of each ledger, the per-minute series of the newest
run, the rows still standing by status and code with a few examples, the backlog and the
rate it may be sent at, and the media checks. Bounded whatever the ledger's size: the
last ``LAST_RUNS`` runs, ``EXAMPLES`` rows a code, grouped by SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ae_import.ledger import DISMISSED, STATUSES, Minute, reading

from .fixes import fix_for

__all__ = ["EXAMPLES", "LAST_RUNS", "PROBLEM_STATUSES", "Report", "RunBar", "gather_report"]

LAST_RUNS = 14
EXAMPLES = 3
PROBLEM_STATUSES = ("failed", "invalid", "retryable")
# A run's outcomes, stacked in this order (the keys of its counts in the runs table).
OUTCOMES = ("created", "existing", "skipped", "changed", "failed", "invalid", "retryable")


@dataclass
class RunBar:
    """One run of the outcomes chart."""

    ledger: str
    run_id: int
    started_at: str
    ended_at: str | None
    exit_code: int | None
    counts: dict[str, int]


@dataclass
class Report:
    """Everything the page shows."""

    made_at: str
    ledgers: list[dict[str, Any]]
    counts: dict[str, int]
    dismissed: int
    runs: list[RunBar]  # oldest first
    last_run: RunBar | None
    minutes: list[Minute]
    problems: list[dict[str, Any]]
    media: dict[str, Any]
    backlog: int
    rate_per_min: float | None  # rows finished a minute in the last run's busy minutes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finish_minutes(self) -> float | None:
        """Return the minutes the backlog takes at the measured rate, if there is one."""
        if not self.backlog:
            return 0.0
        if not self.rate_per_min:
            return None
        return self.backlog / self.rate_per_min


def _bar(path: Path, run: dict[str, Any]) -> RunBar:
    counts = run.get("counts") or {}
    return RunBar(
        str(path),
        int(run["id"]),
        str(run["started_at"]),
        run.get("ended_at"),
        run.get("exit_code"),
        {name: int(counts.get(name) or 0) for name in OUTCOMES},
    )


def _rate(minutes: Sequence[Minute]) -> float | None:
    """Return the rows a minute the run finished, over the minutes it finished any."""
    busy = [m.created + m.existing + m.failed for m in minutes if m.sent]
    if not busy:
        return None
    return sum(busy) / len(busy)


def gather_report(paths: Sequence[Path], last: int = LAST_RUNS) -> Report:
    """Read every ledger in ``paths``: runs, the newest run's minutes, problems, backlog, media."""
    counts = dict.fromkeys(STATUSES, 0)
    dismissed = 0
    ledgers: list[dict[str, Any]] = []
    runs: list[RunBar] = []
    problems: dict[tuple[str, str | None], dict[str, Any]] = {}
    media: dict[str, Any] = {"checked": 0, "newest": None, "refused": {}}
    newest: tuple[str, Path, int] | None = None
    for path in paths:
        with reading(path) as ledger:
            found = ledger.counts()
            dismissed += found.pop(DISMISSED)
            for status, count in found.items():
                counts[status] += count
            ledgers.append({"path": str(path), "target": ledger.target, "shard": ledger.shard})
            for run in ledger.runs(last):
                bar = _bar(path, run)
                runs.append(bar)
                if newest is None or (bar.started_at, bar.run_id) > (newest[0], newest[2]):
                    newest = (bar.started_at, path, bar.run_id)
            for problem in ledger.problems(PROBLEM_STATUSES, EXAMPLES):
                key = (problem["status"], problem["code"])
                if key in problems:
                    problems[key]["count"] += problem["count"]
                    merged = problems[key]["examples"] + problem["examples"]
                    problems[key]["examples"] = merged[:EXAMPLES]
                else:
                    problems[key] = problem
            checks = ledger.media_summary()
            media["checked"] += checks["checked"]
            if checks["newest"] and (media["newest"] or "") < checks["newest"]:
                media["newest"] = checks["newest"]
            for code, count in checks["refused"].items():
                media["refused"][code] = media["refused"].get(code, 0) + count
    runs.sort(key=lambda r: (r.started_at, r.ledger, r.run_id))
    runs = runs[-last:]
    minutes: list[Minute] = []
    last_run = None
    if newest is not None:
        _, path, run_id = newest
        last_run = next(r for r in runs if r.ledger == str(path) and r.run_id == run_id)
        with reading(path) as ledger:
            minutes = ledger.run_minutes(run_id)
    ordered = sorted(problems.values(), key=lambda p: (-p["count"], p["status"], p["code"] or ""))
    for problem in ordered:
        problem["fix"] = fix_for(problem["status"], problem["code"])
    made = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Report(
        made_at=made,
        ledgers=ledgers,
        counts=counts,
        dismissed=dismissed,
        runs=runs,
        last_run=last_run,
        minutes=minutes,
        problems=ordered,
        media=media,
        backlog=counts["pending"] + counts["retryable"],
        rate_per_min=_rate(minutes),
    )
