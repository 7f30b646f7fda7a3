"""How many fields ``ae-import init`` then ``validate`` get right with no edits, on unseen files.

For each held-out export in ``bench/init_eval/heldout/`` (written by ``heldout.py``, never
used to tune init), this writes the mapping ``init`` would write, validates the file with
it exactly as ``validate`` does, and compares each row's request with the truth in
``expected.json``: the id, the type, the start instant, the media URL, the participants'
emails, their phones (E.164) and the transcript. A row that is invalid gets every one of
its fields wrong. It runs twice: without ``--timezone``, and with the zone each file's
naive times are in (what a user who knows it would pass). It also times ``init`` on each.

    python bench/init_eval.py              # the table and the totals
    python bench/init_eval.py --misses     # and every field that was wrong
    python bench/init_eval.py --dir tests/data/exports --expected FILE   # another set
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ae_import.config import load_config  # noqa: E402
from ae_import.errors import AeImportError  # noqa: E402
from ae_import.init import mapping_text  # noqa: E402
from ae_import.operations import validate_manifest  # noqa: E402
from ae_import.reading import read_sample  # noqa: E402
from ae_import.records import Row  # noqa: E402

FIELDS = ("id", "type", "start", "media_url", "emails", "phones", "transcript")


def _instant(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _got(body: dict[str, Any]) -> dict[str, Any]:
    people = body.get("participants") or []
    return {
        "id": body.get("external_id"),
        "type": body.get("type"),
        "start": _instant(body.get("start_at")),
        "media_url": body.get("media_url"),
        "emails": sorted(p["email"] for p in people if p.get("email")),
        "phones": sorted(p["phone"] for p in people if p.get("phone")),
        "transcript": body.get("transcript_text"),
    }


def _same(field: str, want: Any, got: Any) -> bool:
    if field == "id":
        return isinstance(got, str) and (got == want or got.endswith(f":{want}"))
    if field == "start":
        return _instant(want) == got
    if field in ("emails", "phones"):
        return sorted(set(want)) == sorted(set(got or []))
    if field == "transcript":
        return (want or None) == ((got or "").strip() or None)
    return bool(want == got)


def evaluate(path: Path, truth: dict[str, Any], zone: str | None) -> dict[str, Any]:
    """Return the score of one file: fields right, fields counted, the misses, init's time."""
    began = time.perf_counter()
    error = ""
    bodies: list[dict[str, Any]] = []
    todos: list[str] = []
    try:
        sample = read_sample(str(path))
        written = mapping_text(sample, timezone=zone, config_name="mapping.yaml")
        elapsed = time.perf_counter() - began
        todos = written.todos
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "mapping.yaml"
            config.write_text(written.text, encoding="utf-8")

            def add(row: Row) -> None:
                if row.body is not None and not row.problems:
                    bodies.append(row.body)

            validate_manifest(str(path), sample.format, load_config(config), add)
    except AeImportError as exc:
        elapsed = time.perf_counter() - began
        error = exc.message if hasattr(exc, "message") else str(exc)
    rows = truth["rows"]
    counted = [
        f for f in FIELDS if f not in ("emails", "phones", "transcript") or any(r[f] for r in rows)
    ]
    got = [_got(b) for b in bodies]
    right, misses = 0, []
    for want in rows:
        match = next((g for g in got if _same("id", want["id"], g["id"])), None)
        for field in counted:
            if match is not None and _same(field, want[field], match[field]):
                right += 1
            else:
                shown = match[field] if match is not None else "(no valid row)"
                misses.append(f"{want['id']} {field}: want {want[field]!r}, got {shown!r}")
    total = len(rows) * len(counted)
    return {
        "right": right,
        "total": total,
        "misses": misses,
        "seconds": elapsed,
        "error": error,
        "todos": todos,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the table of held-out files and the share of fields right, both ways."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "bench/init_eval/heldout")
    parser.add_argument("--expected", type=Path, default=None)
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    expected = json.loads((args.expected or args.dir / "expected.json").read_text("utf-8"))
    for label, with_zone in (("without --timezone", False), ("with --timezone", True)):
        right = total = 0
        print(f"\n{label}")
        print(f"{'file':<22} {'right':>6} {'of':>4} {'share':>7} {'init s':>7}  note")
        for name, truth in expected.items():
            zone = truth["timezone"] if with_zone else None
            score = evaluate(args.dir / name, truth, zone)
            right += score["right"]
            total += score["total"]
            share = score["right"] / score["total"] if score["total"] else 0.0
            todos = f"TODO {', '.join(score['todos'])}" if score["todos"] else ""
            note = score["error"][:70] or todos
            print(
                f"{name:<22} {score['right']:>6} {score['total']:>4} {share:>7.1%} "
                f"{score['seconds']:>7.2f}  {note}"
            )
            if args.misses:
                for miss in score["misses"]:
                    print(f"    {miss}")
        print(f"{'all':<22} {right:>6} {total:>4} {right / total:>7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
