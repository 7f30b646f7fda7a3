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
url_host                    ``media_url`` has no host, or a localhost, single-label or internal name
url_private                 ``media_url`` is an IP in a private/loopback/link-local/reserved range
url_invalid / url_userinfo  ``media_url`` is not a URL, or holds user-info (see ``urls.py``)
url_whitespace              ``media_url`` has whitespace around it
url_too_long                ``media_url`` is over ``urls.MAX_URL_LENGTH`` characters
url_redacted                ``media_url`` came from ``export`` with its signature redacted
bad_timestamp               ``start_at`` is not a timestamp
bad_boolean                 not one of true/false/yes/no/1/0
bad_participant             a participant entry that cannot be read
participant_empty           a participant without name, first/last name, email or phone
bad_email / bad_phone       a malformed email, or a phone not in E.164
multiple_owners             more than one participant has ``is_owner``
duplicate_external_id       an ``external_id`` seen on an earlier line
bad_json / not_object       a JSONL line that is not JSON, or not a JSON object
bad_csv / bad_row_shape     a CSV record that cannot be parsed, or has the wrong field count
bad_encoding                a line the file's encoding cannot read, or a lone surrogate escape
record_too_large            a record over 16 MB of UTF-8 (``manifest.MAX_RECORD_BYTES``)
unmapped_value              a value a ``map:`` does not name, and no ``default``
timestamp_ambiguous         a naive time in a DST gap or fold, without ``ambiguous:``
bad_timezone                a row's zone cell (``timezone: {column: ...}``) that is no zone
bad_join                    a ``join`` of an object, or of elements it cannot render
transcript_file             a ``transcript_text: {file: ...}`` that cannot be read
cloud_reference / ...       an ``s3://``, ``gs://`` or ``az://`` reference (see ``cloud``)
==========================  ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, wraps
from types import MappingProxyType
from typing import Any, Literal

from ae_import.media import check_media_url
from ae_import.records import Problem

__all__ = [
    "BOOLEAN_FIELDS",
    "FIELDS",
    "LENGTHS",
    "OWN_VALUE_FIELDS",
    "PARTICIPANT_FIELDS",
    "REQUEST_FIELDS",
    "REQUIRED_FIELDS",
    "TRANSCRIPT_MAX_BYTES",
    "TRANSCRIPT_MAX_CHARS",
    "TYPES",
    "FieldRule",
    "is_rfc3339",
    "validate_body",
]

FieldKind = Literal["text", "enum", "url", "timestamp", "boolean", "people", "transcript"]


@dataclass(frozen=True)
class FieldRule:
    """What the contract says of one request field, and whether a default may fill it."""

    kind: FieldKind
    required: bool = False
    own: bool = False  # each row needs its own value: a default would repeat it on every row
    length: tuple[int, int] | None = None  # characters, from the vendor's docs (NOTES.md)


# The one table of the request's fields, in the order problems are reported.
FIELDS: Mapping[str, FieldRule] = MappingProxyType(
    {
        "type": FieldRule("enum", required=True),
        "title": FieldRule("text", required=True, length=(1, 500)),
        "source_system": FieldRule("text", required=True, length=(1, 100)),
        "external_id": FieldRule("text", required=True, own=True, length=(1, 500)),
        "media_url": FieldRule("url", required=True),
        "run_workflows": FieldRule("boolean", required=True),
        "start_at": FieldRule("timestamp"),
        "is_private": FieldRule("boolean"),
        "participants": FieldRule("people", own=True),
        "transcript_text": FieldRule("transcript", own=True),
    }
)
REQUEST_FIELDS = tuple(FIELDS)
REQUIRED_FIELDS = tuple(name for name, rule in FIELDS.items() if rule.required)
BOOLEAN_FIELDS = tuple(name for name, rule in FIELDS.items() if rule.kind == "boolean")
OWN_VALUE_FIELDS = tuple(name for name, rule in FIELDS.items() if rule.own)
LENGTHS = {name: rule.length for name, rule in FIELDS.items() if rule.length is not None}
PARTICIPANT_FIELDS = ("name", "first_name", "last_name", "email", "phone", "is_owner")
TYPES = ("CALL", "MEETING")
TRANSCRIPT_MAX_CHARS = 900_000
TRANSCRIPT_MAX_BYTES = 950_000

# The string fields in report order, and whether each is required.
_STRING_CHECKS = tuple(
    (name, rule.required)
    for name, rule in FIELDS.items()
    if rule.kind in ("text", "enum", "url", "timestamp")
)
_PARTICIPANT_STRINGS = frozenset({"name", "first_name", "last_name", "email", "phone"})
_KNOWN_FIELDS = frozenset(REQUEST_FIELDS)

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\].]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)


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


def _remembered(test: Callable[[str], bool]) -> Callable[[str], bool]:
    """Remember ``test``'s answers for the last 4,096 short texts (a long one is not kept)."""
    cached = lru_cache(maxsize=4096)(test)

    @wraps(test)
    def remembered(text: str) -> bool:
        return cached(text) if len(text) <= _REMEMBERED_CHARS else test(text)

    return remembered


_REMEMBERED_CHARS = 320  # a longer text is tested each time, never kept: memory stays flat


