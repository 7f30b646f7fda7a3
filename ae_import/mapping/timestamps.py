"""Timestamps as exports write them, to RFC 3339 with an offset.

Pure. Tried in this order: RFC 3339 and ISO 8601 forms (``2024-03-05T14:30:00Z``,
``2024-03-05 14:30``, a date alone), fast and first; then the mapping's
``timestamp_formats`` (strftime patterns, read with ``datetime.strptime``, or ``epoch`` and
``epoch_ms``); then the forms that cannot be misread: a ``UTC`` or ``GMT`` suffix,
``2025/11/05``, month names (``Nov 5, 2025 2:15:33 PM``, ``5 Nov 2025``), RFC 2822.
``11/05/2025`` is month-first in one country and day-first in another: it needs a pattern,
and the problem for it names the patterns that would read it.

Times without an offset are read in the mapping's zone (``zoneinfo``), or in a row's own
zone (``timezone: {column: ...}``). ``find_zone`` is the one reader of a zone: an IANA name
(in any case), an offset (``UTC-5``, ``GMT+01:00``, ``+0530``: fixed, no daylight saving)
or a Windows zone name (``Eastern Standard Time``, through tzlocal's copy of CLDR's
windowsZones table). A wall-clock time
that a daylight-saving change skips or repeats is a ``timestamp_ambiguous`` problem unless
``ambiguous: earlier`` or ``later`` says which of its two instants to take.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from ae_import.text import safe_text

from .validation import is_rfc3339

__all__ = [
    "CHOICE_PATTERNS",
    "EPOCHS",
    "ISO_FORM",
    "TIMESTAMP_PATTERNS",
    "UNAMBIGUOUS_PATTERNS",
    "StampReader",
    "check_format",
    "check_zone",
    "find_zone",
    "parse_timestamp",
]

EPOCHS = ("epoch", "epoch_ms")
# ISO 8601 and RFC 3339 forms, read with no pattern: groups day, hh:mm, ss, fraction, offset.
ISO_FORM = re.compile(
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
_UTC_SUFFIX = re.compile(r"^(.*\d)\s*(?:UTC|GMT)$", re.IGNORECASE)
_LITERAL_UTC = re.compile(r"(?:^|[^%])(?:UTC|GMT|Z)\s*$")
_NUMBER = re.compile(r"^\d{1,16}(?:\.\d+)?$")
_TIMES_12 = ("%I:%M:%S %p", "%I:%M %p")
_TIMES_24 = ("%H:%M:%S", "%H:%M")
_CLOCKS = ("", *(f" {t}" for t in (*_TIMES_12, *_TIMES_24)))
# The one table of timestamp patterns, shared by the mapper and ``init``'s guesses.
# Forms that read one way only: the mapper tries them after the configured patterns.
UNAMBIGUOUS_PATTERNS = (
    *(f"%Y/%m/%d {t}" for t in _TIMES_24),
    "%Y/%m/%d",
    *(f"%b %d, %Y {t}" for t in (*_TIMES_12, *_TIMES_24)),
    "%b %d, %Y",
    *(f"%B %d, %Y {t}" for t in (*_TIMES_12, *_TIMES_24)),
    "%B %d, %Y",
    *(f"%d %b %Y {t}" for t in _TIMES_24),
    "%d %b %Y",
    "%a, %d %b %Y %H:%M:%S %z",
    "%a %b %d %H:%M:%S %Y",
    "%Y-%m-%d %H:%M:%S UTC",
)
# Numeric dates read month-first in one country and day-first in another: only a pattern
# the user picks reads them (timestamp_formats). The usual order of each separator comes
# first (month-first with / and -, day-first with .), so that a guess taking the first
# pattern that reads every value takes the usual one unless a day is over 12.
_ORDERS = {"/": ("%m", "%d"), "-": ("%m", "%d"), ".": ("%d", "%m")}
CHOICE_PATTERNS = tuple(
    f"{first}{sep}{second}{sep}{year}{clock}"
    for sep, usual in _ORDERS.items()
    for year in ("%Y", "%y")
    for first, second in (usual, usual[::-1])
    for clock in _CLOCKS
)
TIMESTAMP_PATTERNS = (*CHOICE_PATTERNS, *UNAMBIGUOUS_PATTERNS)
_SUGGEST_CACHE: dict[str, str] = {}
_MIN_YEAR, _MAX_YEAR = 1970, 2100
_HOURS_KEPT = 4096
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A zone written as an offset: UTC, GMT or Z alone, or a sign and hours (UTC-5, +02:00, +0530).
_OFFSET_ZONE = re.compile(r"^(?i:(UTC|GMT|Z))?\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?$")
_MAX_OFFSET_HOURS = 18
_ZONES: dict[str, tzinfo | None] = {}  # zone cells seen, resolved once each
_ZONES_KEPT = 4096
_ZONE_CHARS = 64  # the longest IANA name is 32 characters, the longest Windows name 31
_FOLDED: dict[str, str] = {}  # every IANA name by its casefold


def _offset_zone(text: str) -> tzinfo | None:
    """Return the fixed zone of ``UTC-5``, ``GMT+01:00``, ``+0530`` (sign and hours), else None."""
    match = _OFFSET_ZONE.match(text)
    if match is None:
        return None
    sign = match.group(2)
    if not sign:
        return UTC if match.group(1) else None
    hours, minutes = int(match.group(3)), int(match.group(4) or 0)
    if hours > _MAX_OFFSET_HOURS or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def _folded_zone(text: str) -> str | None:
    """Return the IANA name ``text`` writes in another case (``america/chicago``), else None."""
    if not _FOLDED:  # read once, on the first name not found as written
        _FOLDED.update((name.casefold(), name) for name in zoneinfo.available_timezones())
    return _FOLDED.get(text.casefold())


def _find_zone(text: str) -> tzinfo | None:
    """Resolve an IANA name (any case), an offset, or a Windows zone name; None if none."""
    name = text.strip()
    if not name:
        return None
    fixed = _offset_zone(name)
    if fixed is not None:
        return fixed
    from tzlocal.windows_tz import win_tz  # CLDR's windowsZones table, Windows name to IANA

    candidates = (name, win_tz.get(name), _folded_zone(name) if "/" in name else None)
    for candidate in candidates:
        if candidate:
            try:
                return zoneinfo.ZoneInfo(candidate)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return None


def find_zone(text: str) -> tzinfo | None:
    """Return the zone a config or a cell names (IANA, offset, Windows name), else None."""
    if len(text) > _ZONE_CHARS:
        return None  # no zone name is this long: refused, and never kept
    if text in _ZONES:
        return _ZONES[text]
    found = _find_zone(text)
    if len(_ZONES) >= _ZONES_KEPT:
        _ZONES.clear()
    _ZONES[text] = found
    return found


def check_zone(name: str) -> str | None:
    """Say what is wrong with a time zone name, if anything: the one check and its message."""
    if find_zone(name) is None:
        shown = safe_text(name)[:60]
        return (
            f"unknown time zone '{shown}'; use an IANA name such as UTC or America/New_York, "
            "an offset such as UTC-5 or +02:00, or a Windows name such as Eastern Standard Time"
        )
    return None


def check_format(pattern: str) -> str | None:
    """Say what is wrong with a timestamp pattern of the config, if anything."""
    if pattern in EPOCHS:
        return None
    if "%" not in pattern:
        return (
            f"'{pattern}' is not a strftime pattern (such as '%m/%d/%Y %I:%M %p'), "
            "epoch or epoch_ms"
        )
    if "%Z" in pattern:
        return (
            f"'{pattern}': %Z reads a zone name that Python then drops; write UTC literally, "
            "or use %z for an offset such as -0500"
        )
    sample = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(pattern), pattern)
    except ValueError as exc:
        return f"'{pattern}' is not a strftime pattern that reads back: {exc}"
    return None


def _suggestion(text: str) -> str:
    """Say which common patterns would read ``text`` (kept per shape of text: 9 for digits)."""
    shape = re.sub(r"\d", "9", text)
    found = _SUGGEST_CACHE.get(shape)
    if found is not None:
        return found
    if _NUMBER.match(text):
        found = (
            "; it looks like a Unix time: add epoch (seconds) or epoch_ms (milliseconds) to "
            "timestamp_formats, or give columns.start_at that format"
        )
    else:
        readers: list[str] = []
        for pattern in CHOICE_PATTERNS:
            try:
                datetime.strptime(text, pattern)
            except ValueError:
                continue
            label = "month first" if pattern.startswith("%m") else "day first"
            readers.append(f"'{pattern}' ({label})")
        if readers:
            found = (
                f"; it reads with {' or '.join(readers)}: add the right one to "
                "timestamp_formats, or give columns.start_at a format"
                if len(readers) > 1
                else f"; it reads with {readers[0].split(' (')[0]}: add it to "
                "timestamp_formats, or give columns.start_at that format"
            )
        else:
            found = (
                "; use RFC 3339 (2024-03-05T14:30:00Z), or add its strftime pattern to "
                "timestamp_formats"
            )
    if len(_SUGGEST_CACHE) >= 1024:
        _SUGGEST_CACHE.clear()
    _SUGGEST_CACHE[shape] = found
    return found


class StampReader:
    """Reads the timestamps of one field: patterns, zone and the rule for DST gaps and folds."""

    def __init__(
        self, zone: str | tzinfo, formats: tuple[str, ...] = (), ambiguous: str | None = None
    ) -> None:
        """Prepare for ``zone`` (an IANA name), the configured ``formats`` and ``ambiguous``."""
        found = find_zone(zone) if isinstance(zone, str) else zone
        if found is None:
            raise ValueError(check_zone(str(zone)))
        self.zone: tzinfo = found
        self.zone_name = str(zone)
        self.ambiguous = ambiguous
        self.formats = formats
        self._hours: dict[str, str] = {}  # "2024-03-05T14": "-07:00", "" where DST changes
        # (pattern, naive results are UTC: the pattern ends in a literal UTC, GMT or Z)
        self._patterns = [
            (f, bool(_LITERAL_UTC.search(f)))
            for f in (*formats, *UNAMBIGUOUS_PATTERNS)
            if f not in EPOCHS
        ]
        self._epoch = next((f for f in formats if f in EPOCHS), None)

    def read(self, value: Any) -> tuple[str | None, tuple[str, str] | None]:
        """Return (RFC 3339 text, None), or (None, (code, message))."""
        if value.__class__ is not str:
            return self._not_text(value)
        text = value.strip()
        match = ISO_FORM.match(text)
        if match is not None:
            if match.group(5) and match.group(3) and is_rfc3339(text):
                return text, None  # RFC 3339 already: sent unchanged
            return self._iso(text, match)
        if self._epoch is not None and _NUMBER.match(text):
            return self._from_epoch(text, value)
        suffix = _UTC_SUFFIX.match(text)
        if suffix is not None:
            match = ISO_FORM.match(suffix.group(1) + "Z")
            if match is not None:
                return self._iso(text, match)
        for pattern, utc in self._patterns:
            try:
                moment = datetime.strptime(text, pattern)
            except ValueError:
                continue
            if moment.tzinfo is None and utc:
                moment = moment.replace(tzinfo=UTC)
            return self._finish(moment, text)
        return None, (
            "bad_timestamp",
            f"'{value}' is not a timestamp this mapping reads{_suggestion(text)}",
        )

    def _not_text(self, value: Any) -> tuple[str | None, tuple[str, str] | None]:
        """Read a JSON number as a Unix time when the patterns say epoch; refuse anything else."""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None, ("wrong_type", "must be a timestamp written as text")
        if self._epoch is None:
            return None, (
                "bad_timestamp",
                f"{value} is a number; if it is a Unix time, add epoch (seconds) or "
                "epoch_ms to timestamp_formats, or give columns.start_at that format",
            )
        return self._from_epoch(str(value), value)

    def _iso(self, text: str, match: re.Match[str]) -> tuple[str | None, Any]:
        """Read an ISO 8601 form that is not RFC 3339 already (or carries a UTC suffix)."""
        day, hm, sec, frac, offset = match.groups()
        iso = f"{day}T{hm or '00:00'}:{sec or '00'}"
        if frac:
            iso += "." + frac[:6].ljust(6, "0")
        if offset:
            iso += "+00:00" if offset in ("Z", "z") else offset
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            return None, ("bad_timestamp", f"'{text}' is not a date and time that exists")
        if not offset:  # the zone's offset, once per hour of the file (no DST change in it)
            hour = iso[:13]
            suffix = self._hours.get(hour)
            if suffix is None:
                suffix = self._offset_of_hour(moment)
                if len(self._hours) >= _HOURS_KEPT:
                    self._hours.clear()
                self._hours[hour] = suffix
            if suffix:
                return moment.isoformat() + suffix, None
        return self._finish(moment, text)

    def _offset_of_hour(self, moment: datetime) -> str:
        """Return the zone's offset through ``moment``'s hour as text, or "" if it changes."""
        start = moment.replace(minute=0, second=0, microsecond=0, tzinfo=self.zone)
        end = start.replace(minute=59, second=59, microsecond=999999)
        offsets = {t.utcoffset() for t in (start, end, start.replace(fold=1), end.replace(fold=1))}
        if len(offsets) != 1 or abs(start.utcoffset() or timedelta(0)) >= timedelta(hours=24):
            return ""
        return start.isoformat()[19:]

    def _finish(self, moment: datetime, text: str) -> tuple[str | None, Any]:
        """Place a naive time in the zone (gaps and folds per ``ambiguous``); check the offset."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
            first, second = moment.utcoffset(), moment.replace(fold=1).utcoffset()
            if first != second:
                if self.ambiguous is None:
                    return None, ("timestamp_ambiguous", self._ambiguity(text, first, second))
                # Of the two instants the wall time can mean, the earlier or the later one.
                earlier_fold = 0 if (first or timedelta(0)) > (second or timedelta(0)) else 1
                fold = earlier_fold if self.ambiguous == "earlier" else 1 - earlier_fold
                moment = moment.replace(fold=fold)
        offset = moment.utcoffset() or timedelta(0)
        if abs(offset) >= timedelta(hours=24):
            return None, ("bad_timestamp", f"'{text}' has an offset of 24 hours or more")
        return moment.isoformat(), None

    def _ambiguity(self, text: str, first: Any, second: Any) -> str:
        if first > second:
            what = "happens twice"
            why = "the clocks go back"
        else:
            what = "does not exist"
            why = "the clocks skip it"
        return (
            f"'{text}' {what} in {self.zone_name} ({why}); set ambiguous: earlier or later "
            "in the config to take one of its two instants"
        )

    def _from_epoch(self, text: str, value: Any) -> tuple[str | None, Any]:
        """Read Unix seconds or milliseconds, in integers (never through a float)."""
        if not _NUMBER.match(text):
            return None, ("bad_timestamp", f"'{value}' is not a Unix time ({self._epoch})")
        whole, _, fraction = text.partition(".")
        if self._epoch == "epoch_ms":
            micros = int(whole) * 1000 + int((fraction + "000")[:3])
        else:
            micros = int(whole) * 1_000_000 + int((fraction + "000000")[:6])
        try:
            moment = _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            moment = datetime.max.replace(tzinfo=UTC)
        if not _MIN_YEAR <= moment.year <= _MAX_YEAR:
            other = "epoch" if self._epoch == "epoch_ms" else "epoch_ms"
            return None, (
                "bad_timestamp",
                f"'{value}' as {self._epoch} falls outside {_MIN_YEAR}-{_MAX_YEAR}; is it {other}?",
            )
        local = moment.astimezone(self.zone)
        spec = "seconds" if not local.microsecond else "milliseconds"
        if local.microsecond % 1000:
            spec = "microseconds"
        return local.isoformat(timespec=spec), None


def parse_timestamp(
    text: str, zone: str | tzinfo, formats: tuple[str, ...] = (), ambiguous: str | None = None
) -> str | None:
    """Return ``text`` as RFC 3339 with an offset, reading naive times in ``zone``; else None."""
    value, problem = StampReader(zone, formats, ambiguous).read(text)
    return None if problem else value
