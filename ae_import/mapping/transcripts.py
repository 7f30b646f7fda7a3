"""Transcript files named by a manifest column (``transcript_text: {file: COLUMN}``).

The one place the mapper reads a file other than the manifest. A path is taken
relative to the manifest's folder (or as it is, when absolute) and read through
``reading.read_referenced``: it must resolve inside the manifest's folder or the folder
``--files-root`` names, ``/proc``, ``/sys`` and ``/dev`` never. Only regular files
ending in ``.txt``, ``.vtt`` or ``.srt`` are read, at most ``MAX_FILE_BYTES`` each, so a
hostile manifest cannot make the importer send ``/proc/self/environ`` or read ``/dev/zero``.
Text is UTF-8 (a byte-order mark allowed), else Windows-1252. ``.txt`` is sent as it
is; WebVTT and SubRip become one ``Speaker: text`` line per run of cues by one speaker
(``<v Speaker>`` or a ``Speaker:`` prefix), timings, numbers and markup dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from ae_import.reading import FileRefusal, read_referenced
from ae_import.text import safe_text

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


def read_transcript(
    base: Path, name: str, roots: Sequence[Path] = ()
) -> tuple[str | None, str | None]:
    """Return (the transcript text, None), or (None, what is wrong with the file).

    The file must lie inside the manifest's folder ``base`` or one of ``roots``
    (``reading.read_referenced``: symlinks resolved, system trees refused).
    """
    shown = safe_text(name)[:120]
    if Path(name.strip()).suffix.lower() not in SUFFIXES:
        return None, f"'{shown}' is not a .txt, .vtt or .srt file; name a transcript file"
    try:
        real, data = read_referenced(name, base, roots, max_bytes=MAX_FILE_BYTES)
    except FileRefusal as refusal:
        return None, str(refusal)
    text = _decode(data)
    if real.suffix.lower() != ".txt":
        text = cues_to_text(text)
    if not text.strip():
        return None, f"'{shown}' holds no transcript text"
    return text, None
