#!/usr/bin/env python3
"""Figures for docs/reliability.md: untrusted input, run as a user would, each case timed.

Usage: python bench/untrusted.py

Each case is a real ``ae-import`` process (``python -m ae_import``) on a hostile input made
in a temporary folder; the table gives its exit code, wall time and peak memory (the
child's maximum resident set size), and what the user reads. Nothing leaves the machine:
the base URLs are on 127.0.0.1, and the cloud cases fail before any request.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "type,title,source_system,external_id,media_url\n"
TOKEN = "sk-live-UNTRUSTED-INPUT-4242"


def run(
    args: list[str], folder: Path, env: dict[str, str] | None = None
) -> tuple[int, str, str, float, int]:
    """Run ae-import in ``folder``; return exit code, stdout, stderr, seconds and peak KB."""
    started = time.monotonic()
    child = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "ae_import", *args],
        cwd=folder,
        env={**os.environ, "AE_API_TOKEN": TOKEN, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.monotonic() - started
    err, _, peak = child.stderr.rstrip("\n").rpartition("\n")  # time's %M: the last line
    err = "\n".join(line for line in err.splitlines() if not line.startswith("Command exited"))
    return child.returncode, child.stdout, err, seconds, int(peak or 0)


def write(folder: Path, name: str, data: str | bytes) -> Path:
    """Write a file into the case's folder."""
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def nel_cell(folder: Path) -> list[str]:
    """Make a JSONL cell holding NEL and an api: key; init it."""
    cell = "x\x85api: {base_url: 'http://127.0.0.1:18107/api'}\x85#"
    record = {"Call ID": "c1", "Subject": cell, "Recording": "https://cdn.example.com/1.mp3"}
    write(folder, "m.jsonl", json.dumps(record) + "\n")
    return ["init", "m.jsonl", "-o", "m.yaml"]


def proc_environ(folder: Path) -> list[str]:
    """Name a transcript by a symlink to /proc/self/environ; validate --show-requests."""
    (folder / "t.txt").symlink_to("/proc/self/environ")
    write(folder, "m.csv", "Id,Subject,Url,T\n1,Hi,https://cdn.example.com/1.mp3,t.txt\n")
    write(
        folder,
        "c.yaml",
        "defaults: {type: CALL, source_system: s}\ncolumns:\n  external_id: Id\n"
        "  title: Subject\n  media_url: Url\n  transcript_text: {file: T}\n",
    )
    return ["validate", "m.csv", "-c", "c.yaml", "--show-requests", "1"]


def alias_bomb(folder: Path) -> list[str]:
    """Put nine levels of nine YAML aliases under defaults.title (9**9 strings walked)."""
    anchors = ["&a [x,x,x,x,x,x,x,x,x]"]
    for index in range(1, 9):
        name, prev = chr(97 + index), chr(96 + index)
        anchors.append(f"&{name} [{','.join([f'*{prev}'] * 9)}]")
    write(folder, "c.yaml", "defaults:\n  title: [" + ", ".join(anchors) + "]\n")
    write(folder, "m.csv", HEADER)
    return ["validate", "m.csv", "-c", "c.yaml"]


def deep_config(folder: Path) -> list[str]:
    """Nest 5,000 [ in a config."""
    write(folder, "c.yaml", "defaults: " + "[" * 5000 + "\n")
    write(folder, "m.csv", HEADER)
    return ["validate", "m.csv", "-c", "c.yaml"]


def deep_jsonl(folder: Path) -> list[str]:
    """Nest a JSONL line 100,000 deep; init it."""
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    write(folder, "m.jsonl", deep + json.dumps({"id": "c1", "title": "Hi"}) + "\n")
    return ["init", "m.jsonl"]


def cut_utf16(folder: Path) -> list[str]:
    """Cut the last byte off a UTF-16 manifest of 2,000 rows."""
    rows = "".join(f"CALL,t{i},crm,id{i},https://cdn.example.com/{i}.mp3\n" for i in range(2000))
    write(folder, "m.csv", (HEADER + rows).encode("utf-16")[:-1])
    return ["validate", "m.csv"]


def did_you_mean(folder: Path) -> list[str]:
    """Name 1,000 missing template columns against a 1,000-column header."""
    columns = ",".join(f"column {n}" for n in range(1000))
    write(folder, "m.csv", f"external_id,media_url,{columns}\n")
    template = " ".join(f"{{missing {n}}}" for n in range(1000))
    write(
        folder,
        "c.yaml",
        f"defaults: {{type: CALL, source_system: s}}\ncolumns:\n  title: {json.dumps(template)}\n",
    )
    return ["validate", "m.csv", "-c", "c.yaml"]


def mixed(folder: Path) -> list[str]:
    """Write a cp1252 first row, then UTF-8 rows."""
    first = "CALL,Café – ok,crm,id1,https://cdn.example.com/1.mp3\n".encode("cp1252")
    later = "CALL,Café – ok ✓,crm,id2,https://cdn.example.com/2.mp3\n".encode()
    write(folder, "m.csv", HEADER.encode() + first + later)
    return ["validate", "m.csv", "--show-requests", "2"]


