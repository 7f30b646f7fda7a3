"""Generate synthetic manifests for the benchmarks: a CRM export, API-named CSV, and JSONL."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

from ae_import.mapping.validation import REQUEST_FIELDS

__all__ = ["SHAPES", "generate"]

CRM_HEADER = [
    "Call ID",
    "Subject",
    "Call Type",
    "Start Time",
    "Owner Name",
    "Owner Email",
    "Owner Phone",
    "Attendees",
    "Recording URL",
    "Private",
    "Transcript",
    "Account Name",
]
API_HEADER = list(REQUEST_FIELDS[:7])  # the required fields and start_at
SHAPES = ("crm.csv", "api.csv", "api.jsonl")


_EPOCH = datetime(2023, 1, 1)


def _stamp(i: int, naive: bool) -> str:
    """Return a timestamp unique to row ``i``: one minute after row ``i - 1``."""
    moment = _EPOCH + timedelta(minutes=i)
    if naive:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _url(i: int) -> str:
    return f"https://recordings.s3.amazonaws.com/c/{i}.mp3?X-Amz-Signature=abcdef{i:08x}"


def generate(shape: str, rows: int, path: Path) -> Path:
    """Write ``rows`` rows of ``shape`` (one of SHAPES) to ``path``; unique ids and times."""
    with path.open("w", newline="", encoding="utf-8") as out:
        if shape == "crm.csv":
            writer = csv.writer(out)
            writer.writerow(CRM_HEADER)
            for i in range(rows):
                writer.writerow(
                    [
                        f"00T{i:012d}",
                        f"Call {i} with Acme, renewal",
                        "Call",
                        _stamp(i, naive=True),
                        "Dana Whitfield",
                        "dana@example.com",
                        "+1 (303) 555-0142",
                        f"Lee Park <lee{i % 97}@acme.example>; +14155552671",
                        _url(i),
                        "no",
                        "",
                        "Acme",
                    ]
                )
        elif shape == "api.csv":
            writer = csv.writer(out)
            writer.writerow(API_HEADER)
            for i in range(rows):
                writer.writerow(
                    [
                        "CALL",
                        f"Call {i}",
                        "dialer",
                        f"d:{i:012d}",
                        _url(i),
                        "false",
                        _stamp(i, False),
                    ]
                )
        elif shape == "api.jsonl":
            for i in range(rows):
                body = {
                    "type": "CALL",
                    "title": f"Call {i}",
                    "source_system": "dialer",
                    "external_id": f"d:{i:012d}",
                    "media_url": _url(i),
                    "run_workflows": False,
                    "start_at": _stamp(i, naive=False),
                    "participants": [
                        {"name": "Dana", "email": "dana@example.com", "is_owner": True}
                    ],
                }
                out.write(json.dumps(body) + "\n")
        else:
            raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
    return path
