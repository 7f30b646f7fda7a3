"""What sampled values look like, for ``ae-import init``: timestamps, media URLs, people.

Pure. Each test takes the present values of one column (strings from CSV; strings,
numbers or booleans from JSONL) and answers for all of them, never for most: a
timestamp pattern is kept only when it parses every sampled value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from ae_import.mapping import ISO_FORM, TIMESTAMP_PATTERNS

__all__ = [
    "MEDIA_EXTENSIONS",
    "Stamps",
    "call_or_meeting",
    "dst_edge",
    "is_email",
    "is_nanp",
    "is_national",
    "is_phone",
    "media_extension",
    "read_stamps",
    "words",
]

MEDIA_EXTENSIONS = (
    ".mp3",
    ".mp4",
    ".m4a",
    ".wav",
    ".ogg",
    ".oga",
    ".opus",
    ".webm",
    ".mov",
    ".aac",
    ".flac",
    ".wma",
    ".m4v",
    ".mkv",
    ".avi",
    ".3gp",
    ".amr",
    ".mpga",
    ".mpeg",
)
_MEDIA_SCHEMES = ("https", "http", "s3", "gs", "az")

_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 to 2100-01-01
_EPOCH_MS = (_EPOCH_S[0] * 1000, _EPOCH_S[1] * 1000)
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_EMAIL = re.compile(r"^[^@\s<>(),;]+@[^@\s<>(),;]+\.[^@\s<>(),;]+$")
_DATE_LIKE = re.compile(
    r"\d{1,4}[-/. ]\d{1,2}[-/. ,:]|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9}\.? \d{4}"
)
_DATE_SHAPE = re.compile(r"^\d{1,4}([./-])\d{1,2}\1\d{1,4}$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]+$")

_CALL_WORDS = frozenset(
    [
        "call",
        "calls",
        "phone",
        "inbound",
        "outbound",
        "internal",
        "incoming",
        "outgoing",
        "dialer",
        "dial",
        "voice",
        "audio",
        "voicemail",
        "missed",
        "callback",
        "in",
        "out",
        "pstn",
        "voip",
        "dialed",
        "answered",
        "anruf",
        "eingehend",
        "ausgehend",
        "appel",
        "entrant",
        "sortant",
        "llamada",
        "entrante",
        "saliente",
        "chiamata",
        "telefonata",
        "entrata",
        "uscita",
        "inkomend",
        "uitgaand",
        "gesprek",
        "telefoongesprek",
        "chamada",
        "ligação",
        "entrada",
        "saída",
        "telefon",
        "telefonat",
        "téléphone",
        "telefono",
    ]
) | {"phone call", "cold call", "log a call", "peer to peer", "inbound call", "outbound call"}
_MEETING_WORDS = frozenset(
    [
        "meeting",
        "meetings",
        "conference",
        "video",
        "webinar",
        "event",
        "zoom",
        "teams",
        "demo",
        "besprechung",
        "reunion",
        "reunión",
        "réunion",
        "riunione",
        "videochiamata",
        "vergadering",
        "reunião",
        "videoconferencia",
        "videokonferenz",
        "visio",
    ]
) | {
    "video call",
    "google meet",
    "online meeting",
    "video conference",
    "group call",
    "scheduled meeting",
    "instant meeting",
    "recurring meeting",
}


@lru_cache(maxsize=4096)
def words(header: str) -> str:
    """Return a header as lower-case words: ``metaData.isPrivate`` -> ``meta data is private``."""
    text = re.sub(r"__c$", "", header)  # a Salesforce custom field's suffix
    text = re.sub(r"\[\d+\]", " ", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return " ".join(re.sub(r"[\W_]+", " ", text).lower().split())


@dataclass(frozen=True)
class Stamps:
    """How a column's timestamps read: ``format`` None (RFC 3339), a pattern, or epoch."""

    format: str | None
    naive: bool  # no offset: read in the mapping's timezone
    timed: bool  # they carry a time of day, not only a date
    ambiguous: bool = False  # day/month would parse every value too
    more: tuple[str, ...] = ()  # further patterns some values need (mixed formats)
    cells: bool = False  # spreadsheet date cells, read as they are: no pattern needed

    @property
    def formats(self) -> list[str]:
        """Return every pattern the values need, the first one first."""
        return [f for f in (self.format, *self.more) if f is not None]

    @property
    def utc(self) -> bool:
        """Tell whether the values say they are UTC without an offset (epoch, a ``UTC`` suffix)."""
        return self.format in ("epoch", "epoch_ms") or (self.format or "").endswith(" UTC")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value)
    return None


