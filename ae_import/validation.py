"""Local validation of create-engagement request bodies against the published contract.

Pure: no I/O. ``validate_body`` checks any JSON value a client could send, so the
sandbox validates raw request bodies with the very same code. Every problem of a body
is reported, not only the first, each with a stable ``code``:

==========================  ==========================================================
code                        meaning
==========================  ==========================================================
missing_field               a required field is absent or empty
wrong_type                  a field holds the wrong JSON type (a number for a string)
bad_enum                    ``type`` is not CALL or MEETING
too_short / too_long        a length outside the documented range
too_many_bytes              ``transcript_text`` over 950,000 UTF-8 bytes
unknown_field               a field the spec does not define
url_scheme                  ``media_url`` is not https
url_host                    ``media_url`` has no host, or names localhost
url_private                 ``media_url`` is an IP in a private/loopback/link-local/reserved range
bad_timestamp               ``start_at`` is not a timestamp
bad_boolean                 not one of true/false/yes/no/1/0
bad_participant             a participant entry that cannot be read
participant_empty           a participant without name, first/last name, email or phone
bad_email / bad_phone       a malformed email, or a phone not in E.164
multiple_owners             more than one participant has ``is_owner``
duplicate_external_id       an ``external_id`` seen on an earlier line
bad_json / not_object       a JSONL line that is not JSON, or not a JSON object
bad_csv / bad_row_shape     a CSV record that cannot be parsed, or has the wrong field count
bad_encoding                a line that is not UTF-8
==========================  ==========================================================
"""

from __future__ import annotations

import ipaddress
import re
import socket
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .redact import redact_url

__all__ = [
    "PARTICIPANT_FIELDS",
    "REQUEST_FIELDS",
    "REQUIRED_FIELDS",
    "TYPES",
    "Problem",
    "SeenIds",
    "is_rfc3339",
    "validate_body",
]

REQUEST_FIELDS = (
    "type",
    "title",
    "source_system",
    "external_id",
    "media_url",
    "run_workflows",
    "start_at",
    "is_private",
    "participants",
    "transcript_text",
)
REQUIRED_FIELDS = ("type", "title", "source_system", "external_id", "media_url", "run_workflows")
PARTICIPANT_FIELDS = ("name", "first_name", "last_name", "email", "phone", "is_owner")
TYPES = ("CALL", "MEETING")

# From the vendor's docs (NOTES.md): lengths in characters.
LENGTHS = {"title": (1, 500), "source_system": (1, 100), "external_id": (1, 500)}
TRANSCRIPT_MAX_CHARS = 900_000
TRANSCRIPT_MAX_BYTES = 950_000

