"""Transcript files named by a manifest column (``transcript_text: {file: COLUMN}``).

The one place the mapper reads a file other than the manifest. A path is taken
relative to the manifest's folder (or as it is, when absolute). Only regular files
ending in ``.txt``, ``.vtt`` or ``.srt`` are read, at most ``MAX_FILE_BYTES`` each, so
a hostile manifest cannot make the importer send ``/etc/shadow`` or read ``/dev/zero``.
Text is UTF-8 (a byte-order mark allowed), else Windows-1252. ``.txt`` is sent as it
is; WebVTT and SubRip become one ``Speaker: text`` line per run of cues by one speaker
(``<v Speaker>`` or a ``Speaker:`` prefix), timings, numbers and markup dropped.
"""

from __future__ import annotations

import html
import os
import re
import stat
from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "SUFFIXES", "cues_to_text", "read_transcript"]

MAX_FILE_BYTES = 8 * 1024 * 1024
SUFFIXES = (".txt", ".vtt", ".srt")
_VOICE = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]*)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_PREFIX = re.compile(r"^([^:<>]{1,60}?):\s+(.*)$")
_BLANK = re.compile(r"\r?\n[ \t]*\r?\n")


def _decode(data: bytes) -> str:
    """Decode a transcript: UTF-8 (with or without a BOM), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def cues_to_text(text: str) -> str:
    """Turn WebVTT or SubRip cues into ``Speaker: text`` lines, one per run of a speaker."""
    lines: list[tuple[str | None, str]] = []
    for block in _BLANK.split(text.replace("\r\n", "\n").strip()):
        rows = block.split("\n")
        timing = next((i for i, row in enumerate(rows) if "-->" in row), None)
        if timing is None:
            continue  # the WEBVTT header, NOTE, STYLE and REGION blocks
        raw = " ".join(row.strip() for row in rows[timing + 1 :] if row.strip())
        voice = _VOICE.search(raw)
        speaker = voice.group(1).strip() if voice else None
        words = html.unescape(_TAG.sub("", raw)).strip()
        if speaker is None:
            prefix = _PREFIX.match(words)
            if prefix is not None:
                speaker, words = prefix.group(1).strip(), prefix.group(2)
        if not words:
            continue
        if speaker is not None and lines and lines[-1][0] == speaker:
            lines[-1] = (speaker, f"{lines[-1][1]} {words}")
        else:
            lines.append((speaker, words))
    return "\n".join(f"{who}: {said}" if who else said for who, said in lines)


def read_transcript(base: Path, name: str) -> tuple[str | None, str | None]:
    """Return (the transcript text, None), or (None, what is wrong with the file)."""
    path = Path(name)
    if not path.is_absolute():
        path = base / path
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return None, f"'{name}' is not a .txt, .vtt or .srt file; name a transcript file"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None, f"no file '{name}' (looked for {path}); paths are relative to the manifest"
    except OSError as exc:
        return None, f"cannot read '{name}': {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return None, f"'{name}' is not a regular file"
    if info.st_size > MAX_FILE_BYTES:
        return None, (
            f"'{name}' is {info.st_size:,} bytes; a transcript file may hold at most "
            f"{MAX_FILE_BYTES:,}"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, f"cannot read '{name}': {exc.strerror}"
    if len(data) > MAX_FILE_BYTES:
        return None, f"'{name}' grew past {MAX_FILE_BYTES:,} bytes while it was read"
    text = _decode(data)
    if suffix != ".txt":
        text = cues_to_text(text)
    if not text.strip():
        return None, f"'{name}' holds no transcript text"
    return text, None