def _epoch(values: Sequence[Any]) -> str | None:
    numbers = [_number(v) for v in values]
    if any(n is None for n in numbers):
        return None
    for name, (low, high) in (("epoch", _EPOCH_S), ("epoch_ms", _EPOCH_MS)):
        if all(low <= n <= high for n in numbers if n is not None):
            return name
    return None


def _parses(pattern: str, values: Sequence[str]) -> bool:
    try:
        for value in values:
            datetime.strptime(value, pattern)
    except ValueError:
        return False
    return True


def _day_month_swapped(pattern: str) -> str | None:
    """Return a numeric pattern with its day and month swapped (``%d/%m`` for ``%m/%d``)."""
    head = pattern[:5]
    if head[:2] in ("%m", "%d") and head[3:5] in ("%m", "%d") and head[:2] != head[3:5]:
        return head[3:5] + head[2] + head[:2] + pattern[5:]
    return None


def read_stamps(values: Sequence[Any], day_first: bool = False) -> Stamps | None:
    """Return how every one of ``values`` reads as a timestamp, or None when some do not.

    Spreadsheet date cells (``datetime``) read as they are; ISO 8601 texts need no
    pattern; the rest take the first pattern that reads them all, else (mixed formats,
    as exports merged from two systems have) the fewest patterns that read each one.
    """
    if not values:
        return None
    if all(isinstance(v, datetime | date) for v in values):
        timed = any(isinstance(v, datetime) and (v.hour or v.minute or v.second) for v in values)
        naive = any(not isinstance(v, datetime) or v.tzinfo is None for v in values)
        return Stamps(None, naive=naive, timed=timed, cells=True)
    epoch = _epoch(values)
    if epoch is not None:
        return Stamps(epoch, naive=False, timed=True)
    if not all(isinstance(v, str) for v in values):
        return None
    texts = [str(v).strip() for v in values]
    matches = [ISO_FORM.match(t) for t in texts]
    if all(matches):
        naive = any(m is not None and m.group(5) is None for m in matches)
        timed = any(len(t) > 10 for t in texts)
        return Stamps(None, naive=naive, timed=timed)
    rest = [t for t, m in zip(texts, matches, strict=True) if m is None]
    if not all(_DATE_LIKE.search(t) for t in rest):  # cheap: names and titles stop here
        return None
    iso_naive = any(m is not None and m.group(5) is None for m in matches)
    iso_timed = any(m is not None and len(t) > 10 for t, m in zip(texts, matches, strict=True))
    for pattern in TIMESTAMP_PATTERNS:
        if _parses(pattern, rest):
            swapped = _day_month_swapped(pattern)
            chosen = pattern
            if day_first and swapped and pattern.startswith("%m") and _parses(swapped, rest):
                chosen = swapped  # the headers' language writes the day first
            return _stamps((chosen,), rest, iso_naive, iso_timed)
    return _mixed(rest, iso_naive, iso_timed)


def _stamps(patterns: tuple[str, ...], texts: Sequence[str], naive: bool, timed: bool) -> Stamps:
    first = patterns[0]
    swapped = _day_month_swapped(first)
    ambiguous = swapped is not None and _parses(swapped, texts)
    aware = all("%z" in p or p.endswith(" UTC") for p in patterns)
    timed = timed or any("%H" in p or "%I" in p for p in patterns)
    return Stamps(
        first, naive=naive or not aware, timed=timed, ambiguous=ambiguous, more=patterns[1:]
    )