def number_keys(folder: Path) -> list[str]:
    """Key a value map by 010, 1_0, 1:30 and 0x1F, unquoted."""
    write(
        folder,
        "m.csv",
        "Kind,title,source_system,external_id,media_url\n"
        + "".join(
            f"{k},t,s,id{i},https://cdn.example.com/{i}.mp3\n"
            for i, k in enumerate(["010", "1_0", "1:30", "0x1F"])
        ),
    )
    write(
        folder,
        "c.yaml",
        "columns:\n  type: {column: Kind, map: "
        "{010: CALL, 1_0: CALL, 1:30: MEETING, 0x1F: MEETING}}\n",
    )
    return ["validate", "m.csv", "-c", "c.yaml"]


def dot_segments(folder: Path) -> list[str]:
    """Name an s3:// key with a .. segment."""
    write(folder, "m.csv", HEADER + "CALL,t,s,id1,s3://recs/../other/x.mp3\n")
    return ["validate", "m.csv"]


def expired(folder: Path) -> list[str]:
    """Give a presigned S3 URL that expired in 2024."""
    url = (
        "https://b.s3.amazonaws.com/x.mp3?X-Amz-Date=20240305T213000Z&X-Amz-Expires=3600"
        "&X-Amz-Signature=abc"
    )
    write(folder, "m.csv", HEADER + f"CALL,t,s,id1,{url}\n")
    return ["validate", "m.csv"]


def azure_no_credentials(folder: Path) -> list[str]:
    """Check az:// media with an account and no credential (validate --check-media)."""
    write(folder, "m.csv", HEADER + "CALL,t,s,id1,az://recs/a.mp3\n")
    return ["validate", "m.csv", "--check-media"]


def first_line(out: str, err: str, folder: Path) -> str:
    """Return what the user reads: the last line on stderr, else the last on stdout."""
    lines = [line for line in (err or out).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:150]


def yaml_keys(out: str, err: str, folder: Path) -> str:
    """Say whether init's file holds an api: key."""
    import yaml

    text = (folder / "m.yaml").read_text(encoding="utf-8") if (folder / "m.yaml").exists() else out
    keys = sorted((yaml.safe_load(text) or {}).keys())
    return f"top-level keys: {', '.join(keys)} (no api:)" if "api" not in keys else "api: WRITTEN"


def token_absent(out: str, err: str, folder: Path) -> str:
    """Say whether the token reached the output."""
    leaked = TOKEN in out + err or base64.b64encode(TOKEN.encode()).decode() in out + err
    return ("TOKEN LEAKED; " if leaked else "no token in any output; ") + first_line(
        out, err, folder
    )


CASES: list[
    tuple[str, Callable[[Path], list[str]], Callable[[str, str, Path], str], dict[str, str]]
] = [
    ("1. a NEL + api: key in a JSONL cell, init", nel_cell, yaml_keys, {}),
    (
        "2. transcript -> /proc/self/environ, validate --show-requests",
        proc_environ,
        token_absent,
        {},
    ),
    ("4. YAML alias bomb (9 levels of 9), 330 bytes", alias_bomb, first_line, {}),
    ("4. 5,000 nested [ in a config", deep_config, first_line, {}),
    ("4. a JSONL line nested 100,000 deep, init", deep_jsonl, first_line, {}),
    ("4. UTF-16, 2,000 rows, last byte cut", cut_utf16, first_line, {}),
    (
        "4. 1,000 missing columns x 1,000-column header",
        did_you_mean,
        lambda o, e, f: f"{len(e):,}-character message",
        {},
    ),
    (
        "5. cp1252 row, then UTF-8 rows",
        mixed,
        lambda o, e, f: " / ".join(
            json.loads(line)["title"] for line in o.splitlines() if line.startswith("{")
        ),
        {},
    ),
    ("5. value-map keys 010, 1_0, 1:30, 0x1F", number_keys, first_line, {}),
    ("5. s3://recs/../other/x.mp3", dot_segments, first_line, {}),
    ("5. a presigned URL expired in 2024", expired, first_line, {}),
    (
        "6. az:// with an account, no credential, --check-media",
        azure_no_credentials,
        first_line,
        {"AZURE_STORAGE_ACCOUNT": "acct"},
    ),
]


def main() -> None:
    """Run every case; print the markdown table."""
    print("| case | exit | wall | peak RSS | what the user reads |")
    print("|---|---:|---:|---:|---|")
    for name, make, read, env in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            args = make(folder)
            code, out, err, seconds, peak = run(args, folder, env)
            said = read(out, err, folder).replace("|", "\\|")
            print(
                f"| {name} | {code} | {seconds:.2f} s | {peak / 1024:.0f} MB | {said} |", flush=True
            )


if __name__ == "__main__":
    main()
