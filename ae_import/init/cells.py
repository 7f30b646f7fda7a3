"""What one cell means, for ``ae-import init``: a person, a zone, a time of day, an id, a host.

Pure. Each test answers for one sampled value; the guesses ask them of every value of a
column (``all``) or of most (``share``). A person cell is what ``participants.owner:
COLUMN`` and ``list`` entries read: ``Name (email)``, ``Name <email>``, a bare email, a
bare phone or a name. A zone cell is what ``timezone: {column: ...}`` reads: an IANA name,
a UTC offset (``+02:00``, ``UTC-5``, ``GMT+1``) or a Windows zone name.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from datetime import datetime, time
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from ae_import.mapping import ISO_FORM

from .values import is_email, is_phone, is_url

__all__ = [
    "CREDENTIAL_HOSTS",
    "TIME_PATTERNS",
    "credential_host",
    "id_shaped",
    "is_addressed",
    "is_zone",
    "joined_form",
    "media_path",
    "mostly",
    "person_of",
    "share",
    "time_pattern",
]

_PAREN = re.compile(r"^(?P<name>[^()<>]*?)\s*\((?P<address>[^()]+)\)$")
_ANGLE = re.compile(r"^(?P<name>[^<>]*?)\s*<(?P<address>[^<>]+)>$")
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d{2})?$|^(?:UTC|GMT|Z)$", re.IGNORECASE)
_WINDOWS_ZONE = re.compile(r"^[A-Z][A-Za-z .()+-]* (?:Standard|Daylight) Time$")
_ID_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_:./+=-]{0,199}$")
TIME_PATTERNS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%I:%M:%S%p", "%I:%M%p")

# Media hosts whose URLs need the account's credentials: the server cannot fetch them.
CREDENTIAL_HOSTS = (
    ("graph.microsoft.com", "", "Microsoft Graph (Teams) recording content"),
    ("api.twilio.com", "", "Twilio recordings"),
    ("zoom.us", "/download", "Zoom download URLs"),
    ("app.hubspot.com", "", "HubSpot recording pages"),
    ("api.hubapi.com", "", "HubSpot API recordings"),
    ("api.aircall.io", "", "Aircall API recordings"),
    ("platform.ringcentral.com", "", "RingCentral recording content"),
    ("media.ringcentral.com", "", "RingCentral recording content"),
    ("api.gong.io", "", "Gong API media"),
    ("drive.google.com", "", "Google Drive files"),
    ("api.talkdeskapp.com", "", "Talkdesk API recordings"),
)


def share(values: Sequence[Any], test: Any) -> float:
    """Return the share of ``values`` that pass ``test`` (0 for none)."""
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def mostly(values: Sequence[Any], test: Any, floor: float) -> bool:
    """Tell whether at least ``floor`` of ``values`` pass ``test``; stop once they cannot."""
    if not values:
        return False
    allowed = len(values) - floor * len(values)
    failed = 0
    for value in values:
        if not test(value):
            failed += 1
            if failed > allowed:
                return False
    return True


def person_of(value: Any) -> tuple[str, str, str] | None:
    """Return (name, email, phone) of a person cell, or None when it is not one person.

    ``Dana Whitfield (dana@example.com)``, ``Dana <dana@example.com>``, a bare email, a
    bare phone, or a plain name (letters, spaces, dots, hyphens, apostrophes).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or is_url(text) or len(text) > 200:
        return None
    if is_email(text):
        return "", text, ""
    if is_phone(text) and (text.startswith("+") or re.search(r"[\s().-]", text)):
        return "", "", text  # bare digits are more often ids than numbers
    for form in (_PAREN, _ANGLE):
        match = form.match(text)
        if match is not None:
            name, address = match.group("name").strip(), match.group("address").strip()
            if is_email(address):
                return name, address, ""
            if is_phone(address):
                return name, "", address
            return None
    if re.fullmatch(r"[^\W\d_][\w .,'-]*", text) and ";" not in text and "," not in text:
        return text, "", ""
    return None


def is_addressed(value: Any) -> bool:
    """Tell whether a person cell carries an email or a phone, not only a name."""
    person = person_of(value)
    return person is not None and bool(person[1] or person[2])


