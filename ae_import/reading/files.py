"""Files a manifest names (transcripts, local recordings), read only inside the folders trusted.

A manifest comes from a third party; a cell that names a file must not reach a file its
author could not give us: ``/proc/self/environ`` (which holds the API token), ``~/.ssh``,
another customer's folder. The rule, one place for every file reference:

- the name is a relative path (from the manifest's folder), an absolute path, or a
  ``file://`` URL; a NUL or another character no path may hold is refused;
- after every symlink and ``..`` is resolved, the file must lie inside one of the roots
  trusted: the manifest's own folder, or the folder the user names (``--files-root``);
- ``/proc``, ``/sys`` and ``/dev`` are refused outright, wherever a root points;
- only regular files are read, at most ``max_bytes``, and a file that says it is empty
  (as procfs files do) but yields bytes is refused.

Every refusal is a message for a row's problem, never an exception, and never shows more
of the name than the cell held.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ae_import.text import safe_text

__all__ = ["SYSTEM_TREES", "FileRefusal", "read_referenced", "resolve_referenced"]

SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))
_SHOWN = 120


class FileRefusal(Exception):
    """A file reference that may not be read; the message says why and what to do."""


def _shown(name: str) -> str:
    return safe_text(name)[:_SHOWN]


def _path_of(name: str) -> Path:
    """Read a file name or a ``file://`` URL as a path; refuse a name no path may hold."""
    if "\x00" in name:
        raise FileRefusal(f"'{_shown(name)}' holds a NUL character; name a file")
    text = name.strip()
    if text.lower().startswith("file:"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise FileRefusal(f"'{_shown(name)}' names a file on another host; copy it here")
        text = unquote(parts.path)
        if "\x00" in text:
            raise FileRefusal(f"'{_shown(name)}' holds a NUL character; name a file")
    if not text:
        raise FileRefusal("names no file")
    return Path(text).expanduser() if text.startswith("~") else Path(text)


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def resolve_referenced(name: str, base: Path, roots: Sequence[Path] = ()) -> Path:
    """Return the real path a manifest's file reference names; raise FileRefusal if not allowed.

    ``base`` is the manifest's folder (relative names start there); the file must lie,
    once resolved, inside ``base`` or one of ``roots``.
    """
    path = _path_of(name)
    if not path.is_absolute():
        path = base / path
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise FileRefusal(
            f"no file '{_shown(name)}' (paths are relative to the manifest's folder)"
        ) from None
    except (OSError, RuntimeError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a symlink loop"
        raise FileRefusal(f"cannot read '{_shown(name)}': {why}") from None
    if any(_inside(real, tree) for tree in SYSTEM_TREES):
        raise FileRefusal(f"'{_shown(name)}' is a system file ({real.parts[1]}); name a data file")
    trusted = [base.resolve(), *(root.resolve() for root in roots)]
    if not any(_inside(real, root) for root in trusted):
        where = " or --files-root" if roots else "; or pass --files-root DIR to allow another"
        raise FileRefusal(
            f"'{_shown(name)}' lies outside the manifest's folder{where}; "
            "files a manifest names must stay inside the folders you trust"
        )
    return real


def read_referenced(
    name: str, base: Path, roots: Sequence[Path] = (), *, max_bytes: int
) -> tuple[Path, bytes]:
    """Return the real path and the bytes of a manifest's file reference, under the rules above."""
    real = resolve_referenced(name, base, roots)
    try:
        info = os.stat(real)
    except OSError as exc:
        raise FileRefusal(f"cannot read '{_shown(name)}': {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileRefusal(f"'{_shown(name)}' is not a regular file")
    if info.st_size > max_bytes:
        raise FileRefusal(
            f"'{_shown(name)}' is {info.st_size:,} bytes; a file may hold at most {max_bytes:,}"
        )
    try:
        with real.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FileRefusal(f"cannot read '{_shown(name)}': {exc.strerror}") from None
    if len(data) > max_bytes:
        raise FileRefusal(f"'{_shown(name)}' grew past {max_bytes:,} bytes while it was read")
    if info.st_size == 0 and data:
        raise FileRefusal(f"'{_shown(name)}' says it is empty but is not: not a data file")
    return real, data
