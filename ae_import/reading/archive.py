"""A manifest inside a ``.zip``, and the checks that keep a zip (or a workbook) from being a bomb.

A ``.zip`` manifest holds one manifest (by its extension: CSV, TSV, JSONL, JSON, a
workbook, Parquet; folders, ``__MACOSX/`` and hidden files are passed over). None, or
more than one, is refused with the names found. Every zip read (a ``.zip`` manifest, an
``.xlsx``, an ``.ods``) is checked first: a member that would unpack past
``MAX_UNPACKED`` bytes, or past ``MAX_RATIO`` times its packed size once over
``RATIO_FLOOR``, is refused before a byte of it is unpacked.
"""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath

from ae_import.errors import ManifestError
from ae_import.text import safe_text

__all__ = ["MAX_RATIO", "MAX_UNPACKED", "RATIO_FLOOR", "check_zip", "zip_member"]

MAX_UNPACKED = 16 << 30  # 16 GiB: past any real export
MAX_RATIO = 200  # real CSV packs 5 to 20 times; a workbook's XML up to about 60
RATIO_FLOOR = 64 << 20  # small members may pack as tightly as they like
MAX_MEMBERS = 100_000
MANIFEST_EXTENSIONS = (
    ".csv",
    ".tsv",
    ".tab",
    ".txt",
    ".jsonl",
    ".ndjson",
    ".json",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".ods",
    ".parquet",
)


def check_zip(name: str, archive: zipfile.ZipFile, what: str) -> None:
    """Refuse a zip whose members would unpack too large, or far larger than they are packed."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ManifestError(
            f"{name}: {what}: holds {len(members):,} files, more than {MAX_MEMBERS:,}; "
            "is it a zip bomb?"
        )
    total = 0
    for info in members:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise ManifestError(
                f"{name}: {what}: '{safe_text(info.filename)[:100]}' would unpack "
                f"{ratio:,.0f} times its packed size ({info.file_size:,} bytes); refused as a "
                "possible zip bomb: unpack it yourself if you trust it"
            )
    if total > MAX_UNPACKED:
        raise ManifestError(
            f"{name}: {what}: would unpack to {total:,} bytes, more than {MAX_UNPACKED >> 30} "
            "GiB; refused as a possible zip bomb: unpack it yourself if you trust it"
        )


def _candidate(info: zipfile.ZipInfo) -> bool:
    """Tell whether a member looks like a manifest (not a folder, not macOS's metadata)."""
    path = PurePosixPath(info.filename)
    if info.is_dir() or "__MACOSX" in path.parts or path.name.startswith("."):
        return False
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in MANIFEST_EXTENSIONS


def zip_member(name: str, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """Return the one manifest inside ``archive``; refuse none, or more than one, by name."""
    check_zip(name, archive, "zip")
    found = [info for info in archive.infolist() if _candidate(info)]
    if len(found) == 1:
        return found[0]
    shown = ", ".join(safe_text(i.filename)[:80] for i in found[:10])
    if found:
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        raise ManifestError(
            f"{name}: zip: holds {len(found)} manifests ({shown}{more}); a .zip manifest "
            "holds one: unzip it and pass the one to read"
        )
    inside = ", ".join(safe_text(i.filename)[:80] for i in archive.infolist()[:10]) or "nothing"
    raise ManifestError(
        f"{name}: zip: holds no manifest (found: {inside}); a .zip manifest holds one "
        "CSV, TSV, JSONL, JSON, Excel or Parquet file"
    )