@cache
def _iana(name: str) -> bool:
    if "/" not in name and name.upper() not in ("UTC", "GMT"):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


def is_zone(value: Any) -> bool:
    """Tell whether a cell names a time zone: IANA, a UTC offset, or a Windows zone name."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text or len(text) > 64:
        return False
    return bool(_iana(text) or _OFFSET.match(text) or _WINDOWS_ZONE.match(text))


def time_pattern(values: Sequence[Any]) -> str | None:
    """Return the pattern every value reads with as a time of day (``14:05``), else None."""
    if not values:
        return None
    if all(isinstance(v, time) and not isinstance(v, datetime) for v in values):
        return "%H:%M:%S"
    if not all(isinstance(v, str) for v in values):
        return None
    texts = [str(v).strip() for v in values]
    for pattern in TIME_PATTERNS:
        try:
            for text in texts:
                datetime.strptime(text, pattern)
        except ValueError:
            continue
        return pattern
    return None


def id_shaped(value: Any) -> bool:
    """Tell whether a value looks like an identifier: one token, not a URL, email or time."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not _ID_SHAPE.match(text) or is_url(text) or is_email(text) or ISO_FORM.match(text):
        return False
    return not re.fullmatch(r"\d{1,4}([-/.])\d{1,2}\1\d{1,4}", text)


def credential_host(values: Sequence[Any]) -> tuple[str, str] | None:
    """Return (host, what) when some URL is on a host known to need credentials."""
    for value in values:
        if not isinstance(value, str):
            continue
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            continue
        host = (parts.hostname or "").lower()
        for known, path, what in CREDENTIAL_HOSTS:
            on_host = host == known or host.endswith("." + known)
            if on_host and (not path or path in parts.path.lower()):
                return host, what
    return None


_MEDIA_PATH = re.compile(
    r"/(?:rec/download|recordings?|media|audio|video|download)(?:/|\.|$)", re.IGNORECASE
)


def media_path(value: Any) -> bool:
    """Tell whether a URL's path names a recording or a media download (``/Recordings/RE1``)."""
    if not isinstance(value, str):
        return False
    try:
        path = urlsplit(value.strip()).path
    except ValueError:
        return False
    return bool(_MEDIA_PATH.search(path)) or path.lower().endswith("/content")


_TEXT_KEYS = ("text", "sentence", "content", "raw_text", "words", "transcript", "body")
_SPEAKER_KEYS = (
    "speaker_name",
    "speakerName",
    "speaker",
    "speaker_label",
    "name",
    "participant",
    "speaker.display_name",
    "speaker.displayName",
    "speaker.name",
)


def _key_path(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def joined_form(column: str, values: Sequence[Any]) -> dict[str, Any] | None:
    """Return the ``join`` form of arrays of strings or of sentence objects, else None."""
    items = [item for value in values for item in value]
    if not items:
        return None
    if all(isinstance(i, str) for i in items):
        return {"join": column, "with": "\n"}
    if not all(isinstance(i, dict) for i in items):
        return None
    text = next(
        (k for k in _TEXT_KEYS if all(isinstance(_key_path(i, k), str) for i in items)), None
    )
    strings = [k for k in items[0] if all(isinstance(i.get(k), str) for i in items)]
    if text is None:  # unnamed: the key with the longest values holds what was said
        text = max(strings, key=lambda k: sum(len(i[k]) for i in items), default=None)
        if text is None or sum(len(i[text]) for i in items) < 8 * len(items):
            return None
    speaker = next(
        (
            k
            for k in _SPEAKER_KEYS
            if share(items, lambda i, k=k: isinstance(_key_path(i, k), str)) >= 0.9
        ),
        None,
    )
    if speaker is None:  # unnamed: a short key whose values repeat (names of a few people)
        short = [
            k
            for k in strings
            if k != text
            and sum(len(i[k]) for i in items) <= 40 * len(items)
            and len({i[k] for i in items}) < len(items)
        ]
        speaker = short[0] if short else None
    item = f"{{{speaker}}}: {{{text}}}" if speaker else f"{{{text}}}"
    return {"join": column, "item": item, "with": "\n"}
