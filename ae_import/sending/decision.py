"""What a run does with each row before any request: skip, changed, failed, invalid, or send.

The engine reads the manifest in chunks and asks the ledger about a whole chunk at once
(``lookup``); ``decide`` then settles each row that needs no request (counting it in the
summary and reporting it) and tells which rows are to be sent. A done row whose raw
record is unchanged is skipped without being mapped or validated; any other row is
checked (``check``), encoded once, and judged by the decision rule (``decide``).

The fingerprints it judges by live here too: of the bytes sent (``fingerprint``, a
signed URL's query left out), and of an invalid row's raw fields (``fields_fingerprint``);
the row source adds the salted fingerprint of each raw record (``RowSource``).

A row whose external_id the ledger holds as created or existing is never counted invalid:
the engagement is there (perhaps created through a fix file), so the row is skipped, or
reported changed when its raw fields differ from those the ledger holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from ae_import.ledger import Ledger
from ae_import.mapping import encode_body
from ae_import.records import Prior, Row
from ae_import.redact import redact_url

from .summary import Events, Progress, RowEvent, Summary

__all__ = ["Decider", "decide", "encode", "fields_fingerprint", "fingerprint"]

_COUNTERS = {"skip": "skipped", "changed": "changed", "failed": "failed", "dismissed": "dismissed"}
_DONE = ("created", "existing")


def encode(row: Row) -> Row:
    """Encode a valid row's body once: the bytes to send, and the fingerprint of those bytes."""
    assert row.body is not None
    row.encoded = encode_body(row.body)
    row.fingerprint = fingerprint(row.body, row.encoded)
    return row


def fingerprint(body: Mapping[str, Any], sent: bytes) -> str:
    """Hash ``sent``, the bytes sent for ``body``; a media URL's query string is left out.

    Signatures change daily, so a signed media URL is hashed as ``redact_url`` shows it:
    only then is the body encoded a second time, without the secret parts.
    """
    url = body.get("media_url")
    shown = redact_url(url) if isinstance(url, str) else url
    if shown != url:
        sent = encode_body({**body, "media_url": shown})
    return hashlib.blake2b(sent, digest_size=16).hexdigest()


def fields_fingerprint(fields: dict[str, Any]) -> str:
    """Hash a raw record's fields (an invalid row has no body to hash)."""
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def decide(prior: Prior | None, fp: str, retry_failed: bool) -> str:
    """Decide what to do with a valid row: send, skip, changed, failed or dismissed (left be)."""
    if prior is None or prior.status in ("pending", "retryable", "invalid"):
        return "send"
    if prior.status in ("created", "existing"):
        return "skip" if prior.fingerprint == fp else "changed"
    if prior.status == "dismissed":
        # retired by `ae-import dismiss`: sent again only when the row changed, whatever
        # --retry-failed says (a dismissed row was fixed elsewhere)
        return "send" if prior.fingerprint != fp else "dismissed"
    # failed: send again only when the user fixed the row, or asked
    return "send" if retry_failed or prior.fingerprint != fp else "failed"


