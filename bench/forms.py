"""The cost of issue 19's mapping forms: `validate` rows/s and peak RSS, beside crm.csv.

Shapes: ``dialer.csv`` (date and time in two columns joined by a template with a format,
each row's zone in a third column in IANA, Windows and offset forms, the owner as
``Name (email)``, attendees with quoted names), ``recorder.jsonl`` (a sentence array of 20
joined into the transcript, nested participant keys, a ``type`` key through a map), and
the reference ``crm.csv`` mapped by ``samples/salesforce.yaml``. Prints a Markdown section
for docs/benchmarks.md.

    python bench/forms.py --rows 100000 --tries 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, ae_import, best
from generate import generate

ZONES = ("America/New_York", "Pacific Standard Time", "UTC+1", "Europe/Berlin", "")
DIALER = """\
defaults: {type: CALL, source_system: dialer}
phone_region: US
timezone: {column: Timezone, default: America/Chicago}
columns:
  external_id: Call ID
  title: "Call with {Agent}"
  media_url: Recording
  start_at: {template: "{Call Date} {Call Time}", format: "%m/%d/%Y %H:%M"}
participants:
  owner: Agent
  list: Attendees
"""
RECORDER = """\
defaults: {source_system: recorder}
columns:
  external_id: id
  title: title
  media_url: media.audioUrl
  start_at: started
  type: {column: type, map: {groupCall: MEETING, peerToPeer: CALL}}
  transcript_text: {join: sentences, item: "{speaker_name}: {text}"}
participants:
  items: {path: participants, name: user.displayName, email: user.userPrincipalName}
"""


def dialer(rows: int, path: Path) -> Path:
    """Write ``rows`` rows of the dialer shape."""
    with path.open("w", encoding="utf-8") as out:
        out.write("Call ID,Call Date,Call Time,Timezone,Agent,Attendees,Recording\n")
        for i in range(rows):
            day = f"{(i // 28) % 12 + 1:02d}/{i % 28 + 1:02d}/2025"
            clock = f"{i % 24:02d}:{i % 60:02d}"
            zone = ZONES[i % len(ZONES)]
            agent = f"Agent {i % 50} (agent{i % 50}@example.com)"
            guests = f'"""Lee, Kim{i % 90}"" <kim{i % 90}@example.com>; ann{i % 70}@example.com"'
            url = f"https://media.example-cdn.com/calls/{i}.mp3"
            out.write(f"{i},{day},{clock},{zone},{agent},{guests},{url}\n")
    return path


def recorder(rows: int, path: Path) -> Path:
    """Write ``rows`` records of the recorder shape."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(rows):
            record = {
                "id": f"r-{i}",
                "title": f"Call {i}",
                "type": "groupCall" if i % 2 else "peerToPeer",
                "started": f"2025-11-05T{i % 24:02d}:{i % 60:02d}:00Z",
                "media": {"audioUrl": f"https://media.example-cdn.com/calls/{i}.mp3"},
                "participants": [
                    {"user": {"displayName": "Ann Lee", "userPrincipalName": "ann@example.com"}},
                    {"user": {"displayName": f"Guest {i % 100}"}},
                ],
                "sentences": [
                    {"speaker_name": "Ann Lee", "text": f"Sentence {n} of call {i}.", "t": n}
                    for n in range(20)
                ],
            }
            out.write(json.dumps(record) + "\n")
    return path


def main() -> None:
    """Measure each shape and print the Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    lines = [
        "## `validate` with issue 19's mapping forms",
        "",
        f"`python bench/forms.py --rows {args.rows} --tries {args.tries}`: best of "
        f"{args.tries}, wall time with start-up. Reference: `crm.csv` of the same rows mapped "
        "by `samples/salesforce.yaml` (the table above).",
        "",
        "| manifest | forms | rows | validate rows/s | peak RSS MB |",
        "|---|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        shapes = [
            ("crm.csv", "reference", generate("crm.csv", args.rows, work / "crm.csv"), None),
            (
                "dialer.csv",
                "template + format, row zones, `owner: Agent`, quoted list",
                dialer(args.rows, work / "dialer.csv"),
                DIALER,
            ),
            (
                "recorder.jsonl",
                "`join` of 20 sentences, nested `items`, `type` map",
                recorder(args.rows, work / "recorder.jsonl"),
                RECORDER,
            ),
        ]
        for name, forms, path, config in shapes:
            config_path = ROOT / "samples" / "salesforce.yaml"
            if config is not None:
                config_path = work / f"{name}.yaml"
                config_path.write_text(config, encoding="utf-8")
            run = best(ae_import("validate", str(path), "--config", str(config_path)), args.tries)
            if run.code != 0:
                raise SystemExit(f"validate {name} exited {run.code}")
            rate = args.rows / run.seconds
            lines.append(f"| {name} | {forms} | {args.rows:,} | {rate:,.0f} | {run.rss_mb:.1f} |")
    print("\n".join([*lines, ""]))


if __name__ == "__main__":
    main()