def _mixed(texts: Sequence[str], naive: bool, timed: bool) -> Stamps | None:
    """Return the stamps of texts no one pattern reads: at most 3 patterns, each one needed."""
    if not all(_DATE_LIKE.search(t) for t in texts):  # cheap: titles and names stop here
        return None
    left = list(texts)
    chosen: list[str] = []
    while left and len(chosen) < 3:
        best = max(TIMESTAMP_PATTERNS, key=lambda p: sum(_parses(p, [t]) for t in left))
        read = [t for t in left if _parses(best, [t])]
        if not read:
            return None
        chosen.append(best)
        left = [t for t in left if t not in read]
    if left:
        return None
    return _stamps(tuple(chosen), texts, naive, timed)


def dst_edge(values: Sequence[Any], stamps: Stamps, zone: tzinfo) -> str | None:
    """Return the first naive value a DST change in ``zone`` skips or repeats, if any."""
    if not stamps.naive or stamps.utc:
        return None
    for value in values:
        text = str(value).strip()
        try:
            if stamps.format is None:
                moment = datetime.fromisoformat(text)
            else:
                moment = datetime.strptime(text, stamps.format)
        except ValueError:
            continue
        early, late = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            return text
    return None


def media_extension(value: Any) -> str | None:
    """Return the audio or video extension a media URL's path ends in (``.mp4``), if any."""
    if not isinstance(value, str) or "://" not in value:
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in _MEDIA_SCHEMES or not parts.netloc:
        return None
    path = parts.path.lower()
    for ext in MEDIA_EXTENSIONS:
        if path.endswith(ext):
            return ext
    return None


def is_url(value: Any) -> bool:
    """Tell whether ``value`` is an http(s) or cloud URL."""
    if not isinstance(value, str) or "://" not in value:  # cheap: most cells stop here
        return False
    parts = urlsplit(value.strip())
    return parts.scheme.lower() in _MEDIA_SCHEMES and bool(parts.netloc)


def is_email(value: Any) -> bool:
    """Tell whether ``value`` looks like one email address."""
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def is_phone(value: Any) -> bool:
    """Tell whether ``value`` looks like a phone number (7 to 15 digits, usual punctuation)."""
    if not isinstance(value, str) or not _PHONE.match(value.strip()):
        return False
    if _DATE_SHAPE.match(value.strip()):  # 03.11.2025, 2025-11-03: a date, not a number
        return False
    return 7 <= len(_digits(value)) <= 15


def is_national(value: Any) -> bool:
    """Tell whether a phone number is written without its country code (no leading +)."""
    return is_phone(value) and not str(value).strip().startswith("+")


def is_nanp(value: Any) -> bool:
    """Tell whether a national number is North American: (415) 555-2671, 1-415-555-2671."""
    digits = _digits(str(value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def call_or_meeting(value: Any, loose: bool = False) -> str | None:
    """Return CALL or MEETING for a value that says which (Inbound, Conference...), else None.

    ``loose`` (a column named like a type): a word of the value may say it (Video Meeting).
    """
    if not isinstance(value, str):
        return None
    text = words(value)
    if text in ("call", "meeting"):
        return text.upper()
    if text in _CALL_WORDS:
        return "CALL"
    if text in _MEETING_WORDS:
        return "MEETING"
    found = text.split()  # "Video Meeting", "Phone Call": a word of the value says it
    if not loose or len(found) > 4 or is_url(value) or "@" in value:
        return None
    meeting = any(w in _MEETING_WORDS for w in found)
    call = any(w in _CALL_WORDS and w not in ("in", "out") for w in found)
    if meeting != call:
        return "MEETING" if meeting else "CALL"
    return None