_STRING_FIELDS = ("type", "title", "source_system", "external_id", "media_url", "start_at")
_BOOL_FIELDS = ("run_workflows", "is_private")
_PARTICIPANT_STRINGS = ("name", "first_name", "last_name", "email", "phone")
_IDENTIFYING = _PARTICIPANT_STRINGS

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\].]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one field of one row: ``code`` is stable, ``message`` says what to do."""

    field: str
    code: str
    message: str
    column: str | None = None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _wrong_type(name: str, value: Any, want: str) -> Problem:
    hint = "; quote it" if want == "string" and _json_type(value) == "number" else ""
    return Problem(name, "wrong_type", f"must be a {want}, got {_json_type(value)}{hint}")


def is_rfc3339(text: str) -> bool:
    """Tell whether ``text`` is an RFC 3339 date-time with an offset."""
    if not _RFC3339.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return False
    return True


def _blocked_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the address when ``host`` is an IP literal the server refuses to fetch."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        if not _NUMERIC_HOST.match(text):
            return None
        try:  # legacy forms that resolvers accept: 2130706433, 0x7f.1, 127.1
            ip = ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is not None:
            ip = inner
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return ip
    return None


def _check_media_url(url: str) -> list[Problem]:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return [Problem("media_url", "url_invalid", "is not a valid URL")]
    problems = []
    if parts.scheme.lower() != "https":
        scheme = redact_url(parts.scheme) or "none"
        problems.append(
            Problem(
                "media_url", "url_scheme", f"must use https, not {scheme}; the server refuses it"
            )
        )
    if not host:
        problems.append(Problem("media_url", "url_host", "has no host"))
        return problems
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        problems.append(Problem("media_url", "url_host", "points at localhost; use a public host"))
    elif (ip := _blocked_ip(host)) is not None:
        problems.append(
            Problem(
                "media_url",
                "url_private",
                f"{ip} is a private, loopback, link-local or reserved address; "
                "the server only fetches public URLs",
            )
        )
    return problems


def _check_participants(value: Any) -> list[Problem]:
    if not isinstance(value, list):
        return [_wrong_type("participants", value, "array")]
    problems: list[Problem] = []
    owners = 0
    for index, item in enumerate(value, start=1):
        where = f"participants[{index}]"
        if not isinstance(item, dict):
            problems.append(_wrong_type(where, item, "object"))
            continue
        for key in item:
            if key not in PARTICIPANT_FIELDS:
                problems.append(
                    Problem(
                        where,
                        "unknown_field",
                        f"unknown participant field '{key}'; use {', '.join(PARTICIPANT_FIELDS)}",
                    )
                )
        present = False
        for key in _PARTICIPANT_STRINGS:
            sub = item.get(key)
            if sub is None:
                continue
            if not isinstance(sub, str):
                problems.append(_wrong_type(f"{where}.{key}", sub, "string"))
                continue
            present = present or bool(sub.strip())
        if not present:
            problems.append(
                Problem(
                    where,
                    "participant_empty",
                    "needs a name, first_name, last_name, email or phone",
                )
            )
        email = item.get("email")
        if isinstance(email, str) and email and not _EMAIL.match(email):
            problems.append(
                Problem(f"{where}.email", "bad_email", f"'{email}' is not an email address")
            )
        phone = item.get("phone")
        if isinstance(phone, str) and phone and not _E164.match(phone):
            problems.append(
                Problem(
                    f"{where}.phone",
                    "bad_phone",
                    f"'{phone}' is not in E.164 form; write it as +14155552671",
                )
            )
        is_owner = item.get("is_owner")
        if is_owner is not None and not isinstance(is_owner, bool):
            problems.append(_wrong_type(f"{where}.is_owner", is_owner, "boolean"))
        elif is_owner:
            owners += 1
    if owners > 1:
        problems.append(
            Problem(
                "participants",
                "multiple_owners",
                f"{owners} participants have is_owner; at most one may",
            )
        )
    return problems


def _check_transcript(value: Any) -> list[Problem]:
    if not isinstance(value, str):
        return [_wrong_type("transcript_text", value, "string")]
    if len(value) > TRANSCRIPT_MAX_CHARS:
        return [
            Problem(
                "transcript_text",
                "too_long",
                f"{len(value):,} characters; the limit is {TRANSCRIPT_MAX_CHARS:,}",
            )
        ]
    # A character is at most 4 bytes: only long text can pass the byte limit.
    if len(value) * 4 > TRANSCRIPT_MAX_BYTES:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > TRANSCRIPT_MAX_BYTES:
            return [
                Problem(
                    "transcript_text",
                    "too_many_bytes",
                    f"{size:,} UTF-8 bytes; the limit is {TRANSCRIPT_MAX_BYTES:,} "
                    "(multi-byte text such as CJK reaches it first)",
                )
            ]
    return []


def validate_body(body: Any) -> list[Problem]:
    """Return every problem of a create-engagement request body (any JSON value)."""
    if not isinstance(body, Mapping):
        return [
            Problem("", "not_object", f"the body must be a JSON object, got {_json_type(body)}")
        ]
    problems: list[Problem] = []
    for name in body:
        if name not in REQUEST_FIELDS:
            problems.append(
                Problem(str(name), "unknown_field", "not a field of the create request")
            )
    for name in REQUIRED_FIELDS:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(Problem(name, "missing_field", "is required"))
    for name in _STRING_FIELDS:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str):
            problems.append(_wrong_type(name, value, "string"))
            continue
        if name in LENGTHS:
            low, high = LENGTHS[name]
            if len(value) < low:
                problems.append(Problem(name, "too_short", f"must be at least {low} characters"))
            elif len(value) > high:
                problems.append(
                    Problem(
                        name,
                        "too_long",
                        f"{len(value):,} characters; the limit is {high:,}",
                    )
                )
        elif name == "type" and value not in TYPES:
            problems.append(Problem(name, "bad_enum", f"'{value}' is not one of CALL, MEETING"))
        elif name == "media_url":
            problems.extend(_check_media_url(value))
        elif name == "start_at" and not is_rfc3339(value):
            problems.append(
                Problem(
                    name, "bad_timestamp", f"'{value}' is not an RFC 3339 timestamp with an offset"
                )
            )
    for name in _BOOL_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            problems.append(_wrong_type(name, value, "boolean"))
    if body.get("participants") is not None:
        problems.extend(_check_participants(body["participants"]))
    if body.get("transcript_text") is not None:
        problems.extend(_check_transcript(body["transcript_text"]))
    return problems


class SeenIds:
    """Remember which external_ids were seen, and on which line, in about 12 bytes each.

    An open-addressing table of 64-bit string hashes and 32-bit line numbers: a
    million ids cost about 16 MB instead of the 150 MB a dict of strings would. Two
    different ids share a 64-bit hash with odds of about 1 in 10^7 per million rows;
    such a pair would be reported as a duplicate.
    """

    __slots__ = ("_count", "_hashes", "_lines", "_mask")

    def __init__(self, capacity: int = 1024) -> None:
        """Start with room for about ``capacity`` ids; the table grows as needed."""
        size = 1
        while size < capacity * 2:
            size *= 2
        self._hashes = array("q", bytes(8 * size))
        self._lines = array("I", bytes(4 * size))
        self._mask = size - 1
        self._count = 0

    def __len__(self) -> int:
        """Return how many distinct ids were added."""
        return self._count

    def add(self, external_id: str, line: int) -> int | None:
        """Record ``external_id`` at ``line``; return the line of an earlier one, else None."""
        h = hash(external_id) or 1
        mask = self._mask
        slot = h & mask
        hashes = self._hashes
        while True:
            found = hashes[slot]
            if found == 0:
                break
            if found == h:
                return int(self._lines[slot])
            slot = (slot + 1) & mask
        hashes[slot] = h
        self._lines[slot] = line
        self._count += 1
        if self._count * 3 > len(hashes) * 2:
            self._grow()
        return None

    def _grow(self) -> None:
        old_hashes, old_lines = self._hashes, self._lines
        size = len(old_hashes) * 2
        self._hashes = array("q", bytes(8 * size))
        self._lines = array("I", bytes(4 * size))
        self._mask = size - 1
        for h, line in zip(old_hashes, old_lines, strict=True):
            if h:
                slot = h & self._mask
                while self._hashes[slot]:
                    slot = (slot + 1) & self._mask
                self._hashes[slot] = h
                self._lines[slot] = line