class Decider:
    """Decides the rows of one run against the ledger; counts and reports the rows it settles."""

    def __init__(
        self,
        ledger: Ledger | None,
        summary: Summary,
        check: Callable[[Row], Row],
        *,
        manifest: str,
        retry_failed: bool,
        dry_run: bool,
        progress: Progress,
        events: Events,
    ) -> None:
        """Decide against ``ledger`` (None: every row is new), mapping rows with ``check``."""
        self.ledger = ledger
        self.summary = summary
        self._check = check
        self._manifest = manifest
        self._retry_failed = retry_failed
        self._dry_run = dry_run
        self._progress = progress
        self._events = events
        self._prior: dict[str, Prior] = {}
        self._learnt: list[Row] = []
        self._unkeyed: set[str] = set()  # this run's invalid rows without an id
        self._unkeyed_before: set[str] | None = None  # the last whole run's

    def lookup(self, chunk: list[Row]) -> None:
        """Learn what the ledger holds of a chunk's external_ids, before deciding its rows."""
        ids = [row.external_id for row in chunk if row.external_id is not None]
        self._prior = self.ledger.lookup(ids) if self.ledger is not None else {}

    def _unchanged(self, row: Row, statuses: tuple[str, ...]) -> bool:
        """Tell whether the ledger holds ``row`` in one of ``statuses``, its raw fields the same."""
        if row.external_id is None or row.first_line is not None or row.source_fp is None:
            return False
        known = self._prior.get(row.external_id)
        return (
            known is not None
            and known.status in statuses
            and known.source_fingerprint == row.source_fp
        )

    def decide(self, row: Row) -> bool:
        """Return True when ``row`` is to be sent; else count and report what became of it."""
        summary = self.summary
        if self._unchanged(row, _DONE):
            summary.total += 1
            summary.skipped += 1
            self._progress("decision", summary, row, "skip")
            return False
        if self._unchanged(row, ("dismissed",)):
            summary.total += 1
            summary.dismissed += 1  # retired by ae-import dismiss, source row unchanged
            self._progress("decision", summary, row, "dismissed")
            return False
        self._check(row)
        if not row.valid or row.external_id is None:
            summary.total += 1
            if not self._done_already(row):
                self.invalid(row)
            return False
        encode(row)
        assert row.fingerprint is not None
        decision = decide(self._prior.get(row.external_id), row.fingerprint, self._retry_failed)
        if decision == "send":
            return True
        if decision == "skip" and row.source_fp is not None:
            self._learnt.append(row)  # skipped unchecked next time
        summary.total += 1
        counter = _COUNTERS[decision]
        setattr(summary, counter, getattr(summary, counter) + 1)
        self._progress("decision", summary, row, decision)
        if decision not in ("skip", "dismissed"):
            self._events(RowEvent("row", row.external_id, row.line, counter))
        return False

    def _done_already(self, row: Row) -> bool:
        """Count an invalid row whose id is done (skipped, or changed) or dismissed."""
        known = self._prior.get(row.external_id or "")
        if known is not None and known.status == "dismissed":
            if known.fingerprint == fields_fingerprint(row.fields):  # as record_invalid keeps it
                self.summary.dismissed += 1  # still invalid, but retired: nothing to fix here
                self._progress("decision", self.summary, row, "dismissed")
                return True
            return False
        if known is None or known.status not in _DONE:
            return False
        if known.source_fingerprint is not None and known.source_fingerprint == row.source_fp:
            self.summary.skipped += 1
            self._progress("decision", self.summary, row, "skip")
            return True
        self.summary.changed += 1
        self._progress("decision", self.summary, row, "changed")
        self._events(RowEvent("row", row.external_id, row.line, "changed"))
        return True

    def _before(self) -> set[str]:
        """Return the invalid rows without an id of the last run that read the whole manifest."""
        if self._unkeyed_before is None:
            ledger = self.ledger
            self._unkeyed_before = (
                set() if ledger is None else ledger.unkeyed_invalid(self._manifest)
            )
        return self._unkeyed_before

    def read_all(self) -> None:
        """Remember this run's invalid rows without an id: every row was read."""
        if self.ledger is not None and not self._dry_run:
            self.ledger.set_unkeyed_invalid(self._manifest, self._unkeyed)

    def answered_before(self, row: Row) -> bool:
        """Tell whether the target answered ``row`` in an earlier run (it is resent: failed)."""
        known = self._prior.get(row.external_id or "")
        return known is not None and known.status in ("failed", "dismissed")

    def remember(self) -> None:
        """Record the source fingerprints of the rows just skipped: next time, skipped unchecked."""
        if self._learnt and self.ledger is not None and not self._dry_run:
            self.ledger.set_source_fingerprints(self._learnt)
        self._learnt = []

    def unsettled(self, chunk: list[Row]) -> int:
        """Count the rows of ``chunk`` a next run would send.

        Rows held as created or existing are never sent again (at most reported changed);
        failed rows only when changed.
        """
        self.lookup(chunk)
        return sum(1 for row in chunk if not self._settled(row))

    def _settled(self, row: Row) -> bool:
        """Tell whether the ledger holds ``row`` as done, or failed or dismissed and unchanged."""
        known = self._prior.get(row.external_id or "")
        if known is not None and known.status in _DONE:
            return True
        return self._unchanged(row, ("failed", "dismissed"))

    def invalid(self, row: Row) -> None:
        """Count an invalid row; record it in the ledger unless it is a repeat."""
        self.summary.invalid += 1
        first = row.problems[0]
        duplicate = any(p.code == "duplicate_external_id" for p in row.problems)
        held = fields_fingerprint(row.fields)
        known = self._prior.get(row.external_id or "")
        kept = known is not None and known.status == "invalid" and known.fingerprint == held
        old = known is not None and (duplicate or kept)
        if row.external_id is None:
            # No id to find it by in the ledger: its raw fields, as the last whole run saw them.
            self._unkeyed.add(held)
            old = held in self._before()
        self.summary.count_problem([p.code for p in row.problems], new=not old)
        # Every problem of the row, as the ledger and export keep them.
        detail = "; ".join(f"{p.field or 'row'}: {p.message}" for p in row.problems)
        if self.ledger is not None and not self._dry_run and row.external_id and not duplicate:
            self.ledger.record_invalid(
                row.external_id, self._manifest, row.line, held, first.code, detail
            )
        self._progress("row", self.summary, row, "invalid")
        self._events(
            RowEvent(
                "row",
                row.external_id,
                row.line,
                "invalid",
                error_code=first.code,
                error_detail=detail,
            )
        )
