"""``ae-import dismiss``: retire ledger rows fixed elsewhere, so they stop showing as errors.

A row refused with 409 and imported again under a new external_id, or an invalid row
dropped from the source, stays ``failed`` or ``invalid`` in the ledger for ever. Dismiss
gives such rows the status ``dismissed`` and the time: ``status`` counts them apart,
``export`` leaves them out unless ``--status dismissed``, and a run does not send them
again unless their source row changes.

Rows are picked by external_id, by status, by age (the time of their last result), or
by all of these together (each narrows the others); with none of them, nothing is
done. Created and existing rows are done and are never dismissed. Dismiss writes the
ledger, so it takes the run lock as ``run`` does (exit 4 while a run holds it);
``--dry-run`` only reads, lists the rows, and takes no lock.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ae_import.errors import UsageError
from ae_import.ledger import Ledger, RunLock
from ae_import.text import safe_text

from .export import parse_statuses

__all__ = ["DISMISSABLE", "dismiss", "parse_age"]

DISMISSABLE = ("failed", "invalid", "retryable", "pending")
_DONE = ("created", "existing")
_AGE = re.compile(r"^(\d+)([smhdw])$", re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SHOWN_IDS = 3


def parse_age(text: str) -> timedelta:
    """Read ``--older-than``: a whole number and a unit, s, m, h, d or w (``7d``, ``12h``)."""
    found = _AGE.match(text.strip().lower())
    if found is None or int(found.group(1)) == 0:
        raise UsageError(
            f"--older-than: '{safe_text(text)}' is not an age; "
            "use a number and s, m, h, d or w (7d, 12h)"
        )
    try:
        return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    except OverflowError:
        raise UsageError(
            f"--older-than: '{safe_text(text)}' is longer than the calendar; use a smaller age"
        ) from None


def _statuses(text: str | None) -> tuple[str, ...]:
    """Read ``--status``: only statuses a row can be dismissed from (default all of them)."""
    wanted = parse_statuses(text, DISMISSABLE)
    done = [s for s in wanted if s in _DONE]
    if done:
        raise UsageError(
            f"--status: {' and '.join(done)} rows are done and never dismissed; "
            "dismiss failed, invalid, retryable or pending rows"
        )
    return tuple(s for s in wanted if s in DISMISSABLE)


def _refuse_ids(ledger: Ledger, ids: Sequence[str]) -> None:
    """Refuse, naming them, external_ids not in the ledger or of rows that are done."""
    known = ledger.lookup(ids)
    bad = []
    for external_id in ids:
        prior = known.get(external_id)
        shown = safe_text(external_id)
        if prior is None:
            bad.append(f"{shown} is not in the ledger")
        elif prior.status in _DONE:
            bad.append(f"{shown} is {prior.status}")
    if not bad:
        return
    listed = ", ".join(bad[:_SHOWN_IDS])
    if len(bad) > _SHOWN_IDS:
        listed += f" and {len(bad) - _SHOWN_IDS} more"
    why = ""
    if any(" is created" in b or " is existing" in b for b in bad):
        why = ": created and existing rows are done and never dismissed"
    raise UsageError(f"dismiss: {listed}{why}; nothing was changed")


def dismiss(
    path: Path,
    ids: Sequence[str],
    statuses: str | None,
    older_than: str | None,
    *,
    dry_run: bool = False,
    show: Callable[[tuple[Any, ...]], None] | None = None,
    now: datetime | None = None,
) -> int:
    """Dismiss the rows picked (with ``dry_run``, only ``show`` each); return how many."""
    if not ids and statuses is None and older_than is None:
        raise UsageError(
            "dismiss: name the rows to dismiss: external_ids, --status S1,S2 or "
            "--older-than AGE (e.g. --status failed --older-than 7d)"
        )
    wanted = _statuses(statuses)
    before = None
    if older_than is not None:
        try:
            cutoff = (now or datetime.now(UTC)) - parse_age(older_than)
        except OverflowError:  # older than the calendar: every row
            cutoff = datetime.min.replace(tzinfo=UTC)
        before = cutoff.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    unique = list(dict.fromkeys(ids)) or None
    with contextlib.ExitStack() as stack:
        if not dry_run:
            stack.enter_context(RunLock(path))
        ledger = Ledger(path, None, create=False)
        stack.callback(ledger.close)
        if unique is not None:
            _refuse_ids(ledger, unique)
        if not dry_run:
            return ledger.dismiss(wanted, before, unique)
        count = 0
        for row in ledger.dismissable(wanted, before, unique):
            count += 1
            if show is not None:
                show(row)
        return count