def _rfc3339(text: str) -> bool:
    """Tell whether ``text`` is an RFC 3339 date-time with an offset."""
    if not _RFC3339.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return False
    return True


# Measured: a start_at already in RFC 3339 is checked by the mapping's reader and again
# here (7% of validate's time on such a file), and the two patterns below were a third of
# a participant's check, while an owner's address and phone repeat on every row.
is_rfc3339 = _remembered(_rfc3339)
_is_email = _remembered(lambda text: _EMAIL.match(text) is not None)
_is_e164 = _remembered(lambda text: _E164.match(text) is not None)


def _check_media_url(url: str) -> list[Problem]:
    # As the server parses it (WHATWG); the body is sent as it is, so whitespace is reported.
    # An s3://, gs:// or az:// reference is checked as one: it is signed just before sending.
    if not url.startswith("https://"):
        from ae_import.media import check_reference

        reference, found = check_reference(url)
        if reference is not None or found:
            return [Problem("media_url", code, message) for code, message in found]
    _, found = check_media_url(url, strip=False)
    return [Problem("media_url", code, message) for code, message in found]


def _check_participants(value: Any) -> list[Problem]:
    if not isinstance(value, list):
        return [_wrong_type("participants", value, "array")]
    problems: list[Problem] = []
    owners = 0
    email_ok = _is_email
    phone_ok = _is_e164
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            problems.append(_wrong_type(f"participants[{index}]", item, "object"))
            continue
        present = False
        for key, sub in item.items():
            if sub is None:
                continue
            if key == "is_owner":
                if not isinstance(sub, bool):
                    problems.append(_wrong_type(f"participants[{index}].is_owner", sub, "boolean"))
                elif sub:
                    owners += 1
                continue
            if key not in _PARTICIPANT_STRINGS:
                problems.append(
                    Problem(
                        f"participants[{index}]",
                        "unknown_field",
                        f"unknown participant field '{key}'; use {', '.join(PARTICIPANT_FIELDS)}",
                    )
                )
                continue
            if not isinstance(sub, str):
                problems.append(_wrong_type(f"participants[{index}].{key}", sub, "string"))
                continue
            if not sub or sub.isspace():
                continue
            present = True
            if key == "email":
                if not email_ok(sub):
                    problems.append(
                        Problem(
                            f"participants[{index}].email",
                            "bad_email",
                            f"'{sub}' is not an email address",
                        )
                    )
            elif key == "phone" and not phone_ok(sub):
                problems.append(
                    Problem(
                        f"participants[{index}].phone",
                        "bad_phone",
                        f"'{sub}' is not in E.164 form; write it as +14155552671",
                    )
                )
        if not present:
            problems.append(
                Problem(
                    f"participants[{index}]",
                    "participant_empty",
                    "needs a name, first_name, last_name, email or phone",
                )
            )
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


def _check_string(name: str, value: str) -> Problem | list[Problem] | None:
    if name in LENGTHS:
        low, high = LENGTHS[name]
        if len(value) > high:
            return Problem(name, "too_long", f"{len(value):,} characters; the limit is {high:,}")
        if len(value) < low:
            return Problem(name, "too_short", f"must be at least {low} characters")
        return None
    if name == "type":
        if value not in TYPES:
            return Problem(name, "bad_enum", f"'{value}' is not one of CALL, MEETING")
        return None
    if name == "media_url":
        return _check_media_url(value) or None
    if not is_rfc3339(value):  # start_at
        return Problem(
            name, "bad_timestamp", f"'{value}' is not an RFC 3339 timestamp with an offset"
        )
    return None


def validate_body(body: Any) -> list[Problem]:
    """Return every problem of a create-engagement request body (any JSON value)."""
    if not isinstance(body, Mapping):
        return [
            Problem("", "not_object", f"the body must be a JSON object, got {_json_type(body)}")
        ]
    problems: list[Problem] = []
    if not body.keys() <= _KNOWN_FIELDS:
        for name in body:
            if name not in _KNOWN_FIELDS:
                problems.append(
                    Problem(str(name), "unknown_field", "not a field of the create request")
                )
    checks: list[Problem] = []
    get = body.get
    for name, required in _STRING_CHECKS:
        value = get(name)
        if value is None or (isinstance(value, str) and (not value or value.isspace())):
            if required:
                problems.append(Problem(name, "missing_field", "is required"))
            continue
        if not isinstance(value, str):
            checks.append(_wrong_type(name, value, "string"))
            continue
        limits = LENGTHS.get(name)
        if limits is not None and limits[0] <= len(value) <= limits[1]:
            continue
        found = _check_string(name, value)
        if found is not None:
            if isinstance(found, list):
                checks.extend(found)
            else:
                checks.append(found)
    flag = get("run_workflows")
    if flag is None:
        problems.append(Problem("run_workflows", "missing_field", "is required"))
    elif not isinstance(flag, bool):
        checks.append(_wrong_type("run_workflows", flag, "boolean"))
    flag = get("is_private")
    if flag is not None and not isinstance(flag, bool):
        checks.append(_wrong_type("is_private", flag, "boolean"))
    problems.extend(checks)
    people = get("participants")
    if people is not None:
        problems.extend(_check_participants(people))
    transcript = get("transcript_text")
    if transcript is not None:
        problems.extend(_check_transcript(transcript))
    return problems
