"""When a presigned media URL dies, and when a run will reach its row: pure, no I/O.

``expires_at`` reads the expiry a presigned https URL carries in its query:

==================================  ===================================================
URL                                 expiry
==================================  ===================================================
S3 SigV4 (``X-Amz-Signature``)      ``X-Amz-Date`` + ``X-Amz-Expires`` seconds
GCS V4 (``X-Goog-Signature``)       ``X-Goog-Date`` + ``X-Goog-Expires`` seconds
Azure SAS (``sig``)                 ``se`` (an ISO 8601 date or date-time, UTC)
S3 SigV2, GCS V2, CloudFront        ``Expires`` (Unix seconds), beside ``Signature``
==================================  ===================================================

Parameter names are matched in any case. A URL without these, or with a value that
does not read, has no known expiry (None): it is not judged on time.

``Forecast`` says when a run will send the row at a given position (0 for the first
row to send): at ``--rate``, ``position / rate`` seconds after the start. A run's budget
(``--max-rows``, or ``--max-duration`` at that rate) holds a number of rows; a row past
it waits for a later run, taken to come every ``RUN_EVERY_S`` (a nightly schedule).
Without a rate the rows are taken as sent at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

__all__ = ["RUN_EVERY_S", "Forecast", "expired", "expires_at", "when"]

RUN_EVERY_S = 24 * 3600
_AMZ_DATE = re.compile(r"(\d{8})T(\d{6})Z\Z")
_MAX_SECONDS = 10 * 365 * 24 * 3600  # a value past this is not a lifetime but garbage


def _basic_time(text: str) -> datetime | None:
    """Read ``20260302T090000Z`` (SigV4 and GCS V4 dates)."""
    match = _AMZ_DATE.match(text.strip())
    if match is None:
        return None
    try:
        return datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _seconds(text: str) -> int | None:
    word = text.strip()
    return int(word) if word.isdigit() and int(word) <= _MAX_SECONDS else None


def _iso_time(text: str) -> datetime | None:
    """Read an Azure ``se``: ``2026-03-02``, ``2026-03-02T09:00Z`` or with seconds, in UTC."""
    word = text.strip()
    try:
        found = datetime.fromisoformat(word.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def _dated(params: dict[str, str], prefix: str) -> datetime | None:
    start = _basic_time(params.get(f"{prefix}-date", ""))
    seconds = _seconds(params.get(f"{prefix}-expires", ""))
    if start is None or seconds is None:
        return None
    return start + timedelta(seconds=seconds)


def expires_at(url: str) -> datetime | None:
    """Return when the presigned ``url`` stops working (UTC), or None when it does not say."""
    # Measured: urlsplit and parse_qsl on every row took a fifth of `validate`'s time on a
    # signed export. The query is cut as urlsplit cuts it (after the first "?", before
    # "#"), and parsed only when it names both a signature and an expiry, as each form
    # above does (a name written in %-escapes is not looked for).
    query = url.partition("#")[0].partition("?")[2]
    lowered = query.lower()
    if not (("sig" in lowered and "se=" in lowered) or "date=" in lowered or "expires=" in lowered):
        return None
    params = {name.lower(): value for name, value in parse_qsl(query, keep_blank_values=True)}
    if "x-amz-signature" in params:
        return _dated(params, "x-amz")
    if "x-goog-signature" in params:
        return _dated(params, "x-goog")
    if "sig" in params and "se" in params:
        return _iso_time(params["se"])
    epoch = params.get("expires", "").strip() if "signature" in params else ""
    if epoch.isdigit() and len(epoch) <= 11:  # Unix seconds, up to year 5138
        return datetime.fromtimestamp(int(epoch), UTC)
    return None


def when(moment: datetime) -> str:
    """Write a moment as messages show it: ``2026-03-02 09:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def expired(url: str, clock: Callable[[], datetime]) -> str | None:
    """Say that presigned ``url`` has expired (``media_expired``), if its query says so.

    ``clock`` is asked only for a URL that carries an expiry.
    """
    expiry = expires_at(url)
    if expiry is None or expiry > clock():
        return None
    return f"the presigned URL expired at {when(expiry)}; sign it again"


@dataclass(frozen=True)
class Forecast:
    """When a run that starts at ``start`` sends the row at each position."""

    start: datetime
    rate: float | None = None  # rows a second (--rate); None: as fast as the server goes
    max_rows: int | None = None  # rows one run sends at most (--max-rows)
    max_duration_s: float | None = None  # seconds one run dispatches for (--max-duration)

    @property
    def per_run(self) -> int | None:
        """Return how many rows one run sends before a budget stops it (None: no budget)."""
        found = [self.max_rows] if self.max_rows is not None else []
        if self.max_duration_s is not None and self.rate is not None:
            found.append(max(1, math.floor(self.max_duration_s * self.rate)))
        return min(found) if found else None

    def send_at(self, position: int) -> datetime:
        """Return when the row at ``position`` (0: the first row to send) is sent."""
        per_run = self.per_run
        run, within = divmod(position, per_run) if per_run else (0, position)
        seconds = run * RUN_EVERY_S + (within / self.rate if self.rate else 0.0)
        return self.start + timedelta(seconds=seconds)
